"""Option types shared by several commands."""

from __future__ import annotations

import re
from typing import Any

import click

from escli.errors import InvalidInput
from escli.stores.base import MAX_GENERATION, past_max_generation

__all__ = ["Generation", "output_path"]

_NATURAL = re.compile(r"\+?[0-9]+")  # a negative number is below any minimum


class Generation(click.IntRange):
    """A stream generation from ``minimum`` up: a usage error (exit 2) below it or for a word
    that is not an integer, as for any click integer; past ``MAX_GENERATION`` (the largest
    generation escli keeps, ``escli.stores.base``) invalid input (exit 4) naming the option
    and the value."""

    name = "generation"

    def __init__(self, minimum: int) -> None:
        super().__init__(min=minimum)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        text = value if isinstance(value, str) else ""
        digits = text.strip()
        if not digits.isascii():  # int() reads "٣" as 3: a generation is written in ASCII
            self.fail(f"{value!r} is not a valid integer.", param, ctx)
        if _NATURAL.fullmatch(digits) and (len(digits) > 20 or int(digits) > MAX_GENERATION):
            option = param.opts[0] if param is not None and param.opts else "generation"
            shown = text if len(text) <= 30 else f"{text[:12]}...({len(text)} characters)"
            raise InvalidInput(f"{option}: {past_max_generation(repr(shown))}")
        return super().convert(value, param, ctx)


def output_path(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A ``-o FILE`` callback: an empty path is invalid input (exit 4) naming the option,
    before anything is read or written (it would be the current directory's empty name)."""
    if value == "":
        option = param.opts[0] if param.opts else "output"
        raise InvalidInput(
            f"{ctx.info_name} {option}: the output path is empty: name a FILE, or - for stdout"
        )
    return value
