"""Stores written by an earlier escli (schema version 1, no metadata) are migrated to version 2
when opened: SQLite in either row layout, PostgreSQL under its schema lock, racing openers
included; their old events read with no metadata and new ones keep theirs."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import psycopg
import pytest

from escli.errors import StoreError
from escli.stores import open_store
from escli.stores.postgres import PostgresStore, parse_url
from tests.conftest import POSTGRES_DSN
from tests.stores.contract import new
from tests.stores.old_schemas import V1_POSITION_ORDERED

_OLD_EVENT = (
    "INSERT INTO events VALUES ('combat-wolf', 1, 1, 'old-1', 'combat.EntitySpawned', '1.0',"
    " 'events://escli/samples/combat', '2024-01-01T00:00:00.000000+00:00', '{}')"
)


def _v1_file(tmp_path: Path) -> Path:
    """A version 1 SQLite store of the position-ordered layout, holding one event."""
    path = tmp_path / "events.db"
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.executescript(V1_POSITION_ORDERED)
        conn.execute(_OLD_EVENT)
        conn.commit()
    return path


def test_a_v1_store_of_the_position_ordered_layout_is_migrated_and_keeps_its_events(
    tmp_path: Path,
) -> None:
    path = _v1_file(tmp_path)
    store = open_store(f"sqlite:///{path}")
    assert [e.metadata for e in store.read("combat-wolf")] == [None]
    store.append("combat-wolf", [new()._replace(metadata={"correlationid": "c-1"})], 1)
    assert [e.generation for e in store.correlated("c-1")] == [2]
    store.close()
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("PRAGMA user_version").fetchone() == (2,)
        plan = conn.execute(
            "EXPLAIN QUERY PLAN SELECT * FROM events"
            " WHERE json_extract(metadata, '$.correlationid') = 'c-1'"
        ).fetchall()
    assert "events_correlation" in str(plan)
    with closing(sqlite3.connect(path)) as conn:
        plan = conn.execute(
            "EXPLAIN QUERY PLAN SELECT * FROM events"
            " WHERE json_extract(metadata, '$.causationid') = 'k-1'"
        ).fetchall()
    assert "events_causation" in str(plan)


def _make_v1(url: str) -> str:
    """A PostgreSQL store of schema version 1 holding one event: a version 2 store with its
    metadata column and index taken away, as an earlier escli made it."""
    schema = parse_url(url)[1]
    store = PostgresStore(url)
    store.append("combat-wolf", [new()], 0)
    store.close()
    with psycopg.connect(POSTGRES_DSN, autocommit=True) as conn:
        conn.execute(f'DROP INDEX "{schema}".events_correlation')
        conn.execute(f'ALTER TABLE "{schema}".events DROP COLUMN metadata')
        conn.execute(f'UPDATE "{schema}".store SET schema_version = 1')
    return schema


def _version_and_index(schema: str) -> tuple[object, ...]:
    """The schema's version and how many of its two metadata indexes it has."""
    with psycopg.connect(POSTGRES_DSN, autocommit=True) as conn:
        (version,) = conn.execute(f'SELECT schema_version FROM "{schema}".store').fetchone() or ()
        indexes = conn.execute(
            "SELECT indexname FROM pg_indexes WHERE schemaname = %s AND indexname = ANY(%s)",
            (schema, ["events_correlation", "events_causation"]),
        ).fetchall()
    return version, len(indexes)


def test_a_v1_postgres_store_is_migrated_when_first_read(
    postgres_schemas: Callable[[], str],
) -> None:
    url = postgres_schemas()
    schema = _make_v1(url)
    store = PostgresStore(url)
    assert [e.metadata for e in store.read("combat-wolf")] == [None]
    assert _version_and_index(schema) == (2, 2)
    store.append("combat-wolf", [new()._replace(metadata={"correlationid": "c-1"})], 1)
    assert [e.generation for e in store.correlated("c-1")] == [2]
    store.close()


def test_postgres_openers_racing_to_migrate_a_v1_store_all_succeed(
    postgres_schemas: Callable[[], str],
) -> None:
    url = postgres_schemas()
    schema = _make_v1(url)
    start = threading.Barrier(6)
    errors: list[BaseException] = []

    def open_and_write(n: int) -> None:
        store = PostgresStore(url)  # a connection of its own, like a process
        try:
            start.wait()
            store.append(f"combat-w{n}", [new()._replace(metadata={"correlationid": "r"})], 0)
        except BaseException as e:  # reported below
            errors.append(e)
        finally:
            store.close()

    threads = [threading.Thread(target=open_and_write, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert _version_and_index(schema) == (2, 2)
    assert len(PostgresStore(url).correlated("r")) == 6


def test_a_read_only_v1_store_is_read_with_no_metadata_and_left_as_it_was(
    tmp_path: Path,
) -> None:
    path = _v1_file(tmp_path)
    store = open_store(f"sqlite:///{path}?mode=ro")
    assert [(e.event_id, e.metadata) for e in store.read_all()] == [("old-1", None)]
    store.close()
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("PRAGMA user_version").fetchone() == (1,)


def test_a_writable_v1_sqlite_store_is_migrated_by_a_read_alone(tmp_path: Path) -> None:
    path = _v1_file(tmp_path)
    store = open_store(f"sqlite:///{path}")
    assert [e.event_id for e in store.read("combat-wolf")] == ["old-1"]
    store.close()
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("PRAGMA user_version").fetchone() == (2,)


def test_a_v1_postgres_store_read_by_a_role_that_cannot_alter_it_says_who_can_migrate_it(
    postgres_schemas: Callable[[], str],
) -> None:
    url = postgres_schemas()
    schema = _make_v1(url)
    role = f"{schema}_reader"  # roles are the cluster's: one of this test's own
    with psycopg.connect(POSTGRES_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE ROLE "{role}" LOGIN')
        conn.execute(f'GRANT USAGE ON SCHEMA "{schema}" TO "{role}"')
        conn.execute(f'GRANT SELECT ON ALL TABLES IN SCHEMA "{schema}" TO "{role}"')
    try:
        reader = PostgresStore(f"postgresql://{role}@127.0.0.1:5432/test?schema={schema}")
        with pytest.raises(StoreError) as caught:
            list(reader.read("combat-wolf"))
        reader.close()
        assert str(caught.value) == (
            f"schema '{schema}' in PostgreSQL at 127.0.0.1:5432/test was written by an earlier"
            " escli (schema version 1) and this escli reads 2: open it once as the owner of its"
            " tables, on the primary server, to migrate it (a column and an index added)"
            " (must be owner of table events)"
        )
        assert _version_and_index(schema) == (1, 0)
    finally:
        with psycopg.connect(POSTGRES_DSN, autocommit=True) as conn:
            conn.execute(f'DROP OWNED BY "{role}"')
            conn.execute(f'DROP ROLE "{role}"')


def _plan(schema: str, prefix: str) -> str:
    store_sql = (
        f'EXPLAIN SELECT * FROM "{schema}".events WHERE event_id COLLATE "C" >= %s'
        f' AND event_id COLLATE "C" < %s ORDER BY event_id COLLATE "C" LIMIT 6'
    )
    with psycopg.connect(POSTGRES_DSN, autocommit=True) as conn:
        conn.execute("SET enable_seqscan = off")
        rows = conn.execute(store_sql, (prefix, prefix[:-1] + chr(ord(prefix[-1]) + 1)))
        return "\n".join(row[0] for row in rows.fetchall())


def test_postgres_finds_an_id_prefix_by_code_point_under_any_collation(
    postgres_schemas: Callable[[], str],
) -> None:
    url = postgres_schemas()
    schema = parse_url(url)[1]
    store = PostgresStore(url)
    event_id = "2700b95c-47b0-4eca-9545-465960dbb63d"
    store.append("combat-wolf", [new()._replace(event_id=event_id)], 0)
    assert "events_event_id_key" in _plan(schema, "2700b9")  # a new store: its unique index
    # Under ICU's English order ':' (the bound after '9') sorts before the digits.
    with psycopg.connect(POSTGRES_DSN, autocommit=True) as conn:
        conn.execute(
            f'ALTER TABLE "{schema}".events ALTER COLUMN event_id TYPE text COLLATE "en-x-icu"'
        )
    assert [e.event_id for e in store.find_events_by_id_prefix("2700b9", 6)] == [event_id]
    store.close()


def test_a_migrated_postgres_store_indexes_its_ids_in_code_point_order(
    postgres_schemas: Callable[[], str],
) -> None:
    url = postgres_schemas()
    schema = _make_v1(url)
    with psycopg.connect(POSTGRES_DSN, autocommit=True) as conn:
        conn.execute(f'ALTER TABLE "{schema}".events ALTER COLUMN event_id TYPE text')
    store = PostgresStore(url)
    (wolf,) = store.read("combat-wolf")  # migrates it
    assert [e.event_id for e in store.find_events_by_id_prefix(wolf.event_id[:5], 6)] == [
        wolf.event_id
    ]
    store.close()
    assert "events_event_id_c" in _plan(schema, wolf.event_id[:5])
