"""Read -> fold -> handle -> append with the expected generation -> fan out to extra targets.

The store is the source of truth: extra targets (sinks) receive events only after the store
accepted them, and each reports its own result.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from escli.app.snapshots import (
    DEFAULT_POLICY,
    Folded,
    SnapshotPolicy,
    due,
    fold_stream,
    snapshot_of,
    take_snapshot,
)
from escli.domain.calls import calling, emitted
from escli.domain.codec import encode
from escli.domain.model import Domain, applied, event_meta
from escli.errors import ConcurrencyConflict
from escli.stores.base import NewEvent, RecordedEvent, Store, Transactional, new_event_id
from escli.stores.metadata import Why
from escli.stores.snapshots import Snapshot

if TYPE_CHECKING:
    from escli.app.projections import Caught
    from escli.domain.projection import Projection
    from escli.sinks.base import Delivery, Sink

__all__ = ["DispatchResult", "dispatch", "dispatch_once", "new_event"]

NO_WHY = Why()  # no ids given: a fresh causation id, correlated to itself


class DispatchResult(NamedTuple):
    """What a dispatch did: the states around it, the events emitted and, unless it was a dry
    run or emitted nothing, their records and each extra target's delivery."""

    stream: str
    command: Any
    before: Any
    after: Any
    events: list[Any]
    recorded: list[RecordedEvent]
    deliveries: list[Delivery]
    dry_run: bool = False
    retries: int = 0  # how many times the stream had moved (``retry``) before this one went in
    folded: Folded | None = None  # how ``before`` was folded, and the snapshot taken (``-v``)
    projected: tuple[Caught, ...] = ()  # the projections updated in the append's transaction


def new_event(
    event: Any, data: dict[str, Any] | None = None, metadata: dict[str, str] | None = None
) -> NewEvent:
    """A domain event as the store's ``NewEvent``, with a fresh id; ``data`` is its encoded
    data when that is already at hand, ``metadata`` why it happened (``Why.metadata``)."""
    meta = event_meta(event)
    if data is None:
        data = encode(event)
    return NewEvent(
        meta.event_type, meta.version, meta.source, data, new_event_id(), None, metadata
    )


def decide(domain: Domain, command: Any, state: Any) -> tuple[list[tuple[Any, Any]], Any]:
    """The events ``command`` emits against ``state``, each with its checked data, and the
    state after them. What the domain prints goes to stderr; its failures, a return value
    that is not a list of its events, an event whose data does not fit its annotations and
    an ``apply_event`` that returns no state are ``DomainError``; ``CommandRejected``
    propagates unchanged."""
    aggregate = domain.aggregate_impl
    with calling(domain, f" (handling {type(command).__name__})"):
        events = emitted(domain, command, aggregate.handle_command(state, command))
        after = state
        for event, _ in events:
            after = applied(aggregate.apply_event, after, event)
    return events, after


# Retrying a command on a stream that moved: waits of RETRY_BASE_S * 2**n (n = 0, 1, ...),
# each at most RETRY_CAP_S, and "full jitter" (a random part of it, so that writers that
# collided do not collide again in step); no retry starts after RETRY_WITHIN_S.
RETRY_BASE_S = 0.005
RETRY_CAP_S = 0.5
RETRY_WITHIN_S = 10.0


def dispatch(
    domain: Domain,
    command: Any,
    store: Store,
    *,
    sinks: Sequence[Sink] = (),
    dry_run: bool = False,
    snapshots: SnapshotPolicy = DEFAULT_POLICY,
    retry: int = 0,
    projections: Sequence[Projection] = (),
    why: Why = NO_WHY,
) -> DispatchResult:
    """``dispatch_once``, and up to ``retry`` more times when the stream moved between the
    read and the append (``ConcurrencyConflict``): each time the stream is read again and
    the command handled again against what it now holds, after a wait (backoff with
    jitter, ``RETRY_*``). A rejection is never retried: the domain said no to the state it
    saw, and a state that moved since is a new question only the caller may ask.

    Every attempt carries the same causation id (``why``'s, else one made up here): a retry
    is the same command handled again, not another one."""
    import time

    if why.causation_id is None:
        why = why._replace(causation_id=new_event_id())

    deadline = time.monotonic() + RETRY_WITHIN_S
    for attempt in range(retry + 1):
        try:
            result = dispatch_once(
                domain,
                command,
                store,
                sinks=sinks,
                dry_run=dry_run,
                snapshots=snapshots,
                projections=projections,
                why=why,
            )
        except ConcurrencyConflict:
            if attempt == retry or time.monotonic() >= deadline:
                raise
            import random  # a retry's only: a dispatch that goes in first need not load it

            time.sleep(random.uniform(0, min(RETRY_CAP_S, RETRY_BASE_S * 2**attempt)))
            continue
        return result._replace(retries=attempt)
    raise AssertionError("unreachable: the last attempt returns or raises")


def dispatch_once(
    domain: Domain,
    command: Any,
    store: Store,
    *,
    sinks: Sequence[Sink] = (),
    dry_run: bool = False,
    snapshots: SnapshotPolicy = DEFAULT_POLICY,
    projections: Sequence[Projection] = (),
    why: Why = NO_WHY,
) -> DispatchResult:
    """Handle ``command`` against its stream's current state and append what it emits.

    All events go in one atomic append that expects the generation the state was folded at,
    and that records them pending for every sink (``escli.app.delivery``) until they arrive;
    ``ConcurrencyConflict`` if the stream moved meanwhile (nothing is written then).
    ``CommandRejected`` from the domain propagates unchanged; any other failure of the
    domain's code is ``DomainError``, before anything is written. With ``dry_run`` nothing is
    written anywhere.

    The fold starts from the stream's newest usable snapshot (``escli.app.snapshots``), and
    when it read ``snapshot_every`` events or more the state after the command is kept as a
    new one, in the append's own transaction where the store has them (a snapshot that
    cannot be kept is no error).

    ``projections`` are caught up in the append's own transaction (``escli.app.projections``),
    so their rows never lag behind a dispatch that succeeded: only on a store that keeps
    views and has transactions (SQLite, PostgreSQL, memory), and refused, before anything is
    read, for a projection whose code changed since its rows were built.

    Every event carries the dispatch's metadata (``escli.stores.metadata``): its causation
    id (``why``'s, else a fresh UUID), correlation id (``why``'s, else the causation id), the
    command's name and ``why``'s free pairs.
    """
    if projections:
        from escli.app.projections import check_inline

        check_inline(projections, store)
    stream = domain.stream_of(command)
    folded = fold_stream(domain, store, stream, policy=snapshots)
    before = folded.state
    checked, after = decide(domain, command, before)
    events = [event for event, _ in checked]
    if dry_run or not events:
        return DispatchResult(
            stream, command, before, after, events, [], [], dry_run, folded=folded
        )
    metadata = why.metadata(command, why.causation_id or new_event_id())
    new = [new_event(event, data, metadata) for event, data in checked]
    targets = [sink.url for sink in sinks]
    snapshot = None
    if due(domain, folded, snapshots, len(new)):
        snapshot = snapshot_of(domain, stream, after, new[-1].event_id)
    recorded, took, projected = _append(
        store, stream, new, before.generation, targets, snapshot, projections
    )
    if took:
        folded = folded._replace(took=after.generation)
    if not sinks:
        return DispatchResult(
            stream, command, before, after, events, recorded, [], folded=folded, projected=projected
        )
    # Imported here: a dispatch without --to (the common one, measured whole-process) need
    # not load the delivery, sink and mirror modules.
    from escli.app.delivery import deliver

    deliveries = [deliver(store, sink, recorded) for sink in sinks]
    return DispatchResult(
        stream,
        command,
        before,
        after,
        events,
        recorded,
        deliveries,
        folded=folded,
        projected=projected,
    )


def _append(
    store: Store,
    stream: str,
    new: list[NewEvent],
    expected: int,
    targets: list[str],
    snapshot: Snapshot | None,
    projections: Sequence[Projection] = (),
) -> tuple[list[RecordedEvent], bool, tuple[Caught, ...]]:
    """The append, and the snapshot and projections with it: in one transaction on a store
    that has them (SQLite, PostgreSQL, memory); the snapshot right after it on one that
    does not (EventStoreDB). The records, whether the snapshot was kept, and the runs."""
    if snapshot is None and not projections:
        if targets:
            return store.append(stream, new, expected, pending_for=targets), False, ()
        return store.append(stream, new, expected), False, ()
    if isinstance(store, Transactional):
        with store.transaction():
            recorded = store.append(stream, new, expected, pending_for=targets)
            took = take_snapshot(store, snapshot)  # a failure undoes itself only
            projected: tuple[Caught, ...] = ()
            if projections:
                from escli.app.projections import catch_up_inline

                projected = catch_up_inline(projections, store)
        return recorded, took, projected
    recorded = store.append(stream, new, expected, pending_for=targets)
    return recorded, take_snapshot(store, snapshot), ()
