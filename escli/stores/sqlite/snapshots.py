"""Snapshots on SQLite (``escli.stores.snapshots``): a table beside the events, made by the
first snapshot a store takes (a store an older escli made has none, and needs no migration),
and written inside the dispatch's own transaction when there is one."""

from __future__ import annotations

import sqlite3

from escli.errors import StoreError
from escli.stores.snapshots import KEPT, Snapshot
from escli.stores.sqlite.connection import Connections, _immediate, _translate

__all__ = ["SnapshotTable"]

_CREATE = (
    "CREATE TABLE IF NOT EXISTS snapshots (stream TEXT NOT NULL, generation INTEGER NOT NULL,"
    " event_id TEXT NOT NULL, fingerprint TEXT NOT NULL, state TEXT NOT NULL,"
    " taken_at TEXT NOT NULL, PRIMARY KEY (stream, generation)) WITHOUT ROWID"
)
_COLUMNS = "stream, generation, event_id, fingerprint, state, taken_at"


class SnapshotTable(Connections):
    """The snapshots of a SQLite store."""

    def _snapshot_rows(self, sql: str, params: tuple[object, ...]) -> list[Snapshot]:
        try:
            return [Snapshot(*row) for row in self._rows(sql, params)]
        except StoreError as e:  # no table yet: no snapshot taken in this store
            cause = e.__cause__
            if isinstance(cause, sqlite3.OperationalError) and "no such table" in str(cause):
                return []
            raise

    def snapshot(self, stream: str, at_most: int | None = None) -> Snapshot | None:
        found = self._snapshot_rows(
            f"SELECT {_COLUMNS} FROM snapshots WHERE stream = ? AND generation <= ?"
            " ORDER BY generation DESC LIMIT 1",
            (stream, (1 << 62) if at_most is None else at_most),
        )
        return found[0] if found else None

    def save_snapshot(self, snapshot: Snapshot) -> None:
        conn = self._writer()
        try:
            with _immediate(conn):
                conn.execute(_CREATE)
                conn.execute(
                    f"INSERT OR REPLACE INTO snapshots ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
                    tuple(snapshot),
                )
                conn.execute(
                    "DELETE FROM snapshots WHERE stream = ? AND generation NOT IN (SELECT"
                    " generation FROM snapshots WHERE stream = ? ORDER BY generation DESC"
                    " LIMIT ?)",
                    (snapshot.stream, snapshot.stream, KEPT),
                )
        except sqlite3.Error as e:
            raise _translate(e, self.path) from e

    def drop_snapshots(self, stream: str | None = None) -> int:
        if not self.list_snapshots(stream):
            return 0  # nothing to drop: no write, and no table made
        conn = self._writer()
        try:
            with _immediate(conn):
                cursor = conn.execute(
                    "DELETE FROM snapshots WHERE ? IS NULL OR stream = ?", (stream, stream)
                )
                return cursor.rowcount
        except sqlite3.Error as e:
            raise _translate(e, self.path) from e

    def list_snapshots(self, stream: str | None = None) -> list[Snapshot]:
        return self._snapshot_rows(
            f"SELECT {_COLUMNS} FROM snapshots WHERE ? IS NULL OR stream = ?"
            " ORDER BY stream, generation DESC",
            (stream, stream),
        )
