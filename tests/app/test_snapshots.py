"""Snapshots in use: a fold from one gives the state a fold from 0 gives, and every way a
snapshot can be wrong (stale code, another event at its generation, a row that does not
decode, a state that does not round-trip) falls back to a full fold with the right state."""

from __future__ import annotations

import contextlib
import dataclasses
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from escli import AggregateState, CommandRejected, Domain, dispatch, load_domain
from escli.app.snapshots import (
    SnapshotPolicy,
    fold_stream,
    list_snapshots,
    replay_stored,
    snapshot_of,
)
from escli.domain.discovery import DomainRegistry
from escli.domain.fingerprint import fingerprint
from escli.stores.base import Store
from escli.stores.memory import MemoryStore
from escli.stores.snapshots import Snapshots
from tests.conftest import open_store

NEVER = SnapshotPolicy(use=False)
# Each test's entities are its own: the PostgreSQL schema is shared by the session.
wolf = fox = ""
wolf_stream = fox_stream = ""


@pytest.fixture(autouse=True)
def entities() -> None:
    global wolf, fox, wolf_stream, fox_stream
    wolf, fox = f"wolf{uuid.uuid4().hex[:8]}", f"fox{uuid.uuid4().hex[:8]}"
    wolf_stream, fox_stream = f"combat-{wolf}", f"combat-{fox}"


EVERY_10 = SnapshotPolicy(every=10)


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[Store]:
    if request.param == "memory":
        yield MemoryStore()
    elif request.param == "sqlite":
        yield open_store(f"sqlite:///{tmp_path / 'e.db'}")
    else:
        yield open_store(request.getfixturevalue("postgres_url"))


@pytest.fixture(scope="module")
def combat() -> Domain:
    return load_domain("combat")


def fight(domain: Domain, store: Store, entity: str, blows: int, policy: SnapshotPolicy) -> None:
    spawn, attack = domain.command_spec("spawn").cls, domain.command_spec("attack").cls
    dispatch(domain, spawn(entity, 10**9), store, snapshots=policy)
    for _ in range(blows):
        dispatch(domain, attack(entity, 3), store, snapshots=policy)


def full(domain: Domain, store: Store, stream: str) -> Any:
    return fold_stream(domain, store, stream, policy=NEVER).state


def test_a_fold_from_a_snapshot_is_the_fold_from_zero(combat: Domain, store: Store) -> None:
    fight(combat, store, wolf, 34, EVERY_10)
    assert isinstance(store, Snapshots)
    assert [s.generation for s in store.list_snapshots(wolf_stream)] == [30, 20, 10]
    folded = fold_stream(combat, store, wolf_stream, policy=EVERY_10)
    assert folded.snapshot is not None and folded.snapshot.generation == 30
    assert folded.read == 5
    assert folded.state == full(combat, store, wolf_stream)
    assert folded.state.generation == 35


def test_replay_to_a_generation_starts_from_the_newest_snapshot_at_or_below(
    combat: Domain, store: Store
) -> None:
    fight(combat, store, wolf, 34, EVERY_10)
    folded = replay_stored(combat, wolf_stream, store, 25, policy=EVERY_10)
    assert folded.snapshot is not None and folded.snapshot.generation == 20
    assert (
        folded.state
        == fold_stream(combat, store, wolf_stream, to_generation=25, policy=NEVER).state
    )


def test_a_snapshot_of_changed_code_is_not_used(combat: Domain, store: Store) -> None:
    fight(combat, store, wolf, 12, EVERY_10)
    assert isinstance(store, Snapshots)
    kept = store.snapshot(wolf_stream)
    assert kept is not None
    store.save_snapshot(kept._replace(fingerprint="made by other code", state='{"x": 1}'))
    folded = fold_stream(combat, store, wolf_stream, policy=EVERY_10)
    assert folded.snapshot is None and "stale" in folded.note
    assert folded.state == full(combat, store, wolf_stream)


def test_a_snapshot_over_another_event_is_dropped(combat: Domain, store: Store) -> None:
    fight(combat, store, wolf, 12, EVERY_10)
    assert isinstance(store, Snapshots)
    kept = store.snapshot(wolf_stream)
    assert kept is not None
    # As if another tool had rewritten the stream: the event at its generation is not its.
    store.save_snapshot(kept._replace(event_id="not-the-event-there"))
    folded = fold_stream(combat, store, wolf_stream, policy=EVERY_10)
    assert folded.snapshot is None and "dropped" in folded.note
    assert store.snapshot(wolf_stream) is None
    assert folded.state == full(combat, store, wolf_stream)


@pytest.mark.parametrize(
    "state",
    [
        "not json",
        '{"entity_id": "wolf"}',  # a field missing (the class gained one since)
        '{"generation": 11, "entity_id": "x", "hitpoints": "many"}',
        '{"generation": 3, "entity_id": "x"}',  # not at the snapshot's generation
    ],
)
def test_a_snapshot_that_does_not_decode_is_a_full_fold(
    combat: Domain, store: Store, state: str
) -> None:
    fight(combat, store, wolf, 12, EVERY_10)
    assert isinstance(store, Snapshots)
    kept = store.snapshot(wolf_stream)
    assert kept is not None
    store.save_snapshot(kept._replace(state=state))
    folded = fold_stream(combat, store, wolf_stream, policy=EVERY_10)
    assert folded.snapshot is None and "does not decode" in folded.note
    assert folded.state == full(combat, store, wolf_stream)


def test_snapshots_off_reads_from_zero_and_takes_none(combat: Domain, store: Store) -> None:
    fight(combat, store, wolf, 25, SnapshotPolicy(every=0))
    assert isinstance(store, Snapshots)
    assert store.list_snapshots(wolf_stream) == []
    fight(combat, store, fox, 25, EVERY_10)
    folded = fold_stream(combat, store, fox_stream, policy=NEVER)
    assert folded.snapshot is None and folded.read == 26


def test_an_imported_stream_gets_a_snapshot_on_its_first_replay(
    combat: Domain, store: Store
) -> None:
    fight(combat, store, wolf, 25, SnapshotPolicy(every=0))
    assert isinstance(store, Snapshots)
    replay_stored(combat, wolf_stream, store, policy=EVERY_10)
    assert [s.generation for s in store.list_snapshots(wolf_stream)] == [26]


def test_a_state_that_does_not_round_trip_is_never_snapshotted() -> None:
    domain = Domain("ledger", source="events://test/ledger", stream_field="account")

    @dataclasses.dataclass(frozen=True)
    class Ledger(AggregateState):
        account: str
        last: Any = None  # a Decimal comes back from JSON as a number, not a Decimal

    state = Ledger("a", Decimal("1.10"), generation=3)
    assert snapshot_of_state(domain, state) is None
    assert snapshot_of_state(domain, Ledger("a", "text", generation=3)) is not None


def snapshot_of_state(domain: Domain, state: Any) -> Any:
    """``snapshot_of`` for a bare state, the domain's fingerprint made up (no aggregate)."""
    import escli.domain.fingerprint as fp

    fp._MADE[id(domain)] = (domain, "made-up")
    try:
        return snapshot_of(domain, "ledger-a", state, "id-3")
    finally:
        del fp._MADE[id(domain)]


class Counter:
    """A domain of this module's own, so that registering on it touches no other test's."""

    def initial_state(self, stream_id: str) -> Any:
        return Count(stream_id)

    def handle_command(self, state: Any, command: Any) -> list[Any]:
        return []

    def apply_event(self, state: Any, event: Any) -> Any:
        return state.evolve(n=state.n + 1)


@dataclasses.dataclass(frozen=True)
class Count(AggregateState):
    counter: str
    n: int = 0


def counter_domain() -> Domain:
    domain = Domain("counter", source="events://test/counter", stream_field="counter")

    @domain.event(version="2.0")
    @dataclasses.dataclass(frozen=True)
    class Counted:
        counter: str

    domain.aggregate(Counter)
    return domain


def test_the_fingerprint_is_the_same_for_the_same_code_and_changes_with_an_upcaster() -> None:
    one, two = counter_domain(), counter_domain()
    assert fingerprint(one) is not None
    assert fingerprint(one) == fingerprint(two)

    @two.upcaster("Counted", "1.0", to="2.0")
    def from_one(data: dict[str, Any]) -> dict[str, Any]:
        return data

    import escli.domain.fingerprint as fp

    fp._MADE.pop(id(two), None)  # made once per domain: this one changed after
    assert fingerprint(two) != fingerprint(one)
    assert fingerprint(DomainRegistry().get("combat")) == fingerprint(load_domain("combat"))


def test_a_read_only_store_replays_without_taking_one(combat: Domain, tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path / 'e.db'}"
    fight(combat, open_store(url), wolf, 25, SnapshotPolicy(every=0))
    read_only = open_store(url + "?mode=ro")
    folded = replay_stored(combat, wolf_stream, read_only, policy=EVERY_10)
    assert folded.state.generation == 26
    assert list_snapshots(read_only, DomainRegistry()) == []


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(st.sampled_from(["spawn", "attack", "heal"]), st.integers(1, 400)),
        max_size=40,
    ),
    st.integers(1, 7),
)
def test_for_any_commands_the_state_from_a_snapshot_is_the_state_from_zero(
    commands: list[tuple[str, int]], every: int
) -> None:
    combat = load_domain("combat")
    store = MemoryStore()
    policy = SnapshotPolicy(every=every)
    for name, amount in commands:
        command = combat.command_spec(name).cls("wolf", amount)
        with contextlib.suppress(CommandRejected):
            dispatch(combat, command, store, snapshots=policy)
        folded = fold_stream(combat, store, "combat-wolf", policy=policy)
        assert folded.state == full(combat, store, "combat-wolf")


def planted(combat: Domain, store: Store, hitpoints: int) -> None:
    """Rewrite the newest snapshot's hitpoints: a state only a fold from it can give, so a
    test sees whether a read path started there."""
    import json

    assert isinstance(store, Snapshots)
    kept = store.snapshot(wolf_stream)
    assert kept is not None
    state = {**json.loads(kept.state), "hitpoints": hitpoints}
    store.save_snapshot(kept._replace(state=json.dumps(state)))


def test_following_a_stream_from_its_end_starts_from_its_snapshot(
    combat: Domain, store: Store
) -> None:
    from escli.app.follow import follow

    fight(combat, store, wolf, 11, EVERY_10)  # generation 12, a snapshot at 10
    planted(combat, store, 42)
    truly = fold_stream(combat, store, wolf_stream, to_generation=11, policy=NEVER).state
    for policy, hitpoints in ((EVERY_10, 42 - 3), (NEVER, truly.hitpoints)):
        [followed] = follow(
            store, lambda _: combat, wolf_stream, from_generation=12, limit=1, snapshots=policy
        )
        assert followed.step.before.generation == 11
        assert followed.step.before.hitpoints == hitpoints


def test_a_folds_summary_says_where_it_started_and_what_it_took(
    combat: Domain, store: Store
) -> None:
    fight(combat, store, wolf, 10, SnapshotPolicy(every=0))
    first = replay_stored(combat, wolf_stream, store, policy=EVERY_10)
    assert first.summary(wolf_stream) == (
        f"{wolf_stream}: folded 11 events from generation 0; took a snapshot at generation 11"
    )
    again = replay_stored(combat, wolf_stream, store, policy=EVERY_10)
    assert again.summary(wolf_stream) == (
        f"{wolf_stream}: folded 0 events from the snapshot at generation 11"
    )
    assert isinstance(store, Snapshots)
    kept = store.snapshot(wolf_stream)
    assert kept is not None
    store.save_snapshot(kept._replace(fingerprint="other code"))
    stale = fold_stream(combat, store, wolf_stream, policy=EVERY_10)
    assert stale.summary(wolf_stream) == (
        f"{wolf_stream}: snapshot at 11 is stale (code changed); folded 11 events from generation 0"
    )
