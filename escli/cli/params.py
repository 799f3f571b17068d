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

_NATURAL = re.compile(r"\+?[0-9]+")  # a negative number is below any minimum


class Generation(click.IntRange):
    """A stream generation from ``minimum`` up: a usage error (exit 2) below it or for a word
    that is not an integer, as for any click integer; past ``MAX_GENERATION`` invalid input
    (exit 4) naming the option and the value, which a store would refuse with a driver
    error (or Python with a traceback, for ``1`` and 5,000 zeros)."""

    name = "generation"

    def __init__(self, minimum: int) -> None:
        super().__init__(min=minimum)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        text = value if isinstance(value, str) else ""
        digits = text.strip()
        if _NATURAL.fullmatch(digits) and (len(digits) > 20 or int(digits) > MAX_GENERATION):
            option = param.opts[0] if param is not None and param.opts else "generation"
            shown = text if len(text) <= 30 else f"{text[:12]}...({len(text)} characters)"
            raise InvalidInput(
                f"{option}: {shown!r} is past the largest generation a store holds "
                f"({MAX_GENERATION})"
            )
        return super().convert(value, param, ctx)
