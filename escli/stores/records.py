"""The records stores read and write (``NewEvent``, ``RecordedEvent``, ``Pending``,
``StreamInfo``, ``FoldRow``), the row reader of the SQL stores, fresh ids and times.

Every event may carry **metadata**: a flat mapping of string names to string values, the
"why" of the event rather than its "what" (``escli.stores.metadata``: the causation and
correlation ids of the dispatch that made it, the command's name, free ``--meta`` pairs).
None (or empty) is an event written before escli kept metadata, or with none: it reads, folds,
exports and copies exactly as before. ``base.py`` re-exports every name here.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, NamedTuple

from escli.jsontext import parse_data

__all__ = [
    "FoldRow",
    "Metadata",
    "NewEvent",
    "Pending",
    "RecordedEvent",
    "StreamInfo",
    "metadata_json",
    "new_event_id",
    "now_rfc3339",
    "parse_metadata",
    "records",
]

# An event's metadata: string names to string values (None: an event that has none).
Metadata = Mapping[str, str]


def metadata_json(metadata: Metadata | None) -> str | None:
    """The JSON text a store keeps for ``metadata`` (None when there is none)."""
    if not metadata:
        return None
    return json.dumps(dict(metadata), separators=(",", ":"), ensure_ascii=False)


def parse_metadata(text: str | bytes | None) -> dict[str, str] | None:
    """Metadata from the JSON text a store kept; None for none (or for text that is not a
    JSON object of strings: metadata is context, never worth failing a read for)."""
    if not text:
        return None
    try:
        found = json.loads(text)
    except ValueError:
        return None
    if not isinstance(found, dict):
        return None
    kept = {k: v for k, v in found.items() if isinstance(v, str)}
    return kept or None


def records(rows: Iterable[Sequence[Any]]) -> Iterator[RecordedEvent]:
    """Recorded events from rows of (stream, generation, event id, type, version, source,
    JSON data text, recorded time, position, JSON metadata text or None), the shape the SQL
    stores select."""
    for row in rows:
        stream, generation, event_id, event_type, version, source, data, at, position, meta = row
        yield RecordedEvent(
            stream,
            generation,
            event_id,
            event_type,
            version,
            source,
            parse_data(data, stream, generation),
            at,
            position,
            None if meta is None else parse_metadata(meta),
        )


def new_event_id() -> str:
    """A random (version 4) UUID string."""
    import uuid  # lazily: importing uuid costs a few ms of CLI start-up

    return str(uuid.uuid4())


def now_rfc3339() -> str:
    """The current time as RFC 3339 with microseconds and an explicit UTC offset."""
    from datetime import UTC, datetime

    return datetime.now(UTC).isoformat(timespec="microseconds")


# Records are NamedTuples rather than dataclasses: cheaper to define (CLI start-up) and to
# build (one per event on replay).


class NewEvent(NamedTuple):
    """An event about to be appended. ``event_id`` is fixed before the write so that a retried
    append carries the same ids (stores that deduplicate by id make retries idempotent).
    ``recorded_at`` is set by import and copy to keep the original time; else the store's now.
    ``metadata``: see the module docstring (None: none)."""

    event_type: str
    type_version: str
    source: str
    data: dict[str, Any]
    event_id: str
    recorded_at: str | None = None
    metadata: Metadata | None = None

    def recorded(
        self, stream: str, generation: int, recorded_at: str, position: int
    ) -> RecordedEvent:
        """This event as a store recorded it (``recorded_at`` already defaulted)."""
        return RecordedEvent(
            stream,
            generation,
            self.event_id,
            self.event_type,
            self.type_version,
            self.source,
            self.data,
            recorded_at,
            position,
            self.metadata or None,
        )


class RecordedEvent(NamedTuple):
    """An event as a store holds it; ``metadata`` None for an event that has none."""

    stream: str
    generation: int
    event_id: str
    event_type: str
    type_version: str
    source: str
    data: dict[str, Any]
    recorded_at: str
    position: int
    metadata: Metadata | None = None

    def as_new(self) -> NewEvent:
        """The same event (id, time and metadata kept) to append to another store."""
        return NewEvent(
            self.event_type,
            self.type_version,
            self.source,
            self.data,
            self.event_id,
            self.recorded_at,
            self.metadata,
        )


class Pending(NamedTuple):
    """Events of ``stream`` stored but not yet delivered to ``target``."""

    target: str
    stream: str
    from_generation: int
    to_generation: int


class StreamInfo(NamedTuple):
    stream: str
    generation: int
    events: int


# (generation, event type, type version, data): data is a dict, or the JSON text of one
# (stores that keep JSON as text hand it over unparsed; the fold parses it).
FoldRow = tuple[int, str, str, dict[str, Any] | str]
