"""The SQLite store: the contract, plus what only a file on disk can get wrong."""

from __future__ import annotations

import sqlite3
import threading
from contextlib import closing
from pathlib import Path

import pytest

from escli import StoreError
from escli.errors import InvalidInput
from escli.stores.sqlite import SQLiteStore, path_from_url
from tests.conftest import open_store
from tests.stores.contract import new, unique_stream
from tests.stores.contract_event_store import EventStoreContract
from tests.stores.contract_outbox import OutboxContract
from tests.stores.contract_snapshots import TransactionalSnapshotsContract
from tests.stores.contract_transactions import TransactionalContract
from tests.stores.contract_views import EventLogContract, ViewsContract
from tests.stores.old_schemas import V1_BY_STREAM
from tests.stores.race import race


class TestSQLiteStore(
    EventStoreContract,
    OutboxContract,
    TransactionalContract,
    TransactionalSnapshotsContract,
    EventLogContract,
    ViewsContract,
):
    @pytest.fixture
    def store(self, tmp_path: Path) -> SQLiteStore:
        store = SQLiteStore(f"sqlite:///{tmp_path / 'events.db'}")
        yield store
        store.close()


# A store made before rows were kept in position order (and before version 2): migrated
# when opened, then read and written as any other.
class TestSQLiteStoreOfTheEarlierLayout(TestSQLiteStore):
    @pytest.fixture
    def store(self, tmp_path: Path) -> SQLiteStore:
        path = tmp_path / "events.db"
        with closing(sqlite3.connect(path)) as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(V1_BY_STREAM)
        store = SQLiteStore(f"sqlite:///{path}")
        yield store
        store.close()


def test_a_new_store_keeps_its_events_in_position_order(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    store = open_store(f"sqlite:///{path}")
    for stream in ("combat-b", "combat-a", "combat-b", "combat-a"):
        store.append(stream, [new()], store.generation(stream))
    store.close()
    with closing(sqlite3.connect(path)) as conn:
        # A plain scan of the table (no index) meets the rows in the order they were written.
        scanned = conn.execute("SELECT position, stream FROM events NOT INDEXED").fetchall()
    assert scanned == [(1, "combat-b"), (2, "combat-a"), (3, "combat-b"), (4, "combat-a")]


@pytest.mark.parametrize(
    ("url", "path", "read_only"),
    [
        ("sqlite:///events.db", "events.db", False),
        ("sqlite:///.escli/events.db", ".escli/events.db", False),
        ("sqlite:////tmp/x/events.db", "/tmp/x/events.db", False),
        ("sqlite:relative.db", "relative.db", False),
        ("sqlite:///a%20b.db?mode=ro", "a b.db", True),
        ("plain/path.db", "plain/path.db", False),
    ],
)
def test_store_urls_name_a_file(url: str, path: str, read_only: bool) -> None:
    assert path_from_url(url) == (path, read_only)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("sqlite://host/x.db", "no host"),
        ("sqlite:///", "names no file"),
        ("sqlite:///x.db?mode=rwc", "mode must be ro or rw"),
        ("sqlite:///x.db?cache=shared", "unknown SQLite store option 'cache'"),
    ],
)
def test_bad_store_urls_are_invalid_input(url: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        path_from_url(url)


def test_reading_a_store_that_does_not_exist_creates_nothing(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'missing' / 'events.db'}")
    assert list(store.read("combat-ogre")) == []
    assert list(store.streams()) == []
    assert store.generation("combat-ogre") == 0
    assert not (tmp_path / "missing").exists()


def test_the_first_append_creates_the_file_and_its_folder_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "new" / "events.db"
    store = open_store(f"sqlite:///{path}")
    store.append("combat-ogre", [new()], 0)
    store.close()
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def _open_together(url: str, writers: int) -> list[Exception]:
    """What ``writers`` threads, let go at once, met appending to new streams of a store
    none of them had opened."""
    store = open_store(url)
    barrier = threading.Barrier(writers)
    errors: list[Exception] = []

    def writer(entity: int) -> None:
        barrier.wait()
        try:
            store.append(f"combat-{entity}", [new()], 0)
        except Exception as e:
            errors.append(e)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    store.close()
    return errors


def test_writers_opening_a_new_store_together_all_get_in(tmp_path: Path) -> None:
    # Changing the journal mode needs the file to itself, and SQLite refuses it at once,
    # without waiting, while another connection holds a lock: each opener of a new store
    # must wait its turn, not fail with "locked". A race, so run often enough to lose it.
    for round in range(30):
        path = tmp_path / f"{round}.db"
        assert _open_together(f"sqlite:///{path}", writers=8) == []
        with closing(sqlite3.connect(path)) as conn:
            assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
            assert conn.execute("SELECT count(*) FROM events").fetchone() == (8,)


def test_closing_the_store_closes_its_connections_in_every_thread(tmp_path: Path) -> None:
    # SQLite folds the WAL into the database and deletes it when the last connection closes.
    path = tmp_path / "events.db"
    wal = tmp_path / "events.db-wal"
    with open_store(f"sqlite:///{path}") as store:
        store.append("combat-ogre", [new()], 0)
        worker = threading.Thread(target=store.generation, args=("combat-ogre",))
        worker.start()
        worker.join()
        assert wal.exists()
    assert not wal.exists()


def test_a_file_that_is_not_a_database_is_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    path.write_bytes(b"this is not sqlite" * 100)
    store = open_store(f"sqlite:///{path}")
    with pytest.raises(StoreError, match="is not a readable escli store"):
        list(store.read("combat-ogre"))
    with pytest.raises(StoreError, match="is not a readable escli store"):
        store.append("combat-ogre", [new()], 0)
    assert path.read_bytes() == b"this is not sqlite" * 100


def test_a_sqlite_file_of_another_application_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("CREATE TABLE customers (name TEXT)")
        conn.commit()
    with pytest.raises(StoreError, match="not an escli store"):
        open_store(f"sqlite:///{path}").append("combat-ogre", [new()], 0)
    with closing(sqlite3.connect(path)) as conn:
        tables = conn.execute("SELECT name FROM sqlite_master").fetchall()
    assert tables == [("customers",)]


def test_a_read_only_store_reads_but_refuses_writes(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    writable = open_store(f"sqlite:///{path}")
    writable.append("combat-ogre", [new()], 0)
    writable.close()
    store = open_store(f"sqlite:///{path}?mode=ro")
    assert store.generation("combat-ogre") == 1
    with pytest.raises(StoreError, match="read-only"):
        store.append("combat-ogre", [new()], 1)
    store.close()
    assert open_store(f"sqlite:///{path}").generation("combat-ogre") == 1


def test_a_store_path_that_is_a_directory_is_a_store_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="is a directory"):
        open_store(f"sqlite:///{tmp_path}").append("combat-ogre", [new()], 0)


def test_a_newer_schema_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    store = open_store(f"sqlite:///{path}")
    store.append("combat-ogre", [new()], 0)
    store.close()
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA user_version = 99")
        conn.commit()
    with pytest.raises(StoreError, match="schema version 99"):
        open_store(f"sqlite:///{path}").generation("combat-ogre")


def test_the_database_itself_refuses_a_second_event_at_a_generation(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    store = open_store(f"sqlite:///{path}")
    store.append("combat-ogre", [new()], 0)
    store.close()
    with closing(sqlite3.connect(path)) as conn, pytest.raises(sqlite3.IntegrityError):
        conn.execute(
            "INSERT INTO events VALUES"
            " ('combat-ogre', 1, 99, 'x', 't', '1.0', 's', 'now', '{}', NULL)"
        )


def test_two_processes_racing_on_one_stream_lose_no_generation(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'events.db'}"
    successes, conflicts = race(url, ["titan"], processes=2, attacks=200)
    assert successes["titan"] + conflicts == 400
    store = open_store(url)
    generations = [r.generation for r in store.read("combat-titan")]
    assert generations == list(range(1, successes["titan"] + 2))
    assert store.generation("combat-titan") == 1 + successes["titan"]


def test_unique_streams_do_not_collide() -> None:
    assert unique_stream() != unique_stream()


def test_stored_data_that_is_not_json_is_a_store_error_on_every_read(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    store = open_store(f"sqlite:///{path}")
    store.append("combat-ogre", [new()], 0)
    store.close()
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("UPDATE events SET data = '{bad'")
        conn.commit()
    store = open_store(f"sqlite:///{path}")
    with pytest.raises(StoreError, match="combat-ogre generation 1: stored data is not JSON"):
        list(store.read("combat-ogre"))
    with pytest.raises(StoreError, match="combat-ogre generation 1: stored data is not JSON"):
        list(store.read_all())
