"""How found things look: the table of ``escli events`` and the page of ``escli event``."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from rich.text import Text

from escli.cli.render import (
    ARROW,
    Cell,
    _compact,
    changed_fields,
    columns,
    recorded_json,
    state_table,
    upcast_json,
)
from escli.cli.shorten import short_id, short_time
from escli.domain.codec import encode
from escli.stores.metadata import ordered

if TYPE_CHECKING:
    from escli.app.search import EventShown
    from escli.stores.base import RecordedEvent

__all__ = ["event_json", "event_view", "events_table"]


def events_table(found: Sequence[RecordedEvent]) -> Text:
    """One line an event, in position order, ids and times short (``--json`` has them whole)."""
    names = ("position", "stream", "gen", "id", "time", "type", "data")
    rows: list[list[Cell]] = [[Text(n, style="bold") for n in names]]
    at = max(len("position"), *(len(str(r.position)) for r in found))
    gen = max(len("gen"), *(len(str(r.generation)) for r in found))
    for r in found:
        rows.append(
            [
                str(r.position).rjust(at),
                r.stream,
                str(r.generation).rjust(gen),
                Text(short_id(r.event_id), style="yellow"),
                Text(short_time(r.recorded_at).rstrip(), style="dim"),
                Text(f"{r.event_type} v{r.type_version}", style="cyan"),
                _compact(r.data),
            ]
        )
    return columns(rows, indent=0)


def event_json(shown: EventShown) -> dict[str, Any]:
    """The event whole (as ``recorded_json``), and ``state``: before and after, with the
    fields it ``changed`` (``[old, new]``), or None with ``why``."""
    out = recorded_json(shown.recorded)
    step = shown.step
    if step is None:
        return {**out, "state": None, "why": shown.why}
    before, after = encode(step.before), encode(step.after)
    upcast = upcast_json(step)
    if upcast is not None:
        out["upcast"] = upcast
    return {
        **out,
        "state": {"before": before, "after": after},
        "changed": changed_fields(before, after),
    }


def event_view(shown: EventShown) -> Iterable[Any]:
    r = shown.recorded
    yield Text.assemble((r.stream, "bold"), f"  generation {r.generation}  position {r.position}")
    yield columns(
        [
            ["id", Text(r.event_id, style="yellow")],
            ["type", Text(r.event_type, style="bold cyan")],
            ["version", r.type_version],
            ["source", r.source],
            ["time", r.recorded_at],
        ]
    )
    if r.metadata:
        yield "metadata"
        yield columns([[name, value] for name, value in ordered(r.metadata)])
    yield "data"
    yield Text("\n".join("  " + line for line in json.dumps(r.data, indent=2).splitlines()))
    step = shown.step
    if step is None:
        yield Text(f"state not shown: {shown.why}", style="dim")
        return
    upcast = upcast_json(step)
    if upcast is not None:
        yield Text(f"read as {upcast['type']} v{upcast['version']}  {_compact(upcast['data'])}")
    before, after = encode(step.before), encode(step.after)
    yield Text.assemble(
        "state", (f"  generation {step.before.generation} {ARROW} {step.after.generation}", "")
    )
    yield state_table(before, after)
    if not changed_fields(before, after):
        yield Text("  (no field changed)", style="dim")
