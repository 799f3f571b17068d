"""What ``escli projections`` and ``escli view`` show of a view: each projection's status
(checkpoint, head, lag, rows, fresh or stale), the build readers see, and its rows queried.
Read only; the rules of the builds they read are ``escli.app.projections``'s."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, NamedTuple

from escli.app.conditions import Condition
from escli.app.projections import built, other_store, source_of
from escli.domain.fingerprint import projection_fingerprint
from escli.domain.projection import Projection
from escli.errors import UsageError
from escli.stores.views import EventLog, ViewBuild, Views

__all__ = ["Status", "query_rows", "rows_of", "shown_build", "status"]


class Status(NamedTuple):
    """A projection as ``escli projections`` shows it: ``state`` is ``fresh`` (built by this
    code), ``stale`` (other code: rebuild), ``new`` (never built: no build, or one at
    position 0) or ``rebuilding`` (a rebuild was interrupted; the next continues it)."""

    name: str
    position: int
    head: int
    lag: int
    rows: int
    events: int
    state: str
    updated_at: str


def status(projections: Sequence[Projection], log: EventLog, views: Views) -> list[Status]:
    """Each projection's checkpoint, the store's head, the lag and row count (read only).
    The lag is the store's events after the checkpoint, of every domain (``events_after``):
    a subtraction of positions on SQL stores, where counting the domain's alone would read
    its events; the README and ``projections --help`` say so."""
    head = log.head_position()
    shown = []
    for projection in projections:
        builds = views.view_builds(projection.full_name)
        live = next((b for b in builds if b.live), None)
        fingerprint = projection_fingerprint(projection)
        if live is None or not built(live):
            lag = log.events_after(0, up_to=head)
            shown.append(Status(projection.full_name, 0, head, lag, 0, 0, "new", ""))
            continue
        if live.source != source_of(log, views):
            raise other_store(projection, live, log, views, writing=False)
        state = "fresh" if live.fingerprint == fingerprint else "stale"
        if any(not b.live for b in builds):
            state = "rebuilding" if state == "fresh" else state
        shown.append(
            Status(
                projection.full_name,
                live.position,
                head,
                log.events_after(live.position, up_to=head),
                views.count_rows(projection.full_name, live.build),
                live.events,
                state,
                live.updated_at,
            )
        )
    return shown


def shown_build(projection: Projection, views: Views) -> ViewBuild | None:
    """The build whose rows readers see (None before the first run), whatever code built
    it: rows of stale code are still shown, by ``view`` with or without ``--key``; reading
    is no harm, and ``projections`` says they are stale."""
    return next((b for b in views.view_builds(projection.full_name) if b.live), None)


def rows_of(projection: Projection, views: Views) -> Iterable[tuple[str, dict[str, Any]]]:
    """The live rows of ``projection``'s view, by key (none before its first run), stale
    or not (``shown_build``), whatever store they were built from (``query_rows`` checks
    that)."""
    return _scanned(projection, views, shown_build(projection, views))


def _scanned(
    projection: Projection, views: Views, live: ViewBuild | None
) -> Iterator[tuple[str, dict[str, Any]]]:
    """The rows of build ``live`` (none for None), by key."""
    if live is None:
        return
    for key, text in views.scan_view(projection.full_name, live.build):
        yield key, json.loads(text)


def query_rows(
    projection: Projection,
    log: EventLog,
    views: Views,
    *,
    keys: Sequence[str] = (),
    where: Sequence[Condition] = (),
    sort: str | None = None,
    limit: int | None = None,
) -> list[tuple[str, dict[str, Any]]]:
    """The live rows of ``projection`` that ``view`` shows: those of ``keys`` (looked up
    by key) or all, that meet every condition, ordered by ``sort`` (``-FIELD``: descending;
    rows without it last; a field none of them has is a usage error naming those they
    have) else by key, at most ``limit``. Filtering reads the view's rows (its size, not
    the store's); a key is one look-up. Rows built from another store's events than
    ``log``'s are refused (stale code's are shown: see ``shown_build``)."""
    if sort is not None and not sort.removeprefix("-"):
        raise UsageError(f"--sort {sort!r}: name a FIELD (or -FIELD, descending)")
    live = shown_build(projection, views)
    if live is not None and built(live) and live.source != source_of(log, views):
        raise other_store(projection, live, log, views, writing=False)
    if keys:
        if live is None:
            return []
        found = views.view_rows(projection.full_name, live.build, keys)
        rows = [(key, json.loads(found[key])) for key in sorted(found)]
    else:
        rows = list(_scanned(projection, views, live))  # the build read above, not again
    rows = [(k, r) for k, r in rows if all(c.holds(r) for c in where)]
    if sort:
        field = sort.removeprefix("-")
        descending = sort.startswith("-")
        if rows and not any(field in r for _, r in rows):  # a typo, not an order
            fields = ", ".join(dict.fromkeys(f for _, r in rows for f in r)) or "none"
            raise UsageError(
                f"--sort {sort!r}: no row shown has the field {field!r} (their fields: {fields})"
            )
        present = [(k, r) for k, r in rows if r.get(field) is not None]
        missing = [(k, r) for k, r in rows if r.get(field) is None]
        try:
            present.sort(key=lambda kr: kr[1][field], reverse=descending)
        except TypeError:  # values of kinds that do not order: by their text
            present.sort(key=lambda kr: str(kr[1][field]), reverse=descending)
        rows = present + missing
    return rows if limit is None else rows[:limit]
