"""A store as a ``--to`` target: it receives the same events at the same generations with the
same ids, so delivering twice is harmless."""

from __future__ import annotations

from collections.abc import Sequence

from escli.errors import ConcurrencyConflict, StoreError
from escli.sinks.base import TargetBehind
from escli.stores.base import RecordedEvent, Store

__all__ = ["StoreTarget"]


class StoreTarget:
    """Mirrors appends into another store, keeping generations, ids and times."""

    def __init__(self, store: Store) -> None:
        self.store = store
        # One name per target whatever the spelling (relative path, another working folder):
        # it keys the pending deliveries.
        self.url = store.canonical_url

    def deliver(self, recorded: Sequence[RecordedEvent]) -> None:
        """Append what the target lacks of ``recorded``: events it already holds (same ids at
        the same generations) are skipped, so delivering twice is harmless."""
        if not recorded:
            return
        stream, first = recorded[0].stream, recorded[0].generation
        for _ in range(3):  # a writer of the target's own may move it meanwhile
            held = self.store.generation(stream)
            if held < first - 1:
                raise TargetBehind(self.url, stream, held)
            there = [r.event_id for r in self.store.read(stream, first, recorded[-1].generation)]
            if there != [r.event_id for r in recorded[: len(there)]]:
                raise StoreError(
                    f"{self.url}: {stream} holds other events at generations {first}.."
                    f"{first + len(there) - 1}; the target has diverged from the store"
                )
            missing = recorded[len(there) :]
            if not missing:
                return
            events = [r.as_new() for r in missing]
            try:
                self.store.append(stream, events, missing[0].generation - 1)
                return
            except ConcurrencyConflict:
                continue
        raise StoreError(f"{self.url}: {stream} kept moving while events were delivered to it")

    def close(self) -> None:
        self.store.close()
