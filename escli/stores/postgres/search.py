"""Search on PostgreSQL (``escli.stores.search.EventSearch``): the query's filters as SQL.

Decisions, measured on 10,000 streams of 10 events (``benchmarks/search_bench.py``):

- **No index of its own**, as on SQLite: a search walks the position index and stops at
  ``limit``; one that matches little reads the table once, well within a second.
- **Stream patterns** are ``LIKE`` with ``\\`` escaping ``%``, ``_`` and itself; a character
  set goes to SQL as ``_`` and the Python check decides (``Glob.like``).
- **Times** are ``timestamptz`` comparisons, exact to the microsecond.
- **Data conditions** read the ``json`` column with ``->`` and ``->>``: a number (or a
  boolean, which Python compares as 0 or 1) against numbers and booleans, cast only once
  ``json_typeof`` said it is one (a ``CASE``, as ``AND`` fixes no order of evaluation); a
  text against texts under the C collation (code point order, as Python compares);
  ``null`` by type. An array or an object only narrows; the Python check decides.
- The record's columns are those of ``PostgresStore.read_all`` (the contract compares a
  search's records with the log's).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from escli.stores.base import RecordedEvent, StreamInfo, records
from escli.stores.postgres.schema import Schema
from escli.stores.search import DataCondition, Glob, Query, id_range, paged_search

__all__ = ["SearchQueries"]

_UTC = """to_char(recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')"""
_COLUMNS = (
    "stream, generation, event_id, event_type, type_version, source, data::text,"
    f" coalesce(recorded_at_given, {_UTC}), position, metadata::text"
)
_NUMBER = (
    "CASE json_typeof(data->%s::text) WHEN 'number' THEN (data->>%s::text)::{cast}"
    " WHEN 'boolean' THEN ((data->>%s::text) = 'true')::int END"
)
_KIND = "json_typeof(data->%s::text)"


def _condition(c: DataCondition) -> tuple[str, list[Any]] | None:
    """SQL that holds for every event ``c`` holds for (a superset), or None: no narrowing."""
    field, value, op = c.field, c.value, c.op
    if value is None:
        if op in ("=", "!="):
            return f"{_KIND} {op} 'null'", [field]
        return "false", []  # nothing is ordered against null
    if isinstance(value, (bool, int, float)):
        cast = "float8" if isinstance(value, float) else "numeric"
        number = _NUMBER.format(cast=cast)
        value = int(value) if isinstance(value, bool) else value
        if op == "!=":
            return f"{_KIND} IS NOT NULL AND ({number}) IS DISTINCT FROM %s", [field] * 4 + [value]
        return f"({number}) {op} %s", [field] * 3 + [value]
    if isinstance(value, str):
        text = '(data->>%s::text) COLLATE "C"'
        if op == "!=":
            return (
                f"{_KIND} IS NOT NULL AND ({_KIND} <> 'string' OR {text} <> %s)",
                [field, field, field, value],
            )
        return f"{_KIND} = 'string' AND {text} {op} %s", [field, field, value]
    if op == "!=":
        return f"{_KIND} IS NOT NULL", [field]
    return f"{_KIND} = %s", [field, "array" if isinstance(value, list) else "object"]


def _stream_clauses(pattern: Glob | None, prefix: str) -> tuple[list[str], list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if prefix:
        clauses.append("starts_with(stream, %s)")
        params.append(prefix)
    if pattern is not None and pattern.parts == (("text", pattern.text),):
        clauses.append("stream = %s")  # a stream's exact name: a seek of the primary key
        params.append(pattern.text)
    elif pattern is not None:
        clauses.append("stream LIKE %s")
        params.append(pattern.like())
    return clauses, params


class SearchQueries(Schema):
    """``search_events``, ``find_event`` and ``find_streams`` of a PostgreSQL store."""

    def search_events(self, query: Query) -> Iterator[RecordedEvent]:
        clauses, params = _stream_clauses(query.stream, query.prefix)
        if query.types:
            clauses.append("event_type = ANY(%s::text[])")
            params.append(list(query.types))
        if query.since is not None:
            clauses.append("recorded_at >= %s::timestamptz")
            params.append(query.since)
        if query.until is not None:
            clauses.append("recorded_at < %s::timestamptz")
            params.append(query.until)
        for c in query.where:
            found = _condition(c)
            if found is not None:
                clauses.append(found[0])
                params.extend(found[1])
        where = "".join(f" AND {c}" for c in clauses)

        def candidates(after: int, limit: int | None) -> Iterator[RecordedEvent]:
            sql = f"SELECT {_COLUMNS} FROM {self._s}.events WHERE position > %s{where}"
            sql += " ORDER BY position" + ("" if limit is None else f" LIMIT {int(limit)}")
            return records(self._rows(sql, (after, *params)))

        return paged_search(candidates, query)

    def find_event(self, event_id: str) -> RecordedEvent | None:
        sql = f"SELECT {_COLUMNS} FROM {self._s}.events WHERE event_id = %s"
        found = list(records(self._rows(sql, (event_id,))))
        return found[0] if found else None

    def find_events_by_id_prefix(self, prefix: str, limit: int) -> list[RecordedEvent]:
        # The range holds the ids that start with the prefix only in code point order: under
        # a database's linguistic collation (en_US, ICU) punctuation sorts apart, and an id
        # of prefix '2700b9' would sort after the bound '2700b:'. Hence COLLATE "C", which a
        # new store's ids have (their unique index serves) and a migrated one indexes.
        sql = (
            f'SELECT {_COLUMNS} FROM {self._s}.events WHERE event_id COLLATE "C" >= %s'
            ' AND event_id COLLATE "C" < %s ORDER BY event_id COLLATE "C" LIMIT %s'
        )
        return list(records(self._rows(sql, (*id_range(prefix), limit))))

    def correlated(self, correlation_id: str) -> list[RecordedEvent]:
        """A scan of the ``events_correlation`` index, in position order."""
        sql = (
            f"SELECT {_COLUMNS} FROM {self._s}.events"
            " WHERE metadata->>'correlationid' = %s ORDER BY position"
        )
        return list(records(self._rows(sql, (correlation_id,))))

    def first_caused_by(self, causation_id: str) -> RecordedEvent | None:
        """A seek of the ``events_causation`` index."""
        sql = (
            f"SELECT {_COLUMNS} FROM {self._s}.events"
            " WHERE metadata->>'causationid' = %s ORDER BY position LIMIT 1"
        )
        found = list(records(self._rows(sql, (causation_id,))))
        return found[0] if found else None

    def find_streams(self, pattern: Glob | None = None, prefix: str = "") -> Iterator[StreamInfo]:
        clauses, params = _stream_clauses(pattern, prefix)
        where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
        rows = self._rows(
            f"SELECT stream, max(generation), count(*) FROM {self._s}.events"
            f"{where} GROUP BY stream ORDER BY stream",
            tuple(params),
        )
        for name, generation, count in rows:
            if pattern is None or pattern.matches(name):
                yield StreamInfo(name, generation, count)

    def events_per_day(self) -> list[tuple[str, int]]:
        rows = self._rows(
            f"SELECT to_char(recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'), count(*)"
            f" FROM {self._s}.events GROUP BY 1 ORDER BY 1",
            (),
        )
        return [(str(day), int(n)) for day, n in rows]
