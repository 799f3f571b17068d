"""The embedded store: one SQLite file (standard library), escli's default.

Optimistic concurrency is enforced by the database, not by a read-then-write in Python: the
primary key is (stream, generation), so of two writers racing for the same generation exactly
one commit succeeds. Appends run in ``BEGIN IMMEDIATE`` transactions, which take the write
lock up front (other writers wait up to ``BUSY_TIMEOUT_S``), and check the stream's generation
inside the transaction first to report a conflict with the actual generation.

``transaction()`` (the ``Transactional`` capability) is one such transaction around many
appends, each then a savepoint inside it: an import or a copy commits once, or not at all.
It holds the write lock throughout, so other writers wait for it (up to ``BUSY_TIMEOUT_S``).

Events are clustered by (stream, generation) (a WITHOUT ROWID table), so replaying a stream
reads neighbouring pages. The global ``position`` is assigned inside the write transaction
(max + 1), which the write lock serialises.

The file is in WAL mode (readers never block the writer) with ``synchronous=FULL``: a
dispatch that printed its result survives a power cut, at the cost of one fsync per append.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from escli.errors import ConcurrencyConflict, InvalidInput, StoreError
from escli.stores.base import (
    BaseStore,
    DuplicateEventId,
    FoldRow,
    NewEvent,
    Pending,
    RecordedEvent,
    StreamInfo,
    now_rfc3339,
    records,
)
from escli.urls import bad_url

SCHEMA_VERSION = 1
BUSY_TIMEOUT_S = 30.0

SCHEMA = """
CREATE TABLE events (
    stream       TEXT    NOT NULL,
    generation   INTEGER NOT NULL CHECK (generation > 0),
    position     INTEGER NOT NULL UNIQUE,
    event_id     TEXT    NOT NULL UNIQUE,
    event_type   TEXT    NOT NULL,
    type_version TEXT    NOT NULL,
    source       TEXT    NOT NULL,
    recorded_at  TEXT    NOT NULL,
    data         TEXT    NOT NULL,
    PRIMARY KEY (stream, generation)
) WITHOUT ROWID;
CREATE TABLE pending (
    target          TEXT    NOT NULL,
    stream          TEXT    NOT NULL,
    from_generation INTEGER NOT NULL,
    to_generation   INTEGER NOT NULL,
    PRIMARY KEY (target, stream)
) WITHOUT ROWID;
PRAGMA user_version = 1;
"""

_WAL_KEPT = 4 << 20  # bytes of WAL left after a transaction: SQLite's own checkpoint size
_IDS_PER_QUERY = 500  # bound parameters per look-up (SQLite allows at least 999)
_COLUMNS = "generation, event_id, event_type, type_version, source, data, recorded_at, position"


# A pending range merged with what was pending for (target, stream) already.
_SET_PENDING = (
    "INSERT INTO pending VALUES (?, ?, ?, ?) ON CONFLICT (target, stream) DO UPDATE SET"
    " from_generation = min(from_generation, excluded.from_generation),"
    " to_generation = max(to_generation, excluded.to_generation)"
)


def path_from_url(url: str) -> tuple[str, bool]:
    """``sqlite:///rel.db``, ``sqlite:////abs.db``, ``sqlite:rel.db`` or a bare path ->
    (path, read_only). ``?mode=ro`` opens the file read-only.

    Parsed by hand rather than with urllib.parse, which costs CLI start-up time.
    """
    if url[: len("sqlite:")].lower() != "sqlite:":
        return _checked_path(url, url), False
    raw, _, query = url[len("sqlite:") :].partition("?")
    if raw.startswith("///"):
        raw = raw[3:]  # sqlite:///rel.db is relative, sqlite:////abs.db absolute
    elif raw.startswith("//"):
        raise InvalidInput(bad_url("SQLite store", url, "it has no host: use sqlite:///PATH"))
    if "%" in raw:
        from urllib.parse import unquote

        raw = unquote(raw)
    if not raw:
        raise InvalidInput(bad_url("SQLite store", url, "it names no file"))
    options = dict(pair.partition("=")[::2] for pair in query.split("&") if pair)
    unknown = sorted(set(options) - {"mode"})
    if unknown:
        raise InvalidInput(f"unknown SQLite store option {unknown[0]!r} in {url!r} (known: mode)")
    mode = options.get("mode", "rw")
    if mode not in ("ro", "rw"):
        raise InvalidInput(f"SQLite store mode must be ro or rw, got {mode!r}")
    return _checked_path(raw, url), mode == "ro"


def _checked_path(path: str, url: str) -> str:
    if "\0" in path:  # no file name holds one; the OS would refuse it
        raise InvalidInput(bad_url("SQLite store", url, f"its path {path!r} holds a NUL character"))
    return path


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


_Row = tuple[str, int, str, str, str, str, str, str]


def _row(stream: str, generation: int, event: NewEvent, now: str) -> _Row:
    """An event as the columns it is stored in, but its position (given at insert time,
    under the write lock): stream, generation, id, type, version, source, time, data."""
    return (
        stream,
        generation,
        event.event_id,
        event.event_type,
        event.type_version,
        event.source,
        event.recorded_at or now,
        json.dumps(event.data, separators=(",", ":"), ensure_ascii=False),
    )


_INSERT_EVENTS = (
    "INSERT INTO events (stream, generation, position, event_id, event_type, type_version,"
    " source, recorded_at, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def _positioned(rows: Sequence[_Row], last: int) -> list[tuple[Any, ...]]:
    """The rows with their global positions, numbered on from ``last``, as INSERT takes them."""
    return [(r[0], r[1], last + n, *r[2:]) for n, r in enumerate(rows, start=1)]


class SQLiteStore(BaseStore):
    # Every commit is synced to the WAL (synchronous=FULL), so a process may end without
    # closing the connection and lose nothing (the CLI does, to skip the close checkpoint).
    durable_without_close = True

    def __init__(self, url: str) -> None:
        self.url = url
        self.path, self.read_only = path_from_url(url)
        # One connection per thread: a sqlite3 connection's transaction is shared by every
        # thread using it, so threads sharing one would see each other's uncommitted writes.
        self._conns: dict[int, sqlite3.Connection] = {}
        self._conns_lock = threading.Lock()
        self._created = False

    def __repr__(self) -> str:
        return f"SQLiteStore({self.path!r})"

    @property
    def canonical_url(self) -> str:
        """The same store named by its absolute path, whatever spelling opened it."""
        return f"sqlite:///{os.path.abspath(self.path)}" + ("?mode=ro" if self.read_only else "")

    # -- connection ----------------------------------------------------------------------

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
        target = self.path
        if self.read_only:
            quoted = os.path.abspath(self.path).replace("%", "%25").replace("?", "%3f")
            target = "file:" + quoted.replace("#", "%23") + "?mode=ro"
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
            # WAL is a property of the file: set once, when the file is made.
            conn.execute("PRAGMA journal_mode=WAL")
        if version != SCHEMA_VERSION:
            raise StoreError(
                f"store {self.path} has schema version {version}; this escli reads {SCHEMA_VERSION}"
            )
        conn.execute("PRAGMA synchronous=FULL")

    # -- the store interface -------------------------------------------------------------

    def _rows(self, sql: str, params: tuple[Any, ...] = ()) -> Iterator[Any]:
        """The rows of a read query, streamed; none when the file does not exist yet."""
        conn = self._connect(create=False)
        if conn is None:
            return
        try:
            yield from conn.execute(sql, params)
        except sqlite3.Error as e:
            raise _translate(e, self.path) from e

    def read(
        self, stream: str, from_generation: int = 1, to_generation: int | None = None
    ) -> Iterator[RecordedEvent]:
        upper = to_generation if to_generation is not None else 2**62
        return records(
            self._rows(
                f"SELECT stream, {_COLUMNS} FROM events"
                " WHERE stream = ? AND generation BETWEEN ? AND ? ORDER BY generation",
                (stream, from_generation, upper),
            )
        )

    def read_all(self, after_position: int = 0) -> Iterator[RecordedEvent]:
        return records(
            self._rows(
                f"SELECT stream, {_COLUMNS} FROM events WHERE position > ? ORDER BY position",
                (after_position,),
            )
        )

    def read_data(
        self, stream: str, from_generation: int = 1, to_generation: int | None = None
    ) -> Iterator[FoldRow]:
        # The JSON text goes out as it is stored: the fold parses it, which spares a
        # Python-level loop here (the rows come straight from the C cursor).
        upper = to_generation if to_generation is not None else 2**62
        return self._rows(
            "SELECT generation, event_type, type_version, data FROM events"
            " WHERE stream = ? AND generation BETWEEN ? AND ? ORDER BY generation",
            (stream, from_generation, upper),
        )

    def _writer(self) -> sqlite3.Connection:
        """This thread's connection, for a write: the store made if need be; a read-only
        store refuses before anything is written."""
        conn = self._connect(create=True)
        assert conn is not None
        if self.read_only:
            raise StoreError(f"store {self.path} is read-only; nothing was written")
        return conn

    def append_streams(self, appends: Sequence[tuple[str, Sequence[NewEvent], int]]) -> None:
        """One write for them all: the generations checked in a few queries, the events
        inserted in one ``executemany``."""
        conn = self._writer()
        now = now_rfc3339()
        rows = [
            _row(stream, generation, e, now)
            for stream, events, expected in appends
            for generation, e in enumerate(events, start=expected + 1)
        ]
        expected: dict[str, int] = {}  # each stream's generation before the first of them
        after: dict[str, int] = {}
        for stream, events, generation in appends:
            if after.setdefault(stream, generation) != generation:
                raise ConcurrencyConflict(stream, generation, after[stream])
            expected.setdefault(stream, generation)
            after[stream] = generation + len(events)
        try:
            with _immediate(conn):
                self._check_generations(conn, expected)
                (last,) = conn.execute("SELECT coalesce(max(position), 0) FROM events").fetchone()
                conn.executemany(_INSERT_EVENTS, _positioned(rows, last))
        except sqlite3.IntegrityError as e:
            if "event_id" in str(e):
                duplicate = self._first_known_id(conn, [r[2] for r in rows])
                raise DuplicateEventId(duplicate or "?") from e
            self._check_generations(conn, expected)  # a racing writer: which stream
            raise _translate(e, self.path) from e
        except sqlite3.Error as e:
            raise _translate(e, self.path) from e

    def _check_generations(self, conn: sqlite3.Connection, expected: dict[str, int]) -> None:
        streams = list(expected)
        actual: dict[str, int] = {}
        for start in range(0, len(streams), _IDS_PER_QUERY):
            part = streams[start : start + _IDS_PER_QUERY]
            actual.update(
                conn.execute(
                    "SELECT stream, max(generation) FROM events"
                    f" WHERE stream IN ({','.join('?' * len(part))}) GROUP BY stream",
                    part,
                )
            )
        for stream, generation in expected.items():
            if actual.get(stream, 0) != generation:
                raise ConcurrencyConflict(stream, generation, actual.get(stream, 0))

    def append(
        self,
        stream: str,
        events: Sequence[NewEvent],
        expected_generation: int,
        *,
        pending_for: Sequence[str] = (),
    ) -> list[RecordedEvent]:
        conn = self._writer()
        now = now_rfc3339()
        rows = [
            _row(stream, generation, e, now)
            for generation, e in enumerate(events, start=expected_generation + 1)
        ]
        try:
            with _immediate(conn):
                actual = self._generation(conn, stream)
                if actual != expected_generation:
                    raise ConcurrencyConflict(stream, expected_generation, actual)
                (last,) = conn.execute("SELECT coalesce(max(position), 0) FROM events").fetchone()
                conn.executemany(_INSERT_EVENTS, _positioned(rows, last))
                if rows and pending_for:
                    first, final = rows[0][1], rows[-1][1]
                    conn.executemany(_SET_PENDING, [(t, stream, first, final) for t in pending_for])
        except sqlite3.IntegrityError as e:
            if "event_id" in str(e):
                duplicate = self._first_known_id(conn, [r[2] for r in rows])
                raise DuplicateEventId(duplicate or "?") from e
            # The unique (stream, generation) key caught a racing writer.
            raise ConcurrencyConflict(
                stream, expected_generation, self._generation(conn, stream)
            ) from e
        except sqlite3.Error as e:
            raise _translate(e, self.path) from e
        return [
            e.recorded(stream, r[1], r[6], last + n)
            for n, (r, e) in enumerate(zip(rows, events, strict=True), start=1)
        ]

    def generation(self, stream: str) -> int:
        conn = self._connect(create=False)
        if conn is None:
            return 0
        try:
            return self._generation(conn, stream)
        except sqlite3.Error as e:
            raise _translate(e, self.path) from e

    def find_ids(
        self, event_ids: Collection[str], streams: Collection[str] = ()
    ) -> dict[str, tuple[str, int]]:
        ids = list(event_ids)
        found: dict[str, tuple[str, int]] = {}
        for start in range(0, len(ids), _IDS_PER_QUERY):
            part = ids[start : start + _IDS_PER_QUERY]
            marks = ",".join("?" * len(part))
            rows = self._rows(
                f"SELECT event_id, stream, generation FROM events WHERE event_id IN ({marks})",
                tuple(part),
            )
            found.update((event_id, (stream, generation)) for event_id, stream, generation in rows)
        return found

    @contextmanager
    def transaction(self, *, rollback: bool = False) -> Iterator[None]:
        conn = self._writer()
        outermost = not conn.in_transaction
        try:
            with _immediate(conn, rollback=rollback):
                yield
        except sqlite3.Error as e:
            raise _translate(e, self.path) from e
        if outermost:
            self._shrink_wal(conn)

    def _shrink_wal(self, conn: sqlite3.Connection) -> None:
        """After a big transaction, cut the WAL file back to nothing. The CLI never closes its
        connection (which would), and every process that opens the store first reads the
        whole WAL to rebuild its index: one big import would slow every later command.
        Skipped, not waited for, while readers hold the WAL."""
        try:
            if os.path.getsize(self.path + "-wal") < _WAL_KEPT:
                return
        except OSError:
            return
        try:
            conn.execute("PRAGMA busy_timeout = 0")
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        except sqlite3.Error:
            pass  # busy: the WAL stays as it is, which is only slower
        finally:
            conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")

    def streams(self) -> Iterator[StreamInfo]:
        rows = self._rows(
            "SELECT stream, max(generation), count(*) FROM events GROUP BY stream ORDER BY stream"
        )
        for name, generation, count in rows:
            yield StreamInfo(name, generation, count)

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

    def pending(self, target: str | None = None, stream: str | None = None) -> list[Pending]:
        # Plain ? with each value twice, not ?1 and ?2: Python 3.12 before 3.12.4 takes ?1
        # for a named placeholder and warns (CPython gh-117995).
        rows = self._rows(
            "SELECT target, stream, from_generation, to_generation FROM pending"
            " WHERE (? IS NULL OR target = ?) AND (? IS NULL OR stream = ?)"
            " ORDER BY target, stream",
            (target, target, stream, stream),
        )
        return [Pending(*row) for row in rows]

    def set_pending(
        self, target: str, stream: str, from_generation: int, to_generation: int
    ) -> None:
        self._write(_SET_PENDING, (target, stream, from_generation, to_generation))

    def clear_pending(self, target: str, stream: str, up_to_generation: int) -> None:
        self._write(
            "DELETE FROM pending WHERE target = ? AND stream = ? AND to_generation <= ?",
            (target, stream, up_to_generation),
            "UPDATE pending SET from_generation = max(from_generation, ? + 1)"
            " WHERE target = ? AND stream = ?",
            (up_to_generation, target, stream),
        )

    def _write(self, *statements: Any) -> None:
        """Run (sql, params) pairs in one write transaction."""
        conn = self._writer()
        try:
            with _immediate(conn):
                for sql, params in zip(statements[::2], statements[1::2], strict=True):
                    conn.execute(sql, params)
        except sqlite3.Error as e:
            raise _translate(e, self.path) from e

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

    # -- helpers -------------------------------------------------------------------------

    @staticmethod
    def _generation(conn: sqlite3.Connection, stream: str) -> int:
        row = conn.execute(
            "SELECT max(generation) FROM events WHERE stream = ?", (stream,)
        ).fetchone()
        return row[0] or 0

    @staticmethod
    def _first_known_id(conn: sqlite3.Connection, ids: list[str]) -> str | None:
        for event_id in ids:
            if conn.execute("SELECT 1 FROM events WHERE event_id = ?", (event_id,)).fetchone():
                return event_id
        return None
