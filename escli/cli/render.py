"""How results look: rich renderables for people, plain dicts for ``--json``."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Final, TypeVar

from rich.text import Text

from escli.cli.shorten import short_id, short_time
from escli.domain.codec import encode
from escli.domain.model import event_meta

if TYPE_CHECKING:
    from escli.app.copy import CopyResult
    from escli.app.delivery import Published, TargetFailed
    from escli.app.dispatch import DispatchResult
    from escli.app.fold import Step
    from escli.cloudevents.importing import ImportResult
    from escli.scripts.running import ScenarioOutcome, StepOutcome
    from escli.stores.base import RecordedEvent, StreamInfo

ARROW = "→"
SHOWN: Final = 5  # streams a listing shows before it summarises the rest
T = TypeVar("T")


def summarised(items: Sequence[T]) -> tuple[Sequence[T], str | None]:
    """The streams a long listing (import, copy) shows, and the line that counts the rest;
    None when all are shown (a line saying "and 1 more" would hide it for nothing)."""
    if len(items) <= SHOWN + 1:
        return items, None
    return items[:SHOWN], f"and {len(items) - SHOWN} more streams (--json lists every stream)"


def counted(n: int, noun: str) -> str:
    """``1 event``, ``2 events``."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _compact(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(", ", ": "))


def _value(value: Any) -> str:
    return value if isinstance(value, str) else _compact(value)


Cell = str | Text


def columns(rows: Iterable[Sequence[Cell]], indent: int = 2, gap: int = 2) -> Text:
    """Rows as aligned columns, with no trailing spaces (rich tables pad every cell)."""
    cells = [[c if isinstance(c, Text) else Text(c) for c in row] for row in rows]
    for row in cells:  # an empty last cell would pad the line with spaces
        while row and not row[-1].cell_len:
            row.pop()
    widths = [
        max((r[i].cell_len for r in cells if len(r) > i), default=0)
        for i in range(max(map(len, cells), default=0))
    ]
    out = Text()
    for n, row in enumerate(cells):
        if n:
            out.append("\n")
        out.append(" " * indent)
        for i, cell in enumerate(row):
            out.append_text(cell)
            if i < len(row) - 1:
                out.append(" " * (widths[i] - cell.cell_len + gap))
    return out


def state_table(before: dict[str, Any] | None, after: dict[str, Any]) -> Text:
    """Fields of a state; with ``before``, changed fields show ``old → new`` in bold."""
    rows: list[list[Cell]] = []
    for name, new in after.items():
        if name == "generation":
            continue
        old = new if before is None else before.get(name)
        if old != new:
            rows.append([name, Text(f"{_value(old)} {ARROW} {_value(new)}", style="bold yellow")])
        else:
            rows.append([name, _value(new)])
    return columns(rows)


def changed_fields(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    return {
        name: [before.get(name), value]
        for name, value in after.items()
        if name != "generation" and before.get(name) != value
    }


def event_line(
    generation: int,
    event_type: str,
    version: str,
    data: dict[str, Any],
    recorded: RecordedEvent | None = None,
) -> Text:
    """``  3  combat.EntityAttacked v2.0  {...}``; with the recorded event, its short id and
    time after the generation (``replay --steps``, ``follow``)."""
    line = Text(f"  {generation:>3}  ")
    if recorded is not None:
        line.append(short_id(recorded.event_id), style="yellow")
        line.append("  ")
        line.append(short_time(recorded.recorded_at), style="dim")
        line.append("  ")
    line.append(event_type, style="bold cyan")
    line.append(f" v{version}  ")
    line.append(_compact(data))
    return line


def recorded_json(r: RecordedEvent) -> dict[str, Any]:
    return {
        "id": r.event_id,
        "stream": r.stream,
        "generation": r.generation,
        "position": r.position,
        "type": r.event_type,
        "version": r.type_version,
        "source": r.source,
        "time": r.recorded_at,
        "data": r.data,
        "metadata": dict(r.metadata or {}),
    }


# -- dispatch ----------------------------------------------------------------------------


def dispatch_json(result: DispatchResult) -> dict[str, Any]:
    if result.recorded:
        events = [recorded_json(r) for r in result.recorded]
    else:
        events = []
        for offset, event in enumerate(result.events, start=1):
            meta = event_meta(event)
            events.append(
                {
                    "generation": result.before.generation + offset,
                    "type": meta.event_type,
                    "version": meta.version,
                    "source": meta.source,
                    "data": encode(event),
                }
            )
    return {
        "stream": result.stream,
        "command": type(result.command).__name__,
        "dry_run": result.dry_run,
        "generation": {"before": result.before.generation, "after": result.after.generation},
        "events": events,
        "state": {"before": encode(result.before), "after": encode(result.after)},
        "targets": [
            {
                "target": d.target,
                "ok": d.ok,
                "from_generation": d.from_generation,
                "to_generation": d.to_generation,
                "error": None if d.ok else str(d.error),
            }
            for d in result.deliveries
        ],
    }


def dispatch_view(result: DispatchResult) -> Iterable[Any]:
    header = Text()
    header.append(result.stream, style="bold")
    header.append(f"  generation {result.before.generation} {ARROW} {result.after.generation}")
    if result.dry_run:
        header.append("  (dry run: nothing written)", style="yellow")
    elif not result.events:
        header.append("  (no events: nothing written)", style="yellow")
    yield header
    data = dispatch_json(result)
    if data["events"]:
        yield "events"
        for e in data["events"]:
            yield event_line(e["generation"], e["type"], e["version"], e["data"])
    yield "state"
    yield state_table(data["state"]["before"], data["state"]["after"])
    for d in result.deliveries:
        span = f"generations {d.from_generation}..{d.to_generation}"
        if d.ok:
            yield Text.assemble(("  ok  ", "green"), d.target, f"  {span}")
        else:
            yield Text.assemble(
                ("  FAILED  ", "bold red"), d.target, f"  {span} pending: {d.error}"
            )


# -- replay ------------------------------------------------------------------------------


def state_json(stream: str, state: Any) -> dict[str, Any]:
    return {"stream": stream, "generation": state.generation, "state": encode(state)}


def state_view(stream: str, state: Any) -> Iterable[Any]:
    header = Text()
    header.append(stream, style="bold")
    header.append(f"  generation {state.generation}")
    yield header
    yield state_table(None, encode(state))


def upcast_json(step: Step) -> dict[str, Any] | None:
    """The event a step applied, when upcasters made it from an older stored version (its
    type, version and data as its current class has them); else None."""
    r = step.recorded
    if step.event is None:
        return None
    meta = event_meta(step.event)
    if (meta.event_type, meta.version) == (r.event_type, r.type_version):
        return None
    return {"type": meta.event_type, "version": meta.version, "data": encode(step.event)}


def step_json(step: Step) -> dict[str, Any]:
    """A step: the event as stored and, if it was upcast, what it was read as (``upcast``)."""
    r = step.recorded
    event = {
        "id": r.event_id,
        "time": r.recorded_at,
        "type": r.event_type,
        "version": r.type_version,
        "data": r.data,
    }
    upcast = upcast_json(step)
    if upcast is not None:
        event["upcast"] = upcast
    return {
        "generation": r.generation,
        "event": event,
        "changed": changed_fields(encode(step.before), encode(step.after)),
    }


def step_view(step: Step) -> Iterable[Any]:
    r = step.recorded
    yield event_line(r.generation, r.event_type, r.type_version, r.data, r)
    upcast = upcast_json(step)
    if upcast is not None:
        line = Text(f"       {ARROW} read as ", style="dim")
        if upcast["type"] != r.event_type:
            line.append(upcast["type"], style="bold cyan")
            line.append(" ")
        line.append(f"v{upcast['version']}  ")
        line.append(_compact(upcast["data"]))
        yield line
    changes = changed_fields(encode(step.before), encode(step.after))
    if changes:
        yield columns(
            (
                [name, Text(f"{_value(old)} {ARROW} {_value(new)}", style="yellow")]
                for name, (old, new) in changes.items()
            ),
            indent=7,
        )


# -- streams (domains and their versions: render_domains.py) ------------------------------


def _header(*names: str) -> list[Cell]:
    return [Text(n, style="bold") for n in names]


def streams_view(streams: list[StreamInfo]) -> Text:
    width = max(len("generation"), *(len(str(s.generation)) for s in streams))
    rows = [_header("stream", "generation", "events")]
    rows += [[s.stream, str(s.generation).rjust(width), str(s.events)] for s in streams]
    return columns(rows, indent=0)


# -- scripts and scenarios ---------------------------------------------------------------


def _error_json(error: Any) -> dict[str, str] | None:
    if error is None:
        return None
    from escli.scripts.expectations import error_kind_of

    return {"kind": error_kind_of(error), "message": str(error)}


def script_step_json(number: int, outcome: StepOutcome) -> dict[str, Any]:
    return {
        "step": number,
        "where": str(outcome.step.where),
        "command": outcome.step.text,
        "ok": outcome.ok,
        "result": None if outcome.result is None else dispatch_json(outcome.result),
        "error": _error_json(outcome.error),
        "problems": outcome.problems,
    }


def script_step_view(number: int, outcome: StepOutcome) -> Iterable[Any]:
    yield Text.assemble(("── ", "dim"), (f"step {number}: ", "bold"), outcome.step.text)
    if outcome.result is not None:
        yield from dispatch_view(outcome.result)
    elif outcome.error is not None and outcome.ok:
        from escli.scripts.expectations import error_kind_of

        yield Text(f"{error_kind_of(outcome.error)} as expected: {outcome.error}", style="green")
    if not outcome.ok:
        yield Text(f"FAILED at {outcome.step.where}", style="bold red")
        for line in outcome.problems:
            yield Text(f"  {line}", style=_diff_style(line))


def script_summary(passed: int, failed: int) -> Text:
    return Text(f"{passed} passed, {failed} failed", style="bold red" if failed else "bold green")


def _diff_style(line: str) -> str:
    if line.startswith("+"):
        return "green"
    if line.startswith("-"):
        return "red"
    return ""


def scenario_json(outcome: ScenarioOutcome) -> dict[str, Any]:
    return {
        "name": outcome.scenario.name,
        "where": str(outcome.scenario.where),
        "ok": outcome.ok,
        "problems": outcome.problems,
    }


def scenario_view(outcome: ScenarioOutcome) -> Iterable[Any]:
    if outcome.ok:
        yield Text.assemble(("PASS", "bold green"), f"  {outcome.scenario.name}")
        return
    yield Text.assemble(
        ("FAIL", "bold red"), f"  {outcome.scenario.name}  ({outcome.scenario.where})"
    )
    for line in outcome.problems:
        yield Text(f"      {line}", style=_diff_style(line))


def published_json(item: Published | TargetFailed) -> dict[str, Any]:
    """A range sent, or a target that failed: ``{"target", "error", "exit_code"}``."""
    from escli.app.delivery import TargetFailed

    if isinstance(item, TargetFailed):
        return {"target": item.target, "error": str(item.error), "exit_code": item.error.exit_code}
    return item._asdict()


def published_view(item: Published | TargetFailed) -> Text:
    """One line a range, or a target that failed: the target first (several may get events
    in one run), as ``escli pending`` lists them."""
    from escli.app.delivery import TargetFailed

    if isinstance(item, TargetFailed):
        return Text.assemble(item.target, ("  FAILED  ", "bold red"), str(item.error))
    if not item.events:
        return Text(
            f"{item.target}  {item.stream}  no events from generation {item.from_generation}"
        )
    head = (
        f"{item.target}  {item.stream}  generations {item.from_generation}..{item.to_generation}  "
    )
    if item.stored is None:
        return Text(f"{head}{item.events} event{'s' if item.events != 1 else ''} sent")
    held = item.events - item.stored
    return Text(
        f"{head}{item.stored} event{'s' if item.stored != 1 else ''} stored"
        + (f" ({held} already there)" if held else "")
    )


# -- copy --------------------------------------------------------------------------------


def copy_json(result: CopyResult) -> dict[str, Any]:
    """Without --upcast, as it always was; with it, ``"upcast": true`` and ``"checked"``: the
    streams folded in both stores, each with the generation their states agree at."""
    shown: dict[str, Any] = {
        "source": result.source,
        "target": result.target,
        "copied": result.copied,
        "already_stored": result.present,
        "streams": [
            {"stream": s.stream, "copied": s.copied, "already_stored": s.present}
            for s in result.streams
        ],
    }
    if result.checked is not None:
        shown["upcast"] = True
        shown["checked"] = [
            {"stream": c.stream, "generation": c.generation} for c in result.checked
        ]
    return shown


def copy_view(result: CopyResult) -> Text:
    shown, more = summarised(result.streams)
    width = max(len("copied"), *(len(str(s.copied)) for s in shown))
    rows = [_header("stream", "copied", "already present")]
    rows += [[s.stream, str(s.copied).rjust(width), str(s.present)] for s in shown]
    table = columns(rows, indent=0)
    if more is not None:
        table.append(f"\n{more}")
    return table


def copy_summary(result: CopyResult) -> str:
    if not result.copied:
        return f"nothing to copy: {result.target} already holds all {result.present} events"
    return f"copied {result.copied} events to {result.target} ({result.present} were already there)"


def copy_checked(result: CopyResult) -> str:
    """What ``copy --upcast`` checked after the copy."""
    checked = result.checked or []
    if not checked:
        return "no stream was written to, so none was replayed to check it"
    return (
        f"checked {counted(len(checked), 'stream')}: each replays to the same state in both stores"
    )


def import_json(result: ImportResult) -> dict[str, Any]:
    return {
        "file": result.name,
        "format": result.kind,
        "dry_run": result.dry_run,
        "events": result.events,
        "imported": result.imported,
        "already_stored": result.present,
        "skipped_unknown": result.skipped,
        "streams": [
            {
                "stream": s.stream,
                "generation": {"before": s.before, "after": s.after},
                "imported": s.imported,
                "already_stored": s.present,
            }
            for s in result.streams
        ],
    }


def import_view(result: ImportResult) -> Iterable[Any]:
    if not result.events:
        yield f"nothing to import: {result.name} holds no events"
        return
    extras = []
    if result.present:
        everything = result.present == result.events
        extras.append("all already stored" if everything else f"{result.present} already stored")
    if result.skipped:
        extras.append(f"{result.skipped} of unknown type skipped")
    if not result.imported:
        yield f"nothing to import: {result.name} holds {counted(result.events, 'event')}, " + (
            ", ".join(extras)
        )
        return
    extra = f" ({', '.join(extras)})" if extras else ""
    changed = [s for s in result.streams if s.imported]
    what = f"{counted(result.imported, 'event')} into {counted(len(changed), 'stream')}"
    if result.dry_run:
        yield f"dry run: would import {what} from {result.name}{extra}; nothing written"
    else:
        yield f"imported {what} from {result.name}{extra}"
    shown, more = summarised(changed)
    yield columns([s.stream, f"generation {s.before} {ARROW} {s.after}"] for s in shown)
    if more is not None:
        yield f"  {more}"
