"""Option types shared by several commands."""

from __future__ import annotations

import re
from typing import Any

import click

from escli.errors import InvalidInput

__all__ = ["MAX_GENERATION", "Generation"]

# The largest generation a store can hold and compare: a signed 64-bit integer (SQLite's
# INTEGER, PostgreSQL's bigint).
MAX_GENERATION = 2**63 - 1

_DIGITS = re.compile(r"[0-9]{1,19}")


class Generation(click.ParamType):
    """A stream generation from ``minimum`` to ``MAX_GENERATION``, in plain ASCII digits.
    Anything else is invalid input (exit 4) naming the option and the value: a store
    would refuse it with a driver error, or Python with a traceback (``1`` and 5,000 zeros)."""

    name = "generation"

    def __init__(self, minimum: int) -> None:
        self.minimum = minimum

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
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
