"""The ``Outbox`` contract: pending deliveries, recorded with an append (``pending_for``) or
on their own, merged, kept per target and stream, and cleared as they arrive."""

from __future__ import annotations

import uuid

import pytest

from escli.errors import ConcurrencyConflict
from escli.stores.base import Outbox
from tests.stores.contract import Contract, new, unique_stream


class OutboxContract(Contract):
    def test_pending_deliveries_grow_by_merging_and_shrink_as_they_arrive(
        self, store: Outbox
    ) -> None:
        stream, target = unique_stream(), f"test:{uuid.uuid4().hex}"
        assert store.pending(target) == []
        store.set_pending(target, stream, 3, 4)
        store.set_pending(target, stream, 5, 7)
        [pending] = store.pending(target, stream)
        assert (pending.target, pending.stream, pending.from_generation, pending.to_generation) == (
            target,
            stream,
            3,
            7,
        )
        store.clear_pending(target, stream, 5)
        assert [(p.from_generation, p.to_generation) for p in store.pending(target)] == [(6, 7)]
        store.clear_pending(target, stream, 7)
        assert store.pending(target) == []

    def test_an_append_records_its_events_pending_for_the_targets_named(
        self, store: Outbox
    ) -> None:
        stream = unique_stream()
        one, two = sorted([f"test:{uuid.uuid4().hex}", f"test:{uuid.uuid4().hex}"])
        store.append(stream, [new()], 0)
        store.set_pending(one, stream, 1, 1)
        store.append(stream, [new(), new()], 1, pending_for=[one, two])
        ranges = [
            (p.target, p.from_generation, p.to_generation) for p in store.pending(stream=stream)
        ]
        assert ranges == [(one, 1, 3), (two, 2, 3)]

    def test_a_target_named_twice_is_recorded_once(self, store: Outbox) -> None:
        stream, target = unique_stream(), f"test:{uuid.uuid4().hex}"
        store.append(stream, [new(), new()], 0, pending_for=[target, target])
        ranges = [(p.stream, p.from_generation, p.to_generation) for p in store.pending(target)]
        assert ranges == [(stream, 1, 2)]

    def test_an_append_that_conflicts_records_nothing_pending(self, store: Outbox) -> None:
        stream, target = unique_stream(), f"test:{uuid.uuid4().hex}"
        store.append(stream, [new()], 0)
        with pytest.raises(ConcurrencyConflict):
            store.append(stream, [new()], 0, pending_for=[target])
        assert store.pending(target) == []

    def test_pending_deliveries_are_kept_per_target_and_stream(self, store: Outbox) -> None:
        a, b = sorted([unique_stream(), unique_stream()])
        one, two = sorted([f"test:{uuid.uuid4().hex}", f"test:{uuid.uuid4().hex}"])
        store.set_pending(one, a, 1, 1)
        store.set_pending(one, b, 2, 2)
        store.set_pending(two, a, 3, 3)
        assert [(p.stream, p.from_generation) for p in store.pending(one)] == [(a, 1), (b, 2)]
        assert [
            (p.target, p.from_generation) for p in store.pending(stream=a) if p.target in (one, two)
        ] == [(one, 1), (two, 3)]
