"""Running projections: catching a view up with the store's global log, in batches that each
commit rows and checkpoint together; rebuilding it beside the live rows; following it; and
what ``escli projections`` and ``escli view`` show of a view is ``escli.app.view_status``.

The rules, each decided here once:

- **One transaction per batch** (``BATCH`` events of the log): the rows the batch changed and
  the new checkpoint are written together, from the checkpoint the batch started at
  (``Views.write_view``), so a run killed at any point leaves rows that are exactly the
  events up to its checkpoint, and running again continues there: the rows a rebuild gives.
  Memory holds one batch of events and the rows it touches, whatever the log's length.
- **Up to a head read first**: a run reads the store's head position, then the log up to
  it; positions are handed out in commit order, so every event at or below the head is
  there to read, and a batch with no event of the domain still moves the checkpoint.
- **A build is of one event store**: each records the store its rows come from
  (``ViewBuild.source``: ``""`` for views kept in the store's own database, else the
  store's ``log_name``, when ``--views`` keeps them elsewhere). A run, a ``view`` or
  ``projections`` on a build of another store is refused (``ProjectionStale``, exit 15,
  naming both stores), nothing written: rows of two stores would be neither's. Another
  ``--views``, or ``--rebuild`` (which builds from this store beside it and switches
  over), is the way on. A build from before builds recorded their store reads as the
  store's own (``escli.stores.views``).
- **Stale code is refused**: a view built by other code (``projection_fingerprint``) is not
  caught up: mixing its rows with the new code's would be neither. ``rebuild`` builds a
  new one from position 0 beside it and switches over in one transaction; an interrupted
  rebuild of the same code is continued by the next one.
- **A build at position 0 was never built**: no batch committed to it, so it holds no row,
  whatever code (or store) started it: a first run that failed (the projection raised,
  returned what is not a row, met an unreadable event) or was killed right after making
  its build record. It is not stale: ``projections`` says ``new``, and the next run starts
  it again with its own code. A dispatch's projections make their first build inside the
  dispatch's transaction, so a failed dispatch leaves none at all.
- **Events of the projection's domain only** (streams ``<domain>-...``), of the classes
  its annotation names, decoded as a fold decodes them (upcasters first); an event the
  domain cannot read stops the run, as it stops a replay, with what was done kept.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from escli.app.batches import Batcher, Empty
from escli.domain.discovery import DomainRegistry
from escli.domain.fingerprint import projection_fingerprint
from escli.domain.model import Domain
from escli.domain.projection import Projection
from escli.errors import InvalidInput, NotFound, ProjectionStale, UsageError, wrote_nothing
from escli.stores.base import Store
from escli.stores.views import CheckpointMoved, EventLog, ViewBuild, Views, log_row
from escli.suggest import did_you_mean, stream_not_found

__all__ = [
    "BATCH",
    "Caught",
    "built",
    "catch_up",
    "catch_up_inline",
    "check_inline",
    "find_projection",
    "follow",
    "other_store",
    "rebuild_key",
    "source_of",
]

BATCH = 20_000  # events of the log per transaction


class Caught(NamedTuple):
    """What a run did: ``events`` given to the projection, ``scanned`` read from the log,
    the checkpoint it ended at, whether it rebuilt the view, and how many times another
    runner's write made it read the checkpoint again (``reread``)."""

    name: str
    build: int
    events: int
    scanned: int
    position: int
    rebuilt: bool = False
    reread: int = 0


def find_projection(registry: DomainRegistry, name: str) -> Projection:
    """The projection ``<domain>.<name>``; ``NotFound`` naming the known ones otherwise."""
    domain_name, dot, short = name.partition(".")
    if not dot or not short:
        raise UsageError(f"projection {name!r} is not of the form <domain>.<name> (combat.roster)")
    domain = registry.get(domain_name)
    found = domain.projections.get(short)
    if found is None:
        known = ", ".join(f"{domain.name}.{n}" for n in sorted(domain.projections)) or "none"
        raise NotFound(
            f"domain {domain.name!r} has no projection {short!r} (known: {known})"
            + did_you_mean(name, [f"{domain.name}.{n}" for n in domain.projections])
        )
    return found


def every_projection(registry: DomainRegistry) -> list[Projection]:
    """The projections of every domain ``registry`` lists, by full name."""
    found = [p for name in registry.names() for p in registry.get(name).projections.values()]
    return sorted(found, key=lambda p: p.full_name)


def _stale(projection: Projection, build: ViewBuild) -> ProjectionStale:
    return ProjectionStale(
        f"{projection.full_name}: its code changed since its rows were built; nothing was "
        f"written (escli project {projection.full_name} --rebuild builds them again)"
    )


def built(build: ViewBuild) -> bool:
    """Whether a batch ever committed to ``build`` (see the module docstring)."""
    return build.position > 0


def source_of(log: EventLog, views: Views) -> str:
    """What a build in ``views`` of ``log``'s events records as its source: ``""`` when
    ``views`` is that store itself (the same object, or the same store by name), else
    ``log.log_name``."""
    if isinstance(views, EventLog) and (views is log or views.log_name == log.log_name):
        return ""
    return log.log_name


def _views_name(views: Views) -> str:
    return views.log_name if isinstance(views, EventLog) else repr(views)


def other_store(
    projection: Projection, build: ViewBuild, log: EventLog, views: Views, *, writing: bool
) -> ProjectionStale:
    """The refusal of a build made from another store's events than ``log``'s."""
    name, kept = projection.full_name, _views_name(views)
    built = build.source or kept
    refused = (
        f"{name}: its rows in {kept} were built from the events of {built}, not of {log.log_name}"
    )
    then = (
        f" (another --views URL keeps {log.log_name}'s rows apart, or escli project {name}"
        f" --rebuild builds them again from {log.log_name})"
    )
    if writing:
        return wrote_nothing(ProjectionStale(), refused, then)
    return ProjectionStale(refused + then)


def live_build(
    projection: Projection, log: EventLog, views: Views, *, create: bool = True
) -> ViewBuild | None:
    """The live build of ``projection``'s view of ``log``'s events, made (empty, at position
    0) when it has none and ``create``; ``ProjectionStale`` when other code built it, or
    from another store's events."""
    builds = views.view_builds(projection.full_name)
    live = next((b for b in builds if b.live), None)
    fingerprint = projection_fingerprint(projection)
    source = source_of(log, views)
    mine = (fingerprint, source)
    if live is not None and not built(live) and (live.fingerprint, live.source) != mine:
        live = None  # never built: started again by this code, from this store
    if live is None:
        if not create:
            return None
        return views.start_build(projection.full_name, fingerprint, live=True, source=source)
    if live.source != source:
        raise other_store(projection, live, log, views, writing=True)
    if live.fingerprint != fingerprint:
        raise _stale(projection, live)
    return live


def check_inline(projections: Sequence[Projection], store: Store) -> None:
    """Refuse what a dispatch cannot update in its own transaction: a store without views
    or transactions (EventStoreDB: run ``escli project NAME --follow`` beside it), or a
    projection whose code changed (``ProjectionStale``). Nothing is written: a view's first
    build is made in the dispatch's transaction (``catch_up_inline``)."""
    from escli.stores.base import Transactional

    if not isinstance(store, Views) or not isinstance(store, Transactional):
        raise UsageError(
            f"{store.url} cannot update projections in a dispatch's transaction (it keeps no "
            "rows, or has no transactions): run escli project NAME --follow beside it"
        )
    for projection in projections:
        live_build(projection, store, store, create=False)


def catch_up_inline(projections: Sequence[Projection], store: Any) -> tuple[Caught, ...]:
    """Each projection caught up inside the caller's transaction (``dispatch``): normally
    just the events the dispatch appended, else whatever its view lagged behind too. A
    runner beside it (``project --follow``) that moved the checkpoint meanwhile undoes only
    that batch's write (a savepoint), and ``catch_up`` reads the checkpoint again, so a
    dispatch does not fail for a view's race."""
    return tuple(catch_up(projection, store, store) for projection in projections)


def _target(
    projection: Projection,
    log: EventLog,
    views: Views,
    *,
    rebuild: bool,
    previous: ViewBuild | None = None,
) -> ViewBuild:
    """The build a run writes to, read again (``previous``: the one it wrote to until
    another runner moved it). A catch-up writes to the live build, whichever it is now
    (``live_build``). A rebuild goes on with its own build (live by now if another
    rebuilder switched it over), else joins one of the same code and store beside the
    live one, else starts one; its build gone (replaced by a rebuild of other code or of
    another store, or the view dropped) ends it: ``CheckpointMoved``."""
    if not rebuild:
        found = live_build(projection, log, views)
        assert found is not None
        return found
    name, fingerprint = projection.full_name, projection_fingerprint(projection)
    source = source_of(log, views)
    builds = views.view_builds(name)
    same = next((b for b in builds if previous is not None and b.build == previous.build), None)
    joined = next(
        (b for b in builds if not b.live and (b.fingerprint, b.source) == (fingerprint, source)),
        None,
    )
    found = same or joined
    if found is not None:
        return found
    if previous is not None:
        raise CheckpointMoved(name, previous.position, None)
    return views.start_build(name, fingerprint, live=not any(b.live for b in builds), source=source)


def catch_up(
    projection: Projection,
    log: EventLog,
    views: Views,
    *,
    rebuild: bool = False,
    batch: int = BATCH,
    progress: Callable[[int, int], None] | None = None,
) -> Caught:
    """Bring ``projection``'s view up to the store's head (see the module docstring); with
    ``rebuild``, a new build from position 0, made live at the end. ``progress(done,
    total)`` is told, in events of the log, once before the first batch (``done`` 0) and
    after each.

    A second runner at work on the view (another ``project``, a follower, a dispatch's
    projection) makes it read again: a batch it wrote first leaves this one's write
    refused (``CheckpointMoved``, nothing written), and the run reads the build again
    (``_target``), forgets the rows it kept (the view changed under them) and goes on from
    that checkpoint, ending at once when the other went past this run's head. So both
    end, each batch applied by one of them. The run follows the view's live build: one a
    rebuild switched over (refused as stale if other code built it), or one made after a
    drop."""
    name = projection.full_name
    target = _target(projection, log, views, rebuild=rebuild)
    rebuilt = not target.live
    head = log.head_position()
    start = position = target.position
    events = scanned = reread = 0
    # Progress in events of the log, from positions (dense on SQL stores, byte offsets on
    # EventStoreDB): one count at the start, none per batch.
    total = log.events_after(position, up_to=head) if progress is not None else 0
    if progress is not None:
        progress(0, total)
    prefix = projection.domain.name + Domain.STREAM_SEPARATOR
    run = Batcher(projection, views, target.build, empty=position == 0)
    while True:
        try:
            while position < head:
                rows = log.read_log(position, batch, up_to=head, prefix=prefix)
                # A full page ends at its last position, the last page at the head.
                end = rows[-1][0] if len(rows) >= batch else head
                given, changed = run.apply(rows)
                views.write_view(
                    name, target.build, changed, after=position, position=end, events=given
                )
                if progress is not None:
                    done = round(total * (end - start) / (head - start))
                    progress(min(max(done, 0), total), total)
                scanned += len(rows)
                position, events = end, events + given
            if not target.live:
                views.switch_build(name, target.build)
            break
        except CheckpointMoved:
            target = _target(projection, log, views, rebuild=rebuild, previous=target)
            position = target.position
            run.reset(target.build, empty=position == 0)
            reread += 1
    return Caught(name, target.build, events, scanned, position, rebuilt, reread)


def rebuild_key(projection: Projection, store: Store, views: Views, stream: str) -> Caught:
    """The row of ``stream`` built again from its own events up to the view's checkpoint,
    in one transaction (a row the view holds wrong, say after a bug fix of the same code).
    Only for a projection keyed by stream: another key's row may come from any stream. A
    stream the store does not hold is not found (a typo would otherwise "succeed" on no
    events); one whose events the projection turns into no row is rebuilt to none."""
    if projection.key is not None:
        raise UsageError(
            f"{projection.full_name} has its own key: --stream rebuilds the row of a stream "
            "only for a projection keyed by stream; rebuild the whole view (--rebuild)"
        )
    domain = projection.domain
    try:
        domain.stream_id(stream)
    except InvalidInput:
        raise InvalidInput(
            f"--stream {stream!r} is not of domain {domain.name!r} (its streams are "
            f"{domain.stream_name('<id>')}, the only ones {projection.full_name} reads)"
        ) from None
    live = live_build(projection, store, views, create=False)
    name = projection.full_name
    if live is None:
        raise NotFound(f"{name} has no rows yet: run escli project {name}")
    stored = list(store.read(stream))
    if not stored:  # as a replay says it, with the names it holds that look alike
        raise stream_not_found(store, stream)
    run = Batcher(projection, Empty(), live.build, empty=True)  # the row built from nothing
    rows = [log_row(r) for r in stored if r.position <= live.position]
    given, changed = run.apply(rows)
    changed.setdefault(stream, None)  # no event of it: no row
    views.write_view(
        name, live.build, changed, after=live.position, position=live.position, events=0
    )
    return Caught(projection.full_name, live.build, given, len(rows), live.position)


# The shortest time between two runs of a follower. Waking on every append, a follower of a
# busy store would run a transaction per append and slow the appends it follows (measured
# on PostgreSQL: a quarter slower than beside a follower polling every 0.2 s); a run at
# most every 50 ms takes them in batches, and a quiet store's next event is still taken at
# once.
FOLLOW_SETTLE_S = 0.05


def follow(
    projections: Sequence[Projection],
    log: EventLog,
    views: Views,
    *,
    stop_every: float = 0.5,
    on_caught: Callable[[Caught], None] | None = None,
    stop: Callable[[], bool] = lambda: False,
) -> None:
    """Catch each projection up again whenever the store's head moves, until ``stop()``
    (or Ctrl-C). Between runs it sleeps until the store wakes it (``log.waiter()``, see
    ``escli.stores.wakeup``): ``PRAGMA data_version`` polled on SQLite, ``LISTEN`` on
    PostgreSQL, a catch-up subscription to ``$all`` on EventStoreDB, the head polled in
    memory. A wake-up is a hint only: each run reads up to the head it reads itself. The
    wait ends at least every ``stop_every`` seconds (at most 0.5), so ``stop()`` is asked
    and Ctrl-C felt while the store is idle. Runs start at most every ``FOLLOW_SETTLE_S``:
    the first event after a quiet spell is taken at once, a busy store's events in runs
    of what came meanwhile. ``on_caught`` is told of each run that read events."""
    timeout = min(stop_every, 0.5)
    seen = -1  # catch up at once: what came since the caller's own run is not skipped
    last_run = -FOLLOW_SETTLE_S
    with log.waiter() as waiter:
        while not stop():
            head = log.head_position() if seen < 0 else waiter.wait_beyond(seen, timeout)
            if head <= seen:
                continue
            rest = last_run + FOLLOW_SETTLE_S - time.monotonic()
            if rest > 0:
                time.sleep(rest)  # the run reads its own head: it takes what came meanwhile
            last_run = time.monotonic()
            reached = []
            for projection in projections:
                caught = catch_up(projection, log, views)
                reached.append(caught.position)
                if on_caught is not None and caught.scanned:
                    on_caught(caught)
            # Each run went at least to ``head``, maybe further (a later head of its own):
            # what every one of them has seen is not news at the next wait.
            seen = max(head, min(reached, default=head))
