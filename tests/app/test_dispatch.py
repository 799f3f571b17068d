"""Dispatch: read, fold, handle, append with the expected generation, fan out."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from escli_combat import Attack, EntityAttacked, EntityDied, Spawn

from escli import CommandRejected, ConcurrencyConflict, Domain, dispatch
from escli.errors import DomainError, StoreError
from escli.stores.base import RecordedEvent, Store
from escli.stores.memory import MemoryStore
from tests.conftest import open_store, snapshot


def test_a_dispatch_appends_the_events_and_reports_the_transition(combat: Domain) -> None:
    store = MemoryStore()
    result = dispatch(combat, Attack("ogre", 150), store)
    assert result.stream == "combat-ogre"
    assert (result.before.generation, result.after.generation) == (0, 1)
    assert (result.before.hitpoints, result.after.hitpoints) == (900, 750)
    assert result.events == [EntityAttacked("ogre", 150, "fists")]
    assert [(r.generation, r.event_type, r.data) for r in result.recorded] == [
        (1, "combat.EntityAttacked", {"entity_id": "ogre", "damage": 150, "weapon": "fists"})
    ]


def test_five_dispatches_make_generations_one_to_five(combat: Domain) -> None:
    store = MemoryStore()
    seen = [dispatch(combat, Attack("ogre", 150), store) for _ in range(5)]
    assert [r.after.generation for r in seen] == [1, 2, 3, 4, 5]
    assert [r.after.hitpoints for r in seen] == [750, 600, 450, 300, 150]


def test_all_events_of_a_command_go_in_one_append(combat: Domain) -> None:
    calls: list[int] = []

    class CountingStore(MemoryStore):
        def append(self, stream, events, expected_generation, **options):  # type: ignore[no-untyped-def]
            calls.append(len(events))
            return super().append(stream, events, expected_generation, **options)

    result = dispatch(combat, Attack("ogre", 1000), CountingStore())
    assert result.events == [EntityAttacked("ogre", 1000, "fists"), EntityDied("ogre")]
    assert calls == [2]
    assert [r.generation for r in result.recorded] == [1, 2]


def test_a_dry_run_writes_nothing_but_shows_the_outcome(combat: Domain) -> None:
    store = MemoryStore()
    result = dispatch(combat, Attack("ogre", 150), store, dry_run=True)
    assert result.dry_run
    assert result.after.hitpoints == 750
    assert result.recorded == []
    assert store.generation("combat-ogre") == 0


def test_a_rejected_command_writes_nothing(combat: Domain) -> None:
    store = MemoryStore()
    dispatch(combat, Attack("ogre", 150), store)
    before = snapshot(store)
    with pytest.raises(CommandRejected, match="immortal"):
        dispatch(combat, Attack("ghost", 1), store)
    assert snapshot(store) == before


def test_a_stream_that_moved_after_the_read_is_a_conflict(combat: Domain) -> None:
    class InterleavedStore(MemoryStore):
        """Another writer slips in between this dispatch's read and its append."""

        def append(self, stream, events, expected_generation, **options):  # type: ignore[no-untyped-def]
            if not getattr(self, "raced", False):
                self.raced = True
                super().append(
                    stream,
                    [e._replace(event_id=e.event_id + "-other") for e in events],
                    expected_generation,
                )
            return super().append(stream, events, expected_generation, **options)

    store = InterleavedStore()
    with pytest.raises(ConcurrencyConflict, match="expected generation 0, found 1"):
        dispatch(combat, Attack("ogre", 150), store)
    assert store.generation("combat-ogre") == 1


class ListSink:
    def __init__(self, url: str, fail: bool = False) -> None:
        self.url = url
        self.fail = fail
        self.received: list[RecordedEvent] = []

    def deliver(self, recorded: Sequence[RecordedEvent]) -> None:
        if self.fail:
            raise StoreError(f"{self.url} is down")
        self.received.extend(recorded)


def test_extra_targets_receive_what_the_store_accepted(combat: Domain) -> None:
    store, sink = MemoryStore(), ListSink("list:one")
    result = dispatch(combat, Attack("ogre", 1000), store, sinks=[sink])
    assert sink.received == list(store.read("combat-ogre")) == result.recorded
    assert [(d.target, d.ok) for d in result.deliveries] == [("list:one", True)]


def test_a_failing_target_is_reported_and_the_store_keeps_the_events(combat: Domain) -> None:
    store = MemoryStore()
    down, up = ListSink("list:down", fail=True), ListSink("list:up")
    result = dispatch(combat, Attack("ogre", 1), store, sinks=[down, up])
    assert [(d.target, d.ok, str(d.error)) for d in result.deliveries] == [
        ("list:down", False, "list:down is down"),
        ("list:up", True, "None"),
    ]
    assert store.generation("combat-ogre") == 1
    assert len(up.received) == 1


def test_targets_receive_nothing_when_the_store_refuses(combat: Domain) -> None:
    sink = ListSink("list:one")
    with pytest.raises(CommandRejected):
        dispatch(combat, Attack("ghost", 1), MemoryStore(), sinks=[sink])
    assert sink.received == []


def test_a_handler_returning_a_foreign_object_is_a_bug_not_a_user_error(combat: Domain) -> None:
    from dataclasses import dataclass

    from escli.domain.model import Domain as D

    broken = D("broken", source="events://test/broken")

    @broken.command
    @dataclass(frozen=True)
    class Poke:
        thing_id: str

    @broken.aggregate
    class Aggregate:
        def initial_state(self, stream_id: str):  # type: ignore[no-untyped-def]
            from escli import AggregateState

            return AggregateState()

        def handle_command(self, state, command):  # type: ignore[no-untyped-def]
            return ["not an event"]

        def apply_event(self, state, event):  # type: ignore[no-untyped-def]
            return state

    with pytest.raises(DomainError, match=r"'not an event' \(a str\), which is not an event"):
        dispatch(broken, Poke("x"), MemoryStore())


def test_dispatch_works_on_every_store_the_same(combat: Domain, sqlite_store: Store) -> None:
    dispatch(combat, Spawn("dragon", 300), sqlite_store)
    result = dispatch(combat, Attack("dragon", 300), sqlite_store)
    assert result.events == [EntityAttacked("dragon", 300, "fists"), EntityDied("dragon")]
    assert [r.generation for r in sqlite_store.read("combat-dragon")] == [1, 2, 3]
    assert open_store(sqlite_store.url).generation("combat-dragon") == 3
