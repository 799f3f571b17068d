"""The PostgreSQL store: a shared, networked store with the same contract (psycopg 3).

This module is the only importer of ``psycopg``; ``open_store`` imports it only for
``postgresql://`` and ``postgres://`` URLs. A URL is a libpq URI plus one escli option,
``schema`` (default ``escli``): ``postgresql://user:password@host:5432/db?schema=escli_x``.
Other query items go to libpq unchanged; ``connect_timeout`` defaults to 3 s.

Schema. The schema holds two tables, created on first append or by ``init`` (idempotent,
serialised between processes by an advisory lock): ``events`` and ``store``, a one-row table
with the schema version and the last position handed out. A schema that holds something
else, or another version, is refused with a ``StoreError`` and never altered. Reading a
schema that does not exist reads empty and creates nothing, as with SQLite.

Concurrency. ``events`` has PRIMARY KEY (stream, generation): of two writers racing for one
generation, exactly one commit succeeds, whatever process or machine they are in.

Positions. A sequence (BIGSERIAL) would not do: ``nextval`` is taken when a row is
inserted, but transactions commit in another order, so a reader could see position 8
committed while 7 is still in flight, move past 7, and never see it. Instead an append
adds its event count to ``store.last_position`` in its own transaction. That row lock
serialises appends from the update to the commit, so positions are handed out in commit
order: a reader that sees position p sees every smaller one. The price is that appends
commit one at a time, even on different streams (each holds the lock through its commit's
WAL flush). The alternative, concurrent commits with readers that wait for in-flight
transactions (an xid8 column and ``pg_snapshot_xmin``), keeps more throughput but makes
every reader subtler; a workbench favours the simple, exact one.

An append is one statement, sent in one round trip in its own (autocommit) transaction: it
reads the stream's generation, takes the position lock only when the generation is the
expected one, inserts every event (unnest of arrays), and calls ``pg_notify``, which fires on
commit. The generation read before the lock may be stale; the primary key then refuses the
insert and the append reports the conflict, nothing written.

Transactions. ``transaction()`` (the ``Transactional`` capability) pins one connection to
the calling thread and opens a transaction on it; every read, look-up and append of that
thread goes through it, each append a savepoint (``SAVEPOINT``) that undoes only itself.
The first append takes the position lock, so other appends wait until the transaction
commits: an import or a copy is visible whole, or not at all.

Subscribe. LISTEN on a connection of its own first, then catch up with ``read`` or
``read_all`` from the last event seen, then wait for a notification and read again from
there. Events committed during catch-up are in the read or notified after it, and positions
follow commit order, so none is missed or repeated.

Times. ``recorded_at`` is a timestamptz, read back as RFC 3339 UTC with microseconds (the
store's own time: the transaction's ``now()``). A time given by copy or import that would
not read back as the same text (another offset, ``Z``, other precision) is kept verbatim in
``recorded_at_given`` and read back exactly.

Data is ``json``, not ``jsonb``: PostgreSQL checks it is JSON and keeps the text as written,
so an event reads back, exports and copies byte for byte as escli wrote it (``jsonb`` would
reorder object keys). escli does not query inside event data, so jsonb's indexing would buy
nothing. ``read_data`` hands the JSON text to the fold to parse, the faster path.

Errors stop here: cannot reach the server (refused, unknown host, timeout, connection lost)
is ``StoreUnavailable``; authentication, a missing database, a foreign or other-version
schema and any other server error are ``StoreError``, each one line. A password in the URL
is never shown: ``store.url`` and every message carry ``***`` in its place.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import threading
import time
from collections.abc import Collection, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import UTC, datetime
from typing import Any

from escli.errors import (
    ConcurrencyConflict,
    InvalidInput,
    StoreError,
    StoreUnavailable,
    missing_client,
)
from escli.stores.base import (
    BaseStore,
    DuplicateEventId,
    FoldRow,
    NewEvent,
    Pending,
    RecordedEvent,
    StreamInfo,
    records,
)
from escli.times import RANGE, out_of_range
from escli.urls import (
    bad_url,
    check_url,
    hide_secrets,
    mask_url,
    port_problem,
    secrets_hidden,
    valid_port,
)

try:
    import psycopg
    from psycopg import errors as pgerrors
    from psycopg.conninfo import conninfo_to_dict
    from psycopg.pq import TransactionStatus
    from psycopg.rows import TupleRow
except ImportError as e:
    raise missing_client("PostgreSQL URLs need psycopg", "'escli[postgres]'", e) from e

__all__ = ["PostgresStore", "parse_url"]

SCHEMA_VERSION = 1
DEFAULT_SCHEMA = "escli"
CONNECT_TIMEOUT_S = 3
# Rows per FETCH from a server-side cursor: big enough that round trips do not dominate.
ITERSIZE = 2000
# A subscription re-reads at least this often even without a notification: insurance only.
RECHECK_S = 5.0
_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,47}")

Connection = psycopg.Connection[TupleRow]

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
    event_id          text        NOT NULL,
    event_type        text        NOT NULL,
    type_version      text        NOT NULL,
    source            text        NOT NULL,
    recorded_at       timestamptz NOT NULL,
    recorded_at_given text,
    data              json        NOT NULL,
    CONSTRAINT events_pkey PRIMARY KEY (stream, generation),
    CONSTRAINT events_position_key UNIQUE (position),
    CONSTRAINT events_event_id_key UNIQUE (event_id)
);
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

_UTC_TEXT = """to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')"""

_APPEND = """
WITH current AS (
    SELECT coalesce(max(generation), 0) AS generation FROM {s}.events WHERE stream = %(stream)s
), counter AS (
    UPDATE {s}.store SET last_position = last_position + %(n)s
    WHERE (SELECT generation FROM current) = %(expected)s
    RETURNING last_position - %(n)s AS base, now() AS at
), inserted AS (
    INSERT INTO {s}.events (stream, generation, position, event_id, event_type, type_version,
                            source, recorded_at, recorded_at_given, data)
    SELECT %(stream)s, %(expected)s + e.n, c.base + e.n, e.event_id, e.event_type,
           e.type_version, e.source, coalesce(e.recorded_at::timestamptz, c.at),
           e.recorded_at_given, e.data::json
    FROM counter AS c, unnest(%(ids)s::text[], %(types)s::text[], %(versions)s::text[],
                              %(sources)s::text[], %(times)s::text[], %(given)s::text[],
                              %(data)s::text[])
        WITH ORDINALITY AS e(event_id, event_type, type_version, source, recorded_at,
                             recorded_at_given, data, n)
){pending}
SELECT current.generation, c.base, {now},
       CASE WHEN c.base IS NOT NULL THEN pg_notify(%(channel)s, %(payload)s) END
FROM current LEFT JOIN counter AS c ON true
"""

# The outbox part of an append with targets (``pending_for``): their pending rows, written
# only if the events were (``FROM counter``). The arithmetic is on the stored (bigint)
# generation, never on a parameter: psycopg sends a small int as smallint, and PostgreSQL
# works out parameter arithmetic while planning, so it could overflow even when nothing is
# written.
_APPEND_PENDING = """, pending AS (
    INSERT INTO {s}.pending AS p (target, stream, from_generation, to_generation)
    SELECT t.target, %(stream)s, cur.generation + 1, cur.generation + %(n)s
    FROM counter, current AS cur, unnest(%(targets)s::text[]) AS t(target)
    ON CONFLICT (target, stream) DO UPDATE SET
        from_generation = least(p.from_generation, excluded.from_generation),
        to_generation = greatest(p.to_generation, excluded.to_generation)
)"""

_RECORD_COLUMNS = (
    "generation, event_id, event_type, type_version, source, data::text, "
    "coalesce(recorded_at_given, {}), position".format(_UTC_TEXT.format("recorded_at"))
)


def parse_url(url: str) -> tuple[str, str]:
    """A ``postgresql://`` or ``postgres://`` URL -> (libpq conninfo, schema name).

    ``schema`` is taken out of the query; the rest is checked by libpq (without connecting),
    so a misspelt option or a port that is not one is ``InvalidInput`` at once.
    """
    check_url(url, "PostgreSQL store")
    base, _, query = url.partition("?")
    kept, schema = [], DEFAULT_SCHEMA
    for item in query.split("&"):
        key, _, value = item.partition("=")
        if key == "schema":
            schema = value
        elif item:
            kept.append(item)
    if not _SCHEMA_NAME.fullmatch(schema):
        raise InvalidInput(
            f"PostgreSQL schema must be a lowercase name of letters, digits and _ "
            f"(at most 48 characters), got {schema!r}"
        )
    conninfo = base + ("?" + "&".join(kept) if kept else "")
    try:
        params = conninfo_to_dict(conninfo)
    except psycopg.Error as e:
        raise InvalidInput(bad_url("PostgreSQL store", url, _first_line(e))) from e
    # libpq checks ports only when it connects, and calls one out of range a connection
    # failure (one that is not a number, an invalid value: InvalidInput there).
    for port in str(params.get("port") or "").split(","):
        if port.isascii() and port.isdigit() and not valid_port(port):
            raise InvalidInput(bad_url("PostgreSQL store", url, port_problem(port)))
    return conninfo, schema


def _first_line(error: BaseException) -> str:
    text = str(error).strip().removeprefix("connection failed: ")
    return text.splitlines()[0].strip() if text else type(error).__name__


def _canonical_time(given: str) -> str:
    """The RFC 3339 UTC text with microseconds that PostgreSQL reads back for ``given``."""
    try:
        parsed = datetime.fromisoformat(given)
    except ValueError:
        parsed = None
    if out_of_range(given):
        raise InvalidInput(f"recorded time {given!r} is out of range: {RANGE}")
    if parsed is None or parsed.utcoffset() is None:
        raise InvalidInput(f"recorded time {given!r} is not an RFC 3339 time with an offset")
    return parsed.astimezone(UTC).isoformat(timespec="microseconds")


class PostgresStore(BaseStore):
    def __init__(self, url: str) -> None:
        with secrets_hidden(url):  # libpq's message may echo the URL it was given
            self._conninfo, self.schema = parse_url(url)
        self.url = mask_url(url)
        self._urls = (url, self._conninfo)
        params = conninfo_to_dict(self._conninfo)
        self._password = str(params.get("password") or "")
        host = params.get("host") or os.environ.get("PGHOST") or "the local socket"
        port = params.get("port") or os.environ.get("PGPORT") or "5432"
        self.where = f"PostgreSQL at {host}:{port}"
        self.database = str(params.get("dbname") or params.get("user") or "")
        self.user = str(params.get("user") or "")
        self._connect_options: dict[str, Any] = {"autocommit": True}
        self.connect_timeout = str(params.get("connect_timeout") or CONNECT_TIMEOUT_S)
        if "connect_timeout" not in params:
            self._connect_options["connect_timeout"] = CONNECT_TIMEOUT_S
        if "application_name" not in params:
            self._connect_options["application_name"] = "escli"
        s = f'"{self.schema}"'  # safe: the name matched _SCHEMA_NAME
        self._s = s
        self._channel = f"escli.{self.schema}"
        now = _UTC_TEXT.format("c.at")
        self._append_sql = _APPEND.format(s=s, now=now, pending="")
        self._append_pending_sql = _APPEND.format(s=s, now=now, pending=_APPEND_PENDING.format(s=s))
        self._read_sql = (
            f"SELECT stream, {_RECORD_COLUMNS} FROM {s}.events"
            " WHERE stream = %s AND generation BETWEEN %s AND %s ORDER BY generation"
        )
        self._read_all_sql = (
            f"SELECT stream, {_RECORD_COLUMNS} FROM {s}.events"
            " WHERE position > %s ORDER BY position"
        )
        self._read_data_sql = (
            f"SELECT generation, event_type, type_version, data::text FROM {s}.events"
            " WHERE stream = %s AND generation BETWEEN %s AND %s ORDER BY generation"
        )
        self._ready = False
        # A small pool: a connection serves one read (a server-side cursor in a transaction)
        # or one write at a time, so a read left open while the caller appends, or reads
        # nested in one another, never share a transaction.
        self._idle: list[Connection] = []
        self._epoch = 0
        self._lock = threading.Lock()
        # Threads inside ``transaction()``: their connection, used by all they do.
        self._pinned: dict[int, Connection] = {}
        self._cursor_names = itertools.count()

    def __repr__(self) -> str:
        return f"PostgresStore({self.url!r})"

    # -- connections and errors ----------------------------------------------------------

    def _hide(self, text: str) -> str:
        text = hide_secrets(text, *self._urls)
        return text.replace(self._password, "***") if self._password else text

    def _connect(self) -> Connection:
        try:
            return psycopg.connect(self._conninfo, **self._connect_options)
        except psycopg.Error as e:
            raise self._connect_error(e) from e

    def _connect_error(self, e: psycopg.Error) -> StoreError | InvalidInput:
        message = _first_line(e)
        lower = message.lower()
        if isinstance(e, pgerrors.ConnectionTimeout) or "timeout expired" in lower:
            return StoreUnavailable(
                f"cannot reach {self.where}: no answer within {self.connect_timeout} s"
                " (connect_timeout)"
            )
        # libpq checks option values (sslmode, port...) when it connects: a bad one is the
        # URL's fault, not the server's.
        invalid = re.search(r"invalid [\w ]*value.*", message)
        if invalid:
            return InvalidInput(self._hide(bad_url("PostgreSQL store", self.url, invalid[0])))
        if "failed to resolve host" in lower or "could not translate host name" in lower:
            return StoreUnavailable(f"cannot reach {self.where}: unknown host")
        unreachable = (
            "connection refused",
            "no route to host",
            "network is unreachable",
            "no such file or directory",  # no server on the Unix socket
            "the database system is starting up",
            "the database system is shutting down",
            "too many clients",
            "server closed the connection",
        )
        if any(reason in lower for reason in unreachable):
            reason = message.rpartition(" failed: ")[2] or message
            return StoreUnavailable(self._hide(f"cannot reach {self.where}: {reason}"))
        if re.search(r'database ".*" does not exist', message):
            return StoreError(f"{self.where} has no database {self.database!r}")
        if re.search(r'role ".*" does not exist', message):
            return StoreError(f"{self.where} has no user {self.user!r}")
        if "authentication failed" in lower or "pg_hba.conf" in lower or "password" in lower:
            reason = message.rpartition("FATAL:")[2].strip() or message
            return StoreError(self._hide(f"{self.where} refused the login: {reason}"))
        if isinstance(e, psycopg.ProgrammingError):
            return InvalidInput(self._hide(bad_url("PostgreSQL store", self.url, message)))
        return StoreError(self._hide(f"cannot connect to {self.where}: {message}"))

    def _error(self, e: psycopg.Error) -> StoreError:
        message = self._hide(_first_line(e))
        state = e.sqlstate or ""
        if isinstance(e, psycopg.OperationalError) and (
            not state or state.startswith("08") or state.startswith("57P")
        ):
            return StoreUnavailable(f"lost the connection to {self.where}: {message}")
        if isinstance(e, pgerrors.UndefinedTable | pgerrors.InvalidSchemaName):
            self._ready = False  # dropped behind our back: the next append recreates them
            return StoreError(
                f"{self.url}: the escli tables of schema {self.schema!r} are gone ({message})"
            )
        if isinstance(e, pgerrors.InsufficientPrivilege):
            return StoreError(f"{self.url}: permission denied ({message})")
        if isinstance(e, pgerrors.ReadOnlySqlTransaction):
            return StoreError(f"{self.url} is read-only; nothing was written")
        return StoreError(f"{self.url}: {message}")

    @contextmanager
    def _connection(self) -> Iterator[Connection]:
        pinned = self._pinned.get(threading.get_ident())
        if pinned is not None:
            yield pinned
            return
        with self._lock:
            conn, epoch = (self._idle.pop() if self._idle else None), self._epoch
        if conn is None:
            conn = self._connect()
        try:
            yield conn
        finally:
            reusable = (
                not conn.closed
                and not conn.broken
                and conn.info.transaction_status == TransactionStatus.IDLE
            )
            with self._lock:
                if reusable and epoch == self._epoch:
                    self._idle.append(conn)
                    conn = None
            if conn is not None:
                conn.close()

    # -- schema --------------------------------------------------------------------------

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
        for table, columns in _SHAPE.items():
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
        if row[0] != SCHEMA_VERSION:
            raise StoreError(
                f"schema {self.schema!r} in {self.where}/{self.database} has escli schema "
                f"version {row[0]}; this escli reads {SCHEMA_VERSION}"
            )
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

    # -- the store interface -------------------------------------------------------------

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

    def read(
        self, stream: str, from_generation: int = 1, to_generation: int | None = None
    ) -> Iterator[RecordedEvent]:
        upper = to_generation if to_generation is not None else 2**62
        return records(self._rows(self._read_sql, (stream, from_generation, upper)))

    def read_all(self, after_position: int = 0) -> Iterator[RecordedEvent]:
        return records(self._rows(self._read_all_sql, (after_position,)))

    def read_data(
        self, stream: str, from_generation: int = 1, to_generation: int | None = None
    ) -> Iterator[FoldRow]:
        upper = to_generation if to_generation is not None else 2**62
        # JSON text straight from the cursor's tuples: the fold parses it.
        yield from self._rows(self._read_data_sql, (stream, from_generation, upper))

    def generation(self, stream: str) -> int:
        try:
            with self._connection() as conn:
                if not self._ensure(conn, create=False):
                    return 0
                return self._generation(conn, stream)
        except psycopg.Error as e:
            raise self._error(e) from e

    def _generation(self, conn: Connection, stream: str) -> int:
        row = conn.execute(
            f"SELECT coalesce(max(generation), 0) FROM {self._s}.events WHERE stream = %s",
            (stream,),
        ).fetchone()
        return int(row[0]) if row else 0

    def find_ids(
        self, event_ids: Collection[str], streams: Collection[str] = ()
    ) -> dict[str, tuple[str, int]]:
        if not event_ids:
            return {}
        try:
            with self._connection() as conn:
                if not self._ensure(conn, create=False):
                    return {}
                rows = conn.execute(
                    f"SELECT event_id, stream, generation FROM {self._s}.events"
                    " WHERE event_id = ANY(%s::text[])",
                    (list(event_ids),),
                ).fetchall()
        except psycopg.Error as e:
            raise self._error(e) from e
        return {event_id: (stream, int(generation)) for event_id, stream, generation in rows}

    @contextmanager
    def transaction(self, *, rollback: bool = False) -> Iterator[None]:
        me = threading.get_ident()
        pinned = self._pinned.get(me)
        try:
            if pinned is not None:  # nested: a savepoint of the outer one
                with pinned.transaction():
                    yield
                return
            with self._connection() as conn:
                self._ensure(conn, create=True)
                with conn.transaction(force_rollback=rollback):
                    self._pinned[me] = conn
                    try:
                        yield
                    finally:
                        del self._pinned[me]
        except psycopg.Error as e:
            raise self._error(e) from e

    def append_streams(self, appends: Sequence[tuple[str, Sequence[NewEvent], int]]) -> None:
        with self.transaction():
            for stream, events, expected in appends:
                self.append(stream, events, expected)

    def _savepoint(self, conn: Connection) -> AbstractContextManager[Any]:
        """Inside ``transaction()``, a savepoint, so that a failed statement undoes only
        itself (and the transaction can still report why); else nothing: one statement in
        autocommit is atomic already."""
        pinned = self._pinned.get(threading.get_ident()) is conn
        return conn.transaction() if pinned else nullcontext()

    def streams(self) -> Iterator[StreamInfo]:
        for name, generation, count in self._rows(
            f"SELECT stream, max(generation), count(*) FROM {self._s}.events"
            " GROUP BY stream ORDER BY stream",
            (),
        ):
            yield StreamInfo(name, generation, count)

    def append(
        self,
        stream: str,
        events: Sequence[NewEvent],
        expected_generation: int,
        *,
        pending_for: Sequence[str] = (),
    ) -> list[RecordedEvent]:
        if not events:
            return self._append_nothing(stream, expected_generation)
        times: list[str | None] = []
        given: list[str | None] = []
        for e in events:
            try:
                canonical = None if e.recorded_at is None else _canonical_time(e.recorded_at)
            except InvalidInput as error:
                raise InvalidInput(f"{stream}: event {e.event_id}: {error}") from None
            times.append(canonical)
            given.append(None if canonical == e.recorded_at else e.recorded_at)
        params = {
            "stream": stream,
            "expected": expected_generation,
            "n": len(events),
            "ids": [e.event_id for e in events],
            "types": [e.event_type for e in events],
            "versions": [e.type_version for e in events],
            "sources": [e.source for e in events],
            "times": times,
            "given": given,
            "data": [json.dumps(e.data, separators=(",", ":"), ensure_ascii=False) for e in events],
            # One row per target: ON CONFLICT cannot update a row twice in one statement.
            "targets": list(dict.fromkeys(pending_for)),
            "channel": self._channel,
            # A notification's payload is limited to 8000 bytes: "" wakes every subscriber.
            "payload": stream if len(stream.encode()) < 4000 else "",
        }
        try:
            with self._connection() as conn:
                self._ensure(conn, create=True)
                try:
                    sql = self._append_pending_sql if pending_for else self._append_sql
                    with self._savepoint(conn):
                        row = conn.execute(sql, params).fetchone()
                except pgerrors.UniqueViolation as e:
                    if e.diag.constraint_name == "events_event_id_key":
                        found = re.search(r"\(event_id\)=\((.*)\)", e.diag.message_detail or "")
                        raise DuplicateEventId(found.group(1) if found else "?") from e
                    # The primary key caught a writer that got in after our generation read.
                    actual = self._generation(conn, stream)
                    raise ConcurrencyConflict(stream, expected_generation, actual) from e
        except (pgerrors.DataError, pgerrors.UntranslatableCharacter) as e:
            raise InvalidInput(
                f"{stream}: PostgreSQL cannot store this event data ({_first_line(e)}); "
                "nothing was written"
            ) from e
        except psycopg.Error as e:
            raise self._error(e) from e
        assert row is not None
        actual, base, now, _ = row
        if base is None:
            raise ConcurrencyConflict(stream, expected_generation, actual)
        return [
            e.recorded(stream, expected_generation + offset, e.recorded_at or now, base + offset)
            for offset, e in enumerate(events, start=1)
        ]

    def subscribe(
        self, stream: str | None = None, after: int = 0, *, poll_interval: float = 0.2
    ) -> Iterator[RecordedEvent]:
        """Catch up, then follow live, woken by NOTIFY. ``poll_interval`` only raises the
        insurance re-read interval (``RECHECK_S``) when it is longer."""
        listener = self._connect()
        try:
            try:
                listener.execute(f'LISTEN "{self._channel}"')
            except psycopg.Error as e:
                raise self._error(e) from e
            wait = max(poll_interval, RECHECK_S)
            while True:
                records = (
                    self.read(stream, after + 1) if stream is not None else self.read_all(after)
                )
                for recorded in records:
                    after = recorded.generation if stream is not None else recorded.position
                    yield recorded
                self._wait(listener, stream, wait)
        finally:
            listener.close()

    def _wait(self, listener: Connection, stream: str | None, timeout: float) -> None:
        """Until a notification that concerns ``stream`` (any, when None) or ``timeout``."""
        deadline = time.monotonic() + timeout
        try:
            while (left := deadline - time.monotonic()) > 0:
                for note in listener.notifies(timeout=left, stop_after=1):
                    if stream is None or note.payload in (stream, ""):
                        return
        except psycopg.Error as e:
            raise self._error(e) from e

    # -- pending deliveries ----------------------------------------------------------------

    def pending(self, target: str | None = None, stream: str | None = None) -> list[Pending]:
        return [
            Pending(t, s, int(a), int(b))
            for t, s, a, b in self._rows(
                f"SELECT target, stream, from_generation, to_generation FROM {self._s}.pending"
                " WHERE (%(t)s::text IS NULL OR target = %(t)s)"
                " AND (%(s)s::text IS NULL OR stream = %(s)s) ORDER BY target, stream",
                {"t": target, "s": stream},
            )
        ]

    def set_pending(
        self, target: str, stream: str, from_generation: int, to_generation: int
    ) -> None:
        self._write(
            f"INSERT INTO {self._s}.pending VALUES (%s, %s, %s, %s)"
            " ON CONFLICT (target, stream) DO UPDATE SET"
            " from_generation = least(pending.from_generation, excluded.from_generation),"
            " to_generation = greatest(pending.to_generation, excluded.to_generation)",
            (target, stream, from_generation, to_generation),
        )

    def clear_pending(self, target: str, stream: str, up_to_generation: int) -> None:
        self._write(
            f"DELETE FROM {self._s}.pending"
            " WHERE target = %s AND stream = %s AND to_generation <= %s",
            (target, stream, up_to_generation),
            f"UPDATE {self._s}.pending SET from_generation = greatest(from_generation - 1, %s) + 1"
            " WHERE target = %s AND stream = %s",
            (up_to_generation, target, stream),
        )

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

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
            self._epoch += 1
        for conn in idle:
            conn.close()

    def __del__(self) -> None:
        # A store dropped without close() closes its idle connections, as a file would.
        if hasattr(self, "_idle"):
            self.close()
