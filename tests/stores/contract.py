"""The store contract: one test class every store passes. Subclass it with a ``store`` fixture
that yields an empty store; the stream names here are unique per test run anyway."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest

from escli.errors import ConcurrencyConflict, StoreError
from escli.stores.base import NewEvent, Store, Transactional, new_event_id


def new(data: dict[str, Any] | None = None, event_type: str = "combat.EntityAttacked") -> NewEvent:
    return NewEvent(
        event_type,
        "1.0",
        "events://escli/samples/combat",
        data if data is not None else {"entity_id": "ogre", "damage": 1},
        new_event_id(),
    )


def unique_stream() -> str:
    return f"combat-t{uuid.uuid4().hex[:12]}"


class StoreContract:
    # A store whose database cannot refuse an event id it already holds (EventStoreDB only
    # deduplicates retries within one stream) sets this to False and says so in its docs.
    refuses_duplicate_event_ids = True
    # A store with a unique index of ids finds them in every stream; one without (EventStoreDB)
    # looks only in the streams it is given.
    finds_ids_in_every_stream = True
    # Whether the store offers ``Transactional`` (several appends, visible together or not);
    # such a store's tests subclass ``TransactionalContract``.
    transactional = False

    @pytest.fixture
    def store(self) -> Store:  # pragma: no cover - each subclass provides it
        raise NotImplementedError

    def test_an_append_of_no_events_writes_nothing_but_checks_the_generation(
        self, store: Store
    ) -> None:
        stream = unique_stream()
        store.append(stream, [new()], 0)
        assert store.append(stream, [], 1) == []
        with pytest.raises(ConcurrencyConflict):
            store.append(stream, [], 0)
        assert store.generation(stream) == 1

    def test_a_store_closes_at_the_end_of_a_with_block_and_opens_again_when_used(
        self, store: Store
    ) -> None:
        stream = unique_stream()
        with store as entered:
            assert entered is store
            store.append(stream, [new()], 0)
        store.close()  # closing twice is harmless
        assert store.generation(stream) == 1

    def test_an_unknown_stream_reads_empty_at_generation_zero(self, store: Store) -> None:
        stream = unique_stream()
        assert list(store.read(stream)) == []
        assert list(store.read_data(stream)) == []
        assert store.generation(stream) == 0

    def test_appended_events_read_back_in_order_with_generations(self, store: Store) -> None:
        stream = unique_stream()
        events = [new({"entity_id": "ogre", "damage": n}) for n in (1, 2, 3)]
        recorded = store.append(stream, events, 0)
        assert [r.generation for r in recorded] == [1, 2, 3]
        read = list(store.read(stream))
        assert read == recorded
        assert [(r.event_id, r.event_type, r.type_version, r.source, r.data) for r in read] == [
            (e.event_id, e.event_type, e.type_version, e.source, e.data) for e in events
        ]
        assert store.generation(stream) == 3

    def test_read_data_gives_what_folding_needs(self, store: Store) -> None:
        import json

        stream = unique_stream()
        store.append(stream, [new({"entity_id": "ogre", "damage": 7})], 0)
        [(generation, event_type, version, data)] = list(store.read_data(stream))
        parsed = json.loads(data) if isinstance(data, str) else data
        assert (generation, event_type, version, parsed) == (
            1,
            "combat.EntityAttacked",
            "1.0",
            {"entity_id": "ogre", "damage": 7},
        )

    def test_reads_can_be_bounded_by_generation(self, store: Store) -> None:
        stream = unique_stream()
        store.append(stream, [new() for _ in range(5)], 0)
        assert [r.generation for r in store.read(stream, from_generation=2, to_generation=4)] == [
            2,
            3,
            4,
        ]
        assert [row[0] for row in store.read_data(stream, to_generation=2)] == [1, 2]
        assert [r.generation for r in store.read(stream, from_generation=5)] == [5]
        assert list(store.read(stream, from_generation=6)) == []

    def test_positions_increase_across_streams(self, store: Store) -> None:
        a, b = unique_stream(), unique_stream()
        first = store.append(a, [new(), new()], 0)
        second = store.append(b, [new()], 0)
        third = store.append(a, [new()], 2)
        positions = [r.position for r in (*first, *second, *third)]
        assert positions == sorted(positions)
        assert len(set(positions)) == 4
        assert [r.position for r in store.read(a)] == [r.position for r in (*first, *third)]

    def test_recorded_time_is_rfc3339_with_an_offset(self, store: Store) -> None:
        from datetime import datetime

        [recorded] = store.append(unique_stream(), [new()], 0)
        parsed = datetime.fromisoformat(recorded.recorded_at)
        assert "T" in recorded.recorded_at
        assert parsed.utcoffset() is not None

    def test_a_given_recorded_time_is_kept(self, store: Store) -> None:
        stream = unique_stream()
        event = new()._replace(recorded_at="2020-01-02T03:04:05.000006+00:00")
        store.append(stream, [event], 0)
        assert [r.recorded_at for r in store.read(stream)] == ["2020-01-02T03:04:05.000006+00:00"]

    def test_a_stale_expected_generation_is_a_conflict_and_writes_nothing(
        self, store: Store
    ) -> None:
        stream = unique_stream()
        store.append(stream, [new(), new()], 0)
        with pytest.raises(ConcurrencyConflict) as caught:
            store.append(stream, [new(), new(), new()], 1)
        assert (caught.value.expected, caught.value.actual) == (1, 2)
        assert "expected generation 1, found 2" in str(caught.value)
        assert store.generation(stream) == 2

    def test_an_expected_generation_ahead_of_the_stream_is_a_conflict(self, store: Store) -> None:
        stream = unique_stream()
        with pytest.raises(ConcurrencyConflict):
            store.append(stream, [new()], 3)
        assert store.generation(stream) == 0

    def test_a_duplicate_event_id_in_another_stream_is_refused_or_kept_as_documented(
        self, store: Store
    ) -> None:
        """Stores with a unique id index refuse it and write nothing; EventStoreDB's server
        takes an id already used in another stream (its ids are unique per stream only)."""
        stream, other = unique_stream(), unique_stream()
        [first] = store.append(stream, [new()], 0)
        duplicate = new()._replace(event_id=first.event_id)
        if self.refuses_duplicate_event_ids:
            with pytest.raises(StoreError, match=first.event_id):
                store.append(other, [new(), duplicate], 0)
            assert store.generation(other) == 0
        else:
            store.append(other, [new(), duplicate], 0)
            assert [r.event_id for r in store.read(other)][1] == first.event_id

    def test_streams_are_listed_with_generation_and_count(self, store: Store) -> None:
        a, b = sorted([unique_stream(), unique_stream()])
        store.append(a, [new(), new()], 0)
        store.append(b, [new()], 0)
        listed = {s.stream: (s.generation, s.events) for s in store.streams()}
        assert listed[a] == (2, 2)
        assert listed[b] == (1, 1)
        names = [s.stream for s in store.streams()]
        assert names == sorted(names)

    def test_data_round_trips_unicode_and_nesting(self, store: Store) -> None:
        stream = unique_stream()
        data = {"name": "Ogre \u00e9\u4e2d\U0001f409", "tags": ["a", "b"], "nested": {"x": None}}
        store.append(stream, [new(data)], 0)
        assert [r.data for r in store.read(stream)] == [data]

    def test_racing_writers_on_one_generation_never_both_win(self, store: Store) -> None:
        stream = unique_stream()
        outcomes: list[str] = []
        barrier = threading.Barrier(4)

        def writer() -> None:
            barrier.wait()
            try:
                store.append(stream, [new()], 0)
                outcomes.append("ok")
            except ConcurrencyConflict:
                outcomes.append("conflict")

        threads = [threading.Thread(target=writer) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(outcomes) == ["conflict", "conflict", "conflict", "ok"]
        assert store.generation(stream) == 1

    def test_read_all_gives_every_stream_in_position_order(self, store: Store) -> None:
        a, b = unique_stream(), unique_stream()
        start = max((r.position for r in store.read_all()), default=0)
        store.append(a, [new(), new()], 0)
        store.append(b, [new()], 0)
        store.append(a, [new()], 2)
        mine = [(r.stream, r.generation) for r in store.read_all(start) if r.stream in (a, b)]
        assert mine == [(a, 1), (a, 2), (b, 1), (a, 3)]
        positions = [r.position for r in store.read_all(start)]
        assert positions == sorted(positions)
        middle = positions[1]
        assert [r.position for r in store.read_all(middle)] == positions[2:]

    def test_a_stream_subscription_catches_up_then_follows_live(self, store: Store) -> None:
        stream = unique_stream()
        store.append(stream, [new(), new()], 0)

        def later() -> None:
            for generation in (2, 3, 4):
                store.append(stream, [new({"entity_id": "ogre", "damage": generation})], generation)

        writer = threading.Timer(0.05, later)
        writer.start()
        seen = []
        subscription = store.subscribe(stream, after=1, poll_interval=0.01)
        for recorded in subscription:
            seen.append(recorded.generation)
            if len(seen) == 4:
                break
        subscription.close()  # type: ignore[attr-defined]
        writer.join()
        assert seen == [2, 3, 4, 5]

    def test_an_all_subscription_follows_every_stream_from_a_position(self, store: Store) -> None:
        a, b = unique_stream(), unique_stream()
        # Positions are opaque (EventStoreDB's have gaps): start from one the store gave.
        start = max((r.position for r in store.read_all()), default=0)
        store.append(a, [new()], 0)

        def later() -> None:
            store.append(b, [new()], 0)
            store.append(a, [new()], 1)

        writer = threading.Timer(0.05, later)
        writer.start()
        seen = []
        subscription = store.subscribe(None, after=start, poll_interval=0.01)
        for recorded in subscription:
            if recorded.stream in (a, b):
                seen.append((recorded.stream, recorded.generation))
            if len(seen) == 3:
                break
        subscription.close()  # type: ignore[attr-defined]
        writer.join()
        assert seen == [(a, 1), (b, 1), (a, 2)]

    def test_pending_deliveries_grow_by_merging_and_shrink_as_they_arrive(
        self, store: Store
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

    def test_an_append_records_its_events_pending_for_the_targets_named(self, store: Store) -> None:
        stream = unique_stream()
        one, two = sorted([f"test:{uuid.uuid4().hex}", f"test:{uuid.uuid4().hex}"])
        store.append(stream, [new()], 0)
        store.set_pending(one, stream, 1, 1)
        store.append(stream, [new(), new()], 1, pending_for=[one, two])
        ranges = [
            (p.target, p.from_generation, p.to_generation) for p in store.pending(stream=stream)
        ]
        assert ranges == [(one, 1, 3), (two, 2, 3)]

    def test_a_target_named_twice_is_recorded_once(self, store: Store) -> None:
        stream, target = unique_stream(), f"test:{uuid.uuid4().hex}"
        store.append(stream, [new(), new()], 0, pending_for=[target, target])
        ranges = [(p.stream, p.from_generation, p.to_generation) for p in store.pending(target)]
        assert ranges == [(stream, 1, 2)]

    def test_an_append_that_conflicts_records_nothing_pending(self, store: Store) -> None:
        stream, target = unique_stream(), f"test:{uuid.uuid4().hex}"
        store.append(stream, [new()], 0)
        with pytest.raises(ConcurrencyConflict):
            store.append(stream, [new()], 0, pending_for=[target])
        assert store.pending(target) == []

    def test_pending_deliveries_are_kept_per_target_and_stream(self, store: Store) -> None:
        a, b = sorted([unique_stream(), unique_stream()])
        one, two = sorted([f"test:{uuid.uuid4().hex}", f"test:{uuid.uuid4().hex}"])
        store.set_pending(one, a, 1, 1)
        store.set_pending(one, b, 2, 2)
        store.set_pending(two, a, 3, 3)
        assert [(p.stream, p.from_generation) for p in store.pending(one)] == [(a, 1), (b, 2)]
        assert [
            (p.target, p.from_generation) for p in store.pending(stream=a) if p.target in (one, two)
        ] == [(one, 1), (two, 3)]

    def test_find_ids_says_where_the_store_holds_each_id_it_holds(self, store: Store) -> None:
        a, b = unique_stream(), unique_stream()
        first = store.append(a, [new(), new()], 0)
        [other] = store.append(b, [new()], 0)
        wanted = [first[1].event_id, other.event_id, new_event_id()]
        assert store.find_ids(wanted, [a, b]) == {
            first[1].event_id: (a, 2),
            other.event_id: (b, 1),
        }
        assert store.find_ids([], [a, b]) == {}
        assert store.find_ids([new_event_id()], [unique_stream()]) == {}

    def test_find_ids_looks_in_every_stream_or_in_the_streams_given_as_documented(
        self, store: Store
    ) -> None:
        a, b = unique_stream(), unique_stream()
        [one] = store.append(a, [new()], 0)
        [two] = store.append(b, [new()], 0)
        found = store.find_ids([one.event_id, two.event_id], [a])
        if self.finds_ids_in_every_stream:
            assert found == {one.event_id: (a, 1), two.event_id: (b, 1)}
            assert store.find_ids([two.event_id]) == {two.event_id: (b, 1)}
        else:
            assert found == {one.event_id: (a, 1)}

    def test_the_store_is_transactional_as_documented(self, store: Store) -> None:
        assert isinstance(store, Transactional) == self.transactional


class TransactionalContract(StoreContract):
    """The contract of a store that is also ``Transactional``."""

    transactional = True

    def _transactional(self, store: Store) -> Transactional:
        assert isinstance(store, Transactional)
        return store

    def test_appends_in_a_transaction_are_stored_together_when_it_ends(self, store: Store) -> None:
        transactional = self._transactional(store)
        a, b = unique_stream(), unique_stream()
        with transactional.transaction():
            [first] = store.append(a, [new()], 0)
            store.append(b, [new(), new()], 0)
            store.append(a, [new()], 1)
            # Reads and look-ups inside see the transaction's own appends.
            assert store.generation(a) == 2
            assert [r.generation for r in store.read(b)] == [1, 2]
            assert store.find_ids([first.event_id], [a]) == {first.event_id: (a, 1)}
        assert (store.generation(a), store.generation(b)) == (2, 2)

    def test_an_error_in_a_transaction_leaves_none_of_its_appends(self, store: Store) -> None:
        transactional = self._transactional(store)
        a, b = unique_stream(), unique_stream()
        store.append(a, [new()], 0)
        written = new()
        with pytest.raises(ZeroDivisionError), transactional.transaction():
            store.append(a, [written], 1)
            store.append(b, [new(), new()], 0)
            raise ZeroDivisionError
        assert (store.generation(a), store.generation(b)) == (1, 0)
        assert store.find_ids([written.event_id], [a, b]) == {}
        store.append(b, [new()], 0)  # the store takes appends again
        assert store.generation(b) == 1

    def test_a_transaction_with_rollback_leaves_nothing_though_it_saw_its_appends(
        self, store: Store
    ) -> None:
        transactional = self._transactional(store)
        a, b = unique_stream(), unique_stream()
        store.append(a, [new()], 0)
        written = new()
        with transactional.transaction(rollback=True):
            store.append(a, [written], 1)
            store.append(b, [new()], 0)
            assert (store.generation(a), store.generation(b)) == (2, 1)
            assert store.find_ids([written.event_id], [a]) == {written.event_id: (a, 2)}
        assert (store.generation(a), store.generation(b)) == (1, 0)
        assert store.find_ids([written.event_id], [a, b]) == {}
        assert [s.stream for s in store.streams() if s.stream in (a, b)] == [a]
        store.append(b, [written], 0)  # the id is free again
        assert store.generation(b) == 1

    def test_a_failed_append_in_a_transaction_undoes_only_itself(self, store: Store) -> None:
        transactional = self._transactional(store)
        a, b = unique_stream(), unique_stream()
        with transactional.transaction():
            [kept] = store.append(a, [new()], 0)
            with pytest.raises(ConcurrencyConflict):
                store.append(b, [new(), new()], 3)
            if self.refuses_duplicate_event_ids:
                with pytest.raises(StoreError, match=kept.event_id):
                    store.append(b, [new(), new()._replace(event_id=kept.event_id)], 0)
            store.append(b, [new()], 0)
        assert (store.generation(a), store.generation(b)) == (1, 1)

    def test_append_streams_writes_every_append_or_none(self, store: Store) -> None:
        transactional = self._transactional(store)
        a, b = unique_stream(), unique_stream()
        store.append(b, [new()], 0)
        transactional.append_streams([(a, [new(), new()], 0), (b, [new()], 1), (a, [new()], 2)])
        assert (store.generation(a), store.generation(b)) == (3, 2)
        with pytest.raises(ConcurrencyConflict) as caught:
            transactional.append_streams([(a, [new()], 3), (b, [new()], 1)])
        assert (caught.value.stream, caught.value.expected, caught.value.actual) == (b, 1, 2)
        assert (store.generation(a), store.generation(b)) == (3, 2)
        if self.refuses_duplicate_event_ids:
            [stored] = list(store.read(a, 1, 1))
            with pytest.raises(StoreError, match=stored.event_id):
                transactional.append_streams(
                    [(a, [new()], 3), (b, [new()._replace(event_id=stored.event_id)], 2)]
                )
            assert (store.generation(a), store.generation(b)) == (3, 2)
