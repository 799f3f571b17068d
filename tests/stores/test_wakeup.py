"""How each store wakes a follower, beyond the contract (``contract_wakeup``): an append from
another process wakes it; SQLite reads no head while the file is unchanged; PostgreSQL
wakes only for its own schema, and only when the append commits; EventStoreDB's hidden
streams wake no one, its subscription ends with the waiter, and a lost server is an error.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from escli.errors import StoreUnavailable
from escli.stores.base import Store
from escli.stores.eventstoredb.outbox import PENDING_STREAM, SNAPSHOT_PREFIX
from tests.conftest import needs_esdb_client, open_store
from tests.stores.contract import new, read_log, unique_domain
from tests.stores.contract_wakeup import woken

if TYPE_CHECKING:
    from tests.esdb_server import ServerHandle


def counting_heads(store: Store, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the store's head reads (a waiter made afterwards reads through the count)."""
    reads: list[int] = []
    read = store.head_position

    def head_position() -> int:
        reads.append(1)
        return read()

    monkeypatch.setattr(store, "head_position", head_position)
    return reads


def dispatch_elsewhere(url: str, entity: str) -> None:
    """``escli dispatch combat spawn ENTITY 10`` in a process of its own."""
    subprocess.run(
        [sys.executable, "-m", "escli", "dispatch", "combat", "spawn", entity, "10"],
        check=True,
        capture_output=True,
        env={**os.environ, "ESCLI_STORE": url},
        timeout=60,
    )


@pytest.fixture(params=["sqlite", "postgres"])
def sql_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'e.db'}"
    new_url: Callable[[], str] = request.getfixturevalue("postgres_schemas")
    return new_url()


def test_an_append_from_another_process_wakes_the_waiter(sql_url: str) -> None:
    store = open_store(sql_url)
    store.append("combat-first", [new()], 0)  # the file or schema exists: a process waits
    start = store.head_position()
    with store.waiter() as waiter:
        assert waiter.wait_beyond(start, 0.1) <= start
        dispatch_elsewhere(sql_url, "wolf")
        head = woken(waiter, start)
    assert [r.stream for r in read_log(store, start, 10, up_to=head)] == ["combat-wolf"]


# -- SQLite ---------------------------------------------------------------------------------


def test_sqlite_reads_no_head_while_the_file_is_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'e.db'}")
    store.append("combat-a", [new()], 0)
    heads = counting_heads(store, monkeypatch)
    with store.waiter() as waiter:
        start = store.head_position()
        assert waiter.wait_beyond(start, 0.5) == start  # 10 ticks asked the data version
        assert len(heads) == 2  # ours, and the waiter's first
        [event] = open_store(store.url).append("combat-b", [new()], 0)
        assert woken(waiter, start) == event.position
        assert len(heads) == 3


def test_sqlite_waits_on_a_file_not_yet_made(tmp_path: Path) -> None:
    path = tmp_path / "later.db"
    store = open_store(f"sqlite:///{path}")
    with store.waiter() as waiter:
        assert waiter.wait_beyond(0, 0.1) == 0
        assert not path.exists()  # waiting created nothing
        [event] = open_store(store.url).append("combat-a", [new()], 0)
        assert woken(waiter, 0) == event.position


# -- PostgreSQL -----------------------------------------------------------------------------


def test_postgres_wakes_for_its_own_schema_only(
    postgres_schemas: Callable[[], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    mine, other = open_store(postgres_schemas()), open_store(postgres_schemas())
    mine.append("combat-a", [new()], 0)
    other.append("combat-a", [new()], 0)
    heads = counting_heads(mine, monkeypatch)
    start = mine.head_position()
    with mine.waiter() as waiter:
        assert waiter.wait_beyond(start, 0.1) == start  # listening, and the head read once
        before = len(heads)
        for generation in range(1, 4):
            other.append("combat-a", [new()], generation)
        assert waiter.wait_beyond(start, 0.5) == start
        assert len(heads) == before  # no notification came: not even a head read


def test_postgres_a_notification_with_no_event_does_no_harm(postgres_url: str) -> None:
    import psycopg

    store = open_store(postgres_url)
    store.append(f"{unique_domain()}-a", [new()], 0)
    start = store.head_position()
    with store.waiter() as waiter:
        assert waiter.wait_beyond(start, 0.1) == start
        schema = postgres_url.rpartition("schema=")[2]
        with psycopg.connect(postgres_url.partition("?")[0], autocommit=True) as conn:
            conn.execute("SELECT pg_notify(%s, 'combat-x')", (f"escli.{schema}",))
        assert waiter.wait_beyond(start, 0.5) == start  # it read the head: nothing new


def test_postgres_an_append_wakes_no_one_until_its_transaction_commits(
    postgres_url: str,
) -> None:
    store = open_store(postgres_url)
    d = unique_domain()
    store.append(f"{d}-a", [new()], 0)
    start = store.head_position()
    appended, commit = threading.Event(), threading.Event()

    def append_in_a_transaction() -> None:
        writer = open_store(postgres_url)
        with writer.transaction():  # type: ignore[attr-defined]
            writer.append(f"{d}-b", [new()], 0)
            appended.set()
            commit.wait(30)

    with store.waiter() as waiter:
        assert waiter.wait_beyond(start, 0.1) == start
        thread = threading.Thread(target=append_in_a_transaction)
        thread.start()
        try:
            assert appended.wait(30)
            assert waiter.wait_beyond(start, 0.5) == start  # not committed: no one knows
        finally:
            commit.set()
            thread.join()
        head = woken(waiter, start)
    assert [r.stream for r in read_log(store, start, 10, up_to=head)] == [f"{d}-b"]


# -- EventStoreDB ---------------------------------------------------------------------------


@needs_esdb_client
def test_eventstoredb_hidden_streams_wake_no_one(esdb_server: ServerHandle) -> None:
    from escli.stores.eventstoredb import load_client_api

    store = open_store(esdb_server.url)
    [event] = store.append("combat-a", [new()], 0)
    raw: Any = load_client_api().client_class(esdb_server.url)
    hidden = load_client_api().new_event(type="t", data=b"{}", content_type="application/json")
    try:
        with store.waiter() as waiter:
            assert waiter.wait_beyond(event.position, 0.1) == event.position
            store.set_pending("nats://elsewhere", "combat-a", 1, 1)  # the pending list
            raw.append_to_stream(
                f"{SNAPSHOT_PREFIX}combat-a",
                current_version=load_client_api().any_version,
                events=[hidden],
            )
            assert [e.stream_name for e in raw.read_all()][-2:] == [
                PENDING_STREAM,
                f"{SNAPSHOT_PREFIX}combat-a",
            ]
            assert waiter.wait_beyond(event.position, 0.5) == event.position
            [later] = store.append("combat-a", [new()], 1)
            assert woken(waiter, event.position) == later.position
    finally:
        raw.close()


@needs_esdb_client
def test_eventstoredb_the_subscription_ends_with_the_waiter(esdb_server: ServerHandle) -> None:
    store = open_store(esdb_server.url)
    waiter = store.waiter()
    waiter.wait_beyond(0, 0.1)
    assert esdb_server.active_subscriptions == 1
    waiter.close()
    deadline = time.monotonic() + 10
    while esdb_server.active_subscriptions and time.monotonic() < deadline:
        time.sleep(0.01)
    assert esdb_server.active_subscriptions == 0


@needs_esdb_client
def test_eventstoredb_a_server_lost_while_waiting_is_unavailable(
    esdb_server: ServerHandle,
) -> None:
    store = open_store(esdb_server.url)
    [event] = store.append("combat-a", [new()], 0)
    with store.waiter() as waiter:
        assert waiter.wait_beyond(event.position, 0.1) == event.position
        esdb_server.stop()
        with pytest.raises(StoreUnavailable):
            woken(waiter, event.position)
