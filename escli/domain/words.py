"""Building a command from command-line words: ``attack ogre 150`` or
``attack --entity-id ogre --damage 150``. Shared by ``escli dispatch`` and scripts.

A word is converted by its field's type: numbers and true/false as a person types them,
``Decimal``, ``datetime``, ``date`` and ``UUID`` from their text forms, and lists, dicts and
nested dataclasses as JSON values (``add-items cart-1 '["a", "b"]'``).
"""

from __future__ import annotations

import dataclasses
import enum
import math
import re
import types
import typing
from collections.abc import Sequence
from typing import Any

from escli.domain.codec import MAX_INT_DIGITS, FieldError, check_value, field_types
from escli.domain.fit import Unwritable, check_text, describe, explain
from escli.domain.model import CommandSpec, Domain
from escli.errors import InvalidInput, UsageError
from escli.jsontext import loads_json_object_strict

__all__ = ["build_command", "command_usage", "parse_text"]


def command_usage(spec: CommandSpec) -> str:
    """``attack ENTITY_ID DAMAGE [WEAPON]``: a field with a default may be left out."""
    return " ".join(
        [
            spec.name,
            *(
                f"[{name.upper()}]" if _has_default(spec.cls, name) else name.upper()
                for name in field_types(spec.cls)
            ),
        ]
    )


def _split(spec: CommandSpec, words: Sequence[str], fields: dict[str, Any]) -> dict[str, str]:
    """Positional and ``--field value`` words -> field name -> word."""
    named: dict[str, str] = {}
    positional: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        if word == "--":
            positional.extend(words[i + 1 :])
            break
        if word.startswith("--") and len(word) > 2:
            key, eq, value = word[2:].partition("=")
            name = key.replace("-", "_")
            if name not in fields:
                options = ", ".join("--" + f.replace("_", "-") for f in fields)
                raise UsageError(f"{spec.name} has no option --{key} (options: {options})")
            if not eq:
                if i + 1 >= len(words):
                    raise UsageError(f"{spec.name}: --{key} needs a value")
                i += 1
                value = words[i]
            if name in named:
                raise UsageError(f"{spec.name}: --{key} given twice")
            named[name] = value
        else:
            positional.append(word)
        i += 1
    free = [name for name in fields if name not in named]
    if len(positional) > len(free):
        extra = " ".join(positional[len(free) :])
        raise UsageError(
            f"{spec.name}: unexpected extra argument(s) {extra!r} (usage: {command_usage(spec)})"
        )
    named.update(zip(free, positional, strict=False))
    return named


def build_command(domain: Domain, name: str, words: Sequence[str]) -> Any:
    """The command object the words describe, each value converted by its field's type."""
    spec = domain.command_spec(name)
    fields = field_types(spec.cls)
    given = _split(spec, words, fields)
    missing = [f for f in fields if f not in given]
    required = [f for f in missing if not _has_default(spec.cls, f)]
    if required:
        raise UsageError(
            f"{spec.name}: missing {', '.join(f.upper() for f in required)} "
            f"(usage: {command_usage(spec)})"
        )
    values = {}
    for field_name, word in given.items():
        try:
            values[field_name] = parse_text(fields[field_name], word, field_name)
        except FieldError as e:
            raise InvalidInput(f"{spec.name} {e.path}: {e.message}") from e
    return make_command(spec, values)


def make_command(spec: CommandSpec, values: dict[str, Any]) -> Any:
    try:
        return spec.cls(**values)
    except (TypeError, ValueError) as e:
        raise InvalidInput(f"{spec.name}: {e}") from e


def _has_default(cls: type, name: str) -> bool:
    for f in dataclasses.fields(cls):
        if f.name == name:
            return not (
                f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
            )
    return False


_INTEGER = re.compile(r"[+-]?[0-9]+")
_DECIMAL = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")
_TRUE = {"true", "yes", "y", "1", "on"}
_FALSE = {"false", "no", "n", "0", "off"}
_UNION = (typing.Union, types.UnionType)


def _json_kind(tp: Any) -> str | None:
    """``list`` or ``object`` for an annotation given as a JSON value, else None."""
    origin = typing.get_origin(tp) or tp
    if origin in (list, tuple):
        return "list"
    if origin is dict or (isinstance(tp, type) and dataclasses.is_dataclass(tp)):
        return "object"
    return None


def parse_text(tp: Any, text: str, path: str) -> Any:
    """Convert a command-line word to a field's type (``"150"`` -> ``150`` for ``int``)."""
    if typing.get_origin(tp) in _UNION:
        args = typing.get_args(tp)
        if type(None) in args and text.lower() in ("null", "none", ""):
            return None
        check_text(text, path)
        unwritable = None
        for option in args:
            if option is type(None):
                continue
            try:
                return parse_text(option, text, path)
            except Unwritable as e:
                unwritable = unwritable or e
            except FieldError:
                continue
        if unwritable is not None:
            raise unwritable
        raise FieldError(path, f"{describe(text)} is not a valid {_type_name(tp)}")
    check_text(text, path)
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
            raise FieldError(path, f"expected an integer, got {describe(text)}")
        digits = len(text.lstrip("+-"))
        if MAX_INT_DIGITS and digits > MAX_INT_DIGITS:
            raise Unwritable(
                path, f"an integer of {digits} digits is past the limit of {MAX_INT_DIGITS}"
            )
        return int(text)
    if tp is float:
        # A decimal number as JSON writes it (float() would also take " 1", "1_0", "nan"
        # and "inf"); one too large for a float (1e400) is as non-finite as "inf".
        if not _DECIMAL.fullmatch(text):
            if text.strip().lstrip("+-").lower() in ("nan", "inf", "infinity"):
                raise Unwritable(path, f"expected a finite number, got {describe(text)}")
            raise FieldError(path, f"expected a number, got {describe(text)}")
        value = float(text)
        if not math.isfinite(value):
            raise Unwritable(path, f"expected a finite number, got {describe(text)}")
        return value
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return explain(tp, text, path)
    if typing.get_origin(tp) is typing.Literal:
        for option in typing.get_args(tp):
            if str(option) == text:
                return option
        return explain(tp, text, path)
    if getattr(tp, "__module__", None) in ("decimal", "datetime", "uuid"):
        return check_value(tp, text, path)  # Decimal, datetime, date, UUID: as stored
    kind = _json_kind(tp)
    if kind is not None:
        example = """'["a", "b"]'""" if kind == "list" else """'{"a": 1}'"""
        try:
            parsed = loads_json_object_strict(text)
        except (ValueError, RecursionError):
            raise FieldError(
                path, f"expected a JSON {kind} (like {example}), got {describe(text)}"
            ) from None
        return check_value(tp, parsed, path)
    raise FieldError(path, f"cannot be given on the command line (type {_type_name(tp)})")


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")
