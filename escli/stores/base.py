"""The store protocols, the records stores read and write, and ``BaseStore``'s defaults.

A store keeps streams of events, each event at a *generation* (1, 2, ... within its stream)
and a global *position* (increasing across the store, possibly with gaps). It does three
things: read a stream, append to a stream with an expected generation, list streams; and it
answers where it holds given event ids (``find_ids``), through its unique index of ids.

The protocols, each standing alone, each capability declared in one of them (none found
with ``getattr``), each with its contract test class in ``tests/stores/``:

- ``EventStore``: ``read``, ``read_data``, ``append`` with an expected generation,
  ``generation`` (``generations`` of many), ``streams``, ``find_ids`` (``find_events``:
  the events too), the global log (``read_all``, ``subscribe``),
  ``version_counts``, ``close``; ``canonical_url`` and ``durable_without_close`` (defaults
  in ``BaseStore``). Every store.
- ``Outbox``: pending deliveries: ``append(pending_for=...)``, ``pending``, ``set_pending``,
  ``clear_pending``. Every store ``open_store`` returns, and a namespaced view.
- ``Store``: both, and search (``escli.stores.search``): what ``open_store`` returns.
- ``Transactional``: several appends (to any streams) visible together or not at all, or
  all rolled back at the end (SQLite, PostgreSQL, memory; not EventStoreDB, nor a view).
- ``StreamIds``: a stream's ids read once, for a store with no index of ids (EventStoreDB).
- ``HasSchema``: ``init``, the schema created ahead of the first write (SQLite, PostgreSQL).

The last three are runtime-checkable: code asks ``isinstance(store, Transactional)``.
The records (``NewEvent``, ``RecordedEvent``, ...) live in ``escli.stores.records`` and are
re-exported here, so that every ``from escli.stores.base import ...`` keeps working.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Iterator, Sequence
from contextlib import AbstractContextManager
from itertools import islice
from typing import Protocol, Self, runtime_checkable

from escli.errors import ConcurrencyConflict, StoreError, wrote_nothing
from escli.stores.counts import VersionCount, count_versions
from escli.stores.log import LogFromReadAll
from escli.stores.records import (
    FoldRow,
    Metadata,
    NewEvent,
    Pending,
    RecordedEvent,
    StreamInfo,
    new_event_id,
    now_rfc3339,
    records,
)
from escli.stores.search import EventSearch, SearchFromReadAll
from escli.stores.views import EventLog
from escli.urls import unmasked

__all__ = [
    "MAX_GENERATION",
    "BaseStore",
    "DuplicateEventId",
    "EventStore",
    "FoldRow",
    "HasSchema",
    "Metadata",
    "NewEvent",
    "Outbox",
    "Pending",
    "RecordedEvent",
    "Store",
    "StreamIds",
    "StreamInfo",
    "Transactional",
    "VersionCount",
    "new_event_id",
    "now_rfc3339",
    "records",
]


# The largest generation escli keeps: CloudEvents, the file format of export and import,
# writes it as an Integer, which the spec makes signed 32-bit. The stores could hold more
# (SQLite INTEGER, PostgreSQL bigint and EventStoreDB revisions are 64-bit), but a stream
# past it could not be exported; the options that take a generation stop there too.
MAX_GENERATION = 2**31 - 1


def past_max_generation(what: str) -> str:
    """The one wording of a generation past ``MAX_GENERATION``; ``what`` names it."""
    return (
        f"{what} is past the largest generation escli keeps, {MAX_GENERATION} "
        "(CloudEvents writes a generation as a signed 32-bit integer)"
    )


class DuplicateEventId(StoreError):
    """An appended event carries an id the store already holds; nothing was written."""

    def __init__(self, event_id: str) -> None:
        super().__init__()
        wrote_nothing(self, f"event id {event_id} is already stored")
        self.event_id = event_id


@runtime_checkable
class EventStore(Protocol):
    """Streams of events, each at a generation, and the global log across them: what every
    store offers (memory, SQLite, PostgreSQL, EventStoreDB, a namespaced view).

    The global log (``read_all``) and ``subscribe`` belong here rather than in a protocol of
    their own: every store has them, and ``BaseStore`` derives ``subscribe`` from ``read``
    and ``read_all`` by polling. ``canonical_url`` and ``durable_without_close`` are declared
    here too, with defaults in ``BaseStore``, so that no caller has to look for them."""

    url: str

    @property
    def canonical_url(self) -> str:
        """The store's one name whatever spelling opened it (a relative path, another
        working folder): it keys the pending deliveries of a store that is a ``--to``
        target. ``BaseStore``: ``url``."""
        ...

    @property
    def durable_without_close(self) -> bool:
        """Whether every commit is durable before ``close``, so that a process ending right
        after its command may skip closing the store (SQLite: closing would only fold the WAL
        into the file). ``BaseStore``: False."""
        ...

    def read(
        self, stream: str, from_generation: int = 1, to_generation: int | None = None
    ) -> Iterator[RecordedEvent]:
        """The stream's events with ``from_generation <= generation <= to_generation``,
        in order, streamed rather than loaded whole. An unknown stream reads as empty."""
        ...

    def append(
        self, stream: str, events: Sequence[NewEvent], expected_generation: int
    ) -> list[RecordedEvent]:
        """Append all ``events`` atomically after ``expected_generation``, or nothing.

        Raises ``ConcurrencyConflict`` when the stream's generation is not the expected one.
        (``Outbox.append`` also records the events as pending for targets.)"""
        ...

    def read_data(
        self, stream: str, from_generation: int = 1, to_generation: int | None = None
    ) -> Iterator[FoldRow]:
        """Like ``read``, but only what folding needs: ``FoldRow`` tuples. Stores make this
        their fastest read; ``BaseStore`` derives it from ``read``."""
        ...

    def generation(self, stream: str) -> int:
        """The stream's current generation, 0 for a stream with no events."""
        ...

    def find_ids(
        self, event_ids: Collection[str], streams: Collection[str] = ()
    ) -> dict[str, tuple[str, int]]:
        """Where the store holds any of ``event_ids``: id -> (stream, generation), ids it
        does not hold left out. A look-up in the store's unique index of event ids, so its
        cost follows ``len(event_ids)``, not the store's size. A store with no such index
        (EventStoreDB) looks in ``streams`` only, the streams the caller is about to write,
        and says so in its docs; the others ignore ``streams``."""
        ...

    def find_events(
        self, event_ids: Collection[str], streams: Collection[str] = ()
    ) -> dict[str, RecordedEvent]:
        """``find_ids`` with the events themselves: id -> the event the store holds under
        it, ids it does not hold left out (``streams`` as there). The SQL stores look them
        up in their index of ids, a page of ids a query (an import checks a chunk of its
        file in one); ``BaseStore`` reads each one ``find_ids`` finds."""
        ...

    def generations(self, streams: Collection[str]) -> dict[str, int]:
        """``generation`` of each of ``streams`` (0 for one with no events), in a few
        queries on the SQL stores (an import's new streams); ``BaseStore`` asks each."""
        ...

    def streams(self) -> Iterator[StreamInfo]:
        """Every stream in the store, ordered by name."""
        ...

    def stream_names(self, prefix: str = "", limit: int = 100) -> list[str]:
        """Up to ``limit`` stream names that start with ``prefix``, in order (completion):
        SQL stores seek their primary key once a name; ``BaseStore`` filters ``streams``."""
        ...

    def read_all(self, after_position: int = 0) -> Iterator[RecordedEvent]:
        """Every event of every stream with ``position > after_position``, in position
        order, streamed."""
        ...

    def version_counts(
        self, domains: Collection[str] = (), *, prefix: str = ""
    ) -> list[VersionCount]:
        """How many events of each (domain, type, version) the streams starting with
        ``prefix`` hold, of ``domains`` only when given, sorted (``escli.stores.counts``).
        SQL stores group natively; ``BaseStore`` counts ``read_all`` (EventStoreDB's only way)."""
        ...

    def subscribe(
        self, stream: str | None = None, after: int = 0, *, poll_interval: float = 0.2
    ) -> Iterator[RecordedEvent]:
        """Catch up, then follow live: the events of ``stream`` after generation ``after``
        (or of every stream after position ``after`` when ``stream`` is None), then each new
        one as it is committed, never missing or repeating one. Blocks between events; ends
        when the caller closes the iterator. ``BaseStore`` polls; stores with a push
        mechanism (EventStoreDB subscriptions, PostgreSQL LISTEN/NOTIFY) override it."""
        ...

    def close(self) -> None:
        """Release the store's connections (a later call opens them again); idempotent."""
        ...

    def __enter__(self) -> Self:
        """``with open_store(url) as store:`` closes the store when the block ends."""
        ...

    def __exit__(self, *exc_info: object) -> None: ...


@runtime_checkable
class Outbox(Protocol):
    """Pending deliveries: for each (target, stream), the generations stored but not yet
    delivered to that ``--to`` target, recorded with the append itself so that a delivery
    cut short, even by a hard kill, is never forgotten (a transactional outbox). Every store
    escli opens offers it (a store of its own kind: a table, or EventStoreDB's hidden
    stream); a protocol of its own all the same, as it is no part of keeping events."""

    def append(
        self,
        stream: str,
        events: Sequence[NewEvent],
        expected_generation: int,
        *,
        pending_for: Sequence[str] = (),
    ) -> list[RecordedEvent]:
        """``EventStore.append``, and ``pending_for`` names targets the events are yet to be
        delivered to: the appended generations are recorded as pending for each (merged as
        ``set_pending`` does) in the append's own transaction; a store with no multi-record
        transactions (EventStoreDB) records them right after the append. An append that
        fails (a conflict) records nothing."""
        ...

    def pending(self, target: str | None = None, stream: str | None = None) -> list[Pending]:
        """Pending deliveries, for one target and/or stream or all, ordered by target and
        stream."""
        ...

    def set_pending(
        self, target: str, stream: str, from_generation: int, to_generation: int
    ) -> None:
        """Record that generations ``from..to`` of ``stream`` did not reach ``target``,
        merged with what was pending already (the range only grows)."""
        ...

    def clear_pending(self, target: str, stream: str, up_to_generation: int) -> None:
        """Forget what is pending for (target, stream) up to a generation (delivered)."""
        ...


class Store(EventStore, Outbox, EventLog, EventSearch, Protocol):
    """What the application opens by URL (``open_store``): an ``EventStore`` with an
    ``Outbox``, the log in pages (``EventLog``) and search (``EventSearch``; ``BaseStore``
    derives both). Code that needs only one of them says so by taking that protocol."""

    def append(
        self,
        stream: str,
        events: Sequence[NewEvent],
        expected_generation: int,
        *,
        pending_for: Sequence[str] = (),
    ) -> list[RecordedEvent]:
        """``EventStore.append``, with ``Outbox.append``'s ``pending_for``."""
        ...


@runtime_checkable
class HasSchema(Protocol):
    """A store whose tables must exist before it holds events (SQLite's file, PostgreSQL's
    schema). Each makes them on its first write anyway; ``escli init`` makes them ahead of
    time. A protocol beside ``EventStore`` (checked with ``isinstance``), as only some
    stores have a schema (not ``memory:``, nor EventStoreDB)."""

    def init(self) -> bool:
        """Create the schema if it is missing; whether this call created it."""
        ...


@runtime_checkable
class Transactional(Protocol):
    """A store whose writes can be grouped: every append made inside ``transaction()`` (by
    the thread that opened it, to any streams) becomes visible when the block ends, or none
    does when it raises. Reads and ``find_ids`` inside see the transaction's own appends.
    An append that fails inside undoes only itself (a conflict, a duplicate id), so the
    caller may go on or let the error end the block. Other writers wait, or conflict,
    until the block ends: keep it to one command's work. A protocol of its own beside
    ``Store`` (checked with ``isinstance``), as only some stores offer it."""

    def transaction(self, *, rollback: bool = False) -> AbstractContextManager[None]:
        """With ``rollback``, every append of the block is undone at its end even when it
        succeeds: nothing stays, though the block's own reads saw them (``escli test`` in a
        shared store). Inside another transaction, a block is part of the outer one, which
        alone decides."""
        ...

    def append_streams(self, appends: Sequence[tuple[str, Sequence[NewEvent], int]]) -> None:
        """Appends of ``(stream, events, expected generation)``, as one write: every one or
        none. Raises what ``append`` raises, for the first that fails. Faster than one
        ``append`` each when there are many streams (an import of many short ones)."""
        ...


@runtime_checkable
class StreamIds(Protocol):
    """A store with no index of event ids across its streams (EventStoreDB): its
    ``find_ids`` reads the streams it is given, whole, each time. A caller that checks many
    chunks of ids against the same streams (an import) reads each stream's ids once instead,
    through ``stream_ids``. An id held by a stream nobody names goes unnoticed."""

    def stream_ids(self, stream: str) -> Iterator[tuple[str, int]]:
        """The ``(event id, generation)`` of every event of ``stream``, in order."""
        ...


class BaseStore(LogFromReadAll, SearchFromReadAll):
    """Defaults a store may inherit: what ``EventStore`` declares with a default, and
    ``subscribe`` by polling. Nothing of a capability that only some stores offer
    (``Outbox``, ``Transactional``, ``StreamIds``, ``HasSchema``): a store has one by
    defining its methods, which is what ``isinstance`` sees."""

    url: str
    durable_without_close: bool = False

    @property
    def canonical_url(self) -> str:
        return self.url

    @property
    def log_name(self) -> str:
        """``EventLog.log_name``: ``canonical_url`` with every masked secret left out."""
        return unmasked(self.canonical_url)

    def close(self) -> None:
        pass

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def generation(self, stream: str) -> int:
        raise NotImplementedError

    def _append_nothing(self, stream: str, expected_generation: int) -> list[RecordedEvent]:
        """An append of no events: nothing to write, but the expectation still holds (a store
        whose write cannot be empty answers with this)."""
        actual = self.generation(stream)
        if actual != expected_generation:
            raise ConcurrencyConflict(stream, expected_generation, actual)
        return []

    def read(
        self, stream: str, from_generation: int = 1, to_generation: int | None = None
    ) -> Iterator[RecordedEvent]:
        raise NotImplementedError

    def read_data(
        self, stream: str, from_generation: int = 1, to_generation: int | None = None
    ) -> Iterator[FoldRow]:
        for r in self.read(stream, from_generation, to_generation):
            yield r.generation, r.event_type, r.type_version, r.data

    def find_ids(
        self, event_ids: Collection[str], streams: Collection[str] = ()
    ) -> dict[str, tuple[str, int]]:
        raise NotImplementedError

    def find_events(
        self, event_ids: Collection[str], streams: Collection[str] = ()
    ) -> dict[str, RecordedEvent]:
        found: dict[str, RecordedEvent] = {}
        for event_id, (stream, generation) in self.find_ids(event_ids, streams).items():
            for recorded in self.read(stream, generation, generation):
                found[event_id] = recorded
        return found

    def generations(self, streams: Collection[str]) -> dict[str, int]:
        return {stream: self.generation(stream) for stream in streams}

    def stream_names(self, prefix: str = "", limit: int = 100) -> list[str]:
        names = (i.stream for i in self.streams() if i.stream.startswith(prefix))
        return list(islice(names, limit))

    def version_counts(
        self, domains: Collection[str] = (), *, prefix: str = ""
    ) -> list[VersionCount]:
        return count_versions(self.read_all(), domains, prefix)

    # Seconds without a new event after which a polling subscription calls ``_refresh``;
    # each further call in the same idle spell waits twice as long, up to ``REFRESH_MAX_S``.
    # None: a store whose reads always show what is committed never needs one.
    REFRESH_AFTER_S: float | None = None
    REFRESH_MAX_S = 60.0

    # What the polling loop measures time by and waits with: methods, so that a test can
    # put a clock of its own on one store.
    def _clock(self) -> float:
        return time.monotonic()

    def _sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    def _refresh(self) -> None:
        """Make this thread's next read see the store afresh (see ``REFRESH_AFTER_S``)."""

    def subscribe(
        self, stream: str | None = None, after: int = 0, *, poll_interval: float = 0.2
    ) -> Iterator[RecordedEvent]:
        # Polling: re-read from the last event seen. Generations and positions only grow
        # and commits are atomic, so nothing is missed or repeated.
        idle_since, wait = self._clock(), self.REFRESH_AFTER_S
        while True:
            fresh = False
            records = self.read(stream, after + 1) if stream is not None else self.read_all(after)
            for recorded in records:
                fresh = True
                after = recorded.generation if stream is not None else recorded.position
                yield recorded
            now = self._clock()
            if fresh:
                idle_since, wait = now, self.REFRESH_AFTER_S
            elif wait is not None and now - idle_since >= wait:
                self._refresh()
                idle_since, wait = now, min(2 * wait, self.REFRESH_MAX_S)
            else:
                self._sleep(poll_interval)
