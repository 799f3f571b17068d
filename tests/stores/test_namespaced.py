"""The store ``escli test`` gives a scenario in a shared store: the contract holds through the
prefix, and what is outside it stays out of sight and untouched."""

from __future__ import annotations

import pytest

from escli.stores.memory import MemoryStore
from escli.stores.namespaced import NamespacedStore
from tests.stores.contract import StoreContract, new


class TestNamespacedStore(StoreContract):
    @pytest.fixture
    def store(self) -> NamespacedStore:
        return NamespacedStore(MemoryStore(), "escli-test.t1.")


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
