"""CloudEvents files: export a store's events to a file, and replay a stream from one.

The formats (``FORMATS``), and how a file is read and its defects located, are
``escli.cloudevents.formats``'s. Export streams events from the store and writes them as it
goes (constant memory, a batch too). Import is ``escli.cloudevents.importing``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from itertools import chain
from typing import IO, TYPE_CHECKING, Final

from escli.cloudevents.formats import read_events
from escli.cloudevents.output import output_to as export_to
from escli.cloudevents.progress import NO_PROGRESS, Progress
from escli.cloudevents.write import to_json
from escli.errors import InvalidInput, NotFound, UsageError
from escli.stores.base import BaseStore, RecordedEvent, Store

if TYPE_CHECKING:
    from escli.domain.discovery import DomainRegistry
    from escli.domain.model import Domain
    from escli.stores.current import CurrentRecords

__all__ = [
    "FORMATS",
    "FORMAT_NAMES",
    "FileStream",
    "export_events",
    "export_to",
    "selected_records",
    "stream_from_file",
]

FORMATS: Final = ("jsonl", "batch", "event")
FORMAT_NAMES: Final = {"jsonl": "JSON Lines", "batch": "batch", "event": "event"}
_EVERY: Final = 4096  # events between progress updates
_CHUNK: Final = 1024  # events per write


# --------------------------------------------------------------------------------------------
# Export.


def selected_records(
    store: Store,
    streams: Sequence[str],
    *,
    everything: bool,
    current: CurrentRecords | None = None,
) -> tuple[Iterator[RecordedEvent], int]:
    """The records to export and how many there are: the named streams one after another,
    or every event in the store's order. An unknown stream is an error before any output.

    With ``current`` (``export --upcast``), each record is at its current version
    (``escli.stores.current``), and a stream whose domain is unknown is an error before any
    output too. An event with neither a class nor an upcaster is found only when it is
    read, one pass as without ``--upcast``: ``-o FILE`` then does not appear (``export_to``
    writes a file whole or not at all); standard output holds the events before it."""
    if everything == bool(streams):
        raise UsageError("name the streams to export, or give --all (not both)")
    if everything:
        infos = list(store.streams())
        if current is not None:
            current.check(info.stream for info in infos)
        total = sum(info.events for info in infos)
        return _current(store.read_all(), current), total
    sizes = [store.generation(stream) for stream in streams]
    for stream, size in zip(streams, sizes, strict=True):
        if size == 0:
            from escli.suggest import stream_not_found

            raise stream_not_found(store, stream)
    if current is not None:
        current.check(streams)
    records = chain.from_iterable(store.read(stream) for stream in streams)
    return _current(records, current), sum(sizes)


def _current(
    records: Iterator[RecordedEvent], current: CurrentRecords | None
) -> Iterator[RecordedEvent]:
    return records if current is None else current(records)


def export_events(
    records: Iterable[RecordedEvent],
    out: IO[str],
    fmt: str = "jsonl",
    *,
    progress: Progress = NO_PROGRESS,
) -> int:
    """Write ``records`` to ``out`` as CloudEvents in format ``fmt``; returns how many.

    Memory stays constant: events are written in chunks as they are read. ``event`` needs
    exactly one record (checked before anything is written)."""
    if fmt not in FORMATS:
        raise UsageError(f"unknown format {fmt!r} (known: {', '.join(FORMATS)})")
    records = iter(records)
    if fmt == "event":
        found = [r for _, r in zip(range(2), records, strict=False)]
        if len(found) != 1:
            how_many = "none" if not found else "more than one"
            raise UsageError(
                f"--format event writes exactly one event, but there are {how_many}; "
                "use jsonl or batch"
            )
        out.write(to_json(found[0]) + "\n")
        return 1
    batch = fmt == "batch"
    if batch:
        out.write("[")
    count = 0
    chunk: list[str] = []
    append = chunk.append
    for record in records:
        if batch:
            append(",\n" if count else "\n")
        append(to_json(record))
        if not batch:
            append("\n")
        count += 1
        if not count % _CHUNK:
            out.write("".join(chunk))
            chunk.clear()
            if not count % _EVERY:
                progress.update(count)
    out.write("".join(chunk))
    if batch:
        out.write("\n]\n" if count else "]\n")
    progress.update(count)
    return count


# --------------------------------------------------------------------------------------------
# Replay from a file.


def _order_problem(
    stream: str, generations: list[int], locations: list[int]
) -> tuple[int, str] | None:
    """Where a stream's generations in the file stop counting up by one, if they do."""
    first = generations[0]
    if generations == list(range(first, first + len(generations))):
        return None
    k = next(k for k, g in enumerate(generations) if g != first + k)
    return locations[k], (
        f"{stream} generation {generations[k]} does not follow generation "
        f"{first + k - 1}; a stream's events must come in order, without gaps"
    )


class FileStream(BaseStore):
    """One stream's events read from a file, which ``fold`` and ``steps`` read like a store's
    (``position`` is where each event was in the file)."""

    def __init__(self, records: list[RecordedEvent]) -> None:
        self.records = records

    def read(
        self, stream: str, from_generation: int = 1, to_generation: int | None = None
    ) -> Iterator[RecordedEvent]:
        if not self.records or self.records[0].stream != stream:
            return iter(())
        stop = len(self.records) if to_generation is None else min(to_generation, len(self.records))
        return iter(self.records[max(from_generation, 1) - 1 : stop])


def stream_from_file(
    path: str, domains: DomainRegistry | Iterable[Domain], stream: str | None = None
) -> tuple[str, FileStream]:
    """The stream a CloudEvents file holds (or ``stream``, when it holds several), checked
    as an import checks it, from generation 1."""
    parsed = read_events(path, domains)
    parser = parsed.parser
    streams = parser.by_stream()
    if not streams:
        raise InvalidInput(f"{parsed.name} holds no events")
    if stream is None:
        if len(streams) > 1:
            raise UsageError(
                f"{parsed.name} holds {len(streams)} streams ({', '.join(sorted(streams))}): "
                "name the one to replay"
            )
        stream = next(iter(streams))
    elif stream not in streams:
        raise NotFound(
            f"{parsed.name} holds no events of {stream} (it holds {', '.join(sorted(streams))})"
        )
    indexes = streams[stream]
    generations = [parser.generations[i] for i in indexes]
    where = [parser.locations[i] for i in indexes]
    order = _order_problem(stream, generations, where)
    if order is not None:
        raise parsed.error(*order)
    if generations[0] != 1:
        raise parsed.error(
            where[0],
            f"{stream} starts at generation {generations[0]}; a replay needs its events from "
            "generation 1",
        )
    records = [
        RecordedEvent(
            stream,
            generation,
            e.event_id,
            e.event_type,
            e.type_version,
            e.source,
            e.data,
            e.recorded_at or "",  # always set: the parser requires a time
            location,
        )
        for generation, location, e in zip(
            generations, where, [parser.events[i] for i in indexes], strict=True
        )
    ]
    return stream, FileStream(records)
