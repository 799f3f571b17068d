"""The ``EventStore`` contract: streams (read, append with an expected generation, list,
find ids) and the global log (``read_all``, ``subscribe``). Every store passes it."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import pytest

from escli.domain.model import AggregateState, Domain
from escli.errors import ConcurrencyConflict, StoreError, UnreadableEvent
from escli.stores.base import (
    EventStore,
    NewEvent,
    Outbox,
    Transactional,
    VersionCount,
    new_event_id,
)
from escli.stores.views import Views
from tests.stores.contract import Contract, new, unique_domain, unique_stream


class EventStoreContract(Contract):
    def test_an_append_of_no_events_writes_nothing_but_checks_the_generation(
        self, store: EventStore
    ) -> None:
        stream = unique_stream()
        store.append(stream, [new()], 0)
        assert store.append(stream, [], 1) == []
        with pytest.raises(ConcurrencyConflict):
            store.append(stream, [], 0)
        assert store.generation(stream) == 1

    def test_a_store_closes_at_the_end_of_a_with_block_and_opens_again_when_used(
        self, store: EventStore
    ) -> None:
        stream = unique_stream()
        with store as entered:
            assert entered is store
            store.append(stream, [new()], 0)
        store.close()  # closing twice is harmless
        assert store.generation(stream) == 1

    def test_an_unknown_stream_reads_empty_at_generation_zero(self, store: EventStore) -> None:
        stream = unique_stream()
        assert list(store.read(stream)) == []
        assert list(store.read_data(stream)) == []
        assert store.generation(stream) == 0

    def test_appended_events_read_back_in_order_with_generations(self, store: EventStore) -> None:
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

    def test_read_data_gives_what_folding_needs(self, store: EventStore) -> None:
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

    def test_reads_can_be_bounded_by_generation(self, store: EventStore) -> None:
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

    def test_positions_increase_across_streams(self, store: EventStore) -> None:
        a, b = unique_stream(), unique_stream()
        first = store.append(a, [new(), new()], 0)
        second = store.append(b, [new()], 0)
        third = store.append(a, [new()], 2)
        positions = [r.position for r in (*first, *second, *third)]
        assert positions == sorted(positions)
        assert len(set(positions)) == 4
        assert [r.position for r in store.read(a)] == [r.position for r in (*first, *third)]

    def test_recorded_time_is_rfc3339_with_an_offset(self, store: EventStore) -> None:
        from datetime import datetime

        [recorded] = store.append(unique_stream(), [new()], 0)
        parsed = datetime.fromisoformat(recorded.recorded_at)
        assert "T" in recorded.recorded_at
        assert parsed.utcoffset() is not None

    def test_a_given_recorded_time_is_kept(self, store: EventStore) -> None:
        stream = unique_stream()
        event = new()._replace(recorded_at="2020-01-02T03:04:05.000006+00:00")
        store.append(stream, [event], 0)
        assert [r.recorded_at for r in store.read(stream)] == ["2020-01-02T03:04:05.000006+00:00"]

    def test_a_stale_expected_generation_is_a_conflict_and_writes_nothing(
        self, store: EventStore
    ) -> None:
        stream = unique_stream()
        store.append(stream, [new(), new()], 0)
        with pytest.raises(ConcurrencyConflict) as caught:
            store.append(stream, [new(), new(), new()], 1)
        assert (caught.value.expected, caught.value.actual) == (1, 2)
        assert "expected generation 1, found 2" in str(caught.value)
        assert store.generation(stream) == 2

    def test_an_expected_generation_ahead_of_the_stream_is_a_conflict(
        self, store: EventStore
    ) -> None:
        stream = unique_stream()
        with pytest.raises(ConcurrencyConflict):
            store.append(stream, [new()], 3)
        assert store.generation(stream) == 0

    def test_a_duplicate_event_id_in_another_stream_is_refused_or_kept_as_documented(
        self, store: EventStore
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

    def test_streams_are_listed_with_generation_and_count(self, store: EventStore) -> None:
        a, b = sorted([unique_stream(), unique_stream()])
        store.append(a, [new(), new()], 0)
        store.append(b, [new()], 0)
        listed = {s.stream: (s.generation, s.events) for s in store.streams()}
        assert listed[a] == (2, 2)
        assert listed[b] == (1, 1)
        names = [s.stream for s in store.streams()]
        assert names == sorted(names)

    def test_stream_names_are_the_first_of_a_prefix_in_order(self, store: EventStore) -> None:
        domain = unique_domain()
        for name in ("b", "a", "c-1", "c-2", "d"):
            store.append(f"{domain}-{name}", [new(), new()], 0)
        store.append(f"{domain}x-a", [new()], 0)  # shares the domain's text, not its "-"
        assert store.stream_names(f"{domain}-") == [
            f"{domain}-{n}" for n in ("a", "b", "c-1", "c-2", "d")
        ]
        assert store.stream_names(f"{domain}-c") == [f"{domain}-c-1", f"{domain}-c-2"]
        assert store.stream_names(f"{domain}-", limit=2) == [f"{domain}-a", f"{domain}-b"]
        assert store.stream_names(f"{domain}-z") == []
        assert store.stream_names(domain) == [
            *(f"{domain}-{n}" for n in ("a", "b", "c-1", "c-2", "d")),
            f"{domain}x-a",
        ]

    def test_data_round_trips_unicode_and_nesting(self, store: EventStore) -> None:
        stream = unique_stream()
        data = {"name": "Ogre \u00e9\u4e2d\U0001f409", "tags": ["a", "b"], "nested": {"x": None}}
        store.append(stream, [new(data)], 0)
        assert [r.data for r in store.read(stream)] == [data]

    def test_racing_writers_on_one_generation_never_both_win(self, store: EventStore) -> None:
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

    def test_read_all_gives_every_stream_in_position_order(self, store: EventStore) -> None:
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

    def test_a_stream_subscription_catches_up_then_follows_live(self, store: EventStore) -> None:
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

    def test_an_all_subscription_follows_every_stream_from_a_position(
        self, store: EventStore
    ) -> None:
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

    def test_find_ids_says_where_the_store_holds_each_id_it_holds(self, store: EventStore) -> None:
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
        self, store: EventStore
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

    def test_find_events_gives_the_stored_event_of_each_id_it_holds(
        self, store: EventStore
    ) -> None:
        a, b = unique_stream(), unique_stream()
        first = store.append(a, [new(), new({"entity_id": "elf", "damage": 7})], 0)
        [other] = store.append(b, [new()], 0)
        wanted = [first[1].event_id, other.event_id, new_event_id()]
        found = store.find_events(wanted, [a, b])
        assert found == {
            first[1].event_id: next(store.read(a, 2, 2)),
            other.event_id: next(store.read(b, 1, 1)),
        }
        assert found[first[1].event_id].data == {"entity_id": "elf", "damage": 7}
        assert store.find_events([], [a, b]) == {}
        many = [new() for _ in range(1200)]  # more than one page of ids
        store.append(a, many, 2)
        assert len(store.find_events([e.event_id for e in many], [a])) == 1200

    def test_generations_gives_each_streams_generation_and_0_for_an_empty_one(
        self, store: EventStore
    ) -> None:
        a, b, empty = unique_stream(), unique_stream(), unique_stream()
        store.append(a, [new(), new()], 0)
        store.append(b, [new()], 0)
        assert store.generations([a, b, empty]) == {a: 2, b: 1, empty: 0}
        assert store.generations([]) == {}
        names = [unique_stream() for _ in range(1100)]  # more than one page of names
        assert store.generations([*names, a]) == {**dict.fromkeys(names, 0), a: 2}

    def test_version_counts_group_events_by_domain_type_and_version(
        self, store: EventStore
    ) -> None:
        a, b = sorted([unique_domain(), unique_domain()])
        old = new(event_type=f"{a}.Hit")._replace(type_version="1.0")
        current = new(event_type=f"{a}.Hit")._replace(type_version="2.0")
        store.append(f"{a}-ogre", [old, current._replace(event_id=new_event_id())], 0)
        store.append(f"{a}-elf", [old._replace(event_id=new_event_id())], 0)
        store.append(f"{a}-x-y", [new(event_type=f"{a}.Spawned")], 0)  # domain: before 1st -
        store.append(b, [new(event_type=f"{b}.Odd")], 0)  # no "-": the whole name
        store.append(f"{b}x-1", [new(event_type="z.Other")], 0)  # another domain
        expected = [
            VersionCount(a, f"{a}.Hit", "1.0", 2),
            VersionCount(a, f"{a}.Hit", "2.0", 1),
            VersionCount(a, f"{a}.Spawned", "1.0", 1),
            VersionCount(b, f"{b}.Odd", "1.0", 1),
        ]
        assert store.version_counts([b, a, a]) == expected
        assert store.version_counts([a]) == expected[:3]
        everything = store.version_counts()
        assert everything == sorted(everything)
        assert [c for c in everything if c.domain in (a, b)] == expected
        assert VersionCount(f"{b}x", "z.Other", "1.0", 1) in everything
        assert store.version_counts([f"{a}-ogre", unique_domain()]) == []

    def test_version_counts_within_a_prefix_read_each_domain_after_it(
        self, store: EventStore
    ) -> None:
        a = unique_domain()
        prefix = f"{a}-ns."  # a namespaced view's kind of prefix, with a "-" of its own
        store.append(f"{prefix}combat-ogre", [new()], 0)
        store.append(f"{prefix}combat-elf", [new()], 0)
        store.append(f"{a}-combat-ogre", [new()], 0)  # outside the prefix
        inside = [VersionCount("combat", "combat.EntityAttacked", "1.0", 2)]
        assert store.version_counts(prefix=prefix) == inside
        assert store.version_counts(["combat", a], prefix=prefix) == inside
        assert store.version_counts([a]) == [VersionCount(a, "combat.EntityAttacked", "1.0", 3)]

    def test_the_store_offers_exactly_the_protocols_whose_contracts_it_runs(
        self, store: EventStore
    ) -> None:
        from tests.stores.contract_outbox import OutboxContract
        from tests.stores.contract_transactions import TransactionalContract
        from tests.stores.contract_views import EventLogContract, ViewsContract

        assert isinstance(store, EventStore)
        assert isinstance(store, Outbox) == isinstance(self, OutboxContract)
        assert isinstance(store, Transactional) == isinstance(self, TransactionalContract)
        assert isinstance(store, Views) == isinstance(self, ViewsContract)
        assert isinstance(self, EventLogContract)  # every store reads its log in pages

    # -- schema evolution: events stored by an older domain read through upcasters --------
    # (issue 13; one block, so the contract's other additions merge beside it)

    def test_events_stored_at_an_old_version_are_read_at_the_current_one_and_kept_as_stored(
        self, store: EventStore
    ) -> None:
        """What a store written by version 1 of a domain (``EntityAttacked`` v1.0, no
        weapon) holds is read by version 2 (its v2.0 class and an upcaster) through the
        fold and through ``steps``; the store still holds v1.0, as written. The upcaster
        changes the dict it is given, as an upcaster may: a store that handed out what it
        holds would be rewritten by the read."""
        from escli.app.fold import fold, steps

        old, current = _evolving_domain("1.0"), _evolving_domain("2.0")
        stream = unique_stream()
        stored = [{"entity_id": "ogre", "damage": 5}, {"entity_id": "ogre", "damage": 7}]
        events = [new(dict(data), "combat.EntityAttacked") for data in stored]
        store.append(stream, [*events, _current_attack(9, "axe")], 0)

        after = fold(current, stream, store.read_data(stream))
        assert (after.damage_taken, after.generation) == (21, 3)
        assert after.weapons == ("fists", "fists", "axe")
        attacked = current.event_class("combat.EntityAttacked", "2.0")
        walked = list(steps(current, stream, store.read(stream)))
        assert [(s.recorded.type_version, s.event) for s in walked] == [
            ("1.0", attacked("ogre", 5, "fists")),
            ("1.0", attacked("ogre", 7, "fists")),
            ("2.0", attacked("ogre", 9, "axe")),
        ]
        assert [s.after.generation for s in walked] == [1, 2, 3]
        held = [(r.event_type, r.type_version, r.data) for r in store.read(stream)]
        assert held == [
            ("combat.EntityAttacked", "1.0", stored[0]),
            ("combat.EntityAttacked", "1.0", stored[1]),
            ("combat.EntityAttacked", "2.0", {"entity_id": "ogre", "damage": 9, "weapon": "axe"}),
        ]
        # The old domain still reads its own events, and is refused the one it never knew.
        assert fold(old, stream, store.read_data(stream, to_generation=2)).damage_taken == 12
        with pytest.raises(UnreadableEvent, match=r"generation 3: .* v2\.0 \(it has v1\.0\)"):
            fold(old, stream, store.read_data(stream))


def _current_attack(damage: int, weapon: str) -> NewEvent:
    data = {"entity_id": "ogre", "damage": damage, "weapon": weapon}
    return new(data, "combat.EntityAttacked")._replace(type_version="2.0")


def _evolving_domain(version: str) -> Domain:
    """A ``combat`` domain at ``version`` of its ``EntityAttacked``: "1.0" without a weapon,
    "2.0" with one and an upcaster from 1.0 (what a store written by 1.0 needs)."""
    domain = Domain("combat", source="events://escli/samples/combat", stream_field="entity_id")

    @dataclass(frozen=True)
    class Wounds(AggregateState):
        damage_taken: int = 0
        weapons: tuple[str, ...] = ()

    if version == "1.0":

        @domain.event(version="1.0")
        @dataclass(frozen=True)
        class EntityAttacked:
            entity_id: str
            damage: int

    else:

        @domain.event(version="2.0")
        @dataclass(frozen=True)
        class EntityAttacked:  # type: ignore[no-redef]
            entity_id: str
            damage: int
            weapon: str

        @domain.upcaster("EntityAttacked", "1.0", to="2.0")
        def add_weapon(data: dict[str, Any]) -> dict[str, Any]:
            data["weapon"] = "fists"  # in place: an upcaster may change what it is given
            return data

    @domain.aggregate
    class Combat:
        def initial_state(self, stream_id: str) -> Wounds:
            return Wounds()

        def handle_command(self, state: Wounds, command: object) -> list[object]:
            return []

        def apply_event(self, state: Wounds, event: Any) -> Wounds:
            weapons = (*state.weapons, event.weapon) if hasattr(event, "weapon") else state.weapons
            return state.evolve(damage_taken=state.damage_taken + event.damage, weapons=weapons)

    return domain
