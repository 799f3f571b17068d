"""Why a value does not fit its annotation, in the words a person reads.

msgspec (``escli.domain.codec``) decides whether data fits; this module says why not, and
is run only after msgspec has refused something: it walks the JSON value against the
annotation and raises ``FieldError`` with the field's path (``items[2].name``) and a
message that shows the value (``expected an integer, got '2'``), which msgspec's own errors
do not. It also builds values from Python objects where speed does not matter (a check that
finds nothing wrong returns the value, built: nested dataclasses, enums, decimals).

Only what every store can hold and every export write fits: no NaN or infinity, no lone
surrogate in a string, no integer too long for Python to write as text.
"""

from __future__ import annotations

import dataclasses
import enum
import math
import re
import sys
import types
import typing
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

from escli.text import lone_surrogate

__all__ = [
    "DECIMAL_TEXT",
    "MAX_INT_DIGITS",
    "FieldError",
    "Unwritable",
    "describe",
    "explain",
    "field_types",
    "type_label",
]

Check = Callable[[Any, str], Any]


class FieldError(ValueError):
    """A value does not fit its field; ``path`` is like ``damage`` or ``items[2].name``."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.message = message


class Unwritable(FieldError):
    """Of the field's type, but a value no store can hold (NaN, a lone surrogate): a union
    reports this rather than "expected X | Y"."""


# Python refuses to turn an integer of more digits than this into text (and back), so such
# an integer could be checked but never written: 0 means no limit.
MAX_INT_DIGITS = sys.get_int_max_str_digits()
_INT_BOUND = 1 << int(MAX_INT_DIGITS * math.log2(10)) if MAX_INT_DIGITS else None

# A decimal number as text (what ``str(Decimal)`` writes for a finite one): no NaN, no
# infinity, no spaces or underscores.
DECIMAL_TEXT = r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$"
_DECIMAL = re.compile(DECIMAL_TEXT)


def describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def type_label(tp: Any) -> str:
    """A short human name for an annotation: ``int``, ``str | None``."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return " | ".join(type_label(a) for a in typing.get_args(tp))
    if tp is type(None):
        return "None"
    return _type_name(tp)


def field_types(cls: type) -> dict[str, Any]:
    """The resolved annotations of a dataclass's init fields, in declaration order."""
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls) if f.init}


def explain(tp: Any, value: Any, path: str) -> Any:
    """``value`` checked against annotation ``tp`` (and built: nested dataclasses, enums);
    ``FieldError`` naming where it does not fit."""
    return _checker(tp)(value, path)


def _exact(tp: type, label: str) -> Check:
    def check(value: Any, path: str) -> Any:
        if type(value) is tp:
            return value
        raise FieldError(path, f"expected {label}, got {describe(value)}")

    return check


def check_text(value: str, path: str) -> str:
    if not value.isascii():
        problem = lone_surrogate(value)
        if problem is not None:
            raise Unwritable(path, f"contains {problem}")
    return value


def _check_str(value: Any, path: str) -> Any:
    if type(value) is str:
        return check_text(value, path)
    raise FieldError(path, f"expected a string, got {describe(value)}")


def _check_int(value: Any, path: str) -> Any:
    if type(value) is not int:
        raise FieldError(path, f"expected an integer, got {describe(value)}")
    if _INT_BOUND is not None and not -_INT_BOUND < value < _INT_BOUND:
        try:
            str(value)
        except ValueError:
            raise Unwritable(
                path, f"an integer of more than {MAX_INT_DIGITS} digits is past the limit"
            ) from None
    return value


def _check_float(value: Any, path: str) -> Any:
    # JSON has one number type: an integral float may come back as an int.
    if type(value) is float:
        if math.isfinite(value):
            return value
        # JSON has no NaN or infinity: a store would hold it, and export write invalid JSON.
        raise Unwritable(path, f"expected a finite number, got {value!r}")
    if type(value) is int:
        try:
            return float(value)
        except OverflowError:
            raise Unwritable(path, "expected a finite number, got a larger integer") from None
    raise FieldError(path, f"expected a number, got {describe(value)}")


def _check_none(value: Any, path: str) -> Any:
    if value is None:
        return None
    raise FieldError(path, f"expected null, got {describe(value)}")


def _check_decimal(value: Any, path: str) -> Any:
    import decimal

    if type(value) is decimal.Decimal and value.is_finite():
        return value
    if type(value) is str and _DECIMAL.match(value):
        return decimal.Decimal(value)
    if type(value) is int:
        return decimal.Decimal(_check_int(value, path))
    if type(value) is float:
        return decimal.Decimal(repr(_check_float(value, path)))
    raise FieldError(path, f"expected a decimal number (like '12.50'), got {describe(value)}")


def _from_text(tp: type, label: str, parse: Callable[[str], Any]) -> Check:
    def check(value: Any, path: str) -> Any:
        if type(value) is tp:
            return value
        if type(value) is str:
            try:
                return parse(check_text(value, path))
            except ValueError:
                pass
        raise FieldError(path, f"expected {label}, got {describe(value)}")

    return check


def _parse_datetime(text: str) -> Any:
    import datetime as dt

    import msgspec  # what the typed path reads texts with: both paths read the same ones

    try:
        value = msgspec.convert(text, dt.datetime)
    except msgspec.ValidationError as e:
        raise ValueError(text) from e
    return value


def _converter(tp: type) -> Callable[[str], Any]:
    """msgspec's reading of a text form: what the typed path reads, so both take the same."""

    def convert(text: str) -> Any:
        import msgspec

        try:
            return msgspec.convert(text, tp)
        except msgspec.ValidationError as e:
            raise ValueError(text) from e

    return convert


def _check_datetime(value: Any, path: str) -> Any:
    import datetime as dt

    if type(value) is str:
        check_text(value, path)
        try:
            value = _parse_datetime(value)
        except ValueError:
            raise FieldError(
                path,
                "expected a date and time in RFC 3339 (like '2026-01-31T09:30:00Z'), "
                f"got {describe(value)}",
            ) from None
    elif not isinstance(value, dt.datetime):
        raise FieldError(path, f"expected a date and time, got {describe(value)}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise FieldError(
            path,
            f"expected a date and time with a UTC offset (Z or +01:00), got {describe(value)}: "
            "escli does not store a naive datetime",
        )
    return value


def _check_any(value: Any, path: str) -> Any:
    """Any JSON value: what a store can hold and an export write (finite numbers, text
    without lone surrogates, string keys)."""
    if value is None or type(value) is bool:
        return value
    if type(value) is str:
        return check_text(value, path)
    if type(value) is int:
        return _check_int(value, path)
    if type(value) is float:
        return _check_float(value, path)
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _check_any(item, f"{path}[{i}]")
        return value
    if isinstance(value, dict):
        for key, item in value.items():
            if type(key) is not str:
                raise FieldError(path, f"expected string keys, got {describe(key)}")
            check_text(key, path)
            _check_any(item, f"{path}.{key}" if path else key)
        return value
    raise FieldError(path, f"expected a JSON value, got {describe(value)}")


@cache
def _checker(tp: Any) -> Check:
    simple: dict[Any, Check] = {
        Any: _check_any,
        str: _check_str,
        bool: _exact(bool, "true or false"),
        int: _check_int,
        float: _check_float,
        None: _check_none,
        type(None): _check_none,
        list: _list_checker(_check_any, list),
        tuple: _list_checker(_check_any, tuple),
        dict: _dict_checker(_check_any),
    }
    if tp in simple:
        return simple[tp]
    # Imported only for a domain that uses them: none of them at CLI start-up.
    name = f"{getattr(tp, '__module__', '')}.{getattr(tp, '__qualname__', '')}"
    if name == "decimal.Decimal":
        return _check_decimal
    if name == "datetime.datetime":
        return _check_datetime
    if name == "datetime.date":
        return _from_text(tp, "a date (like '2026-01-31')", _converter(tp))
    if name == "uuid.UUID":
        return _from_text(tp, "a UUID", _converter(tp))
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return _enum_checker(tp)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return _dataclass_checker(tp)
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        return _union_checker(args)
    if origin is typing.Literal:
        return _literal_checker(args)
    if origin is list:
        return _list_checker(_checker(args[0]), list)
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        return _list_checker(_checker(args[0]), tuple)
    if origin is dict:
        return _dict_checker(_checker(args[1]))
    raise TypeError(f"escli cannot store fields of type {type_label(tp)}")


def _enum_checker(tp: type[enum.Enum]) -> Check:
    by_value = {member.value: member for member in tp}

    def check(value: Any, path: str) -> Any:
        if isinstance(value, tp):
            return value
        try:
            return by_value[value]
        except (KeyError, TypeError):
            allowed = ", ".join(repr(v) for v in by_value)
            raise FieldError(path, f"expected one of {allowed}, got {describe(value)}") from None

    return check


def _literal_checker(allowed: tuple[Any, ...]) -> Check:
    def check(value: Any, path: str) -> Any:
        for option in allowed:
            if value == option and type(value) is type(option):
                return value
        options = ", ".join(repr(v) for v in allowed)
        raise FieldError(path, f"expected one of {options}, got {describe(value)}")

    return check


def _union_checker(options: tuple[Any, ...]) -> Check:
    checks = [_checker(option) for option in options]
    label = type_label(typing.Union[options])  # noqa: UP007 - rebuilding the annotation

    def check(value: Any, path: str) -> Any:
        unwritable = None
        for option_check in checks:
            try:
                return option_check(value, path)
            except Unwritable as e:
                unwritable = unwritable or e
            except FieldError:
                continue
        if unwritable is not None:
            raise unwritable
        raise FieldError(path, f"expected {label}, got {describe(value)}")

    return check


def _list_checker(item: Check, container: type) -> Check:
    def check(value: Any, path: str) -> Any:
        if not isinstance(value, (list, tuple)):
            raise FieldError(path, f"expected a list, got {describe(value)}")
        return container(item(v, f"{path}[{i}]") for i, v in enumerate(value))

    return check


def _dict_checker(item: Check) -> Check:
    def check(value: Any, path: str) -> Any:
        if not isinstance(value, dict):
            raise FieldError(path, f"expected an object, got {describe(value)}")
        out = {}
        for key, v in value.items():
            if type(key) is not str:
                raise FieldError(path, f"expected string keys, got {describe(key)}")
            check_text(key, path)
            out[key] = item(v, f"{path}.{key}" if path else key)
        return out

    return check


def _dataclass_checker(cls: type) -> Check:
    def check(value: Any, path: str) -> Any:
        if isinstance(value, cls):
            return value
        return _decode_fields(cls, value, path)

    return check


@cache
def _fields(cls: type) -> tuple[tuple[str, Check, bool], ...]:
    """(name, check, required) of each init field."""
    hints = typing.get_type_hints(cls)
    return tuple(
        (
            f.name,
            _checker(hints[f.name]),
            f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING,
        )
        for f in dataclasses.fields(cls)
        if f.init
    )


def _decode_fields(cls: type, data: Any, path: str) -> Any:
    if not isinstance(data, Mapping):
        raise FieldError(path, f"expected an object, got {describe(data)}")
    prefix = f"{path}." if path else ""
    kwargs = {}
    fields = _fields(cls)
    for name, check, required in fields:
        if name in data:
            kwargs[name] = check(data[name], prefix + name)
        elif required:
            raise FieldError(prefix + name, "missing")
    if len(kwargs) != len(data):
        known = {name for name, _, _ in fields}
        extra = sorted(str(k) for k in data if k not in known)
        raise FieldError(prefix + extra[0], f"not a field of {cls.__name__}")
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as e:  # a __post_init__ that validates
        raise FieldError(path, str(e)) from e
