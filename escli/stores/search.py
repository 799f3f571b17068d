"""Finding events and streams: the ``EventSearch`` protocol, its ``Query``, the glob patterns
of stream names, and the defaults derived from ``read_all`` and ``streams``.

What a query matches is defined here once, in Python (``event_filter``), and every store
applies it to what it reads. A store that can narrow its reads natively (SQL, EventStoreDB's
server-side filters on ``$all``) asks its database for candidates first; the rule is that
its native filter only ever *narrows to a superset* of the answer, never past it, so the
Python check decides and every store answers alike. Where a native filter is exact (the
usual case: types, a glob without character sets, a time range, comparisons of numbers and
text) the check drops nothing, and ``paged_search`` asks the database for ``limit`` rows
once; where it is looser, it asks again after the last candidate until ``limit`` is met.

Decisions:

- **Globs** (``parse_glob``): ``*`` any run of characters, ``?`` one, ``[abc]``/``[a-z]`` one
  of a set, ``[!abc]`` one not in it, as the shell has them; a ``[`` with no ``]`` is refused
  (``InvalidInput``), not taken literally, so a typo does not silently match nothing. A name
  with none of ``*?[`` is matched whole (a stream's exact name).
- **Times**: ``since`` is inclusive, ``until`` exclusive, so that consecutive windows tile.
  Both are RFC 3339 with an offset; a stored time is compared as the instant it names,
  whatever offset it was written with (SQLite keeps the text it was given).
- **Data conditions** are the ``FIELD OP VALUE`` of ``view --where`` (``DataCondition``: its
  ``holds`` is the definition), on the event data's top-level fields.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol, runtime_checkable

from escli.errors import InvalidInput
from escli.stores.metadata import CAUSATION, CORRELATION

if TYPE_CHECKING:
    from escli.stores.base import RecordedEvent, StreamInfo

__all__ = [
    "DataCondition",
    "EventSearch",
    "Glob",
    "Query",
    "SearchFromReadAll",
    "event_filter",
    "instant",
    "paged_search",
    "parse_glob",
]


class DataCondition(Protocol):
    """A condition on an event's data: ``escli.app.conditions.Condition`` (the parser of
    ``--where`` lives there; stores only read what it made)."""

    @property
    def field(self) -> str: ...

    @property
    def op(self) -> str: ...

    @property
    def value(self) -> Any: ...

    def holds(self, row: dict[str, Any]) -> bool: ...


# -- globs -----------------------------------------------------------------------------------

_SPECIAL = "*?["


class Glob(NamedTuple):
    """A parsed glob: ``parts`` are ``("text", s)``, ``("any", "")``, ``("one", "")`` or
    ``("set", body)`` (``body`` as written between the brackets, ``!`` first to negate)."""

    text: str
    parts: tuple[tuple[str, str], ...]

    @property
    def literal_prefix(self) -> str:
        """The text every match starts with (what an index can seek to)."""
        kind, value = self.parts[0] if self.parts else ("any", "")
        return value if kind == "text" else ""

    def regex(self) -> str:
        """The pattern as a regular expression, unanchored (Python's ``re`` and .NET's,
        which EventStoreDB's filters use, read it alike: escapes and plain classes only)."""
        out = []
        for kind, value in self.parts:
            if kind == "text":
                out.append(re.escape(value))
            elif kind == "any":
                out.append(".*")
            elif kind == "one":
                out.append(".")
            else:
                negate = value.startswith("!")
                body = value[1:] if negate else value
                chars = [
                    c if c == "-" and 0 < i < len(body) - 1 else re.escape(c)
                    for i, c in enumerate(body)
                ]
                out.append(("[^" if negate else "[") + "".join(chars) + "]")
        return "".join(out)

    def matches(self, name: str) -> bool:
        return _compiled(self).fullmatch(name) is not None

    def sqlite(self) -> str:
        """SQLite's ``GLOB`` text: exact but for a set, which becomes ``?`` (a superset)."""
        special = {"*": "[*]", "?": "[?]", "[": "[[]"}
        kinds = {"any": "*", "one": "?", "set": "?"}
        return "".join(
            "".join(special.get(c, c) for c in value) if kind == "text" else kinds[kind]
            for kind, value in self.parts
        )

    def like(self) -> str:
        """A ``LIKE`` pattern (escape ``\\``): exact but for a set, which becomes ``_``."""
        kinds = {"any": "%", "one": "_", "set": "_"}
        return "".join(
            re.sub(r"([\\%_])", r"\\\1", value) if kind == "text" else kinds[kind]
            for kind, value in self.parts
        )


_regexes: dict[Glob, re.Pattern[str]] = {}


def _compiled(glob: Glob) -> re.Pattern[str]:
    found = _regexes.get(glob)
    if found is None:
        found = _regexes[glob] = re.compile(glob.regex(), re.DOTALL)
    return found


def parse_glob(text: str, what: str = "pattern") -> Glob:
    """``text`` as a ``Glob``; ``InvalidInput`` (naming ``what``) for a ``[`` never closed,
    a set whose range runs backwards, or an empty pattern."""
    if not text:
        raise InvalidInput(f"{what} is empty: give a stream name or a glob such as 'combat-*'")
    parts: list[tuple[str, str]] = []
    i = 0
    while i < len(text):
        c = text[i]
        if c == "*":
            if not parts or parts[-1][0] != "any":  # ** is *
                parts.append(("any", ""))
            i += 1
        elif c == "?":
            parts.append(("one", ""))
            i += 1
        elif c == "[":
            start = i + 1
            j = start + (text[start : start + 1] == "!")
            j += text[j : j + 1] == "]"  # a ] first is one of the set
            end = text.find("]", j)
            if end < 0:
                raise InvalidInput(
                    f"{what} {text!r}: the [ at character {i + 1} is never closed "
                    "(write [[] for a literal [)"
                )
            parts.append(("set", text[start:end]))
            i = end + 1
        else:
            j = i
            while j < len(text) and text[j] not in _SPECIAL:
                j += 1
            if parts and parts[-1][0] == "text":
                parts[-1] = ("text", parts[-1][1] + text[i:j])
            else:
                parts.append(("text", text[i:j]))
            i = j
    for kind, body in parts:
        chars = body[1:] if kind == "set" and body.startswith("!") else body
        for k in range(1, len(chars) - 1) if kind == "set" else ():
            if chars[k] == "-" and chars[k - 1] > chars[k + 1]:
                raise InvalidInput(
                    f"{what} {text!r}: the range {chars[k - 1]}-{chars[k + 1]} in [{body}] runs "
                    "backwards (from the lower character to the higher, as in [0-9]; put - "
                    "first or last for a literal -)"
                )
    return Glob(text, tuple(parts))


# -- the query and what it matches ------------------------------------------------------------


class Query(NamedTuple):
    """What ``search_events`` looks for; every part that is given must hold.

    ``types``: event types, any of them (exact names). ``stream``: a glob the stream's whole
    name must match; ``prefix``: text it must start with (a domain: ``combat-``). ``since``
    (inclusive) and ``until`` (exclusive): RFC 3339 times with an offset. ``where``: data
    conditions. ``limit``: at most that many events; ``after``: only events at a position
    after it (to page on from the last event seen)."""

    types: tuple[str, ...] = ()
    stream: Glob | None = None
    prefix: str = ""
    since: str | None = None
    until: str | None = None
    where: tuple[DataCondition, ...] = ()
    limit: int | None = None
    after: int = 0


def instant(text: str) -> datetime | None:
    """The instant an RFC 3339 time names (one without an offset taken as UTC), or None
    when it is not a time."""
    try:
        # Upper case: Python 3.11 reads neither 't' nor 'z', which RFC 3339 allows.
        parsed = datetime.fromisoformat(text.upper())
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def event_filter(query: Query) -> Callable[[RecordedEvent], bool]:
    """Whether a recorded event matches ``query`` (but for ``after`` and ``limit``, which
    the reads apply): the one definition every store's search answers by."""
    types = frozenset(query.types)
    glob, prefix, where = query.stream, query.prefix, query.where
    since = None if query.since is None else instant(query.since)
    until = None if query.until is None else instant(query.until)

    def keep(r: RecordedEvent) -> bool:
        if types and r.event_type not in types:
            return False
        if not r.stream.startswith(prefix) or (glob is not None and not glob.matches(r.stream)):
            return False
        if since is not None or until is not None:
            at = instant(r.recorded_at)
            if at is None or (since is not None and at < since):
                return False
            if until is not None and at >= until:
                return False
        return all(c.holds(r.data) for c in where)

    return keep


def paged_search(
    candidates: Callable[[int, int | None], Iterable[RecordedEvent]], query: Query
) -> Iterator[RecordedEvent]:
    """The events of ``query``, from a store's native filter: ``candidates(after, limit)``
    reads up to ``limit`` (all when None) events after position ``after``, in position
    order, that its filter lets through (a superset of the answer). Each is checked with
    ``event_filter``; a page that came back full without meeting ``limit`` asks for more."""
    keep = event_filter(query)
    after, wanted = query.after, query.limit
    if wanted is not None and wanted <= 0:
        return
    while True:
        asked, seen = wanted, 0
        page = iter(candidates(after, asked))
        try:
            for r in page:
                seen += 1
                after = r.position
                if keep(r):
                    yield r
                    if wanted is not None:
                        wanted -= 1
                        if wanted == 0:
                            return
        finally:
            close = getattr(page, "close", None)  # a generator: release its cursor now
            if close is not None:
                close()
        if asked is None or seen < asked:
            return


@runtime_checkable
class EventSearch(Protocol):
    """Finding events and streams (see the module docstring). Every store offers it:
    ``BaseStore`` derives it from ``read_all`` and ``streams``; SQLite and PostgreSQL answer
    in SQL, EventStoreDB with its server-side filters on ``$all``."""

    def search_events(self, query: Query) -> Iterator[RecordedEvent]:
        """The events that match ``query``, in position order, streamed."""
        ...

    def find_event(self, event_id: str) -> RecordedEvent | None:
        """The event with this id, or None: a look-up in the unique index of ids (a store
        with none, EventStoreDB, reads ``$all`` until it meets it)."""
        ...

    def find_events_by_id_prefix(self, prefix: str, limit: int) -> list[RecordedEvent]:
        """Up to ``limit`` events whose id starts with ``prefix``, by id (the short ids the
        human tables show): a range of the unique index of ids on SQLite and PostgreSQL, a
        read of ``$all`` elsewhere."""
        ...

    def find_streams(self, pattern: Glob | None = None, prefix: str = "") -> Iterator[StreamInfo]:
        """The streams whose names match ``pattern`` (all when None) and start with
        ``prefix``, ordered by name, as ``streams`` lists them."""
        ...

    def events_per_day(self) -> list[tuple[str, int]]:
        """(YYYY-MM-DD, events recorded that day in UTC), by day (``escli stats``): one
        ``GROUP BY`` in SQL, a scan of the log elsewhere."""
        ...

    def correlated(self, correlation_id: str) -> list[RecordedEvent]:
        """Every event whose metadata has this ``correlationid``, across streams, in
        position order (``escli trace``): a seek of an index on SQLite and PostgreSQL, a
        scan of the log elsewhere (EventStoreDB: its ``$bc-`` stream when it has one)."""
        ...

    def first_caused_by(self, causation_id: str) -> RecordedEvent | None:
        """The first event (by position) whose metadata has this ``causationid``, or None
        (``escli trace`` of a command): a seek of an index on SQLite and PostgreSQL, a
        scan of the log elsewhere."""
        ...


def _by_id(r: RecordedEvent) -> str:
    return r.event_id


_LAST_CODE_POINT = "\U0010ffff"


def id_range(prefix: str) -> tuple[str, str]:
    """The ids ``[low, high)`` that start with ``prefix``, in code point order (SQLite's,
    and PostgreSQL's under a C collation): the prefix, and the prefix with its last
    character's successor: the next code point past the surrogates (UTF-8 text holds
    none), a last U+10FFFF dropped and the one before it moved on instead. A prefix of
    U+10FFFF alone has no successor: its range is empty."""
    stem = prefix.rstrip(_LAST_CODE_POINT)
    if not stem:
        return prefix, prefix
    after = ord(stem[-1]) + 1
    if 0xD800 <= after <= 0xDFFF:
        after = 0xE000
    return prefix, stem[:-1] + chr(after)


class SearchFromReadAll:
    """``EventSearch`` from ``read_all`` and ``streams``: a scan of the whole log."""

    def read_all(self, after_position: int = 0) -> Iterator[RecordedEvent]:
        raise NotImplementedError

    def streams(self) -> Iterator[StreamInfo]:
        raise NotImplementedError

    def search_events(self, query: Query) -> Iterator[RecordedEvent]:
        return paged_search(lambda after, _limit: self.read_all(after), query)

    def find_event(self, event_id: str) -> RecordedEvent | None:
        records = self.read_all()
        try:
            return next((r for r in records if r.event_id == event_id), None)
        finally:
            close = getattr(records, "close", None)
            if close is not None:
                close()

    def find_events_by_id_prefix(self, prefix: str, limit: int) -> list[RecordedEvent]:
        found = sorted((r for r in self.read_all() if r.event_id.startswith(prefix)), key=_by_id)
        return found[:limit]

    def find_streams(self, pattern: Glob | None = None, prefix: str = "") -> Iterator[StreamInfo]:
        for info in self.streams():
            if info.stream.startswith(prefix) and (pattern is None or pattern.matches(info.stream)):
                yield info

    def correlated(self, correlation_id: str) -> list[RecordedEvent]:
        return [
            r
            for r in self.read_all()
            if r.metadata and r.metadata.get(CORRELATION) == correlation_id
        ]

    def first_caused_by(self, causation_id: str) -> RecordedEvent | None:
        records = self.read_all()
        try:
            return next(
                (r for r in records if r.metadata and r.metadata.get(CAUSATION) == causation_id),
                None,
            )
        finally:
            close = getattr(records, "close", None)
            if close is not None:
                close()

    def events_per_day(self) -> list[tuple[str, int]]:
        days: dict[str, int] = {}
        for r in self.read_all():
            day = utc_day(r.recorded_at)
            days[day] = days.get(day, 0) + 1
        return sorted(days.items())


def utc_day(recorded_at: str) -> str:
    """The UTC date of an RFC 3339 time ("" when it does not parse)."""
    from datetime import UTC, datetime

    try:
        return datetime.fromisoformat(recorded_at).astimezone(UTC).date().isoformat()
    except ValueError:
        return ""
