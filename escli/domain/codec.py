"""Dataclasses to JSON-ready data and back, strictly, on msgspec.

Decoding is strict: a value that does not fit its annotation, a missing field or an unknown
field raises ``FieldError`` naming the field's path; nothing is coerced silently (``true`` is
not an integer, ``"5"`` is not a number). Only what every store can hold and every export
write gets through: no NaN or infinity, no lone surrogate in a string, no integer too long
for Python to write as text, no datetime without a UTC offset.

How: each annotation gets, once, a msgspec *mirror*: the same shape, with every dataclass
turned into a ``msgspec.Struct`` that refuses unknown fields (msgspec ignores them on
dataclasses), a datetime that must have an offset, a decimal that must be written as a
finite number. Data is decoded by the mirror (the check) and then by msgspec straight into
the real classes (the build): two passes in C, still several times faster than one
``json.loads``. Python values (``decoder``, ``checker``) are written to JSON by msgspec first,
which refuses lone surrogates and integers past the digit limit. Only when msgspec refuses
does ``escli.domain.fit`` walk the value to say why, in the words escli has always used.

Supported annotations: ``str``, ``int``, ``float``, ``bool``, ``None``, ``Decimal``,
``datetime`` (RFC 3339 with an offset), ``date``, ``UUID``, ``Enum`` subclasses,
``Literal[...]``, ``X | None`` and the unions msgspec can tell apart, ``list[X]``,
``tuple[X, ...]``, ``dict[str, X]``, bare ``list`` and ``dict`` (of JSON values), nested
dataclasses and ``Any`` (JSON values only). ``check_storable`` refuses anything else when a
class is registered, so a domain that cannot be stored does not load.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import enum
import math
import re
import types
import typing
import uuid
from collections.abc import Callable
from functools import cache
from typing import Annotated, Any, NamedTuple

import msgspec

from escli.domain.fit import (
    DECIMAL_TEXT,
    MAX_INT_DIGITS,
    FieldError,
    describe,
    explain,
    field_types,
    type_label,
)
from escli.jsontext import TYPED_REFUSED, loads_plain, typed_decoder, write_json

__all__ = [
    "MAX_INT_DIGITS",
    "FieldError",
    "check_storable",
    "check_value",
    "checker",
    "decode",
    "decoder",
    "encode",
    "field_types",
    "stored_decoder",
    "type_label",
]

# What write_json refuses a Python value with: a lone surrogate (UnicodeEncodeError), an
# integer past the digit limit (ValueError), an object it cannot write (TypeError).
_UNWRITABLE = (TypeError, ValueError, OverflowError)

_AWARE = Annotated[dt.datetime, msgspec.Meta(tz=True)]
_DECIMAL = Annotated[str, msgspec.Meta(pattern=DECIMAL_TEXT)] | int | float
_AS_IS = frozenset((str, int, float, bool, type(None), dt.date, uuid.UUID))


class _Unsupported(TypeError):
    pass


# -- mirrors: the msgspec types that check --------------------------------------------------


def _mirror(tp: Any) -> Any:
    """The msgspec type that accepts exactly what escli stores for annotation ``tp``."""
    if tp is Any or tp in _AS_IS:
        return tp
    if tp is None:
        return type(None)
    if tp is dt.datetime:
        return _AWARE
    if tp is decimal.Decimal:
        return _DECIMAL
    if tp is list or tp is tuple:
        return list[Any]
    if tp is dict:
        return dict[str, Any]
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return tp
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return _mirror_struct(tp)
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        return typing.Union[tuple(_mirror(a) for a in args)]  # noqa: UP007 - built from parts
    if origin is typing.Literal:
        return tp
    if origin is list and len(args) == 1:
        return list[_mirror(args[0])]  # type: ignore[misc]
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        return tuple[_mirror(args[0]), ...]  # type: ignore[misc]
    if origin is dict and len(args) == 2 and args[0] is str:
        return dict[str, _mirror(args[1])]  # type: ignore[misc]
    raise _Unsupported(f"escli cannot store fields of type {type_label(tp)}")


_BUILDING: set[type] = set()


@cache
def _mirror_struct(cls: type) -> type:
    if cls in _BUILDING:
        raise _Unsupported(f"{cls.__name__} refers to itself, which escli cannot store")
    _BUILDING.add(cls)
    try:
        fields: list[Any] = []
        required = {f.name for f in dataclasses.fields(cls) if _required(f)}
        for name, tp in field_types(cls).items():
            try:
                mirrored = _mirror(tp)
            except _Unsupported as e:
                raise _Unsupported(f"{cls.__name__}.{name}: {e}") from None
            # The mirror checks, it never builds: a default only marks a field optional.
            fields.append((name, mirrored) if name in required else (name, mirrored, None))
        return msgspec.defstruct(cls.__name__, fields, kw_only=True, forbid_unknown_fields=True)
    finally:
        _BUILDING.discard(cls)


def _required(f: dataclasses.Field[Any]) -> bool:
    return f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING


def _may_hide(tp: Any, seen: frozenset[type] = frozenset()) -> bool:
    """Whether a value of ``tp`` may hold what msgspec would write without complaint but
    escli refuses: NaN where a null is also taken (msgspec writes NaN as null), or a dict
    with keys that are not strings (msgspec writes ``1`` as ``"1"``)."""
    if tp is Any or tp in (dict, list, tuple):
        return True
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return tp not in seen and any(_may_hide(t, seen | {tp}) for t in field_types(tp).values())
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is dict:
        return True
    if origin in (typing.Union, types.UnionType):
        nullable = type(None) in args
        return any((nullable and a in (float, decimal.Decimal)) or _may_hide(a, seen) for a in args)
    return origin in (list, tuple) and any(_may_hide(a, seen) for a in args if a is not Ellipsis)


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


def check_storable(cls: type) -> None:
    """Raise ``TypeError`` naming the class and field if escli cannot store one of
    ``cls``'s fields: called when an event or command class is registered, so that such a
    domain fails to load instead of failing at dispatch."""
    try:
        typing.get_type_hints(cls)
    except NameError:  # a class defined further down the module: checked on first use
        return
    for name, tp in field_types(cls).items():
        try:
            typed_decoder(_mirror(tp))
            typed_decoder(tp)
        except NameError:  # a nested class defined further down: checked on first use
            continue
        except _Unsupported as e:
            raise TypeError(f"{cls.__name__}.{name}: {e}") from None
        except TypeError as e:  # msgspec's own refusal: a union it cannot tell apart
            raise TypeError(
                f"{cls.__name__}.{name}: escli cannot store fields of type {type_label(tp)} ({e})"
            ) from None


# -- plans: a check and a build per annotation, made once ------------------------------------


class _Plan(NamedTuple):
    tp: Any
    strict: Callable[[Any], Any]  # the mirror's decode: refuses what escli does not store
    build: Callable[[Any], Any] | None  # decode into the real type; None: the mirror's is it
    walk: bool  # Python values must pass _json_safe before msgspec writes them
    builds_to_check: bool  # a __post_init__ may refuse what the mirror takes


@cache
def _plan(tp: Any) -> _Plan:
    try:
        mirror = _mirror(tp)
        strict = typed_decoder(mirror)
        same = mirror is tp or tp is None
        build = None if same else typed_decoder(tp)
    except TypeError as e:
        raise TypeError(f"escli cannot store {type_label(tp)}: {e}") from None
    return _Plan(tp, strict, build, _may_hide(tp), _validates(tp))


def _validates(tp: Any) -> bool:
    return (
        isinstance(tp, type)
        and dataclasses.is_dataclass(tp)
        and (
            hasattr(tp, "__post_init__")
            or any(_validates(t) for t in field_types(tp).values() if t is not tp)
        )
    )


_AT = re.compile(r"(.*?)(?: - at `\$(.*)`)?", re.S)
_MISSING = re.compile(r"Object missing required field `(.*)`")
_UNKNOWN = re.compile(r"Object contains unknown field `(.*)`")


def _join(path: str, sub: str) -> str:
    if not sub:
        return path
    if not path or sub.startswith("["):
        return path + sub
    return f"{path}.{sub}"


def _from_msgspec(error: Exception, path: str) -> FieldError:
    """msgspec's words, in FieldError's form: ``Expected `int`, got `str` - at `$.a[0]```
    -> ``a[0]: expected int, got str`` (only where fit's own walk found nothing)."""
    match = _AT.fullmatch(str(error))
    assert match is not None
    message, at = match[1], _join(path, (match[2] or "").lstrip("."))
    if found := _MISSING.fullmatch(message):
        return FieldError(_join(at, found[1]), "missing")
    if found := _UNKNOWN.fullmatch(message):
        return FieldError(_join(at, found[1]), "not a field")
    return FieldError(at, (message[:1].lower() + message[1:]).replace("`", ""))


def _refusal(plan: _Plan, value: Any, error: Exception, path: str = "") -> FieldError:
    """Why msgspec refused ``value``, worded by ``escli.domain.fit``."""
    try:
        explain(plan.tp, value, path)
    except FieldError as e:
        return e
    return _from_msgspec(error, path)


# -- decoding -------------------------------------------------------------------------------


_STORED: dict[type, Callable[[Any], Any]] = {}
_DECODERS: dict[type, Callable[[Any], Any]] = {}
_CHECKERS: dict[type, Callable[[Any], None]] = {}


def stored_decoder(cls: type) -> Callable[[Any], Any]:
    """The decoder of stored data: JSON text (str or bytes, as stores give it) or a mapping,
    into a ``cls`` instance. ``FieldError`` where it does not fit; text that is not JSON
    raises ``json.JSONDecodeError``. The replay hot path: one per event class."""
    if cls in _STORED:
        return _STORED[cls]
    plan = _plan(cls)
    strict, build = plan.strict, plan.build
    assert build is not None
    values = decoder(cls)

    def decode(data: Any) -> Any:
        if data.__class__ is not str and data.__class__ is not bytes:
            return values(data)
        try:
            strict(data)
            return build(data)
        except TYPED_REFUSED as e:
            # Read again as json reads it, to say why (or that it is not JSON at all).
            raise _refusal(plan, loads_plain(data), e) from None

    _STORED[cls] = decode
    return decode


def _value_decoder(tp: Any, *, build: bool) -> Callable[..., Any]:
    plan = _plan(tp)
    strict, walk = plan.strict, plan.walk
    check_only = not build and not plan.builds_to_check
    builder = None if check_only else plan.build

    def decode(value: Any, path: str = "") -> Any:
        try:
            if walk and not _json_safe(value):
                raise ValueError("not JSON")
            text = write_json(value)
            checked = strict(text)
            if check_only:
                return None
            return checked if builder is None else builder(text)
        except TYPED_REFUSED as e:
            raise _refusal(plan, value, e, path) from None
        except _UNWRITABLE as e:
            if isinstance(e, FieldError):
                raise
            raise _refusal(plan, value, e, path) from None

    return decode


def decoder(cls: type) -> Callable[[Any], Any]:
    """The cached decoder of a dataclass: a JSON-ready mapping into a ``cls`` instance."""
    if cls not in _DECODERS:
        _DECODERS[cls] = _value_decoder(cls, build=True)
    return _DECODERS[cls]


def checker(cls: type) -> Callable[[Any], None]:
    """The cached checker of a dataclass: raises ``FieldError`` exactly where its decoder
    would, and returns None, building no instance unless a ``__post_init__`` could refuse
    (an import checks every event's data but appends the data, not the instance)."""
    if cls in _CHECKERS:
        return _CHECKERS[cls]
    check = _value_decoder(cls, build=False)

    def checked(data: Any) -> None:
        check(data)

    _CHECKERS[cls] = checked
    return checked


def decode(cls: type[Any], data: Any) -> Any:
    """Build a ``cls`` instance from a JSON-ready mapping, checking every field's type."""
    return decoder(cls)(data)


@cache
def _any_decoder(tp: Any) -> Callable[[Any, str], Any]:
    return _value_decoder(tp, build=True)


def check_value(tp: Any, value: Any, path: str) -> Any:
    """``value`` (a JSON-ready value: a YAML value, a decoded JSON value) checked against
    annotation ``tp``, and built (nested dataclasses, enums, decimals, datetimes)."""
    return _any_decoder(tp)(value, path)


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
    if isinstance(value, (decimal.Decimal, dt.date, uuid.UUID)):
        # Their text forms, as msgspec reads them back (a naive datetime is written, then
        # refused by the check with its field named).
        return msgspec.to_builtins(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return encode(value)
    if isinstance(value, (list, tuple)):
        return [_encode_value(v) for v in value]
    if isinstance(value, dict):
        return {k: _encode_value(v) for k, v in value.items()}
    raise TypeError(f"escli cannot encode {describe(value)}")


def encode(obj: Any) -> dict[str, Any]:
    """A dataclass instance as a JSON-ready dict of its fields."""
    return {name: _encode_value(getattr(obj, name)) for name in _names(type(obj))}
