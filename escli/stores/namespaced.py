"""A store seen through a stream-name prefix: what ``escli test`` gives each scenario in a
shared store, so that scenarios (and runs) never see each other's streams.

Stream ``combat-ogre`` is kept as ``<prefix>combat-ogre`` in the store underneath; every
name that goes in is prefixed and every name that comes out is stripped again, so the code
above (dispatch, the domain's ``initial_state``) sees the names it asked for.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence

from escli.errors import ConcurrencyConflict
from escli.stores.base import (
    BaseStore,
    FoldRow,
    NewEvent,
    Pending,
    RecordedEvent,
    Store,
    StreamInfo,
    VersionCount,
)
from escli.stores.snapshots import Snapshot, Snapshots
from escli.stores.wakeup import Waiter

__all__ = ["NamespacedStore"]


class NamespacedStore(BaseStore):
    """``store``'s streams whose names start with ``prefix``, under their names without it.
    Closing it leaves ``store`` open (its owner closes it). Over a store that keeps
    snapshots it is a ``NamespacedSnapshots``, which keeps them too (a capability is
    checked with ``isinstance``, so only a view of such a store may have the methods)."""

    def __new__(cls, store: Store, prefix: str) -> NamespacedStore:
        if cls is NamespacedStore and isinstance(store, Snapshots):
            cls = NamespacedSnapshots
        return super().__new__(cls)

    def __init__(self, store: Store, prefix: str) -> None:
        self.inner = store
        self.prefix = prefix
        self.url = store.url

    @property
    def log_name(self) -> str:
        """The store underneath's, with the prefix: another namespace is another log."""
        return f"{self.inner.log_name} streams {self.prefix}*"

    def _out(self, recorded: RecordedEvent) -> RecordedEvent:
        return recorded._replace(stream=recorded.stream[len(self.prefix) :])

    def _pending_out(self, pending: list[Pending]) -> list[Pending]:
        return [p._replace(stream=p.stream[len(self.prefix) :]) for p in pending]

    def read(
        self, stream: str, from_generation: int = 1, to_generation: int | None = None
    ) -> Iterator[RecordedEvent]:
        for recorded in self.inner.read(self.prefix + stream, from_generation, to_generation):
            yield self._out(recorded)

    def read_data(
        self, stream: str, from_generation: int = 1, to_generation: int | None = None
    ) -> Iterator[FoldRow]:
        return self.inner.read_data(self.prefix + stream, from_generation, to_generation)

    def append(
        self,
        stream: str,
        events: Sequence[NewEvent],
        expected_generation: int,
        *,
        pending_for: Sequence[str] = (),
    ) -> list[RecordedEvent]:
        try:
            recorded = self.inner.append(
                self.prefix + stream, events, expected_generation, pending_for=pending_for
            )
        except ConcurrencyConflict as e:
            raise ConcurrencyConflict(stream, e.expected, e.actual) from e
        return [self._out(r) for r in recorded]

    def generation(self, stream: str) -> int:
        return self.inner.generation(self.prefix + stream)

    def find_ids(
        self, event_ids: Collection[str], streams: Collection[str] = ()
    ) -> dict[str, tuple[str, int]]:
        """Ids held inside the prefix. One held outside is not in sight; the store below
        still refuses to take it again (its ids are unique throughout)."""
        found = self.inner.find_ids(event_ids, [self.prefix + s for s in streams])
        return {
            event_id: (stream[len(self.prefix) :], generation)
            for event_id, (stream, generation) in found.items()
            if stream.startswith(self.prefix)
        }

    def find_events(
        self, event_ids: Collection[str], streams: Collection[str] = ()
    ) -> dict[str, RecordedEvent]:
        """As ``find_ids``: the events held inside the prefix."""
        found = self.inner.find_events(event_ids, [self.prefix + s for s in streams])
        return {
            event_id: self._out(recorded)
            for event_id, recorded in found.items()
            if recorded.stream.startswith(self.prefix)
        }

    def generations(self, streams: Collection[str]) -> dict[str, int]:
        found = self.inner.generations([self.prefix + s for s in streams])
        return {s: found[self.prefix + s] for s in streams}

    def streams(self) -> Iterator[StreamInfo]:
        for info in self.inner.streams():
            if info.stream.startswith(self.prefix):
                yield info._replace(stream=info.stream[len(self.prefix) :])

    def stream_names(self, prefix: str = "", limit: int = 100) -> list[str]:
        names = self.inner.stream_names(self.prefix + prefix, limit)
        return [name[len(self.prefix) :] for name in names]

    def read_all(self, after_position: int = 0) -> Iterator[RecordedEvent]:
        for recorded in self.inner.read_all(after_position):
            if recorded.stream.startswith(self.prefix):
                yield self._out(recorded)

    def head_position(self) -> int:
        """The store underneath's: positions are its, whichever streams hold them."""
        return self.inner.head_position()

    def waiter(self) -> Waiter:
        """The store underneath's: woken by any of its appends, inside the prefix or not
        (a catch-up that then finds no event of its own costs one page read)."""
        return self.inner.waiter()

    def version_counts(
        self, domains: Collection[str] = (), *, prefix: str = ""
    ) -> list[VersionCount]:
        """The store underneath counts, within this view's prefix (natively where it can)."""
        return self.inner.version_counts(domains, prefix=self.prefix + prefix)

    def pending(self, target: str | None = None, stream: str | None = None) -> list[Pending]:
        inner_stream = None if stream is None else self.prefix + stream
        held = self.inner.pending(target, inner_stream)
        return self._pending_out([p for p in held if p.stream.startswith(self.prefix)])

    def set_pending(
        self, target: str, stream: str, from_generation: int, to_generation: int
    ) -> None:
        self.inner.set_pending(target, self.prefix + stream, from_generation, to_generation)

    def clear_pending(self, target: str, stream: str, up_to_generation: int) -> None:
        self.inner.clear_pending(target, self.prefix + stream, up_to_generation)

    def close(self) -> None:
        pass


class NamespacedSnapshots(NamespacedStore):
    """A ``NamespacedStore`` over a store that keeps snapshots: those of its own streams."""

    inner: Snapshots  # type: ignore[assignment]

    def _snapshot_out(self, snapshot: Snapshot) -> Snapshot:
        return snapshot._replace(stream=snapshot.stream[len(self.prefix) :])

    def snapshot(self, stream: str, at_most: int | None = None) -> Snapshot | None:
        found = self.inner.snapshot(self.prefix + stream, at_most)
        return None if found is None else self._snapshot_out(found)

    def save_snapshot(self, snapshot: Snapshot) -> None:
        self.inner.save_snapshot(snapshot._replace(stream=self.prefix + snapshot.stream))

    def drop_snapshots(self, stream: str | None = None) -> int:
        if stream is not None:
            return self.inner.drop_snapshots(self.prefix + stream)
        mine = {s.stream for s in self.list_snapshots()}
        return sum(self.inner.drop_snapshots(self.prefix + name) for name in sorted(mine))

    def list_snapshots(self, stream: str | None = None) -> list[Snapshot]:
        if stream is not None:
            return [self._snapshot_out(s) for s in self.inner.list_snapshots(self.prefix + stream)]
        return [
            self._snapshot_out(s)
            for s in self.inner.list_snapshots()
            if s.stream.startswith(self.prefix)
        ]
