"""Views on PostgreSQL (``escli.stores.views``): two tables beside the events, made by the
first build a store starts (a schema an older escli made has none, and needs no migration),
and the global log read from the events' position index.

Positions. ``head_position`` is ``store.last_position``, not ``max(position)``: an append adds
its event count to that row in its own transaction and holds the row's lock until it
commits (see the package docstring), so the committed value is the position of the newest
committed event and every smaller position is committed too. Positions are also dense:
the counter moves only in the statement that inserts the events, a conflict or a
rollback undoes both, and events are never deleted. So a checkpoint taken at the head never
skips an event that commits later, and a view's lag (``events_after``) is a subtraction,
not a count.

Writes. ``write_view`` is one transaction (a savepoint inside ``transaction()``, so a
dispatch's view update commits or rolls back with its events): the checkpoint row is read
``FOR UPDATE``, which makes a second runner wait and then see the moved checkpoint
(``CheckpointMoved``, nothing written); the rows go in as arrays (``unnest``, ``ANY``), so a
batch costs four statements whatever its size. ``start_build``, ``switch_build`` and
``drop_view`` take a transaction-level advisory lock on the view's name, so two of them on
one view take turns (two first builds would otherwise both number themselves 1).

Before ``source``. A ``views`` table an older escli made has no ``source`` column: the first
build or write of this escli adds it (``ADD COLUMN IF NOT EXISTS ... DEFAULT ''``, under
the advisory lock of the first build), and until then its builds are read as the store's
own (``source`` ``""``).

Text. Rows are ``text``, not ``json``: written and read back as escli wrote them, like
event data, and parsed by the projection runner anyway. Names and keys sort under the
``C`` collation, code point by code point, as in SQLite and memory (``scan_view`` is by key,
whatever the database's collation). A log prefix is matched with ``starts_with``, never a
range of text: under a linguistic collation ``combat.x`` may sort among ``combat-...``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from typing import Any

import psycopg
from psycopg import errors as pgerrors

from escli.errors import StoreError
from escli.stores.base import now_rfc3339
from escli.stores.postgres.connection import Connection
from escli.stores.postgres.schema import _UTC_TEXT
from escli.stores.postgres.snapshots import SnapshotTable
from escli.stores.views import CheckpointMoved, LogRow, ViewBuild

__all__ = ["ViewTables"]

_LOG_COLUMNS = (
    "position, stream, generation, event_id, event_type, type_version,"
    f" coalesce(recorded_at_given, {_UTC_TEXT.format('recorded_at')}), data::text"
)
_BUILD = "name, build, live, position, events, fingerprint, updated_at, source"
# The same, of a views table an older escli made (no source column): the store's own.
_BUILD_BEFORE_SOURCE = "name, build, live, position, events, fingerprint, updated_at, ''"
_CREATE = """
CREATE TABLE IF NOT EXISTS {s}.views (
    name        text COLLATE "C" NOT NULL,
    build       bigint  NOT NULL,
    live        boolean NOT NULL,
    position    bigint  NOT NULL,
    events      bigint  NOT NULL,
    fingerprint text    NOT NULL,
    updated_at  text    NOT NULL,
    source      text    NOT NULL DEFAULT '',
    CONSTRAINT views_pkey PRIMARY KEY (name, build)
);
ALTER TABLE {s}.views ADD COLUMN IF NOT EXISTS source text NOT NULL DEFAULT '';
CREATE TABLE IF NOT EXISTS {s}.view_rows (
    name  text COLLATE "C" NOT NULL,
    build bigint NOT NULL,
    key   text COLLATE "C" NOT NULL,
    row   text NOT NULL,
    CONSTRAINT view_rows_pkey PRIMARY KEY (name, build, key)
);
"""


class ViewTables(SnapshotTable):
    """The views of a PostgreSQL store, and its global log in pages."""

    _views_ready = False

    def _fetch(
        self, sql: str, params: dict[str, Any], *, views: bool = True
    ) -> list[tuple[Any, ...]]:
        """A small query's rows in one round trip (no server-side cursor); nothing when the
        schema is missing, or (``views``) the view tables. Inside ``transaction()`` a
        savepoint, so a missing table does not abort the dispatch's transaction."""
        try:
            with self._connection() as conn:
                if not self._ensure(conn, create=False):
                    return []
                try:
                    with self._savepoint(conn):
                        return conn.execute(sql, params).fetchall()
                except pgerrors.UndefinedTable:
                    if not views:
                        raise
                    return []  # no view kept in this store yet
        except psycopg.Error as e:
            raise self._error(e) from e

    # -- the global log (EventLog) ---------------------------------------------------------

    def read_log(
        self, after_position: int, limit: int, *, up_to: int | None = None, prefix: str = ""
    ) -> list[LogRow]:
        only = " AND starts_with(stream, %(prefix)s)" if prefix else ""
        rows = self._fetch(
            f"SELECT {_LOG_COLUMNS} FROM {self._s}.events WHERE position > %(after)s"
            f" AND position <= %(upper)s{only} ORDER BY position LIMIT %(limit)s",
            {
                "after": after_position,
                "upper": (1 << 62) if up_to is None else up_to,
                "prefix": prefix,
                "limit": limit,
            },
            views=False,
        )
        return rows  # tuples in LogRow's order, as fetched

    def head_position(self) -> int:
        rows = self._fetch(f"SELECT last_position FROM {self._s}.store", {}, views=False)
        return int(rows[0][0]) if rows else 0

    def events_after(self, position: int, *, up_to: int | None = None) -> int:
        head = self.head_position() if up_to is None else up_to
        return max(0, head - position)  # dense positions (module docstring)

    # -- views -------------------------------------------------------------------------------

    def _view_tables(self, conn: Connection) -> None:
        """Make the tables if this schema has none yet; concurrent first builds take turns
        (an advisory lock), since two ``CREATE TABLE IF NOT EXISTS`` may otherwise collide.
        Tables made inside ``transaction()`` go if it rolls back (``escli test`` starts its
        views in one): only tables seen outside one are taken as there for good."""
        if self._views_ready:
            return
        row = conn.execute(
            "SELECT to_regclass(%s) IS NOT NULL AND EXISTS (SELECT FROM pg_attribute"
            " WHERE attrelid = to_regclass(%s) AND attname = 'source' AND NOT attisdropped)",
            (f"{self._s}.view_rows", f"{self._s}.views"),
        ).fetchone()
        if row is None or not row[0]:  # no tables yet, or an older escli's (no source)
            with conn.transaction():
                conn.execute(
                    "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                    (f"escli views {self.schema}",),
                )
                conn.execute(_CREATE.format(s=self._s))
        if not self._in_transaction(conn):
            self._views_ready = True

    def _lock_view(self, conn: Connection, name: str) -> None:
        conn.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
            (f"escli view {self.schema} {name}",),
        )

    def view_builds(self, name: str | None = None) -> list[ViewBuild]:
        where = "WHERE %(name)s::text IS NULL OR name = %(name)s ORDER BY name, live DESC, build"
        try:
            rows = self._fetch(f"SELECT {_BUILD} FROM {self._s}.views {where}", {"name": name})
        except StoreError as e:
            if not isinstance(e.__cause__, pgerrors.UndefinedColumn):
                raise
            rows = self._fetch(
                f"SELECT {_BUILD_BEFORE_SOURCE} FROM {self._s}.views {where}", {"name": name}
            )
        return [ViewBuild._make(row) for row in rows]

    def start_build(
        self, name: str, fingerprint: str, *, live: bool, source: str = ""
    ) -> ViewBuild:
        try:
            with self._connection() as conn:
                self._ensure(conn, create=True)
                self._view_tables(conn)
                with conn.transaction():
                    self._lock_view(conn, name)
                    self._drop_builds(conn, name, live=False)
                    row = conn.execute(
                        f"SELECT coalesce(max(build), 0) FROM {self._s}.views WHERE name = %s",
                        (name,),
                    ).fetchone()
                    if live:
                        self._drop_builds(conn, name, live=True)
                    last = int(row[0]) if row else 0
                    made = ViewBuild(name, last + 1, live, 0, 0, fingerprint, now_rfc3339(), source)
                    conn.execute(
                        f"INSERT INTO {self._s}.views ({_BUILD})"
                        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                        tuple(made),
                    )
        except psycopg.Error as e:
            raise self._error(e) from e
        return made

    def _drop_builds(self, conn: Connection, name: str, *, live: bool) -> int:
        dropped = conn.execute(
            f"DELETE FROM {self._s}.views WHERE name = %s AND live = %s RETURNING build",
            (name, live),
        ).fetchall()
        if dropped:
            conn.execute(
                f"DELETE FROM {self._s}.view_rows WHERE name = %s AND build = ANY(%s::bigint[])",
                (name, [build for (build,) in dropped]),
            )
        return len(dropped)

    def view_rows(self, name: str, build: int, keys: Collection[str]) -> dict[str, str]:
        if not keys:
            return {}
        # One array, however many keys: PostgreSQL has no small bound on parameters to page by.
        rows = self._fetch(
            f"SELECT key, row FROM {self._s}.view_rows WHERE name = %(name)s"
            " AND build = %(build)s AND key = ANY(%(keys)s::text[])",
            {"name": name, "build": build, "keys": list(keys)},
        )
        return dict(rows)

    def scan_view(self, name: str, build: int) -> Iterator[tuple[str, str]]:
        # A server-side cursor: rows in pages, all of one snapshot (never half of a batch).
        try:
            yield from self._rows(
                f"SELECT key, row FROM {self._s}.view_rows WHERE name = %s AND build = %s"
                " ORDER BY key",
                (name, build),
            )
        except StoreError as e:
            if not isinstance(e.__cause__, pgerrors.UndefinedTable):
                raise

    def count_rows(self, name: str, build: int) -> int:
        rows = self._fetch(
            f"SELECT count(*) FROM {self._s}.view_rows WHERE name = %(name)s AND build = %(build)s",
            {"name": name, "build": build},
        )
        return int(rows[0][0]) if rows else 0

    def write_view(
        self,
        name: str,
        build: int,
        changed: Mapping[str, str | None],
        *,
        after: int,
        position: int,
        events: int,
    ) -> None:
        kept = {k: v for k, v in changed.items() if v is not None}
        gone = [k for k, v in changed.items() if v is None]
        where = "name = %(name)s AND build = %(build)s"
        params = {
            "name": name,
            "build": build,
            "keys": list(kept),
            "rows": list(kept.values()),
            "gone": gone,
            "position": position,
            "events": events,
            "at": now_rfc3339(),
        }
        try:
            with self._connection() as conn:
                self._ensure(conn, create=True)
                self._view_tables(conn)
                with conn.transaction():
                    row = conn.execute(
                        f"SELECT position FROM {self._s}.views WHERE {where} FOR UPDATE", params
                    ).fetchone()
                    if row is None or row[0] != after:
                        raise CheckpointMoved(name, after, None if row is None else int(row[0]))
                    if kept:
                        conn.execute(
                            f"INSERT INTO {self._s}.view_rows (name, build, key, row)"
                            " SELECT %(name)s, %(build)s, k, r"
                            " FROM unnest(%(keys)s::text[], %(rows)s::text[]) AS u(k, r)"
                            " ON CONFLICT (name, build, key) DO UPDATE SET row = excluded.row",
                            params,
                        )
                    if gone:
                        conn.execute(
                            f"DELETE FROM {self._s}.view_rows WHERE {where}"
                            " AND key = ANY(%(gone)s::text[])",
                            params,
                        )
                    conn.execute(
                        f"UPDATE {self._s}.views SET position = %(position)s,"
                        f" events = events + %(events)s, updated_at = %(at)s WHERE {where}",
                        params,
                    )
        except psycopg.Error as e:
            raise self._error(e) from e

    def switch_build(self, name: str, build: int) -> None:
        try:
            with self._connection() as conn, conn.transaction():
                self._lock_view(conn, name)
                row = conn.execute(
                    f"SELECT live FROM {self._s}.views WHERE name = %s AND build = %s",
                    (name, build),
                ).fetchone()
                if row is None:
                    raise CheckpointMoved(name, 0, None)
                if not row[0]:
                    self._drop_builds(conn, name, live=True)
                    conn.execute(
                        f"UPDATE {self._s}.views SET live = true WHERE name = %s AND build = %s",
                        (name, build),
                    )
        except psycopg.Error as e:
            raise self._error(e) from e

    def drop_view(self, name: str) -> int:
        if not self.view_builds(name):
            return 0  # nothing to drop: no write, and no table made
        try:
            with self._connection() as conn, conn.transaction():
                self._lock_view(conn, name)
                return self._drop_builds(conn, name, live=True) + self._drop_builds(
                    conn, name, live=False
                )
        except psycopg.Error as e:
            raise self._error(e) from e
