"""Where a view's rows come from (``ViewBuild.source``, ``EventLog.log_name``): each store has
one name however its URL is spelt, with no secret in it; views tables an older escli made
(no ``source`` column) read as the store's own and take the column at the next build."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import pytest

from escli.stores.memory import MemoryStore
from escli.stores.namespaced import NamespacedStore
from escli.stores.views import Views
from tests.conftest import open_store

# The views table as escli made it before builds recorded their store.
SQLITE_VIEWS_BEFORE_SOURCES = """
CREATE TABLE views (name TEXT NOT NULL, build INTEGER NOT NULL, live INTEGER NOT NULL,
    position INTEGER NOT NULL, events INTEGER NOT NULL, fingerprint TEXT NOT NULL,
    updated_at TEXT NOT NULL, PRIMARY KEY (name, build)) WITHOUT ROWID;
CREATE TABLE view_rows (name TEXT NOT NULL, build INTEGER NOT NULL, key TEXT NOT NULL,
    row TEXT NOT NULL, PRIMARY KEY (name, build, key)) WITHOUT ROWID;
INSERT INTO views VALUES ('combat.roster', 1, 1, 4, 4, 'fp', '2026-01-01T00:00:00Z');
INSERT INTO view_rows VALUES ('combat.roster', 1, 'combat-ogre', '{"n": 4}');
"""
POSTGRES_VIEWS_BEFORE_SOURCES = """
CREATE TABLE {s}.views (name text COLLATE "C" NOT NULL, build bigint NOT NULL,
    live boolean NOT NULL, position bigint NOT NULL, events bigint NOT NULL,
    fingerprint text NOT NULL, updated_at text NOT NULL,
    CONSTRAINT views_pkey PRIMARY KEY (name, build));
CREATE TABLE {s}.view_rows (name text COLLATE "C" NOT NULL, build bigint NOT NULL,
    key text COLLATE "C" NOT NULL, row text NOT NULL,
    CONSTRAINT view_rows_pkey PRIMARY KEY (name, build, key));
INSERT INTO {s}.views VALUES ('combat.roster', 1, true, 4, 4, 'fp', '2026-01-01T00:00:00Z');
INSERT INTO {s}.view_rows VALUES ('combat.roster', 1, 'combat-ogre', '{{"n": 4}}');
"""


def test_a_sqlite_store_has_one_name_however_its_path_is_spelt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    absolute = f"sqlite:///{tmp_path / 'e.db'}"
    names = {
        open_store(url).log_name
        for url in (absolute, "sqlite:///e.db", "sqlite:e.db", "e.db", f"{absolute}?mode=ro")
    }
    assert names == {absolute}
    assert open_store(f"sqlite:///{tmp_path / 'other.db'}").log_name != absolute


def test_a_postgres_stores_name_holds_no_password() -> None:
    # Opening parses the URL only: no server is asked.
    with_password = open_store("postgresql://ann:s3cret@db.example:5432/shop?schema=orders")
    without = open_store("postgresql://ann@db.example:5432/shop?schema=orders")
    assert with_password.log_name == without.log_name
    assert "s3cret" not in with_password.log_name and "***" not in with_password.log_name
    other = open_store("postgresql://ann@db.example:5432/shop?schema=returns")
    assert other.log_name != without.log_name


def test_a_namespace_is_a_log_of_its_own() -> None:
    shared = MemoryStore()
    a, b = NamespacedStore(shared, "t1."), NamespacedStore(shared, "t2.")
    assert len({shared.log_name, a.log_name, b.log_name}) == 3
    assert a.log_name.startswith(shared.log_name) and "t1." in a.log_name


def test_a_sqlite_views_table_from_before_sources_reads_as_the_stores_own(
    tmp_path: Path,
) -> None:
    path = tmp_path / "e.db"
    store = open_store(f"sqlite:///{path}")
    store.init()  # type: ignore[attr-defined]
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.executescript(SQLITE_VIEWS_BEFORE_SOURCES)
    read_only = open_store(f"sqlite:///{path}?mode=ro")
    assert isinstance(read_only, Views) and isinstance(store, Views)
    for reader in (read_only, store):
        [build] = reader.view_builds("combat.roster")
        assert (build.build, build.position, build.source) == (1, 4, "")
    # The next build adds the column; the old build keeps reading as the store's own.
    made = store.start_build("combat.other", "fp", live=True, source="sqlite:////srv/x.db")
    assert made.source == "sqlite:////srv/x.db"
    assert [(b.name, b.source) for b in store.view_builds()] == [
        ("combat.other", "sqlite:////srv/x.db"),
        ("combat.roster", ""),
    ]
    assert store.view_rows("combat.roster", 1, ["combat-ogre"]) == {"combat-ogre": '{"n": 4}'}


def test_a_postgres_views_table_from_before_sources_reads_as_the_stores_own(
    postgres_schemas: Callable[[], str],
) -> None:
    import psycopg

    url = postgres_schemas()
    store = open_store(url)
    store.init()  # type: ignore[attr-defined]
    assert isinstance(store, Views)
    schema = url.partition("schema=")[2]
    with psycopg.connect(url.partition("?")[0], autocommit=True) as conn:
        conn.execute(POSTGRES_VIEWS_BEFORE_SOURCES.format(s=f'"{schema}"'))
    [build] = store.view_builds("combat.roster")
    assert (build.build, build.position, build.source) == (1, 4, "")
    made = store.start_build("combat.other", "fp", live=True, source="sqlite:////srv/x.db")
    assert made.source == "sqlite:////srv/x.db"
    assert [(b.name, b.source) for b in store.view_builds()] == [
        ("combat.other", "sqlite:////srv/x.db"),
        ("combat.roster", ""),
    ]
    store.write_view("combat.roster", 1, {"combat-ogre": None}, after=4, position=5, events=1)
    assert store.count_rows("combat.roster", 1) == 0
