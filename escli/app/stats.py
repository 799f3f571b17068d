"""``escli stats``: a store summarised: its streams, events by type and version, the longest
streams, events per day, and how its snapshots and projections stand. Each figure is one
question the store answers natively where it can (a ``GROUP BY`` on SQLite and PostgreSQL):
the summary reads no event's data on them."""

from __future__ import annotations

from typing import NamedTuple

from escli.app.projections import every_projection
from escli.app.snapshots import list_snapshots
from escli.app.view_status import Status, status
from escli.domain.discovery import DomainRegistry
from escli.stores.base import Store, StreamInfo
from escli.stores.counts import VersionCount
from escli.stores.views import Views

__all__ = ["LONGEST", "Stats", "stats"]

LONGEST = 5  # streams shown by length


class Stats(NamedTuple):
    streams: int
    events: int
    versions: list[VersionCount]
    longest: list[StreamInfo]
    per_day: list[tuple[str, int]]
    snapshots: dict[str, int]  # status -> how many (fresh, stale, unknown)
    projections: list[Status]


def stats(store: Store, registry: DomainRegistry, views: Views | None) -> Stats:
    """The summary of ``store`` (projections when ``views`` keeps them: else none)."""
    infos = list(store.streams())
    longest = sorted(infos, key=lambda i: (-i.generation, i.stream))[:LONGEST]
    versions = store.version_counts()
    kept: dict[str, int] = {}
    for listed in list_snapshots(store, registry):
        kept[listed.status] = kept.get(listed.status, 0) + 1
    shown = status(every_projection(registry), store, views) if views is not None else []
    return Stats(
        len(infos),
        sum(i.events for i in infos),
        versions,
        longest,
        store.events_per_day(),
        kept,
        shown,
    )
