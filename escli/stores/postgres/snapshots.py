"""Snapshots on PostgreSQL (``escli.stores.snapshots``): a table beside the events, made by the
first snapshot a store takes (a schema an older escli made has none, and needs no
migration), and written inside the dispatch's own transaction when there is one."""

from __future__ import annotations

import psycopg
from psycopg import errors as pgerrors

from escli.errors import StoreError
from escli.stores.postgres.connection import Connection
from escli.stores.postgres.outbox import PendingTable
from escli.stores.snapshots import KEPT, Snapshot

__all__ = ["SnapshotTable"]

_COLUMNS = "stream, generation, event_id, fingerprint, state, taken_at"


class SnapshotTable(PendingTable):
    """The snapshots of a PostgreSQL store."""

    _snapshots_ready = False

    def _snapshot_table(self, conn: Connection) -> None:
        """Make the table if this schema has none yet; concurrent first snapshots take turns
        (an advisory lock), since two ``CREATE TABLE IF NOT EXISTS`` may otherwise collide."""
        if self._snapshots_ready:
            return
        row = conn.execute("SELECT to_regclass(%s)", (f"{self._s}.snapshots",)).fetchone()
        if row is None or row[0] is None:
            with conn.transaction():
                conn.execute(
                    "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                    (f"escli snapshots {self.schema}",),
                )
                conn.execute(
                    f"CREATE TABLE IF NOT EXISTS {self._s}.snapshots (stream text NOT NULL,"
                    " generation bigint NOT NULL, event_id text NOT NULL,"
                    " fingerprint text NOT NULL, state text NOT NULL, taken_at text NOT NULL,"
                    " CONSTRAINT snapshots_pkey PRIMARY KEY (stream, generation))"
                )
        if not self._in_transaction(conn):  # made inside one, it goes if that rolls back
            self._snapshots_ready = True

    def _snapshot_rows(self, sql: str, params: dict[str, object]) -> list[Snapshot]:
        try:
            rows = self._rows(sql, params)
            return [Snapshot(s, int(g), i, f, st, t) for s, g, i, f, st, t in rows]
        except StoreError as e:
            if isinstance(e.__cause__, pgerrors.UndefinedTable):
                return []  # no snapshot taken in this store yet
            raise

    def snapshot(self, stream: str, at_most: int | None = None) -> Snapshot | None:
        found = self._snapshot_rows(
            f"SELECT {_COLUMNS} FROM {self._s}.snapshots WHERE stream = %(s)s"
            " AND (%(g)s::bigint IS NULL OR generation <= %(g)s) ORDER BY generation DESC LIMIT 1",
            {"s": stream, "g": at_most},
        )
        return found[0] if found else None

    def save_snapshot(self, snapshot: Snapshot) -> None:
        try:
            with self._connection() as conn:
                self._ensure(conn, create=True)
                self._snapshot_table(conn)
                with conn.transaction():
                    conn.execute(
                        f"INSERT INTO {self._s}.snapshots ({_COLUMNS}) VALUES (%s, %s, %s, %s,"
                        " %s, %s) ON CONFLICT (stream, generation) DO UPDATE SET event_id ="
                        " excluded.event_id, fingerprint = excluded.fingerprint, state ="
                        " excluded.state, taken_at = excluded.taken_at",
                        tuple(snapshot),
                    )
                    conn.execute(
                        f"DELETE FROM {self._s}.snapshots WHERE stream = %s AND generation <"
                        f" ALL (SELECT generation FROM {self._s}.snapshots WHERE stream = %s"
                        " ORDER BY generation DESC LIMIT %s)",
                        (snapshot.stream, snapshot.stream, KEPT),
                    )
        except psycopg.Error as e:
            raise self._error(e) from e

    def drop_snapshots(self, stream: str | None = None) -> int:
        if not self.list_snapshots(stream):
            return 0  # nothing to drop: no write, and no table made
        try:
            with self._connection() as conn, conn.transaction():
                cursor = conn.execute(
                    f"DELETE FROM {self._s}.snapshots WHERE %(s)s::text IS NULL OR stream = %(s)s",
                    {"s": stream},
                )
                return cursor.rowcount
        except psycopg.Error as e:
            raise self._error(e) from e

    def list_snapshots(self, stream: str | None = None) -> list[Snapshot]:
        return self._snapshot_rows(
            f"SELECT {_COLUMNS} FROM {self._s}.snapshots"
            " WHERE %(s)s::text IS NULL OR stream = %(s)s ORDER BY stream, generation DESC",
            {"s": stream},
        )
