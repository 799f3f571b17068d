"""Building a command from command-line words: ``attack ogre 150`` or
``attack --entity-id ogre --damage 150``. Shared by ``escli dispatch`` and scripts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from escli.domain.codec import FieldError, field_types, parse_text
from escli.domain.model import CommandSpec, Domain
from escli.errors import InvalidInput, UsageError

__all__ = ["build_command", "command_usage"]


def command_usage(spec: CommandSpec) -> str:
    """``attack ENTITY_ID DAMAGE``."""
    return " ".join([spec.name, *(name.upper() for name in field_types(spec.cls))])


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
    import dataclasses

    for f in dataclasses.fields(cls):
        if f.name == name:
            return not (
                f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
            )
    return False
