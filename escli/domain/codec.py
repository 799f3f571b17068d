"""Dataclasses to JSON-ready data and back, strictly: msgspec for volume, Python for a few.

Decoding is strict: a value that does not fit its annotation, a missing field or an unknown
field raises ``FieldError`` naming the field's path; nothing is coerced silently (``true`` is
not an integer, ``"5"`` is not a number). Only what every store can hold and every export
write gets through: no NaN or infinity, no lone surrogate in a string, no integer too long
for Python to write as text, no datetime without a UTC offset.

Two paths, one verdict:

- the typed path (``escli.domain.typed``, on msgspec): decodes JSON text straight into the
  classes, in C, several times faster than ``json.loads`` alone. Replay, import and every
  long run use it. Python values are written to JSON by msgspec first.
- the plain path (``escli.domain.fit``): Python's ``json`` and a walk of the annotation. It
  words every refusal (msgspec's errors do not show the value), and it decodes the first
  ``PLAIN_USES`` values of each class (and of each fold), because importing msgspec costs a
  short dispatch more than its whole decoding. Tests prove the two paths agree.

Supported annotations: ``str``, ``int``, ``float``, ``bool``, ``None``, ``Decimal``,
``datetime`` (RFC 3339 with an offset), ``date``, ``UUID``, ``Enum`` subclasses (all str or
all int values), ``Literal[...]``, ``X | None`` and unions of different JSON kinds (``int |
str``, not ``str | datetime``), ``list[X]``, ``tuple[X, ...]``, ``dict[str, X]``, bare
``list`` and ``dict`` (of JSON values), nested dataclasses and ``Any`` (JSON values only).
``check_storable`` refuses anything else when a class is registered, so a domain that cannot
be stored does not load.
"""

from __future__ import annotations

import dataclasses
import enum
import math
import types
import typing
from collections.abc import Callable
from typing import Any, NamedTuple

from escli.domain.fit import MAX_INT_DIGITS, FieldError, describe, explain, field_types, type_label
from escli.jsontext import loads_plain, typed_refusals

__all__ = [
    "MAX_INT_DIGITS",
    "PLAIN_USES",
    "FieldError",
    "StoredDecoder",
    "check_storable",
    "check_value",
    "checker",
    "decode",
    "decoder",
    "encode",
    "field_types",
    "refusal",
    "stored_decoder",
    "type_label",
]

# Values of one class (or events of one fold) decoded by the plain path before the typed one.
PLAIN_USES = 256


# -- what escli can store: checked when a class is registered --------------------------------


class _Unsupported(TypeError):
    pass


_TEXT_TYPES = frozenset(("decimal.Decimal", "datetime.datetime", "datetime.date", "uuid.UUID"))
_KINDS: dict[Any, frozenset[str]] = {
    str: frozenset({"str"}),
    int: frozenset({"int"}),
    float: frozenset({"float"}),
    bool: frozenset({"bool"}),
    type(None): frozenset({"null"}),
    list: frozenset({"array"}),
    tuple: frozenset({"array"}),
    dict: frozenset({"object"}),
}


def _kinds(tp: Any, seen: frozenset[type]) -> frozenset[str]:
    """The JSON kinds a value of ``tp`` is written as; ``_Unsupported`` for an annotation
    escli cannot store (or a union whose options msgspec could not tell apart)."""
    if tp is Any:
        return frozenset({"any"})
    if tp is None or tp in _KINDS:
        return _KINDS[type(None) if tp is None else tp]
    name = f"{getattr(tp, '__module__', '')}.{getattr(tp, '__qualname__', '')}"
    if name == "decimal.Decimal":  # read from a string or a number
        return frozenset({"str", "int", "float"})
    if name in _TEXT_TYPES:
        return frozenset({"str"})
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        values = [m.value for m in tp]
        if values and all(type(v) is str for v in values):
            return frozenset({"str"})
        if values and all(type(v) is int for v in values):
            return frozenset({"int"})
        raise _Unsupported(f"escli stores enums of all str or all int values, not {tp.__name__}")
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        if tp in seen:
            raise _Unsupported(f"{tp.__name__} refers to itself, which escli cannot store")
        for field, field_tp in field_types(tp).items():
            try:
                _kinds(field_tp, seen | {tp})
            except _Unsupported as e:
                raise _Unsupported(f"{tp.__name__}.{field}: {e}") from None
        return frozenset({"object"})
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is typing.Literal:
        literal = {"null" if v is None else type(v).__name__ for v in args}
        if not literal <= {"str", "int", "null"}:
            raise _Unsupported(f"escli stores Literal values of str, int or None, not {tp}")
        return frozenset(literal)
    if origin in (typing.Union, types.UnionType):
        taken: set[str] = set()
        for option in args:
            kinds = _kinds(option, seen)
            if kinds & taken or "any" in kinds:
                raise _Unsupported(f"escli cannot tell the options of {type_label(tp)} apart")
            taken |= kinds
        return frozenset(taken)
    if (origin is list and len(args) == 1) or (
        origin is tuple and len(args) == 2 and args[1] is Ellipsis
    ):
        _kinds(args[0], seen)
        return frozenset({"array"})
    if origin is dict and len(args) == 2 and args[0] is str:
        _kinds(args[1], seen)
        return frozenset({"object"})
    raise _Unsupported(f"escli cannot store fields of type {type_label(tp)}")


def check_storable(cls: type) -> None:
    """Raise ``TypeError`` naming the class and field if escli cannot store one of
    ``cls``'s fields: called when an event or command class is registered, so that such a
    domain fails to load instead of failing at dispatch."""
    try:
        fields = field_types(cls)
    except NameError:  # a class defined further down its module: checked on first use
        return
    for name, tp in fields.items():
        try:
            _kinds(tp, frozenset())
        except NameError:
            continue
        except _Unsupported as e:
            raise TypeError(f"{cls.__name__}.{name}: {e}") from None


# -- the typed path, and the plain one beside it ----------------------------------------------


def _may_hide(tp: Any, seen: frozenset[type] = frozenset()) -> bool:
    """Whether a Python value of ``tp`` may hold what msgspec writes without complaint but
    escli refuses: NaN where a null is also taken (msgspec writes NaN as null), or a dict
    key that is not a string (msgspec writes ``1`` as ``"1"``)."""
    if tp is Any or tp in (dict, list, tuple):
        return True
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return tp not in seen and any(_may_hide(t, seen | {tp}) for t in field_types(tp).values())
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is dict:
        return True
    if origin in (typing.Union, types.UnionType):
        nullable = type(None) in args
        return any(
            (nullable and (a is float or getattr(a, "__name__", "") == "Decimal"))
            or _may_hide(a, seen)
            for a in args
        )
    return origin in (list, tuple) and _may_hide(args[0], seen)


def _json_safe(value: Any) -> bool:
    """No NaN, no infinity, no key that is not a string, anywhere in ``value``."""
    kind = type(value)
    if kind is float:
        return math.isfinite(value)
    if kind is dict:
        return all(type(k) is str for k in value) and all(map(_json_safe, value.values()))
    if kind is list or kind is tuple:
        return all(map(_json_safe, value))
    return True


def refusal(tp: Any, value: Any, error: Exception, path: str = "") -> FieldError:
    """Why the typed path refused ``value`` (Python values), worded by the plain path."""
    try:
        explain(tp, value, path)
    except FieldError as e:
        return e
    from escli.domain.typed import from_msgspec

    return from_msgspec(error, path)


def _validates(tp: Any) -> bool:
    """A __post_init__ may refuse what the shadow takes: a checker builds to check."""
    return (
        isinstance(tp, type)
        and dataclasses.is_dataclass(tp)
        and (
            hasattr(tp, "__post_init__")
            or any(_validates(t) for t in field_types(tp).values() if t is not tp)
        )
    )


def _value_decoder(tp: Any, *, build: bool) -> Callable[..., Any]:
    """Python values (JSON-ready: str, int, float, bool, None, lists, str-keyed dicts) of
    annotation ``tp`` checked, and built if ``build``: plain for the first ``PLAIN_USES``,
    then typed (written to JSON by msgspec, and decoded as stored text is)."""
    uses = 0
    walk = _may_hide(tp)
    builds = build or _validates(tp)
    typed: Any = None

    def decode(value: Any, path: str = "") -> Any:
        nonlocal uses, typed
        if typed is None:
            if uses < PLAIN_USES:
                uses += 1
                built = explain(tp, value, path)
                return built if build else None
            from escli.domain.typed import plan  # the first long run: msgspec from now on

            made = plan(tp)
            typed = (made.write, made.strict, made.build if builds else None, typed_refusals())
        write, strict, builder, refused = typed
        try:
            if walk and not _json_safe(value):
                raise ValueError("not JSON")
            text = write(value)
            checked = strict(text)
            if builder is not None:
                checked = builder(text)
            return checked if build else None
        except refused as e:
            raise refusal(tp, value, e, path) from None
        except (TypeError, ValueError, OverflowError) as e:  # msgspec cannot write it
            raise refusal(tp, value, e, path) from None

    return decode


class StoredDecoder(NamedTuple):
    """The decoding of one event class's stored data, in parts a replay loop calls itself
    (a Python call per event would cost a third of the decoding): text (str or bytes, as
    stores give it) goes through ``check`` and then ``build``; a mapping through ``values``.
    What ``check`` or ``build`` raise (``refused``) is made a ``FieldError`` by
    ``refusal``."""

    cls: type
    check: Callable[[Any], Any] | None  # None: ``build`` checks as it builds
    build: Callable[[Any], Any]
    values: Callable[[Any], Any]
    refused: tuple[type[Exception], ...]

    def refusal(self, text: str | bytes, error: Exception) -> FieldError:
        """Why ``text`` was refused; ``json.JSONDecodeError`` if it is not JSON at all."""
        return refusal(self.cls, loads_plain(text), error)

    def __call__(self, data: Any) -> Any:
        """``data`` decoded: ``FieldError`` where it does not fit its class."""
        if data.__class__ is not str and data.__class__ is not bytes:
            return self.values(data)
        try:
            if self.check is not None:
                self.check(data)
            return self.build(data)
        except self.refused as e:
            raise self.refusal(data, e) from None


def _plain_text(cls: type) -> Callable[[Any], Any]:
    def decode(data: Any) -> Any:
        if data.__class__ is str or data.__class__ is bytes:
            data = loads_plain(data)
        return explain(cls, data, "")

    return decode


_STORED: dict[tuple[type, bool], StoredDecoder] = {}


def stored_decoder(cls: type, *, typed: bool = True) -> StoredDecoder:
    """The cached decoder of ``cls``'s stored data (JSON text or a mapping); text that is
    not JSON raises ``json.JSONDecodeError``. ``typed``: msgspec's (the replay hot path),
    else the plain path's (a short fold's, which need not import msgspec)."""
    key = (cls, typed)
    if key not in _STORED:
        if typed:
            from escli.domain.typed import plan

            made = plan(cls)
            assert made.build is not None
            _STORED[key] = StoredDecoder(
                cls, made.strict, made.build, decoder(cls), typed_refusals()
            )
        else:
            plain = _plain_text(cls)
            _STORED[key] = StoredDecoder(cls, None, plain, plain, ())
    return _STORED[key]


_DECODERS: dict[type, Callable[[Any], Any]] = {}
_CHECKERS: dict[type, Callable[[Any], None]] = {}
_VALUES: dict[Any, Callable[..., Any]] = {}


def decoder(cls: type) -> Callable[[Any], Any]:
    """The cached decoder of a dataclass: a JSON-ready mapping into a ``cls`` instance."""
    if cls not in _DECODERS:
        _DECODERS[cls] = _value_decoder(cls, build=True)
    return _DECODERS[cls]


def checker(cls: type) -> Callable[[Any], None]:
    """The cached checker of a dataclass: raises ``FieldError`` exactly where its decoder
    would, and returns None, building no instance unless a ``__post_init__`` could refuse
    (an import checks every event's data but appends the data, not the instance)."""
    if cls not in _CHECKERS:
        _CHECKERS[cls] = _value_decoder(cls, build=False)
    return _CHECKERS[cls]


def decode(cls: type[Any], data: Any) -> Any:
    """Build a ``cls`` instance from a JSON-ready mapping, checking every field's type."""
    return decoder(cls)(data)


def check_value(tp: Any, value: Any, path: str) -> Any:
    """``value`` (a JSON-ready value: a YAML value, a decoded JSON value) checked against
    annotation ``tp``, and built (nested dataclasses, enums, decimals, datetimes)."""
    if tp not in _VALUES:
        _VALUES[tp] = _value_decoder(tp, build=True)
    return _VALUES[tp](value, path)


# -- encoding -------------------------------------------------------------------------------


_NAMES: dict[type, tuple[str, ...]] = {}


def _names(cls: type) -> tuple[str, ...]:
    if cls not in _NAMES:
        _NAMES[cls] = tuple(field_types(cls))
    return _NAMES[cls]


def _encode_value(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return encode(value)
    if isinstance(value, (list, tuple)):
        return [_encode_value(v) for v in value]
    if isinstance(value, dict):
        return {k: _encode_value(v) for k, v in value.items()}
    kind = type(value)
    if f"{kind.__module__}.{kind.__qualname__}" in _TEXT_TYPES:
        # Their text forms, as both paths read them back (a naive datetime is written, then
        # refused by the check with its field named).
        return value.isoformat() if hasattr(value, "isoformat") else str(value)
    raise TypeError(f"escli cannot encode {describe(value)}")


def encode(obj: Any) -> dict[str, Any]:
    """A dataclass instance as a JSON-ready dict of its fields."""
    return {name: _encode_value(getattr(obj, name)) for name in _names(type(obj))}
