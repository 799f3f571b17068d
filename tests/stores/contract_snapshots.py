"""The ``Snapshots`` contract: a stream's kept states, the newest at or below a generation
first, only the ``KEPT`` newest kept, replaced at one generation, dropped per stream or all,
and part of a transaction on the stores that have them."""

from __future__ import annotations

from escli.stores.base import Transactional
from escli.stores.snapshots import KEPT, Snapshot, Snapshots
from tests.stores.contract import Contract, new, unique_stream


def snap(stream: str, generation: int, state: str = '{"generation": 0}') -> Snapshot:
    return Snapshot(stream, generation, f"id-{generation}", "fp", state, "2026-12-03T10:00:00Z")


class SnapshotsContract(Contract):
    def test_the_newest_snapshot_at_or_below_a_generation(self, store: Snapshots) -> None:
        stream = unique_stream()
        assert store.snapshot(stream) is None
        for generation in (10, 30, 20):
            store.save_snapshot(snap(stream, generation))
        assert store.snapshot(stream) == snap(stream, 30)
        assert store.snapshot(stream, at_most=29) == snap(stream, 20)
        assert store.snapshot(stream, at_most=20) == snap(stream, 20)
        assert store.snapshot(stream, at_most=9) is None
        assert store.snapshot(unique_stream()) is None

    def test_only_the_newest_are_kept_and_one_generation_is_replaced(
        self, store: Snapshots
    ) -> None:
        stream, other = unique_stream(), unique_stream()
        store.save_snapshot(snap(other, 1))
        for generation in range(1, KEPT + 3):
            store.save_snapshot(snap(stream, generation))
        kept = [s.generation for s in store.list_snapshots(stream)]
        assert kept == list(range(KEPT + 2, 2, -1))
        store.save_snapshot(snap(stream, KEPT + 2, '{"generation": 9}'))
        assert store.snapshot(stream) == snap(stream, KEPT + 2, '{"generation": 9}')
        assert [s.generation for s in store.list_snapshots(other)] == [1]

    def test_snapshots_are_dropped_per_stream_or_all(self, store: Snapshots) -> None:
        a, b = sorted([unique_stream(), unique_stream()])
        store.save_snapshot(snap(a, 1))
        store.save_snapshot(snap(a, 2))
        store.save_snapshot(snap(b, 1))
        listed = [(s.stream, s.generation) for s in store.list_snapshots()]
        assert [x for x in listed if x[0] in (a, b)] == [(a, 2), (a, 1), (b, 1)]
        assert store.drop_snapshots(a) == 2
        assert store.snapshot(a) is None and store.snapshot(b) == snap(b, 1)
        assert store.drop_snapshots(a) == 0


class TransactionalSnapshotsContract(SnapshotsContract):
    """The stores whose snapshots may be written in a dispatch's own transaction."""

    def test_a_snapshot_in_a_rolled_back_transaction_goes_with_it(self, store: Snapshots) -> None:
        assert isinstance(store, Transactional)
        stream = unique_stream()
        with store.transaction(rollback=True):
            store.append(stream, [new()], 0)  # type: ignore[attr-defined]
            store.save_snapshot(snap(stream, 1))
            assert store.snapshot(stream) == snap(stream, 1)
        if self.snapshots_are_transactional:
            assert store.snapshot(stream) is None
        else:  # kept, naming an event the stream no longer holds: never used (app tests)
            assert store.snapshot(stream) == snap(stream, 1)

    snapshots_are_transactional = True
