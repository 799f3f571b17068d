"""The msgspec side of the codec: each annotation's *shadow* and its decoders.

A shadow is the msgspec type that accepts exactly what escli stores for an annotation: every
dataclass becomes a ``msgspec.Struct`` that refuses unknown fields (msgspec ignores them on
dataclasses), a datetime must have a UTC offset, a decimal must be a finite number. Data is
decoded by the shadow (the check) and then by msgspec straight into the real classes (the
build): two passes in C, still several times faster than one ``json.loads``.

Imported by ``escli.domain.codec`` on first use of a typed path, never at CLI start-up
(msgspec's import costs more than a dispatch's decoding).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import enum
import re
import types
import typing
import uuid
from collections.abc import Callable
from functools import cache
from typing import Annotated, Any, NamedTuple

import msgspec

from escli.domain.fit import DECIMAL_TEXT, FieldError, field_types, type_label
from escli.jsontext import json_writer, typed_decoder

__all__ = ["Conversion", "Plan", "converter", "from_msgspec", "plan"]

_AWARE = Annotated[dt.datetime, msgspec.Meta(tz=True)]
_DECIMAL = Annotated[str, msgspec.Meta(pattern=DECIMAL_TEXT)] | int | float
_AS_IS = frozenset((str, int, float, bool, type(None), dt.date, uuid.UUID))


def _shadow(tp: Any) -> Any:
    """The msgspec type that accepts exactly what escli stores for annotation ``tp``
    (``escli.domain.codec.check_storable`` has refused what escli cannot store)."""
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
        return _shadow_struct(tp)
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        return typing.Union[tuple(_shadow(a) for a in args)]  # noqa: UP007 - built from parts
    if origin is list:
        return list[_shadow(args[0])]  # type: ignore[misc]
    if origin is tuple:
        return tuple[_shadow(args[0]), ...]  # type: ignore[misc]
    if origin is dict:
        return dict[str, _shadow(args[1])]  # type: ignore[misc]
    return tp  # Literal


@cache
def _shadow_struct(cls: type) -> type:
    required = {
        f.name
        for f in dataclasses.fields(cls)
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    }
    # The shadow checks, it never builds: a default only marks a field optional.
    fields = [
        (name, _shadow(tp)) if name in required else (name, _shadow(tp), None)
        for name, tp in field_types(cls).items()
    ]
    return msgspec.defstruct(cls.__name__, fields, kw_only=True, forbid_unknown_fields=True)


class Plan(NamedTuple):
    """How one annotation's data is checked and built."""

    tp: Any
    strict: Callable[[Any], Any]  # the shadow's decode: refuses what escli does not store
    build: Callable[[Any], Any] | None  # decode into the real type; None: the shadow's is it
    write: Callable[[Any], bytes]  # a Python value as JSON text, for the two decodes


@cache
def plan(tp: Any) -> Plan:
    """The plan of annotation ``tp``, made once (``TypeError`` for one msgspec refuses)."""
    try:
        shadow = _shadow(tp)
        strict = typed_decoder(shadow)
        build = None if shadow is tp or tp is None else typed_decoder(tp)
    except TypeError as e:
        raise TypeError(f"escli cannot store {type_label(tp)}: {e}") from None
    return Plan(tp, strict, build, json_writer())


_AT = re.compile(r"(.*?)(?: - at `\$(.*)`)?", re.S)
_MISSING = re.compile(r"Object missing required field `(.*)`")
_UNKNOWN = re.compile(r"Object contains unknown field `(.*)`")


def join(path: str, sub: str) -> str:
    """``items`` + ``[2].name`` -> ``items[2].name``."""
    if not sub:
        return path
    if not path or sub.startswith("["):
        return path + sub
    return f"{path}.{sub}"


def from_msgspec(error: Exception, path: str) -> FieldError:
    """msgspec's words in FieldError's form: ``Expected `int`, got `str` - at `$.a[0]```
    -> ``a[0]: expected int, got str`` (used only where fit's own walk found nothing)."""
    match = _AT.fullmatch(str(error))
    assert match is not None
    message, at = match[1], join(path, (match[2] or "").lstrip("."))
    if found := _MISSING.fullmatch(message):
        return FieldError(join(at, found[1]), "missing")
    if found := _UNKNOWN.fullmatch(message):
        return FieldError(join(at, found[1]), "not a field")
    return FieldError(at, (message[:1].lower() + message[1:]).replace("`", ""))


# Field annotations whose values msgspec checks and leaves as they are (no conversion).
_AS_IS_VALUES = frozenset((str, int, bool, type(None)))


def _as_is(tp: Any) -> bool:
    if tp in _AS_IS_VALUES:
        return True
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is typing.Literal:
        return True
    return origin in (typing.Union, types.UnionType) and all(_as_is(a) for a in args)


class Conversion(NamedTuple):
    """How Python values (a dict of JSON values, as an upcaster returns) become an instance of
    ``cls`` with every check the shadow makes of stored text: ``check(data, shadow)``
    (msgspec's conversion; its refusals are ``ValidationError``), then the instance:
    ``make(data)``, or, when ``make`` is None, a new ``cls`` whose ``__dict__`` is updated
    with the checked values (the caller does it inline: a Python call is a sixth of it)."""

    check: Callable[[Any, Any], Any]
    shadow: Any
    cls: type
    make: Callable[[Any], Any] | None


@cache
def converter(cls: type) -> Conversion:
    """The ``Conversion`` of ``cls``.

    Measured for issue 13 (callgrind, a 1.0 combat stream upcast to 2.0 against the same
    stream at 2.0, where the upcast replay must run at 90% of the speed of a current one):
    msgspec's conversion into the shadow costs 3.0k instructions and then into a dataclass
    6.3k, the author's upcaster 2.2k, against 6.7k for a current event's whole decoding. So:

    - any class: the shadow's conversion checks;
    - a class whose values stay as they are (no ``__post_init__``, no slots, fields of str,
      int, bool, None, literals and unions of them) is then made from the checked values,
      its defaults and default factories (3.1k), without msgspec's second conversion;
      with no defaults at all the caller makes it inline (``make`` None);
    - any other is converted into the class by msgspec.

    Checking in Python instead, even in generated code, saved under 1k. Strings an upcaster
    makes are not checked for lone surrogates here; every write checks them (the codec's
    checker), so none is ever stored."""
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls!r} is not a dataclass")
    convert, shadow = msgspec.convert, _shadow(cls)
    fields = dataclasses.fields(cls)
    annotations = field_types(cls)
    slotted = any("__slots__" in c.__dict__ for c in cls.__mro__[:-1])
    if hasattr(cls, "__post_init__") or slotted or not all(map(_as_is, annotations.values())):

        def converted(data: Any) -> Any:
            return convert(data, cls)

        return Conversion(convert, shadow, cls, converted)
    defaults = {f.name: f.default for f in fields if f.default is not dataclasses.MISSING}
    factories = [
        (f.name, f.default_factory) for f in fields if f.default_factory is not dataclasses.MISSING
    ]
    if not defaults and not factories:
        return Conversion(convert, shadow, cls, None)
    new = object.__new__

    def made(data: Any) -> Any:
        instance = new(cls)
        attrs = instance.__dict__
        attrs.update(defaults)
        attrs.update(data)
        for name, factory in factories:
            if name not in data:
                attrs[name] = factory()
        return instance

    return Conversion(convert, shadow, cls, made)
