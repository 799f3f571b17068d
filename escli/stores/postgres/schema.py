"""The store's tables: checked before use (a foreign or other-version schema is refused, never
altered), created when missing, and the queries that need them."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import psycopg
from psycopg import errors as pgerrors
from psycopg.rows import TupleRow

from escli.errors import StoreError
from escli.stores.postgres.connection import Connection, Connections
from escli.stores.postgres.urls import _first_line

__all__ = ["SCHEMA_VERSION", "Schema"]

SCHEMA_VERSION = 2
# Rows per FETCH from a server-side cursor: big enough that round trips do not dominate.
ITERSIZE = 2000

# ``recorded_at`` as the RFC 3339 UTC text escli reads back (``{}``: the column or value).
_UTC_TEXT = """to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')"""

# What ``events`` and ``store`` must look like (column, type), in order.
_SHAPE = {
    "events": [
        ("stream", "text"),
        ("generation", "bigint"),
        ("position", "bigint"),
        ("event_id", "text"),
        ("event_type", "text"),
        ("type_version", "text"),
        ("source", "text"),
        ("recorded_at", "timestamp with time zone"),
        ("recorded_at_given", "text"),
        ("data", "json"),
        ("metadata", "jsonb"),
    ],
    "pending": [
        ("target", "text"),
        ("stream", "text"),
        ("from_generation", "bigint"),
        ("to_generation", "bigint"),
    ],
    "store": [("singleton", "boolean"), ("schema_version", "integer"), ("last_position", "bigint")],
}

_DDL = """
CREATE SCHEMA IF NOT EXISTS {s};
COMMENT ON SCHEMA {s} IS 'escli event store';
CREATE TABLE {s}.events (
    stream            text        NOT NULL,
    generation        bigint      NOT NULL CHECK (generation > 0),
    position          bigint      NOT NULL,
    event_id          text        COLLATE "C" NOT NULL,
    event_type        text        NOT NULL,
    type_version      text        NOT NULL,
    source            text        NOT NULL,
    recorded_at       timestamptz NOT NULL,
    recorded_at_given text,
    data              json        NOT NULL,
    metadata          jsonb,
    CONSTRAINT events_pkey PRIMARY KEY (stream, generation),
    CONSTRAINT events_position_key UNIQUE (position),
    CONSTRAINT events_event_id_key UNIQUE (event_id)
);
CREATE INDEX events_correlation ON {s}.events ((metadata->>'correlationid'));
CREATE INDEX events_causation ON {s}.events ((metadata->>'causationid'));
CREATE TABLE {s}.store (
    singleton      boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    schema_version integer NOT NULL,
    last_position  bigint  NOT NULL
);
INSERT INTO {s}.store (schema_version, last_position) VALUES ({version}, 0);
CREATE TABLE {s}.pending (
    target          text   NOT NULL,
    stream          text   NOT NULL,
    from_generation bigint NOT NULL,
    to_generation   bigint NOT NULL,
    CONSTRAINT pending_pkey PRIMARY KEY (target, stream)
);
"""


# Version 1 to 2: each event's metadata (``escli.stores.metadata``; NULL for none), the
# indexes of correlation and causation ids (``escli trace``), and an index of ids in code
# point order for ``find_events_by_id_prefix`` (a new store's ids are ``COLLATE "C"``
# themselves, so their unique index serves). Idempotent, run under the schema's lock.
_MIGRATE_V1 = """
ALTER TABLE {s}.events ADD COLUMN IF NOT EXISTS metadata jsonb;
CREATE INDEX IF NOT EXISTS events_correlation ON {s}.events ((metadata->>'correlationid'));
CREATE INDEX IF NOT EXISTS events_causation ON {s}.events ((metadata->>'causationid'));
CREATE INDEX IF NOT EXISTS events_event_id_c ON {s}.events ((event_id COLLATE "C"));
UPDATE {s}.store SET schema_version = 2;
"""
_V1_EVENTS = _SHAPE["events"][:-1]


class Schema(Connections):
    """The tables of a PostgreSQL store."""

    _s: str
    _cursor_names: itertools.count[int]

    def _inspect(self, conn: Connection) -> bool:
        """Whether the schema holds this escli store; raises if it holds anything else."""
        rows = conn.execute(
            "SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod)"
            " FROM pg_namespace n"
            " JOIN pg_class c ON c.relnamespace = n.oid AND c.relkind IN ('r', 'p', 'v', 'm', 'f')"
            " JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped"
            " WHERE n.nspname = %s ORDER BY c.relname, a.attnum",
            (self.schema,),
        ).fetchall()
        tables: dict[str, list[tuple[str, str]]] = {}
        for table, column, type_name in rows:
            tables.setdefault(table, []).append((column, type_name))
        if not tables:
            return False
        if not set(_SHAPE) & set(tables):
            raise StoreError(
                f"schema {self.schema!r} in {self.where}/{self.database} is not an escli store "
                f"(it holds {', '.join(sorted(tables))}); choose another with ?schema=NAME"
            )
        old = tables.get("events") == _V1_EVENTS
        for table, columns in _SHAPE.items():
            if table == "events" and old:
                continue
            if tables.get(table) != columns:
                found = ", ".join(f"{c} {t}" for c, t in tables.get(table, [])) or "missing"
                raise StoreError(
                    f"schema {self.schema!r} in {self.where}/{self.database}: table {table} "
                    f"is not an escli {table} table ({found})"
                )
        row = conn.execute(f"SELECT schema_version FROM {self._s}.store").fetchone()
        if row is None:
            raise StoreError(
                f"schema {self.schema!r} in {self.where}/{self.database}: "
                "table store is empty (not an escli store)"
            )
        if old and row[0] == 1:
            return self._migrate(conn)
        if row[0] != SCHEMA_VERSION:
            raise StoreError(
                f"schema {self.schema!r} in {self.where}/{self.database} has escli schema "
                f"version {row[0]}; this escli reads {SCHEMA_VERSION}"
            )
        return True

    def _migrate(self, conn: Connection) -> bool:
        """A version 1 store made version 2, once: under the lock ``_create`` takes, the
        statements are idempotent and a racing opener finds the work done. Only the owner of
        ``events`` may alter it, and not on a read-only server: there a read says so, and
        who can migrate it, rather than "permission denied" (PostgreSQL's queries name the
        schema's table, so there is no reading it through a view without metadata, as on
        SQLite)."""
        try:
            with conn.transaction():
                conn.execute(
                    "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                    (f"escli schema {self.schema}",),
                )
                conn.execute(_MIGRATE_V1.format(s=self._s))
        except (pgerrors.InsufficientPrivilege, pgerrors.ReadOnlySqlTransaction) as e:
            raise StoreError(
                f"schema {self.schema!r} in {self.where}/{self.database} was written by an "
                f"earlier escli (schema version 1) and this escli reads {SCHEMA_VERSION}: open "
                "it once as the owner of its tables, on the primary server, to migrate it "
                f"(a column and an index added) ({_first_line(e)})"
            ) from e
        return True

    def _create(self, conn: Connection) -> bool:
        """Create the schema unless another process just did; whether this call did."""
        with conn.transaction():
            conn.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                (f"escli schema {self.schema}",),
            )
            if self._inspect(conn):
                return False
            conn.execute(_DDL.format(s=self._s, version=SCHEMA_VERSION))
        return True

    def _ensure(self, conn: Connection, *, create: bool) -> bool:
        """Whether the store's tables exist (creating them if ``create``)."""
        if not self._ready:
            if self._inspect(conn):
                self._ready = True
            elif create:
                self._create(conn)
                self._ready = True
        return self._ready

    def init(self) -> bool:
        """Create the schema and its tables if missing; whether this call created them."""
        try:
            with self._connection() as conn:
                if self._inspect(conn):
                    self._ready = True
                    return False
                created = self._create(conn)
                self._ready = True
                return created
        except psycopg.Error as e:
            raise self._error(e) from e

    def _rows(self, query: str, params: tuple[Any, ...] | dict[str, Any]) -> Iterator[TupleRow]:
        """A query's rows through a server-side cursor, fetched ``ITERSIZE`` at a time."""
        try:
            with self._connection() as conn:
                if not self._ensure(conn, create=False):
                    return
                name = f"escli_read_{next(self._cursor_names)}"  # reads may be open together
                with conn.transaction(), conn.cursor(name=name) as cursor:
                    cursor.itersize = ITERSIZE
                    cursor.execute(query, params)
                    yield from cursor
        except psycopg.Error as e:
            raise self._error(e) from e

    def _write(self, *statements: Any) -> None:
        """Run (sql, params) pairs in one transaction, creating the schema if needed."""
        try:
            with self._connection() as conn:
                self._ensure(conn, create=True)
                with conn.transaction():
                    for sql, params in zip(statements[::2], statements[1::2], strict=True):
                        conn.execute(sql, params)
        except psycopg.Error as e:
            raise self._error(e) from e
