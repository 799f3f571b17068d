"""Every store keeps an event's metadata (causation, correlation, command, free pairs) and
finds the events of a correlation (``correlated``); an event without metadata reads with
None, as before. Memory, SQLite, PostgreSQL and EventStoreDB (the in-process server)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from escli.app.dispatch import dispatch
from escli.domain.model import Domain
from escli.domain.words import build_command
from escli.stores.base import Store
from escli.stores.metadata import Why
from tests.conftest import needs_esdb_client, open_store
from tests.stores.contract import new, unique_stream

STORES = ["memory", "sqlite", "postgres", pytest.param("esdb", marks=needs_esdb_client)]


@pytest.fixture(params=STORES)
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    kind = request.param
    if kind == "memory":
        url = "memory:"
    elif kind == "sqlite":
        url = request.getfixturevalue("store_url")
    elif kind == "postgres":
        url = request.getfixturevalue("postgres_url")
    else:
        url = request.getfixturevalue("esdb_url")
    yield open_store(url)


def test_a_dispatch_stores_causation_correlation_command_and_pairs(
    store: Store, combat: Domain
) -> None:
    correlation = f"order-{uuid.uuid4().hex[:8]}"
    entity = f"e{uuid.uuid4().hex[:8]}"
    why = Why("cmd-1", correlation, {"user": "ann"})
    spawn = build_command(combat, "spawn", [entity, "10"])
    result = dispatch(combat, spawn, store, why=why)
    expected = {
        "causationid": "cmd-1",
        "correlationid": correlation,
        "command": "Spawn",
        "user": "ann",
    }
    assert [dict(r.metadata or {}) for r in result.recorded] == [expected]
    (read,) = store.read(result.stream)
    assert dict(read.metadata or {}) == expected
    assert store.correlated(correlation) == [read]


def test_a_dispatch_with_no_ids_is_its_own_correlation(store: Store, combat: Domain) -> None:
    entity = f"e{uuid.uuid4().hex[:8]}"
    spawn = build_command(combat, "spawn", [entity, "10"])
    (recorded,) = dispatch(combat, spawn, store).recorded
    assert recorded.metadata is not None
    causation = recorded.metadata["causationid"]
    assert uuid.UUID(causation)
    assert recorded.metadata["correlationid"] == causation
    assert [r.event_id for r in store.correlated(causation)] == [recorded.event_id]


def test_an_event_without_metadata_reads_as_before(store: Store) -> None:
    stream = unique_stream()
    store.append(stream, [new()], 0)
    (read,) = store.read(stream)
    assert read.metadata is None
    assert store.correlated(f"none-{uuid.uuid4().hex}") == []


def test_a_correlation_spans_streams_in_order(store: Store, combat: Domain) -> None:
    correlation = f"c{uuid.uuid4().hex[:8]}"
    a, b = f"a{uuid.uuid4().hex[:8]}", f"b{uuid.uuid4().hex[:8]}"
    why = Why(None, correlation)
    for entity in (a, b):
        spawn = build_command(combat, "spawn", [entity, "10"])
        dispatch(combat, spawn, store, why=why)
    dispatch(combat, build_command(combat, "attack", [a, "3"]), store, why=why)
    found = store.correlated(correlation)
    assert [(r.stream, r.generation) for r in found] == [
        (f"combat-{a}", 1),
        (f"combat-{b}", 1),
        (f"combat-{a}", 2),
    ]
    assert len({r.metadata["causationid"] for r in found if r.metadata}) == 3
