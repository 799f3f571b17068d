"""The options that say why a dispatch happens (``dispatch``, ``run``): ``--causation-id``,
``--correlation-id`` (``ESCLI_CORRELATION_ID``) and ``--meta key=value``; see
``escli.stores.metadata``."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from escli.stores.metadata import Why

__all__ = ["why_of", "why_options"]

F = TypeVar("F", bound=Callable[..., Any])


def why_options(f: F) -> F:
    """``--causation-id``, ``--correlation-id`` and ``--meta``, as ``causation_id``,
    ``correlation_id`` and ``meta`` parameters (give them to ``why_of``)."""
    f = click.option(
        "--meta",
        metavar="KEY=VALUE",
        multiple=True,
        help="A pair to keep in the metadata of every event written (repeatable); KEY is "
        "1-20 characters a-z, 0-9, and not a name escli uses.",
    )(f)
    f = click.option(
        "--correlation-id",
        metavar="ID",
        envvar="ESCLI_CORRELATION_ID",
        callback=_checked_from_environment,
        help="The piece of work the events belong to, kept in their metadata (escli trace "
        "ID draws it). Default: $ESCLI_CORRELATION_ID, else the causation id.",
    )(f)
    f = click.option(
        "--causation-id",
        metavar="ID",
        help="The id of the command handled, kept in its events' metadata (for run, the "
        "script's first command; the others get their own). Default: a fresh UUID per "
        "command.",
    )(f)
    return f


def _checked_from_environment(
    ctx: click.Context, param: click.Parameter, value: str | None
) -> str | None:
    """A correlation id read from ``ESCLI_CORRELATION_ID``, checked under that name (the
    error names what the user set, not an option they did not give)."""
    source = ctx.get_parameter_source(param.name or "")
    if value is not None and source is click.core.ParameterSource.ENVIRONMENT:
        from escli.stores.metadata import check_id

        check_id("ESCLI_CORRELATION_ID", value)
    return value


def why_of(causation_id: str | None, correlation_id: str | None, meta: tuple[str, ...]) -> Why:
    """The options' values checked (a ``UsageError`` before anything is written)."""
    from escli.stores.metadata import Why, check_id, parse_meta

    return Why(
        None if causation_id is None else check_id("--causation-id", causation_id),
        None if correlation_id is None else check_id("--correlation-id", correlation_id),
        parse_meta(meta),
    )
