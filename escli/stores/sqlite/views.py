"""Views on SQLite (``escli.stores.views``): two tables beside the events, made by the first
view a store keeps (a store an older escli made has none, and needs no migration), and the
global log read from the events' position index.

A ``views`` table an older escli made has no ``source`` column: the first ``start_build``
adds it (``ALTER TABLE ... DEFAULT ''``, in the build's own transaction), and until then
its builds are read as the store's own (``source`` ``""``), read-only stores included.

Every write is one ``BEGIN IMMEDIATE`` transaction (a savepoint inside a dispatch's own),
so a batch's rows and its checkpoint commit together or not at all. SQLite has one writer
at a time and numbers positions inside the write lock (``max(position) + 1``), so positions
are handed out in commit order: a checkpoint never skips an event that commits later.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Iterator, Mapping

from escli.errors import StoreError
from escli.stores.base import now_rfc3339
from escli.stores.sqlite.connection import Connections, _immediate, _translate
from escli.stores.views import CheckpointMoved, LogRow, ViewBuild
from escli.stores.wakeup import Waiter

__all__ = ["ViewTables"]

_CREATE = (
    "CREATE TABLE IF NOT EXISTS views (name TEXT NOT NULL, build INTEGER NOT NULL,"
    " live INTEGER NOT NULL, position INTEGER NOT NULL, events INTEGER NOT NULL,"
    " fingerprint TEXT NOT NULL, updated_at TEXT NOT NULL, source TEXT NOT NULL DEFAULT '',"
    " PRIMARY KEY (name, build)) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS view_rows (name TEXT NOT NULL, build INTEGER NOT NULL,"
    " key TEXT NOT NULL, row TEXT NOT NULL, PRIMARY KEY (name, build, key)) WITHOUT ROWID",
)
_BUILD = "name, build, live, position, events, fingerprint, updated_at, source"
# The same, of a views table an older escli made (no source column): the store's own.
_BUILD_BEFORE_SOURCE = "name, build, live, position, events, fingerprint, updated_at, ''"
_KEYS_PER_QUERY = 500  # below SQLite's bound on parameters


def _missing_table(e: StoreError) -> bool:
    cause = e.__cause__
    return isinstance(cause, sqlite3.OperationalError) and "no such table" in str(cause)


def _missing_source(e: StoreError) -> bool:
    cause = e.__cause__
    return isinstance(cause, sqlite3.OperationalError) and "no such column: source" in str(cause)


class ViewTables(Connections):
    """The views of a SQLite store, and its global log in pages."""

    # -- the global log (EventLog) ---------------------------------------------------------

    def read_log(
        self, after_position: int, limit: int, *, up_to: int | None = None, prefix: str = ""
    ) -> list[LogRow]:
        upper = (1 << 62) if up_to is None else up_to
        where = "position > ? AND position <= ?"
        params: tuple[object, ...] = (after_position, upper)
        if prefix:
            # Filtering the rows the position index finds (``substr`` never steers the
            # planner to the stream index, which would sort a whole domain per page), and
            # exact for any text after the prefix.
            where += " AND substr(stream, 1, ?) = ?"
            params += (len(prefix), prefix)
        conn = self._connect(create=False)
        if conn is None:
            return []
        try:
            # Fetched at once (a projection's catch-up reads a page per batch): a generator's
            # step per row would cost it a third of its time.
            rows = conn.execute(
                "SELECT position, stream, generation, event_id, event_type, type_version,"
                f" recorded_at, data FROM events WHERE {where} ORDER BY position LIMIT ?",
                (*params, limit),
            ).fetchall()
        except sqlite3.Error as e:
            raise _translate(e, self.path) from e
        return rows  # tuples in LogRow's order, as fetched

    def head_position(self) -> int:
        for (last,) in self._rows("SELECT coalesce(max(position), 0) FROM events"):
            return int(last)
        return 0

    def waiter(self) -> Waiter:
        """``PRAGMA data_version`` polled (``escli.stores.sqlite.wakeup``)."""
        from escli.stores.sqlite.wakeup import DataVersionWaiter

        return DataVersionWaiter(self.path, self.head_position)

    def events_after(self, position: int, *, up_to: int | None = None) -> int:
        # Positions are dense (max + 1 under the write lock, and events are never deleted):
        # the lag is a subtraction, not a count.
        head = self.head_position() if up_to is None else up_to
        return max(0, head - position)

    # -- views -------------------------------------------------------------------------------

    def view_builds(self, name: str | None = None) -> list[ViewBuild]:
        where = "WHERE ? IS NULL OR name = ? ORDER BY name, live DESC, build"
        try:
            try:
                rows = list(self._rows(f"SELECT {_BUILD} FROM views {where}", (name, name)))
            except StoreError as e:
                if not _missing_source(e):
                    raise
                rows = list(
                    self._rows(f"SELECT {_BUILD_BEFORE_SOURCE} FROM views {where}", (name, name))
                )
        except StoreError as e:
            if _missing_table(e):
                return []  # no view kept in this store yet
            raise
        return [ViewBuild(n, b, bool(lv), p, e, f, u, s) for n, b, lv, p, e, f, u, s in rows]

    def start_build(
        self, name: str, fingerprint: str, *, live: bool, source: str = ""
    ) -> ViewBuild:
        conn = self._writer()
        try:
            with _immediate(conn):
                for statement in _CREATE:
                    conn.execute(statement)
                columns = [row[1] for row in conn.execute("PRAGMA table_info(views)")]
                if "source" not in columns:  # a table an older escli made
                    conn.execute("ALTER TABLE views ADD COLUMN source TEXT NOT NULL DEFAULT ''")
                self._drop_builds(conn, name, live=False)
                (last,) = conn.execute(
                    "SELECT coalesce(max(build), 0) FROM views WHERE name = ?", (name,)
                ).fetchone()
                if live:
                    self._drop_builds(conn, name, live=True)
                made = ViewBuild(name, last + 1, live, 0, 0, fingerprint, now_rfc3339(), source)
                conn.execute(
                    f"INSERT INTO views ({_BUILD}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", tuple(made)
                )
        except sqlite3.Error as e:
            raise _translate(e, self.path) from e
        return made

    @staticmethod
    def _drop_builds(conn: sqlite3.Connection, name: str, *, live: bool) -> int:
        builds = [
            b
            for (b,) in conn.execute(
                "SELECT build FROM views WHERE name = ? AND live = ?", (name, int(live))
            )
        ]
        for build in builds:
            conn.execute("DELETE FROM view_rows WHERE name = ? AND build = ?", (name, build))
            conn.execute("DELETE FROM views WHERE name = ? AND build = ?", (name, build))
        return len(builds)

    def view_rows(self, name: str, build: int, keys: Collection[str]) -> dict[str, str]:
        wanted = list(keys)
        found: dict[str, str] = {}
        try:
            for start in range(0, len(wanted), _KEYS_PER_QUERY):
                part = wanted[start : start + _KEYS_PER_QUERY]
                found.update(
                    self._rows(
                        "SELECT key, row FROM view_rows WHERE name = ? AND build = ? AND key IN"
                        f" ({','.join('?' * len(part))})",
                        (name, build, *part),
                    )
                )
        except StoreError as e:
            if not _missing_table(e):
                raise
        return found

    def scan_view(self, name: str, build: int) -> Iterator[tuple[str, str]]:
        try:
            yield from self._rows(
                "SELECT key, row FROM view_rows WHERE name = ? AND build = ? ORDER BY key",
                (name, build),
            )
        except StoreError as e:
            if not _missing_table(e):
                raise

    def count_rows(self, name: str, build: int) -> int:
        try:
            for (count,) in self._rows(
                "SELECT count(*) FROM view_rows WHERE name = ? AND build = ?", (name, build)
            ):
                return int(count)
        except StoreError as e:
            if not _missing_table(e):
                raise
        return 0

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
        conn = self._writer()
        try:
            with _immediate(conn):
                try:
                    row = conn.execute(
                        "SELECT position FROM views WHERE name = ? AND build = ?", (name, build)
                    ).fetchone()
                except sqlite3.OperationalError as e:
                    if "no such table" not in str(e):
                        raise
                    row = None  # no view kept here yet: no such build either
                if row is None or row[0] != after:
                    raise CheckpointMoved(name, after, None if row is None else row[0])
                conn.executemany(
                    "INSERT OR REPLACE INTO view_rows (name, build, key, row) VALUES (?, ?, ?, ?)",
                    [(name, build, k, v) for k, v in changed.items() if v is not None],
                )
                conn.executemany(
                    "DELETE FROM view_rows WHERE name = ? AND build = ? AND key = ?",
                    [(name, build, k) for k, v in changed.items() if v is None],
                )
                conn.execute(
                    "UPDATE views SET position = ?, events = events + ?, updated_at = ?"
                    " WHERE name = ? AND build = ?",
                    (position, events, now_rfc3339(), name, build),
                )
        except sqlite3.Error as e:
            raise _translate(e, self.path) from e

    def switch_build(self, name: str, build: int) -> None:
        conn = self._writer()
        try:
            with _immediate(conn):
                row = conn.execute(
                    "SELECT live FROM views WHERE name = ? AND build = ?", (name, build)
                ).fetchone()
                if row is None:
                    raise CheckpointMoved(name, 0, None)
                if not row[0]:
                    self._drop_builds(conn, name, live=True)
                    conn.execute(
                        "UPDATE views SET live = 1 WHERE name = ? AND build = ?", (name, build)
                    )
        except sqlite3.Error as e:
            raise _translate(e, self.path) from e

    def drop_view(self, name: str) -> int:
        if not self.view_builds(name):
            return 0  # nothing to drop: no write, and no table made
        conn = self._writer()
        try:
            with _immediate(conn):
                return self._drop_builds(conn, name, live=True) + self._drop_builds(
                    conn, name, live=False
                )
        except sqlite3.Error as e:
            raise _translate(e, self.path) from e
