"""How snapshots look: ``escli snapshots``, a row per snapshot (its ``--json`` shape is the
list of objects below, and kept stable)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from rich.text import Text

from escli.cli.render import columns
from escli.cli.shorten import short_time

if TYPE_CHECKING:
    from escli.app.snapshots import Listed

__all__ = ["snapshots_json", "snapshots_view"]

_STYLES = {"fresh": "green", "stale": "yellow", "unknown": "red"}


def snapshots_json(found: list[Listed]) -> list[dict[str, Any]]:
    return [
        {
            "stream": s.snapshot.stream,
            "generation": s.snapshot.generation,
            "event_id": s.snapshot.event_id,
            "bytes": len(s.snapshot.state.encode()),
            "taken_at": s.snapshot.taken_at,
            "status": s.status,
        }
        for s in found
    ]


def _age(taken_at: str) -> str:
    try:
        then = datetime.fromisoformat(taken_at)
    except ValueError:
        return "?"
    seconds = max(0, int((datetime.now(then.tzinfo) - then).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def snapshots_view(found: list[Listed]) -> Text:
    header = [Text(n, style="bold") for n in ("stream", "generation", "bytes", "taken", "age")]
    rows: list[list[str | Text]] = [[*header, Text("status", style="bold")]]
    width = max(len("generation"), *(len(str(s.snapshot.generation)) for s in found))
    for s in found:
        rows.append(
            [
                s.snapshot.stream,
                str(s.snapshot.generation).rjust(width),
                str(len(s.snapshot.state.encode())),
                short_time(s.snapshot.taken_at).rstrip(),
                _age(s.snapshot.taken_at),
                Text(s.status, style=_STYLES.get(s.status, "")),
            ]
        )
    return columns(rows, indent=0)
