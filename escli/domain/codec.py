"""Dataclasses to JSON-ready dicts and back, checked against the fields' type annotations.

Decoding is strict: a value that does not fit its annotation, a missing field or an unknown
field raises ``FieldError`` naming the field's path; nothing is coerced silently. Only what
every store can hold and every export write gets through: no NaN or infinity, no lone
surrogate in a string, no integer too long for Python to write as text. Each class's
codec is compiled once from its annotations and cached, because replay decodes every event.

Supported annotations: ``str``, ``int``, ``float``, ``bool``, ``None``, ``X | None`` and
other unions, ``list[X]``, ``tuple[X, ...]``, ``dict[str, X]``, ``Literal[...]``, ``Enum``
subclasses, nested dataclasses and ``Any``.
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

from escli.text import find_lone_surrogate, lone_surrogate

__all__ = ["FieldError", "decode", "decoder", "encode", "parse_text"]

Check = Callable[[Any, str], Any]


class FieldError(ValueError):
    """A value does not fit its field; ``path`` is like ``damage`` or ``items[2].name``."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.message = message


class _Unwritable(FieldError):
    """Of the field's type, but a value no store can hold (NaN, a lone surrogate): a union
    reports this rather than "expected X | Y"."""


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _exact(tp: type, label: str) -> Check:
    def check(value: Any, path: str) -> Any:
        if type(value) is tp:
            return value
        raise FieldError(path, f"expected {label}, got {_describe(value)}")

    return check


# Python refuses to turn an integer of more digits than this into text (and back), so such
# an integer could be checked but never written: 0 means no limit.
MAX_INT_DIGITS = sys.get_int_max_str_digits()
_FAST_INT_BOUND = 1 << int(MAX_INT_DIGITS * math.log2(10)) if MAX_INT_DIGITS else None


def _check_text(value: str, path: str) -> str:
    if not value.isascii():
        problem = lone_surrogate(value)
        if problem is not None:
            raise _Unwritable(path, f"contains {problem}")
    return value


def _check_str(value: Any, path: str) -> Any:
    if type(value) is str:
        return _check_text(value, path)
    raise FieldError(path, f"expected a string, got {_describe(value)}")


def _check_int(value: Any, path: str) -> Any:
    if type(value) is not int:
        raise FieldError(path, f"expected an integer, got {_describe(value)}")
    if _FAST_INT_BOUND is not None and not -_FAST_INT_BOUND < value < _FAST_INT_BOUND:
        try:
            str(value)
        except ValueError:
            raise _Unwritable(
                path, f"an integer of more than {MAX_INT_DIGITS} digits is past the limit"
            ) from None
    return value


def _check_float(value: Any, path: str) -> Any:
    # JSON has one number type: an integral float may come back as an int.
    if type(value) is float:
        if math.isfinite(value):
            return value
        # JSON has no NaN or infinity: a store would hold it, and export write invalid JSON.
        raise _Unwritable(path, f"expected a finite number, got {value!r}")
    if type(value) is int:
        try:
            return float(value)
        except OverflowError:
            raise _Unwritable(path, "expected a finite number, got a larger integer") from None
    raise FieldError(path, f"expected a number, got {_describe(value)}")


def _check_none(value: Any, path: str) -> Any:
    if value is None:
        return None
    raise FieldError(path, f"expected null, got {_describe(value)}")


def _check_any(value: Any, path: str) -> Any:
    """Any JSON value: what a store can hold and an export write (finite numbers, text
    without lone surrogates, string keys)."""
    if value is None or type(value) is bool:
        return value
    if type(value) is str:
        return _check_text(value, path)
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
                raise FieldError(path, f"expected string keys, got {_describe(key)}")
            _check_text(key, path)
            _check_any(item, f"{path}.{key}" if path else key)
        return value
    raise FieldError(path, f"expected a JSON value, got {_describe(value)}")


@cache
def _checker(tp: Any) -> Check:
    if tp is Any:
        return _check_any
    if tp is str:
        return _check_str
    if tp is bool:
        return _exact(bool, "true or false")
    if tp is int:
        return _check_int
    if tp is float:
        return _check_float
    if tp is None or tp is type(None):
        return _check_none
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
        return _list_checker(_checker(args[0]) if args else _check_any, list)
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        return _list_checker(_checker(args[0]), tuple)
    if origin is dict:
        return _dict_checker(_checker(args[1]) if args else _check_any)
    raise TypeError(f"escli cannot encode fields of type {_type_name(tp)}")


def _enum_checker(tp: type[enum.Enum]) -> Check:
    by_value = {member.value: member for member in tp}

    def check(value: Any, path: str) -> Any:
        if isinstance(value, tp):
            return value
        try:
            return by_value[value]
        except (KeyError, TypeError):
            allowed = ", ".join(repr(v) for v in by_value)
            raise FieldError(path, f"expected one of {allowed}, got {_describe(value)}") from None

    return check


def _literal_checker(allowed: tuple[Any, ...]) -> Check:
    def check(value: Any, path: str) -> Any:
        for option in allowed:
            if value == option and type(value) is type(option):
                return value
        options = ", ".join(repr(v) for v in allowed)
        raise FieldError(path, f"expected one of {options}, got {_describe(value)}")

    return check


def _union_checker(options: tuple[Any, ...]) -> Check:
    checks = [_checker(option) for option in options]
    label = type_label(typing.Union[options])  # noqa: UP007 - rebuilding the annotation

    def check(value: Any, path: str) -> Any:
        unwritable = None
        for option_check in checks:
            try:
                return option_check(value, path)
            except _Unwritable as e:
                unwritable = unwritable or e
            except FieldError:
                continue
        if unwritable is not None:
            raise unwritable
        raise FieldError(path, f"expected {label}, got {_describe(value)}")

    return check


def _list_checker(item: Check, container: type) -> Check:
    def check(value: Any, path: str) -> Any:
        if not isinstance(value, (list, tuple)):
            raise FieldError(path, f"expected a list, got {_describe(value)}")
        return container(item(v, f"{path}[{i}]") for i, v in enumerate(value))

    return check


def _dict_checker(item: Check) -> Check:
    def check(value: Any, path: str) -> Any:
        if not isinstance(value, dict):
            raise FieldError(path, f"expected an object, got {_describe(value)}")
        out = {}
        for key, v in value.items():
            if type(key) is not str:
                raise FieldError(path, f"expected string keys, got {_describe(key)}")
            _check_text(key, path)
            out[key] = item(v, f"{path}.{key}" if path else key)
        return out

    return check


class _Field(typing.NamedTuple):
    name: str
    check: Check
    required: bool


_FIELDS: dict[type, tuple[_Field, ...]] = {}


def _fields(cls: type) -> tuple[_Field, ...]:
    if cls in _FIELDS:
        return _FIELDS[cls]
    hints = typing.get_type_hints(cls)
    fields = _FIELDS[cls] = tuple(
        _Field(
            f.name,
            _checker(hints[f.name]),
            f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING,
        )
        for f in dataclasses.fields(cls)
        if f.init
    )
    return fields


def _dataclass_checker(cls: type) -> Check:
    def check(value: Any, path: str) -> Any:
        if isinstance(value, cls):
            return value
        return _decode_fields(cls, value, path)

    return check


def _decode_fields(cls: type, data: Any, path: str) -> Any:
    if not isinstance(data, Mapping):
        raise FieldError(path, f"expected an object, got {_describe(data)}")
    prefix = f"{path}." if path else ""
    kwargs = {}
    fields = _fields(cls)
    for f in fields:
        if f.name in data:
            kwargs[f.name] = f.check(data[f.name], prefix + f.name)
        elif f.required:
            raise FieldError(prefix + f.name, "missing")
    if len(kwargs) != len(data):
        known = {f.name for f in fields}
        extra = sorted(k for k in data if k not in known)
        raise FieldError(prefix + extra[0], f"not a field of {cls.__name__}")
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as e:  # a __post_init__ that validates
        raise FieldError(path, str(e)) from e


_SIMPLE = {str: "str", int: "int", bool: "bool"}


_DECODERS: dict[type, Callable[[Any], Any]] = {}
_CHECKERS: dict[type, Callable[[Any], None]] = {}


def decoder(cls: type) -> Callable[[Any], Any]:
    """The cached decoder of a dataclass (see ``_build``)."""
    try:
        return _DECODERS[cls]
    except KeyError:
        built = _DECODERS[cls] = _build(cls, check_only=False)
        return built


def checker(cls: type) -> Callable[[Any], None]:
    """The cached checker of a dataclass: raises ``FieldError`` exactly where its decoder
    would, and returns None, building no instance when its fast path applies (an import
    checks every event's data but appends the data, not the instance)."""
    try:
        return _CHECKERS[cls]
    except KeyError:
        built = _CHECKERS[cls] = _build(cls, check_only=True)
        return built


def _build(cls: type, *, check_only: bool) -> Callable[[Any], Any]:
    """A decoder (or checker) for ``cls``: a generated fast path for flat classes of
    str/int/bool fields whose instances can be built through ``__dict__``, falling back to
    the general checks (which also produce the error messages) whenever the fast path has
    any doubt."""
    hints = typing.get_type_hints(cls)
    fields = [f for f in dataclasses.fields(cls)]
    flat = (
        all(f.init and hints[f.name] in _SIMPLE for f in fields)
        and not hasattr(cls, "__post_init__")
        and not any("__slots__" in c.__dict__ for c in cls.__mro__[:-1])
    )

    def slow(data: Any) -> Any:
        return _decode_fields(cls, data, "")

    def slow_check(data: Any) -> None:
        _decode_fields(cls, data, "")

    if not flat or not fields:
        return slow_check if check_only else slow
    names = [f.name for f in fields]
    accepted = (
        ["            return None"]
        if check_only
        else [
            "            obj = new(cls)",
            "            obj.__dict__.update(data)",
            "            return obj",
        ]
    )
    lines = [
        "def decode(data):",
        f"    if type(data) is dict and len(data) == {len(names)}:",
        "        try:",
        *(f"            v{i} = data[{name!r}]" for i, name in enumerate(names)),
        "        except KeyError:",
        "            return slow(data)",
        "        if "
        + " and ".join(_fast_test(f"v{i}", hints[name]) for i, name in enumerate(names))
        + ":",
        *accepted,
        "    return slow(data)",
    ]
    namespace: dict[str, Any] = {
        "slow": slow_check if check_only else slow,
        "new": object.__new__,
        "cls": cls,
        "surrogate": find_lone_surrogate,
        "bound": _FAST_INT_BOUND,
    }
    exec("\n".join(lines), namespace)
    return namespace["decode"]  # type: ignore[no-any-return]


def _fast_test(name: str, tp: Any) -> str:
    """The fast path's test of one field: exactly the type, and nothing the general checks
    would refuse (a lone surrogate, an integer too long to write); any doubt goes slow."""
    if tp is str:
        return f"type({name}) is str and ({name}.isascii() or surrogate({name}) is None)"
    if tp is int and _FAST_INT_BOUND is not None:
        return f"type({name}) is int and -bound < {name} < bound"
    return f"type({name}) is {_SIMPLE[tp]}"


def check_value(tp: Any, value: Any, path: str) -> Any:
    """``value`` checked (and, for nested dataclasses, built) against annotation ``tp``."""
    return _checker(tp)(value, path)


def decode(cls: type[Any], data: Any) -> Any:
    """Build a ``cls`` instance from a JSON-ready mapping, checking every field's type."""
    return decoder(cls)(data)


def _encode_value(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, enum.Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return encode(value)
    if isinstance(value, (list, tuple)):
        return [_encode_value(v) for v in value]
    if isinstance(value, dict):
        return {k: _encode_value(v) for k, v in value.items()}
    raise TypeError(f"escli cannot encode {_describe(value)}")


def encode(obj: Any) -> dict[str, Any]:
    """A dataclass instance as a JSON-ready dict of its fields."""
    return {f.name: _encode_value(getattr(obj, f.name)) for f in _fields(type(obj))}


_INTEGER = re.compile(r"[+-]?[0-9]+")
_DECIMAL = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")
_TRUE = {"true", "yes", "y", "1", "on"}
_FALSE = {"false", "no", "n", "0", "off"}


def parse_text(tp: Any, text: str, path: str) -> Any:
    """Convert a command-line word to a field's type (``"150"`` -> ``150`` for ``int``)."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if type(None) in args and text.lower() in ("null", "none", ""):
            return None
        _check_text(text, path)
        unwritable = None
        for option in args:
            if option is type(None):
                continue
            try:
                return parse_text(option, text, path)
            except _Unwritable as e:
                unwritable = unwritable or e
            except FieldError:
                continue
        if unwritable is not None:
            raise unwritable
        raise FieldError(path, f"{_describe(text)} is not a valid {_type_name(tp)}")
    _check_text(text, path)
    if tp is str or tp is Any:
        return text
    if tp is bool:
        lowered = text.lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise FieldError(path, f"expected true or false, got {text!r}")
    if tp is int:
        # ASCII digits only: int() would also take " 5", "1_000" and other scripts' digits.
        if not _INTEGER.fullmatch(text):
            raise FieldError(path, f"expected an integer, got {_describe(text)}")
        digits = len(text.lstrip("+-"))
        if MAX_INT_DIGITS and digits > MAX_INT_DIGITS:
            raise _Unwritable(
                path, f"an integer of {digits} digits is past the limit of {MAX_INT_DIGITS}"
            )
        return int(text)
    if tp is float:
        # A decimal number as JSON writes it (float() would also take " 1", "1_0", "nan"
        # and "inf"); one too large for a float (1e400) is as non-finite as "inf".
        if not _DECIMAL.fullmatch(text):
            if text.strip().lstrip("+-").lower() in ("nan", "inf", "infinity"):
                raise _Unwritable(path, f"expected a finite number, got {_describe(text)}")
            raise FieldError(path, f"expected a number, got {_describe(text)}")
        value = float(text)
        if not math.isfinite(value):
            raise _Unwritable(path, f"expected a finite number, got {_describe(text)}")
        return value
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return _checker(tp)(text, path)
    if origin is typing.Literal:
        for option in typing.get_args(tp):
            if str(option) == text:
                return option
        return _literal_checker(typing.get_args(tp))(text, path)
    raise FieldError(path, f"cannot be given on the command line (type {_type_name(tp)})")


def field_types(cls: type) -> dict[str, Any]:
    """The resolved annotations of a dataclass's init fields, in declaration order."""
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls) if f.init}


def type_label(tp: Any) -> str:
    """A short human name for an annotation: ``int``, ``str | None``."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return " | ".join(type_label(a) for a in typing.get_args(tp))
    if tp is type(None):
        return "None"
    return _type_name(tp)
