"""The store ``escli test`` gives a scenario in a shared store: the contract holds through the
prefix, and what is outside it stays out of sight and untouched."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from escli.stores.base import VersionCount
from escli.stores.memory import MemoryStore
from escli.stores.namespaced import NamespacedStore
from escli.stores.postgres import PostgresStore
from escli.stores.sqlite import SQLiteStore
from tests.stores.contract import new
from tests.stores.contract_event_store import EventStoreContract
from tests.stores.contract_outbox import OutboxContract
from tests.stores.contract_views import EventLogContract


class TestNamespacedMemoryStore(EventStoreContract, OutboxContract, EventLogContract):
    head_is_the_shared_stores = True

    @pytest.fixture
    def store(self) -> NamespacedStore:
        return NamespacedStore(MemoryStore(), "escli-test.t1.")


class TestNamespacedSQLiteStore(EventStoreContract, OutboxContract, EventLogContract):
    head_is_the_shared_stores = True

    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[NamespacedStore]:
        inner = SQLiteStore(f"sqlite:///{tmp_path / 'events.db'}")
        yield NamespacedStore(inner, "escli-test.t1.")
        inner.close()


class TestNamespacedPostgresStore(EventStoreContract, OutboxContract, EventLogContract):
    head_is_the_shared_stores = True

    @pytest.fixture
    def store(self, postgres_url: str) -> Iterator[NamespacedStore]:
        inner = PostgresStore(postgres_url)
        yield NamespacedStore(inner, "escli-test.t1.")
        inner.close()

    @pytest.fixture
    def empty_store(self, postgres_url: str) -> Iterator[NamespacedStore]:
        inner = PostgresStore(postgres_url)  # a prefix no stream of the shared schema has
        yield NamespacedStore(inner, f"escli-test.{uuid.uuid4().hex[:12]}.")
        inner.close()


def test_streams_outside_the_prefix_are_neither_seen_nor_touched() -> None:
    shared = MemoryStore()
    shared.append("combat-ogre", [new(), new()], 0)
    scenario = NamespacedStore(shared, "escli-test.t1.")
    assert scenario.generation("combat-ogre") == 0
    [recorded] = scenario.append("combat-ogre", [new()], 0)
    assert (recorded.stream, recorded.generation) == ("combat-ogre", 1)
    assert [s.stream for s in scenario.streams()] == ["combat-ogre"]
    assert [(s.stream, s.generation) for s in shared.streams()] == [
        ("combat-ogre", 2),
        ("escli-test.t1.combat-ogre", 1),
    ]
    assert [r.stream for r in scenario.read_all()] == ["combat-ogre"]


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_version_counts_of_a_view_count_its_streams_by_their_names_inside_it(
    kind: str, tmp_path: Path
) -> None:
    shared = MemoryStore() if kind == "memory" else SQLiteStore(f"sqlite:///{tmp_path / 'e.db'}")
    shared.append("combat-ogre", [new(), new()], 0)
    scenario = NamespacedStore(shared, "escli-test.t1.")
    scenario.append("combat-ogre", [new()], 0)
    assert scenario.version_counts() == [VersionCount("combat", "combat.EntityAttacked", "1.0", 1)]
    assert scenario.version_counts(["escli"]) == []
    assert shared.version_counts() == [
        VersionCount("combat", "combat.EntityAttacked", "1.0", 2),
        VersionCount("escli", "combat.EntityAttacked", "1.0", 1),
    ]
    shared.close()


def test_a_view_of_a_store_with_snapshots_keeps_its_own_under_its_prefix() -> None:
    from escli.stores.snapshots import Snapshot, Snapshots

    shared = MemoryStore()
    outside = Snapshot("combat-ogre", 2, "a", "fp", "{}", "2026-12-03T10:00:00Z")
    shared.save_snapshot(outside)
    scenario = NamespacedStore(shared, "escli-test.t1.")
    assert isinstance(scenario, Snapshots)
    assert scenario.snapshot("combat-ogre") is None and scenario.list_snapshots() == []
    mine = outside._replace(generation=1, event_id="b")
    scenario.save_snapshot(mine)
    assert scenario.snapshot("combat-ogre") == mine
    assert scenario.list_snapshots() == [mine]
    assert shared.snapshot("escli-test.t1.combat-ogre") == mine._replace(
        stream="escli-test.t1.combat-ogre"
    )
    assert scenario.drop_snapshots() == 1
    assert shared.list_snapshots() == [outside]
