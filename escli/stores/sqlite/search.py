"""Search on SQLite (``escli.stores.search.EventSearch``): the query's filters as SQL.

Decisions, measured on 10,000 streams of 10 events (``benchmarks/search_bench.py``):

- **No index of its own.** A search walks the position index (its order is the answer's)
  and stops at ``limit``; one that matches little reads the table once, ~50 ms for 100,000
  events, which answers well within a second. An index on ``event_type`` or
  ``recorded_at`` would change the schema of every store for a few tens of milliseconds.
- **Stream patterns** are ``GLOB`` (case-sensitive, as stream names are); a character set
  goes to SQL as ``?`` and the Python check decides (``Glob.sqlite``). In a search a
  pattern never steers the planner off the position index (``+stream``): a pattern that
  covers most streams (``combat-*``) would otherwise read and sort them all before the
  first of ``limit`` rows (33 ms against 1.5 ms); a stream's exact name seeks its key.
- **Times**: stored times are the text they were given, with whatever offset, so they are
  compared as instants (``julianday``, which reads milliseconds): the bounds are widened by
  2 ms and the Python check decides at the microsecond. A time SQLite cannot read is let
  through to that check.
- **Data conditions** use ``json_type`` and ``json_extract``: a number (or a boolean, which
  Python compares as 0 or 1) against numbers and booleans, a text against texts (by code
  point, as SQLite's binary collation and Python compare them), ``null`` by type; what SQL
  cannot say exactly (an array, an object, a field name with ``"``) only narrows. Past 100
  conditions the rest are left to the Python check (SQLite's expression tree is at most
  1,000 deep).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from escli.errors import NotFound
from escli.stores.base import RecordedEvent, StreamInfo, records
from escli.stores.search import DataCondition, Glob, Query, id_range, instant, paged_search
from escli.stores.sqlite.connection import Connections

__all__ = ["SearchQueries"]

_SELECT = (
    "SELECT stream, generation, event_id, event_type, type_version, source, data,"
    " recorded_at, position, metadata FROM events"
)
_NUMERIC = "('integer', 'real', 'true', 'false')"
_SQL_CONDITIONS = 100  # data conditions given to SQL; the rest only narrow in Python
_INT64 = (-(2**63), 2**63 - 1)  # what SQLite binds as an integer
_SLACK = timedelta(milliseconds=2)  # julianday reads milliseconds; Python decides the rest


def _condition(c: DataCondition) -> tuple[str, list[Any]] | None:
    """SQL that holds for every event ``c`` holds for (a superset), or None: no narrowing."""
    if '"' in c.field or "\\" in c.field:
        return None
    path = f'$."{c.field}"'
    kind, extract = "json_type(data, ?)", "json_extract(data, ?)"
    value, op = c.value, c.op
    if value is None:
        if op == "=":
            return f"{kind} = 'null'", [path]
        if op == "!=":
            return f"{kind} != 'null'", [path]
        return "0", []  # nothing is ordered against null
    if isinstance(value, int) and not _INT64[0] <= value <= _INT64[1]:
        return None  # SQLite cannot bind it: the Python check decides
    if isinstance(value, (bool, int, float)):
        types, value = _NUMERIC, int(value) if isinstance(value, bool) else value
    elif isinstance(value, str):
        types = "('text')"
    else:
        if op == "!=":
            return f"{kind} IS NOT NULL", [path]
        return f"{kind} = ?", [path, "array" if isinstance(value, list) else "object"]
    if op == "!=":
        return (
            f"{kind} IS NOT NULL AND NOT ({kind} IN {types} AND {extract} = ?)",
            [path, path, path, value],
        )
    sql_op = "=" if op == "=" else op
    return f"{kind} IN {types} AND {extract} {sql_op} ?", [path, path, value]


def _stream_clauses(
    pattern: Glob | None, prefix: str, *, seek: bool = True
) -> tuple[list[str], list[Any]]:
    """The stream filters; without ``seek`` a pattern never steers the planner off the
    position index (``+stream``), but a stream's exact name, a seek of the primary key."""
    clauses: list[str] = []
    params: list[Any] = []
    column = "stream" if seek else "+stream"
    if pattern is not None and pattern.parts == (("text", pattern.text),):
        clauses.append("stream = ?")
        params.append(pattern.text)
    elif pattern is not None:
        clauses.append(f"{column} GLOB ?")
        params.append(pattern.sqlite())
    if prefix:
        clauses.append(f"{column} GLOB ?")
        params.append(Glob(prefix + "*", (("text", prefix), ("any", ""))).sqlite())
    return clauses, params


def _time_bound(text: str, slack: timedelta) -> str:
    at = instant(text)
    assert at is not None  # the app checked it
    return (at + slack).isoformat(timespec="microseconds")


class SearchQueries(Connections):
    """``search_events``, ``find_event`` and ``find_streams`` of a SQLite store."""

    def search_events(self, query: Query) -> Iterator[RecordedEvent]:
        clauses, params = _stream_clauses(query.stream, query.prefix, seek=False)
        if query.types:
            clauses.append(f"event_type IN ({','.join('?' * len(query.types))})")
            params.extend(query.types)
        if query.since is not None:
            clauses.append("coalesce(julianday(recorded_at) >= julianday(?), 1)")
            params.append(_time_bound(query.since, -_SLACK))
        if query.until is not None:
            clauses.append("coalesce(julianday(recorded_at) < julianday(?), 1)")
            params.append(_time_bound(query.until, _SLACK))
        # The first conditions only: SQLite's expression tree is at most 1,000 deep, and
        # the Python check applies them all.
        for c in query.where[:_SQL_CONDITIONS]:
            found = _condition(c)
            if found is not None:
                clauses.append(found[0])
                params.extend(found[1])
        where = "".join(f" AND {c}" for c in clauses)

        def candidates(after: int, limit: int | None) -> Iterator[RecordedEvent]:
            sql = f"{_SELECT} WHERE position > ?{where} ORDER BY position"
            if limit is not None:
                sql += f" LIMIT {int(limit)}"
            return records(self._rows(sql, (after, *params)))

        return paged_search(candidates, query)

    def find_event(self, event_id: str) -> RecordedEvent | None:
        found = list(records(self._rows(f"{_SELECT} WHERE event_id = ?", (event_id,))))
        return found[0] if found else None

    def find_events_by_id_prefix(self, prefix: str, limit: int) -> list[RecordedEvent]:
        sql = f"{_SELECT} WHERE event_id >= ? AND event_id < ? ORDER BY event_id LIMIT ?"
        return list(records(self._rows(sql, (*id_range(prefix), limit))))

    def correlated(self, correlation_id: str) -> list[RecordedEvent]:
        """A seek of the correlation index (schema version 2), in position order; a
        version 1 store opened read-only holds no metadata: ``NotFound`` saying so."""
        self._connect(create=False)  # sets has_metadata
        if not self.has_metadata:
            raise NotFound(
                f"store {self.path} holds no metadata: it was written before escli kept "
                "any (schema version 1) and is opened read-only; open it writable once "
                "to migrate it"
            )
        sql = f"{_SELECT} WHERE json_extract(metadata, '$.correlationid') = ? ORDER BY position"
        return list(records(self._rows(sql, (correlation_id,))))

    def first_caused_by(self, causation_id: str) -> RecordedEvent | None:
        self._connect(create=False)  # sets has_metadata
        if not self.has_metadata:
            return None
        sql = (
            f"{_SELECT} WHERE json_extract(metadata, '$.causationid') = ? ORDER BY position LIMIT 1"
        )
        found = list(records(self._rows(sql, (causation_id,))))
        return found[0] if found else None

    def find_streams(self, pattern: Glob | None = None, prefix: str = "") -> Iterator[StreamInfo]:
        clauses, params = _stream_clauses(pattern, prefix)
        where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
        rows = self._rows(
            "SELECT stream, max(generation), count(*) FROM events"
            f"{where} GROUP BY stream ORDER BY stream",
            tuple(params),
        )
        for name, generation, count in rows:
            if pattern is None or pattern.matches(name):
                yield StreamInfo(name, generation, count)

    def events_per_day(self) -> list[tuple[str, int]]:
        # Times are kept with the offset they were written with: the date is taken in UTC.
        return [
            (str(day or ""), int(n))
            for day, n in self._rows(
                "SELECT date(recorded_at), count(*) FROM events GROUP BY 1 ORDER BY 1"
            )
        ]
