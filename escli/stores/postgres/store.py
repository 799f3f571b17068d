"""Reads, appends, transactions and subscriptions on PostgreSQL: the store itself (see the
package docstring for positions, transactions and times)."""

from __future__ import annotations

import itertools
import json
import os
import re
import threading
import time
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg import errors as pgerrors
from psycopg.conninfo import conninfo_to_dict

from escli.errors import ConcurrencyConflict, InvalidInput
from escli.stores.base import (
    DuplicateEventId,
    FoldRow,
    NewEvent,
    RecordedEvent,
    StreamInfo,
    VersionCount,
    records,
)
from escli.stores.counts import version_counts
from escli.stores.postgres.connection import CONNECT_TIMEOUT_S, Connection
from escli.stores.postgres.outbox import _APPEND_PENDING
from escli.stores.postgres.schema import _UTC_TEXT
from escli.stores.postgres.search import SearchQueries
from escli.stores.postgres.urls import _first_line, parse_url
from escli.stores.postgres.views import ViewTables
from escli.stores.records import metadata_json
from escli.stores.wakeup import Waiter
from escli.times import RANGE, out_of_range
from escli.urls import mask_url, secrets_hidden

__all__ = ["PostgresStore"]

# A subscription re-reads at least this often even without a notification: insurance only.
RECHECK_S = 5.0
_PAGE = 1000  # ids (or stream names) a look-up sends in one query's array

_APPEND = """
WITH current AS (
    SELECT coalesce(max(generation), 0) AS generation FROM {s}.events WHERE stream = %(stream)s
), counter AS (
    UPDATE {s}.store SET last_position = last_position + %(n)s
    WHERE (SELECT generation FROM current) = %(expected)s
    RETURNING last_position - %(n)s AS base, now() AS at
), inserted AS (
    INSERT INTO {s}.events (stream, generation, position, event_id, event_type, type_version,
                            source, recorded_at, recorded_at_given, data, metadata)
    SELECT %(stream)s, %(expected)s + e.n, c.base + e.n, e.event_id, e.event_type,
           e.type_version, e.source, coalesce(e.recorded_at::timestamptz, c.at),
           e.recorded_at_given, e.data::json, e.metadata::jsonb
    FROM counter AS c, unnest(%(ids)s::text[], %(types)s::text[], %(versions)s::text[],
                              %(sources)s::text[], %(times)s::text[], %(given)s::text[],
                              %(data)s::text[], %(metas)s::text[])
        WITH ORDINALITY AS e(event_id, event_type, type_version, source, recorded_at,
                             recorded_at_given, data, metadata, n)
){pending}
SELECT current.generation, c.base, {now},
       CASE WHEN c.base IS NOT NULL THEN pg_notify(%(channel)s, %(payload)s) END
FROM current LEFT JOIN counter AS c ON true
"""

_RECORD_COLUMNS = (
    "generation, event_id, event_type, type_version, source, data::text, "
    "coalesce(recorded_at_given, {}), position, metadata::text".format(
        _UTC_TEXT.format("recorded_at")
    )
)


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


class PostgresStore(ViewTables, SearchQueries):
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
        self._find_events_sql = (
            f"SELECT stream, {_RECORD_COLUMNS} FROM {s}.events WHERE event_id = ANY(%s::text[])"
        )
        self._generations_sql = (
            f"SELECT stream, max(generation) FROM {s}.events"
            " WHERE stream = ANY(%s::text[]) GROUP BY stream"
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

    # -- the store interface -------------------------------------------------------------

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

    def find_events(
        self, event_ids: Collection[str], streams: Collection[str] = ()
    ) -> dict[str, RecordedEvent]:
        """A page of ids a query, through the index of ids: one round trip for an import's
        chunk, where a read each (a server-side cursor) cost several."""
        return {r.event_id: r for r in records(self._paged(self._find_events_sql, list(event_ids)))}

    def generations(self, streams: Collection[str]) -> dict[str, int]:
        found = dict.fromkeys(streams, 0)
        found.update(self._paged(self._generations_sql, list(found)))
        return found

    def _paged(self, sql: str, values: list[str]) -> list[Any]:
        """The rows of ``sql`` over ``values`` (its one ``%s``, a text array), a page of
        values a query, fetched whole (no cursor: a page's rows are few)."""
        rows: list[Any] = []
        if not values:
            return rows
        try:
            with self._connection() as conn:
                if not self._ensure(conn, create=False):
                    return rows
                for start in range(0, len(values), _PAGE):
                    part = values[start : start + _PAGE]
                    rows += conn.execute(sql, (part,)).fetchall()
        except psycopg.Error as e:
            raise self._error(e) from e
        return rows

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

    def streams(self) -> Iterator[StreamInfo]:
        for name, generation, count in self._rows(
            f"SELECT stream, max(generation), count(*) FROM {self._s}.events"
            " GROUP BY stream ORDER BY stream",
            (),
        ):
            yield StreamInfo(name, generation, count)

    def stream_names(self, prefix: str = "", limit: int = 100) -> list[str]:
        """A loose index scan of the primary key, as on SQLite: one seek a name. The walk
        stops at the first name past the prefix, which is exact under the C collation (the
        order the names are compared in byte by byte); under a linguistic collation names
        of one prefix need not sit together, and a few may be missed (completion only)."""
        rows = self._rows(
            f"WITH RECURSIVE names(stream, n) AS ("
            f" SELECT (SELECT stream FROM {self._s}.events WHERE stream >= %(p)s"
            f" ORDER BY stream LIMIT 1), 1"
            f" UNION ALL SELECT (SELECT e.stream FROM {self._s}.events e"
            f" WHERE e.stream > names.stream ORDER BY e.stream LIMIT 1), n + 1 FROM names"
            f" WHERE starts_with(names.stream, %(p)s) AND n < %(limit)s)"
            f" SELECT stream FROM names WHERE starts_with(stream, %(p)s)",
            {"p": prefix, "limit": limit},
        )
        return [name for (name,) in rows]

    def version_counts(
        self, domains: Collection[str] = (), *, prefix: str = ""
    ) -> list[VersionCount]:
        """One ``GROUP BY`` over the events table, named domains filtered in the query.
        (Not by a range of the primary key, as SQLite does: under the database's collation,
        text between ``D-`` and ``D.`` need not be the names that start with ``D-``.)"""
        domain = "split_part(substr(stream, %(start)s), '-', 1)"
        only = f" AND {domain} = ANY(%(domains)s::text[])" if domains else ""
        return version_counts(
            self._rows(
                f"SELECT {domain}, event_type, type_version, count(*) FROM {self._s}.events"
                f" WHERE left(stream, %(n)s) = %(prefix)s{only} GROUP BY 1, 2, 3",
                {
                    "start": len(prefix) + 1,
                    "n": len(prefix),
                    "prefix": prefix,
                    "domains": list(domains),
                },
            )
        )

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
            "metas": [metadata_json(e.metadata) for e in events],
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

    def waiter(self) -> Waiter:
        """Woken by ``NOTIFY`` (``escli.stores.postgres.wakeup``), not by polling."""
        from escli.stores.postgres.wakeup import ListeningWaiter

        return ListeningWaiter(self)

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
