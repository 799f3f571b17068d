"""How projections look: ``escli projections`` (a row per projection), ``escli project``
(a line per run) and ``escli view`` (a view's rows as a table). Their ``--json`` shapes are
the objects below, and kept stable."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from rich.text import Text

from escli.cli.render import columns

if TYPE_CHECKING:
    from escli.app.projections import Caught
    from escli.app.view_status import Status
    from escli.stores.views import ViewBuild

__all__ = [
    "caught_json",
    "caught_line",
    "no_rows_note",
    "rows_json",
    "rows_view",
    "status_json",
    "status_view",
]

_STYLES = {"fresh": "green", "stale": "yellow", "new": "dim", "rebuilding": "yellow"}
_STATES = {"stale": "stale: rebuild", "rebuilding": "rebuilding (run --rebuild again)"}


def status_json(found: list[Status]) -> list[dict[str, Any]]:
    return [
        {
            "projection": s.name,
            "checkpoint": s.position,
            "head": s.head,
            "lag": s.lag,
            "rows": s.rows,
            "events": s.events,
            "state": s.state,
            "updated_at": s.updated_at or None,
        }
        for s in found
    ]


def status_view(found: list[Status]) -> Text:
    names = ("projection", "checkpoint", "head", "lag", "rows", "state")
    rows: list[list[str | Text]] = [[Text(n, style="bold") for n in names]]
    for s in found:
        rows.append(
            [
                s.name,
                f"{s.position:,}",
                f"{s.head:,}",
                f"{s.lag:,}",
                f"{s.rows:,}",
                Text(_STATES.get(s.state, s.state), style=_STYLES.get(s.state, "")),
            ]
        )
    return columns(rows, indent=0)


def caught_json(caught: Caught) -> dict[str, Any]:
    return {
        "projection": caught.name,
        "events": caught.events,
        "scanned": caught.scanned,
        "checkpoint": caught.position,
        "build": caught.build,
        "rebuilt": caught.rebuilt,
    }


def caught_line(caught: Caught) -> Text:
    events = f"{caught.events:,} event{'' if caught.events == 1 else 's'}"
    done = f"rebuilt from {events}" if caught.rebuilt else f"{events} processed"
    return Text.assemble((caught.name, "bold"), f"  {done}, checkpoint {caught.position:,}")


def no_rows_note(name: str, build: ViewBuild | None) -> str:
    """What ``view`` says when it shows no rows: to run the projection only when its view
    was never built; else where the view stands (its rows may all have been deleted)."""
    if build is None:
        return f"{name}: no rows (run escli project {name})"
    return f"{name}: no rows (checkpoint {build.position:,})"


def rows_json(found: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    return [{"key": key, "row": row} for key, row in found]


def _cell(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def rows_view(found: list[tuple[str, dict[str, Any]]]) -> Text:
    """A column per field (in the order rows first name them), a row per key."""
    fields = list(dict.fromkeys(name for _, row in found for name in row))
    rows: list[list[str | Text]] = [[Text(n, style="bold") for n in ("key", *fields)]]
    for key, row in found:
        rows.append([key, *(_cell(row[f]) if f in row else "" for f in fields)])
    return columns(rows, indent=0)
