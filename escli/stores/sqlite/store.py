"""Reads, appends and transactions on SQLite: the store itself (see the package docstring)."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from escli.errors import ConcurrencyConflict
from escli.stores.base import (
    DuplicateEventId,
    FoldRow,
    NewEvent,
    RecordedEvent,
    StreamInfo,
    VersionCount,
    now_rfc3339,
    records,
)
from escli.stores.counts import version_counts
from escli.stores.records import metadata_json
from escli.stores.sqlite.connection import BUSY_TIMEOUT_S, _immediate, _translate
from escli.stores.sqlite.outbox import _SET_PENDING, PendingTable
from escli.stores.sqlite.search import SearchQueries
from escli.stores.sqlite.snapshots import SnapshotTable
from escli.stores.sqlite.urls import path_from_url
from escli.stores.sqlite.views import ViewTables

__all__ = ["SQLiteStore"]

_WAL_KEPT = 4 << 20  # bytes of WAL left after a transaction: SQLite's own checkpoint size
_IDS_PER_QUERY = 500  # bound parameters per look-up (SQLite allows at least 999)
_COLUMNS = (
    "generation, event_id, event_type, type_version, source, data, recorded_at, position, metadata"
)


_Row = tuple[str, int, str, str, str, str, str, str, str | None]


def _row(stream: str, generation: int, event: NewEvent, now: str) -> _Row:
    """An event as the columns it is stored in, but its position (given at insert time,
    under the write lock): stream, generation, id, type, version, source, time, data,
    metadata (JSON text, or NULL for none)."""
    return (
        stream,
        generation,
        event.event_id,
        event.event_type,
        event.type_version,
        event.source,
        event.recorded_at or now,
        json.dumps(event.data, separators=(",", ":"), ensure_ascii=False),
        metadata_json(event.metadata),
    )


_INSERT_EVENTS = (
    "INSERT INTO events (stream, generation, position, event_id, event_type, type_version,"
    " source, recorded_at, data, metadata) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def _positioned(rows: Sequence[_Row], last: int) -> list[tuple[Any, ...]]:
    """The rows with their global positions, numbered on from ``last``, as INSERT takes them."""
    return [(r[0], r[1], last + n, *r[2:]) for n, r in enumerate(rows, start=1)]


class SQLiteStore(PendingTable, SnapshotTable, ViewTables, SearchQueries):
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

    @property
    def log_name(self) -> str:
        """The file by its absolute path, opened read-only or not: the same events."""
        return f"sqlite:///{os.path.abspath(self.path)}"

    # -- the store interface -------------------------------------------------------------

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

    def find_events(
        self, event_ids: Collection[str], streams: Collection[str] = ()
    ) -> dict[str, RecordedEvent]:
        ids = list(event_ids)
        found: dict[str, RecordedEvent] = {}
        for start in range(0, len(ids), _IDS_PER_QUERY):
            part = ids[start : start + _IDS_PER_QUERY]
            rows = self._rows(
                f"SELECT stream, {_COLUMNS} FROM events"
                f" WHERE event_id IN ({','.join('?' * len(part))})",
                tuple(part),
            )
            found.update((r.event_id, r) for r in records(rows))
        return found

    def generations(self, streams: Collection[str]) -> dict[str, int]:
        names = list(streams)
        found = dict.fromkeys(names, 0)
        for start in range(0, len(names), _IDS_PER_QUERY):
            part = names[start : start + _IDS_PER_QUERY]
            found.update(
                self._rows(
                    "SELECT stream, max(generation) FROM events"
                    f" WHERE stream IN ({','.join('?' * len(part))}) GROUP BY stream",
                    tuple(part),
                )
            )
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

    def stream_names(self, prefix: str = "", limit: int = 100) -> list[str]:
        """A loose index scan of the primary key: each name is one seek past the last, so a
        stream of a million events costs what one of one event does."""
        # Plain ? with values repeated (see PendingTable.pending: ?1 warns on some 3.12s).
        rows = self._rows(
            "WITH RECURSIVE names(stream, n) AS ("
            " SELECT (SELECT stream FROM events WHERE stream >= ? ORDER BY stream LIMIT 1), 1"
            " UNION ALL SELECT (SELECT stream FROM events WHERE stream > names.stream"
            " ORDER BY stream LIMIT 1), n + 1 FROM names"
            " WHERE names.stream IS NOT NULL AND substr(names.stream, 1, ?) = ? AND n < ?)"
            " SELECT stream FROM names WHERE stream IS NOT NULL AND substr(stream, 1, ?) = ?",
            (prefix, len(prefix), prefix, limit, len(prefix), prefix),
        )
        return [name for (name,) in rows]

    def version_counts(
        self, domains: Collection[str] = (), *, prefix: str = ""
    ) -> list[VersionCount]:
        """One ``GROUP BY``. Of named domains, only their streams are read: each domain's
        range of the primary key (``D-`` up to ``D.``, the character after ``-``), and a
        stream named ``D`` alone; else every event whose stream starts with ``prefix``."""
        if not domains:
            return version_counts(
                self._rows(
                    "SELECT CASE WHEN instr(rest, '-') THEN substr(rest, 1, instr(rest, '-') - 1)"
                    " ELSE rest END, event_type, type_version, count(*)"
                    " FROM (SELECT substr(stream, ?) AS rest, event_type, type_version"
                    " FROM events WHERE substr(stream, 1, ?) = ?) GROUP BY 1, 2, 3",
                    (len(prefix) + 1, len(prefix), prefix),
                )
            )
        found: list[tuple[str, str, str, int]] = []
        for domain in dict.fromkeys(d for d in domains if "-" not in d):  # no domain has one
            name = prefix + domain
            found.extend(
                (domain, event_type, version, n)
                for event_type, version, n in self._rows(
                    "SELECT event_type, type_version, count(*) FROM events"
                    " WHERE (stream >= ? AND stream < ?) OR stream = ?"
                    " GROUP BY event_type, type_version",
                    (name + "-", name + ".", name),
                )
            )
        return version_counts(found)

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
