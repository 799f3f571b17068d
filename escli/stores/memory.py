"""An in-process store: the reference implementation, used by scenarios and tests."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence

from escli.errors import ConcurrencyConflict
from escli.stores.base import (
    BaseStore,
    DuplicateEventId,
    NewEvent,
    Pending,
    RecordedEvent,
    StreamInfo,
    cleared,
    merge_pending,
    now_rfc3339,
)


class MemoryStore(BaseStore):
    def __init__(self, url: str = "memory:") -> None:
        self.url = url
        self._streams: dict[str, list[RecordedEvent]] = {}
        self._ids: set[str] = set()
        self._position = 0
        self._lock = threading.RLock()  # append records pending through set_pending
        self._pending: dict[tuple[str, str], Pending] = {}

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
            for event in events:
                if event.event_id in self._ids:
                    raise DuplicateEventId(event.event_id)
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
            self._streams[stream] = [*recorded, *new]
            self._ids.update(e.event_id for e in events)
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
