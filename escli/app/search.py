"""Finding things: the use cases of ``escli streams PATTERN``, ``escli events`` and
``escli event ID``. The store does the searching (``escli.stores.search``); this module
turns what a person typed into a ``Query``, refusing bad input with one clear error, and
works out what an event changed in its stream.

Decisions:

- ``--where`` is ``view --where``'s ``FIELD OP VALUE`` (``where_condition``: one parser).
- ``--since``/``--until`` are RFC 3339 times with an offset (``Z``, ``+01:00``), or a date
  (``2024-03-04``, midnight UTC); ``--since`` is inclusive, ``--until`` exclusive. A time
  without an offset is refused rather than guessed: a search's answer must not depend on
  the machine's time zone.
- ``--domain D`` is the streams named ``D-...``.
- A listing of streams counts every match, and shows at most ``limit``.
- ``escli event`` shows the state change an event made by folding its stream up to the
  generation before it (from a snapshot, as ``replay`` does) and applying it. An event of
  a domain escli cannot load or read is still shown, with why its state is not.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import NamedTuple

from escli.app.conditions import where_condition
from escli.app.fold import Step, decode_event
from escli.app.snapshots import DEFAULT_POLICY, SnapshotPolicy, fold_stream
from escli.domain.calls import calling
from escli.domain.discovery import DomainRegistry
from escli.domain.state import applied
from escli.errors import InvalidInput, NotFound, UnreadableEvent, UsageError
from escli.stores.base import RecordedEvent, Store, StreamInfo
from escli.stores.search import Query, parse_glob
from escli.times import RANGE, out_of_range

__all__ = [
    "EventShown",
    "Listing",
    "event_query",
    "list_streams",
    "parse_time",
    "show_event",
]


_DATE = re.compile("[0-9]{4}-[0-9]{2}-[0-9]{2}")
# RFC 3339's date-time (a space for the 'T', as its note allows, and the seconds optional:
# 12:00Z), upper-cased; group 1 is the fraction of a second.
_TIMESTAMP = re.compile(
    "[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:[.]([0-9]+))?)?"
    "(?:Z|[+-][0-9]{2}:[0-9]{2})"
)


def parse_time(text: str, option: str) -> str:
    """``text`` as the RFC 3339 UTC time a store compares with; ``InvalidInput`` naming
    ``option`` when it is not a time with an offset, nor a date."""
    upper = text.strip().upper()  # Python 3.11 reads neither 't' nor 'z'
    not_a_time = InvalidInput(
        f"{option} {text!r} is not a time: give RFC 3339 with an offset "
        "(2024-03-04T14:03:27Z, 2024-03-04T15:03:27+01:00) or a date (2024-03-04)"
    )
    try:
        parsed = datetime.fromisoformat(upper)
    except ValueError:
        raise not_a_time from None
    if len(upper) == 10:  # a date alone: its midnight in UTC
        if _DATE.fullmatch(upper) is None:  # Python reads ISO week dates too (2026-W01-1)
            raise not_a_time
        parsed = parsed.replace(tzinfo=UTC)
    elif parsed.tzinfo is None:
        raise InvalidInput(f"{option} {text!r} has no offset: add Z (UTC), or one such as +01:00")
    elif (shape := _TIMESTAMP.fullmatch(upper)) is None:  # Python reads more than RFC 3339
        raise not_a_time
    elif len(shape.group(1) or "") > 6:
        raise InvalidInput(
            f"{option} {text!r} has digits past the microsecond, which escli cannot keep"
        )
    if out_of_range(upper if len(upper) != 10 else upper + "T00:00:00Z"):
        raise InvalidInput(f"{option} {text!r} is out of range: {RANGE}")
    return parsed.astimezone(UTC).isoformat(timespec="microseconds")


def _domain_prefix(domain: str | None) -> str:
    if domain is None:
        return ""
    if not domain or "-" in domain:
        raise InvalidInput(
            f"--domain {domain!r}: a domain's name has no '-' (its streams are DOMAIN-ID; "
            "a stream is chosen with a pattern)"
        )
    return domain + "-"


def event_query(
    *,
    types: Sequence[str] = (),
    stream: str | None = None,
    domain: str | None = None,
    since: str | None = None,
    until: str | None = None,
    where: Sequence[str] = (),
    limit: int | None = None,
    after: int = 0,
) -> Query:
    """What ``escli events`` asked for, checked (see the module docstring)."""
    query = Query(
        types=tuple(dict.fromkeys(types)),
        stream=None if stream is None else parse_glob(stream, "--stream"),
        prefix=_domain_prefix(domain),
        since=None if since is None else parse_time(since, "--since"),
        until=None if until is None else parse_time(until, "--until"),
        where=tuple(where_condition(w) for w in where),
        limit=limit,
        after=after,
    )
    if query.since is not None and query.until is not None and query.since >= query.until:
        raise UsageError(f"--since {since} is not before --until {until}: nothing can match")
    return query


def search(store: Store, query: Query) -> Iterator[RecordedEvent]:
    """The events ``query`` finds, in position order (the store's ``search_events``)."""
    return store.search_events(query)


class Listing(NamedTuple):
    """The streams a listing shows (at most its limit) and how many matched in all."""

    streams: list[StreamInfo]
    matched: int


def list_streams(
    store: Store,
    pattern: str | None = None,
    *,
    domain: str | None = None,
    limit: int | None = None,
) -> Listing:
    """The streams whose names match ``pattern`` (a glob, or a name) in ``domain``, by
    name: the first ``limit`` of them, and the count of all."""
    glob = None if pattern is None else parse_glob(pattern, "pattern")
    shown: list[StreamInfo] = []
    matched = 0
    for info in store.find_streams(glob, _domain_prefix(domain)):
        matched += 1
        if limit is None or len(shown) < limit:
            shown.append(info)
    return Listing(shown, matched)


class EventShown(NamedTuple):
    """One event, and the step it made in its stream (its state before and after); the
    step is None when the stream's domain cannot say (``why`` then says why)."""

    recorded: RecordedEvent
    step: Step | None
    why: str | None


SHORT_ID = 4  # the fewest characters of an id taken as its prefix
SHOWN_AMBIGUOUS = 5


def _by_prefix(store: Store, prefix: str) -> RecordedEvent:
    if "…" in prefix:
        # A table shows a time-ordered UUID by its end and a long id by both ends
        # (``escli.cli.shorten.short_id``); only a start is found in the index of ids.
        raise UsageError(
            f"{prefix!r} is an id shortened for a table (not its start); give the whole id"
            " (escli events --json shows it) or its first 4 or more characters"
        )
    found = (
        store.find_events_by_id_prefix(prefix, SHOWN_AMBIGUOUS + 1)
        if len(prefix) >= SHORT_ID
        else []
    )
    if not found:
        short = f" (a short id is {SHORT_ID} characters or more)" if len(prefix) < SHORT_ID else ""
        raise NotFound(f"no event {prefix!r} in {store.url}{short}")
    if len(found) > 1:
        shown = ", ".join(f"{r.event_id} ({r.stream})" for r in found[:SHOWN_AMBIGUOUS])
        more = ", ..." if len(found) > SHOWN_AMBIGUOUS else ""
        raise UsageError(
            f"{prefix!r} begins the ids of several events: {shown}{more}; give more of the id"
        )
    return found[0]


def show_event(
    store: Store,
    registry: DomainRegistry,
    event_id: str,
    *,
    policy: SnapshotPolicy = DEFAULT_POLICY,
) -> EventShown:
    """The event ``event_id`` (its whole id, or a prefix of at least ``SHORT_ID`` characters
    that only it has: the short ids the human tables show) and what it changed; ``NotFound``
    when the store has none, ``UsageError`` naming them when several share the prefix."""
    recorded = store.find_event(event_id) or _by_prefix(store, event_id)
    stream = recorded.stream
    try:
        domain = registry.for_stream(stream)
        before = fold_stream(
            domain, store, stream, to_generation=recorded.generation - 1, policy=policy
        ).state
        event = decode_event(domain, recorded)
    except (NotFound, InvalidInput, UnreadableEvent) as e:
        return EventShown(recorded, None, str(e))
    with calling(domain, f" (applying {stream} generation {recorded.generation})"):
        after = applied(domain.aggregate_impl.apply_event, before, event)
    return EventShown(recorded, Step(recorded, event, before, after), None)
