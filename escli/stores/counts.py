"""How many events a store holds of each (domain, event type, type version): what
``escli versions`` asks of a store (``EventStore.version_counts``), and the default that
counts by reading the global log.

Decisions:

- **The domain** of a stream is its name's part before the first ``-`` (the whole name when
  it has none), read after ``prefix``: a namespaced view passes its own, so that the store
  underneath counts only the view's streams and names their domains as the view sees them.
- **Where the counting is done**: in the store, as close to the data as it allows. SQLite
  and PostgreSQL answer with one ``GROUP BY`` (SQLite reads only the named domains' range
  of its primary key); the memory store and EventStoreDB count what ``read_all`` gives
  (``count_versions``): EventStoreDB keeps no index of types or versions, and reading
  ``$all`` is the only way to see every event there.
- **The order** is the records' own (domain, type, version as text), made in Python for
  every store: a database's collation would order text its own way. The caller orders
  versions as versions (``escli.domain.upcasting.version_key``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from escli.stores.base import RecordedEvent

__all__ = ["VersionCount", "count_versions", "domain_of", "version_counts"]


class VersionCount(NamedTuple):
    """``events`` events of ``event_type`` at ``type_version`` in the streams of ``domain``."""

    domain: str
    event_type: str
    type_version: str
    events: int


def domain_of(stream: str, prefix: str = "") -> str:
    """The domain of ``stream`` (which starts with ``prefix``): see the module's decisions."""
    return stream[len(prefix) :].partition("-")[0]


def version_counts(rows: Iterable[tuple[str, str, str, int]]) -> list[VersionCount]:
    """Rows of (domain, type, version, count) as sorted records."""
    return sorted(VersionCount(d, t, v, int(n)) for d, t, v, n in rows)


def count_versions(
    events: Iterable[RecordedEvent], domains: Collection[str] = (), prefix: str = ""
) -> list[VersionCount]:
    """The counts of ``events`` whose stream starts with ``prefix`` and, when ``domains``
    names any, is of one of them: one pass, the events streamed."""
    wanted = frozenset(domains)
    counts: Counter[tuple[str, str, str]] = Counter()
    for r in events:
        if not r.stream.startswith(prefix):
            continue
        domain = domain_of(r.stream, prefix)
        if not wanted or domain in wanted:
            counts[domain, r.event_type, r.type_version] += 1
    return version_counts((*key, n) for key, n in counts.items())
