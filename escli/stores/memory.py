"""An in-process store: the reference implementation, used by scenarios and tests."""

from __future__ import annotations

import threading
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager

from escli.errors import ConcurrencyConflict
from escli.stores.base import (
    BaseStore,
    DuplicateEventId,
    NewEvent,
    Pending,
    RecordedEvent,
    StreamInfo,
    now_rfc3339,
)
from escli.stores.memory_views import MemoryViews
from escli.stores.pending import cleared, merge_pending
from escli.stores.snapshots import KEPT, Snapshot


class MemoryStore(MemoryViews, BaseStore):
    def __init__(self, url: str = "memory:") -> None:
        self.url = url
        self._streams: dict[str, list[RecordedEvent]] = {}
        self._ids: dict[str, tuple[str, int]] = {}  # the unique index: id -> where
        self._position = 0
        self._lock = threading.RLock()  # append records pending through set_pending
        self._pending: dict[tuple[str, str], Pending] = {}
        # Inside a transaction: each touched stream's length before it, ids added.
        self._undo: tuple[dict[str, int], list[str]] | None = None
        # Not undone with a transaction: a snapshot past a rolled-back append names an
        # event the stream no longer holds, and is dropped when next read (a cache).
        self._snapshots: dict[str, list[Snapshot]] = {}
        self._init_views()

    def read(
        self, stream: str, from_generation: int = 1, to_generation: int | None = None
    ) -> Iterator[RecordedEvent]:
        events = self._streams.get(stream, [])
        stop = len(events) if to_generation is None else min(to_generation, len(events))
        return iter(events[max(from_generation, 1) - 1 : stop])

    def append(
        self,
        stream: str,
        events: Sequence[NewEvent],
        expected_generation: int,
        *,
        pending_for: Sequence[str] = (),
    ) -> list[RecordedEvent]:
        with self._lock:
            recorded = self._streams.get(stream, [])
            if len(recorded) != expected_generation:
                raise ConcurrencyConflict(stream, expected_generation, len(recorded))
            batch: set[str] = set()
            for event in events:
                if event.event_id in self._ids or event.event_id in batch:
                    raise DuplicateEventId(event.event_id)
                batch.add(event.event_id)
            now = now_rfc3339()
            new = []
            for offset, event in enumerate(events, start=1):
                self._position += 1
                new.append(
                    event.recorded(
                        stream,
                        expected_generation + offset,
                        event.recorded_at or now,
                        self._position,
                    )
                )
            if self._undo is not None:
                self._undo[0].setdefault(stream, len(recorded))
                self._undo[1].extend(e.event_id for e in events)
            # Extended in place (reads hand out copies): a long import appends many times.
            self._streams.setdefault(stream, recorded).extend(new)
            self._ids.update((r.event_id, (stream, r.generation)) for r in new)
            for target in pending_for if new else ():
                self.set_pending(target, stream, new[0].generation, new[-1].generation)
            return new

    def read_all(self, after_position: int = 0) -> Iterator[RecordedEvent]:
        with self._lock:
            everything = [r for events in self._streams.values() for r in events]
        everything.sort(key=lambda r: r.position)
        return iter([r for r in everything if r.position > after_position])

    def generation(self, stream: str) -> int:
        return len(self._streams.get(stream, []))

    def find_ids(
        self, event_ids: Collection[str], streams: Collection[str] = ()
    ) -> dict[str, tuple[str, int]]:
        return {i: self._ids[i] for i in event_ids if i in self._ids}

    def append_streams(self, appends: Sequence[tuple[str, Sequence[NewEvent], int]]) -> None:
        with self.transaction():
            for stream, events, expected in appends:
                self.append(stream, events, expected)

    @contextmanager
    def transaction(self, *, rollback: bool = False) -> Iterator[None]:
        """Appends held under the lock; undone (streams cut back, ids dropped) on an error,
        or at the end with ``rollback``. Pending deliveries are restored as they were. A
        transaction inside another is a savepoint, as on SQLite and PostgreSQL: its error
        undoes its own appends only, and the outer one may go on."""
        with self._lock:
            outer = self._undo
            self._undo = ({}, [])
            position, pending = self._position, dict(self._pending)
            views = self._save_views()
            try:
                yield
            except BaseException:
                self._roll_back(position, pending)
                self._restore_views(views)
                raise
            else:
                if rollback:
                    self._roll_back(position, pending)
                    self._restore_views(views)
                elif outer is not None:  # the outer transaction undoes these too
                    for stream, length in self._undo[0].items():
                        outer[0].setdefault(stream, length)
                    outer[1].extend(self._undo[1])
            finally:
                self._undo = outer

    def _roll_back(self, position: int, pending: dict[tuple[str, str], Pending]) -> None:
        assert self._undo is not None
        lengths, ids = self._undo
        for stream, length in lengths.items():
            del self._streams[stream][length:]
            if not length:
                del self._streams[stream]
        for event_id in ids:
            self._ids.pop(event_id, None)
        self._position, self._pending = position, pending

    def streams(self) -> Iterator[StreamInfo]:
        for name in sorted(self._streams):
            events = self._streams[name]
            if events:
                yield StreamInfo(name, events[-1].generation, len(events))

    def pending(self, target: str | None = None, stream: str | None = None) -> list[Pending]:
        return [
            p
            for key, p in sorted(self._pending.items())
            if target in (None, key[0]) and stream in (None, key[1])
        ]

    def set_pending(
        self, target: str, stream: str, from_generation: int, to_generation: int
    ) -> None:
        with self._lock:
            new = Pending(target, stream, from_generation, to_generation)
            self._pending[target, stream] = merge_pending(self._pending.get((target, stream)), new)

    def clear_pending(self, target: str, stream: str, up_to_generation: int) -> None:
        with self._lock:
            old = self._pending.pop((target, stream), None)
            left = cleared(old, up_to_generation) if old else None
            if left is not None:
                self._pending[target, stream] = left

    def close(self) -> None:
        pass

    # -- snapshots (``escli.stores.snapshots``) ------------------------------------------

    def snapshot(self, stream: str, at_most: int | None = None) -> Snapshot | None:
        for kept in self._snapshots.get(stream, []):
            if at_most is None or kept.generation <= at_most:
                return kept
        return None

    def save_snapshot(self, snapshot: Snapshot) -> None:
        with self._lock:
            kept = [
                s
                for s in self._snapshots.get(snapshot.stream, [])
                if s.generation != snapshot.generation
            ]
            kept.append(snapshot)
            kept.sort(key=lambda s: -s.generation)
            self._snapshots[snapshot.stream] = kept[:KEPT]

    def drop_snapshots(self, stream: str | None = None) -> int:
        with self._lock:
            if stream is None:
                dropped = sum(map(len, self._snapshots.values()))
                self._snapshots.clear()
                return dropped
            return len(self._snapshots.pop(stream, []))

    def list_snapshots(self, stream: str | None = None) -> list[Snapshot]:
        streams = sorted(self._snapshots) if stream is None else [stream]
        return [s for name in streams for s in self._snapshots.get(name, [])]
