"""A store as a ``--to`` target: it receives the same events at the same generations with the
same ids, through the mirror (``escli.stores.mirror``), so delivering twice is harmless."""

from __future__ import annotations

from collections.abc import Sequence

from escli.stores.base import RecordedEvent, Store
from escli.stores.mirror import mirror

__all__ = ["StoreTarget"]


class StoreTarget:
    """Mirrors appends into another store, keeping generations, ids and times."""

    def __init__(self, store: Store, name: str | None = None) -> None:
        self.store = store
        # One name per target whatever the spelling (relative path, another working folder):
        # it keys the pending deliveries. ``name``: the one a pending delivery recorded, for
        # a store opened without the password that name masks.
        self.url = name or store.canonical_url

    def deliver(self, recorded: Sequence[RecordedEvent]) -> None:
        """Append what the target lacks of ``recorded`` (one stream's events, in order):
        events it already holds (the same ids with the same content at the same
        generations) are skipped; others there are ``Diverged``, and a target that lacks
        the events before them is ``TargetBehind`` (the mirror's rule)."""
        if recorded:
            first = recorded[0]
            events = [r.as_new() for r in recorded]
            mirror(self.store, first.stream, first.generation, events, name=self.url)

    def close(self) -> None:
        self.store.close()
