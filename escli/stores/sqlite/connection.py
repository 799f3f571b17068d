"""A SQLite store's connections (one per thread), the schema made or checked when the file is
opened, write transactions, and sqlite3's errors translated into escli's."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from escli.errors import StoreError
from escli.stores.base import BaseStore

__all__ = ["BUSY_TIMEOUT_S", "SCHEMA_VERSION", "Connections"]

SCHEMA_VERSION = 2
BUSY_TIMEOUT_S = 30.0

# The events' rows are kept in the order of their position (the table's rowid), with the
# unique (stream, generation) index beside them, as the Python ``eventsourcing`` library,
# Marten and EventStoreDB's own log keep theirs: the global log (projections, export,
# publish, copy, subscriptions) then reads the file in order, and a stream's read takes one
# index step per event, which snapshots keep short. Measured at 100,000 events over 2,000
# interleaved streams: a projection's catch-up 1.4x faster than with rows kept by stream
# (benchmarks/projection_bench.py); a stream written in one run replays as fast, and a
# 40,000-event stream among 160,000 events of others about 15% slower. Stores made
# by an earlier escli (rows by (stream, generation), ``WITHOUT ROWID``) keep that layout
# (version 2 adds a column to either), and every query reads both; ``escli copy`` into a
# new store moves one.

# Version 2 adds each event's metadata (``escli.stores.metadata``: JSON text, NULL for an
# event that has none) and indexes of correlation and causation ids, for ``escli trace``.
_METADATA = """
ALTER TABLE events ADD COLUMN metadata TEXT;
CREATE INDEX events_correlation ON events (json_extract(metadata, '$.correlationid'));
CREATE INDEX events_causation ON events (json_extract(metadata, '$.causationid'));
PRAGMA user_version = 2;
"""
# A version 1 store opened read-only cannot be migrated: its connection sees ``events``
# through this temporary view (temp objects come first in name lookup), with no metadata,
# so that every query reads it unchanged.
# Its columns are named: a writer migrating the file meanwhile adds ``metadata`` to the table.
_V1_VIEW = (
    "CREATE TEMP VIEW events AS SELECT stream, generation, position, event_id, event_type,"
    " type_version, source, recorded_at, data, NULL AS metadata FROM main.events"
)

SCHEMA = """
CREATE TABLE events (
    stream       TEXT    NOT NULL,
    generation   INTEGER NOT NULL CHECK (generation > 0),
    position     INTEGER PRIMARY KEY,
    event_id     TEXT    NOT NULL UNIQUE,
    event_type   TEXT    NOT NULL,
    type_version TEXT    NOT NULL,
    source       TEXT    NOT NULL,
    recorded_at  TEXT    NOT NULL,
    data         TEXT    NOT NULL,
    metadata     TEXT,
    UNIQUE (stream, generation)
);
CREATE INDEX events_correlation ON events (json_extract(metadata, '$.correlationid'));
CREATE INDEX events_causation ON events (json_extract(metadata, '$.causationid'));
CREATE TABLE pending (
    target          TEXT    NOT NULL,
    stream          TEXT    NOT NULL,
    from_generation INTEGER NOT NULL,
    to_generation   INTEGER NOT NULL,
    PRIMARY KEY (target, stream)
) WITHOUT ROWID;
PRAGMA user_version = 2;
"""


@contextmanager
def _immediate(conn: sqlite3.Connection, *, rollback: bool = False) -> Iterator[None]:
    """A write transaction that takes the write lock at once (waiting up to the busy
    timeout), committed on success (rolled back with ``rollback``) and rolled back on any
    exception. Inside a transaction already (``SQLiteStore.transaction``), a savepoint: it
    undoes only itself, and is part of the outer one's fate."""
    if conn.in_transaction:
        conn.execute("SAVEPOINT escli")
        try:
            yield
        except BaseException:
            conn.execute("ROLLBACK TO escli")
            conn.execute("RELEASE escli")
            raise
        conn.execute("RELEASE escli")
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        conn.execute("ROLLBACK" if rollback else "COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _set_wal(conn: sqlite3.Connection) -> None:
    """Put the file in WAL mode, waiting up to the busy timeout.

    Why a loop: changing the journal mode needs the file to itself, and SQLite answers
    "database is locked" at once, without calling the busy handler, while another
    connection holds a lock on it. Several processes (or threads) opening a new store
    together all come here; each waits its turn, and those that come after the first
    find the mode set already."""
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) or time.monotonic() > deadline:
                raise
            time.sleep(0.005)


def read_only_uri(path: str) -> str:
    """The URI that opens ``path`` read-only (``sqlite3.connect(..., uri=True)``), with the
    characters a URI gives a meaning to quoted."""
    quoted = os.path.abspath(path).replace("%", "%25").replace("?", "%3f")
    return "file:" + quoted.replace("#", "%23") + "?mode=ro"


def _translate(error: sqlite3.Error, path: str) -> StoreError:
    message = str(error)
    if "readonly" in message or "read-only" in message:
        return StoreError(f"store {path} is read-only; nothing was written")
    if "not a database" in message or "malformed" in message:
        return StoreError(f"store {path} is not a readable escli store ({message})")
    if "locked" in message or "busy" in message:
        return StoreError(f"store {path} stayed locked by another writer for {BUSY_TIMEOUT_S:.0f}s")
    if "unable to open" in message:
        return StoreError(f"cannot open store {path} ({message})")
    return StoreError(f"store {path}: {message}")


class Connections(BaseStore):
    """The connections of a SQLite store."""

    url: str
    path: str
    read_only: bool
    _conns: dict[int, sqlite3.Connection]
    _conns_lock: threading.Lock
    _created: bool

    def _connect(self, *, create: bool) -> sqlite3.Connection | None:
        """The open connection; ``None`` when the file does not exist and ``create`` is off,
        so that reading a store that was never written creates nothing."""
        conn = self._conns.get(threading.get_ident())
        if conn is not None:
            return conn
        exists = os.path.exists(self.path)
        if not exists:
            if not create:
                return None
            if self.read_only:
                raise StoreError(f"store {self.path} does not exist and is opened read-only")
            try:
                os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
            except OSError as e:
                raise StoreError(f"cannot create store {self.path}: {e.strerror}") from e
        elif os.path.isdir(self.path):
            raise StoreError(f"store {self.path} is a directory, not a SQLite file")
        if exists and not os.access(self.path, os.W_OK):
            self.read_only = True
        target = read_only_uri(self.path) if self.read_only else self.path
        try:
            conn = sqlite3.connect(
                target,
                uri=self.read_only,
                timeout=BUSY_TIMEOUT_S,
                isolation_level=None,
                check_same_thread=False,
            )
        except sqlite3.Error as e:
            raise _translate(e, self.path) from e
        # A file that is not a store (or not this version's) is not kept open.
        try:
            self._prepare(conn)
        except sqlite3.Error as e:
            conn.close()
            raise _translate(e, self.path) from e
        except BaseException:
            conn.close()
            raise
        with self._conns_lock:
            self._conns[threading.get_ident()] = conn
        return conn

    def _prepare(self, conn: sqlite3.Connection) -> None:
        (version,) = conn.execute("PRAGMA user_version").fetchone()
        if version == 0 and not self.read_only:
            # WAL is a property of the file: set once, before the schema is its first write.
            _set_wal(conn)
            with _immediate(conn):
                (version,) = conn.execute("PRAGMA user_version").fetchone()
                if version == 0:
                    has_tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
                    if has_tables:
                        raise StoreError(f"{self.path} is a SQLite file but not an escli store")
                    for statement in SCHEMA.split(";"):
                        if statement.strip():
                            conn.execute(statement)
                    self._created = True
            version = SCHEMA_VERSION
        if version == 1:
            self._migrate(conn)
            version = SCHEMA_VERSION
        if version != SCHEMA_VERSION:
            raise StoreError(
                f"store {self.path} has schema version {version}; this escli reads {SCHEMA_VERSION}"
            )
        conn.execute("PRAGMA synchronous=FULL")

    # Whether this store's events can hold metadata (False: version 1, read-only).
    has_metadata = True

    def _migrate(self, conn: sqlite3.Connection) -> None:
        """A version 1 store made version 2 (the metadata column and its index), in one
        write transaction that checks the version again: of openers racing, the first
        migrates and the others find it done. Read-only: read through ``_V1_VIEW``."""
        if self.read_only:
            conn.execute(_V1_VIEW)
            self.has_metadata = False
            return
        with _immediate(conn):
            (version,) = conn.execute("PRAGMA user_version").fetchone()
            if version == 1:
                for statement in _METADATA.split(";"):
                    if statement.strip():
                        conn.execute(statement)

    def _rows(self, sql: str, params: tuple[Any, ...] = ()) -> Iterator[Any]:
        """The rows of a read query, streamed; none when the file does not exist yet."""
        conn = self._connect(create=False)
        if conn is None:
            return
        try:
            yield from conn.execute(sql, params)
        except sqlite3.Error as e:
            raise _translate(e, self.path) from e

    def _writer(self) -> sqlite3.Connection:
        """This thread's connection, for a write: the store made if need be; a read-only
        store refuses before anything is written."""
        conn = self._connect(create=True)
        assert conn is not None
        if self.read_only:
            raise StoreError(f"store {self.path} is read-only; nothing was written")
        return conn

    # A connection's view of the file can lag behind it for good (see ``_refresh``): poll
    # on a new one after 2 s without an event, then after 4, 8, ... up to a minute.
    REFRESH_AFTER_S = 2.0

    def _refresh(self) -> None:
        """Close this thread's connection; the next query opens a new one.

        Why ``follow`` needs it: a writer killed after writing a commit's frames to the WAL
        and before updating the shared WAL index (the ``-shm`` file), which SQLite does after
        the WAL's fsync (so a kill during that fsync does it), leaves a commit that open
        connections do not see. Its fate is decided when the file's connections end: if
        the last one is *closed*, it checkpoints what the index shows and deletes the WAL,
        and the commit is gone for every reader; if the last process ends without closing
        (as the CLI does, see ``durable_without_close``), the next opener rebuilds the index
        from the WAL and the commit appears. A follower that kept one connection open
        through such a spell, and then ended, would have printed a history without an event
        that ``export`` shows.

        Closing here settles it only when this is the file's last connection: the commit is
        then dropped (it was never acknowledged to its writer) and ``follow`` and every later
        reader agree. While another connection is open, closing changes nothing, which is
        why the polling loop calls this again, at longer and longer intervals, for as long
        as the store stays idle: the first call after the other connections end settles it.
        At most once a minute in a long idle spell, the new connection costs little next to
        the polls between."""
        with self._conns_lock:
            conn = self._conns.pop(threading.get_ident(), None)
        if conn is not None:
            conn.close()

    def init(self) -> bool:
        """Create the file and its table if missing; whether this call created them."""
        self._created = False
        self._connect(create=True)
        return self._created

    def close(self) -> None:
        with self._conns_lock:
            conns, self._conns = list(self._conns.values()), {}
        for conn in conns:
            conn.close()
