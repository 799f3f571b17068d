"""Option types shared by several commands, and the check every argument passes."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import click

from escli.errors import InvalidInput

__all__ = ["MAX_GENERATION", "Generation", "check_arguments"]

# The largest generation a store can hold and compare: a signed 64-bit integer (SQLite's
# INTEGER, PostgreSQL's bigint).
MAX_GENERATION = 2**63 - 1

_DIGITS = re.compile(r"[0-9]{1,19}")
_SURROGATE = re.compile("[\ud800-\udfff]")


def check_arguments(args: Sequence[str]) -> None:
    """Refuse an argument that is not text: Python hands on a byte that is not UTF-8 as a
    lone surrogate (``combat-$'\\xff'`` becomes ``'combat-\\udcff'``), which no store and
    no file can encode. Checked once, for every command, before anything runs."""
    for arg in args:
        if isinstance(arg, str) and not arg.isascii() and _SURROGATE.search(arg):
            try:
                shown = repr(arg.encode("utf-8", "surrogateescape"))[1:]
            except UnicodeEncodeError:
                shown = repr(arg)
            raise InvalidInput(f"argument {shown} is not UTF-8 text")


class Generation(click.ParamType):  # type: ignore[type-arg]  # generic from click 8.2 only
    """A stream generation from ``minimum`` to ``MAX_GENERATION``, in plain ASCII digits.
    Anything else is invalid input (exit 4) naming the option and the value: a store
    would refuse it with a driver error, or Python with a traceback (``1`` and 5,000 zeros)."""

    name = "generation"

    def __init__(self, minimum: int) -> None:
        self.minimum = minimum

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value  # a default
        text = str(value)
        number = int(text) if _DIGITS.fullmatch(text) else None
        if number is None or not self.minimum <= number <= MAX_GENERATION:
            option = param.opts[0] if param is not None and param.opts else "generation"
            shown = text if len(text) <= 30 else f"{text[:12]}...({len(text)} characters)"
            raise InvalidInput(
                f"{option}: expected a generation from {self.minimum} to {MAX_GENERATION}, "
                f"got {shown!r}"
            )
        return number
