"""Every store keeps an event's metadata (causation, correlation, command, free pairs) and
finds the events of a correlation (``correlated``); an event without metadata reads with
None, as before. Memory, SQLite, PostgreSQL and EventStoreDB (the in-process server)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from escli.app.dispatch import dispatch
from escli.domain.model import Domain
from escli.domain.words import build_command
from escli.stores import open_store as escli_open_store
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


def test_the_first_event_a_command_caused_is_found_by_its_causation_id(
    store: Store, combat: Domain
) -> None:
    correlation, causation = f"c{uuid.uuid4().hex[:8]}", f"k{uuid.uuid4().hex[:8]}"
    entity = f"e{uuid.uuid4().hex[:8]}"
    dispatch(
        combat, build_command(combat, "spawn", [entity, "10"]), store, why=Why(None, correlation)
    )
    attack = build_command(combat, "attack", [entity, "10"])  # two events: attacked, died
    result = dispatch(combat, attack, store, why=Why(causation, correlation))
    assert len(result.recorded) == 2
    found = store.first_caused_by(causation)
    assert found is not None and found.event_id == result.recorded[0].event_id
    assert store.first_caused_by(f"none-{uuid.uuid4().hex}") is None


@needs_esdb_client
def test_eventstoredb_writes_causation_and_correlation_under_its_own_names_too(
    esdb_url: str,
) -> None:
    import json

    from escli.stores.eventstoredb import load_client_api

    api = load_client_api()
    raw = api.client_class(esdb_url)
    try:
        store = open_store(esdb_url)
        stream = unique_stream()
        pairs = {"causationid": "c-1", "correlationid": "o-1", "command": "Attack"}
        store.append(stream, [new()._replace(metadata=pairs)], 0)
        (event,) = raw.get_stream(stream)
        written = json.loads(event.metadata)
        assert {k: written[k] for k in ("$causationId", "$correlationId", *pairs)} == {
            "$causationId": "c-1",
            "$correlationId": "o-1",
            **pairs,
        }
        # An event another client wrote with only the server's names reads as escli's.
        other = unique_stream()
        raw.append_to_stream(
            other,
            current_version=api.no_stream,
            events=[
                api.new_event(
                    type="combat.EntityAttacked",
                    data=b'{"entity_id": "ogre", "damage": 1}',
                    metadata=b'{"$correlationId": "o-2", "$causationId": "c-2"}',
                )
            ],
        )
        (read,) = store.read(other)
        assert dict(read.metadata or {}) == {"causationid": "c-2", "correlationid": "o-2"}
    finally:
        raw.close()


def test_openers_racing_to_migrate_a_v1_sqlite_store_all_succeed(tmp_path: Path) -> None:
    import sqlite3
    import threading
    from contextlib import closing

    from tests.stores.old_schemas import V1_BY_STREAM

    path = tmp_path / "old.db"
    with closing(sqlite3.connect(path)) as conn:
        conn.executescript(V1_BY_STREAM)
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def open_and_write(n: int) -> None:
        try:
            start.wait()
            store = escli_open_store(f"sqlite:///{path}")
            try:
                store.append(f"combat-w{n}", [new()._replace(metadata={"correlationid": "r"})], 0)
            finally:
                store.close()
        except BaseException as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=open_and_write, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("PRAGMA user_version").fetchone() == (2,)
    assert len(open_store(f"sqlite:///{path}").correlated("r")) == 8


@needs_esdb_client
def test_eventstoredb_traces_through_its_bc_stream_when_the_server_keeps_one(
    esdb_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server's ``$by_correlation_id`` projection (which the in-process server has not)
    links each event to ``$bc-<id>``: read with its links resolved, in position order."""
    import json
    from types import SimpleNamespace

    from escli.stores.eventstoredb import EventStoreDBStore

    def resolved(position: int, stream: str) -> SimpleNamespace:
        meta = {"source": "s", "type_version": "1.0", "correlationid": "o-1"}
        return SimpleNamespace(
            stream_name=stream, stream_position=0, metadata=json.dumps(meta).encode(),
            data=b'{"entity_id": "x"}', id=uuid.uuid4(), type="combat.EntityDied",
            recorded_at=None, commit_position=position, is_resolved_event=True,
        )  # fmt: skip

    asked: list[tuple[str, bool]] = []

    def get_stream(name: str, *, resolve_links: bool = False, **_: object) -> list[object]:
        asked.append((name, resolve_links))
        return [resolved(20, "combat-b"), resolved(10, "combat-a")]

    store = EventStoreDBStore(esdb_url)
    monkeypatch.setattr(store, "_connected", lambda: SimpleNamespace(get_stream=get_stream))
    found = store.correlated("o-1")
    assert asked == [("$bc-o-1", True)]
    assert [(r.stream, r.position) for r in found] == [("combat-a", 10), ("combat-b", 20)]
    store.close()
