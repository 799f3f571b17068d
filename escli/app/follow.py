"""Following streams live: a store subscription, folded into state as events arrive."""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any, NamedTuple

from escli.app.fold import Step, decode_event, event_id_at, fold
from escli.app.snapshots import DEFAULT_POLICY, SnapshotPolicy, fold_stream
from escli.domain.calls import calling
from escli.domain.model import Domain, applied
from escli.errors import InvalidInput, NotFound, StoreError, UnreadableEvent
from escli.stores.base import RecordedEvent, Store

__all__ = ["FollowedStep", "check_stream", "follow", "known_domains"]

DomainFor = Callable[[str], Domain | None]


def known_domains(lookup: Callable[[str], Domain]) -> DomainFor:
    """``lookup`` (like ``DomainRegistry.for_stream``) that answers None, once per stream,
    for a stream whose domain is unknown or whose name has no domain part."""
    cache: dict[str, Domain | None] = {}

    def domain_for(stream: str) -> Domain | None:
        if stream not in cache:
            try:
                cache[stream] = lookup(stream)
            except (NotFound, InvalidInput):
                cache[stream] = None
        return cache[stream]

    return domain_for


def check_stream(store: Store, lookup: Callable[[str], Domain], stream: str) -> None:
    """Refuse a stream that following could only wait on for ever, with replay's errors: a
    name not of the form ``<domain>-<id>`` (``InvalidInput``), or of a domain ``lookup``
    does not know (``NotFound``) unless the store holds the stream (then its events are shown
    without state, as those of any stream of an unknown domain)."""
    try:
        lookup(stream)
    except NotFound:
        if store.generation(stream) == 0:
            raise


class FollowedStep(NamedTuple):
    """One followed event. ``step`` carries the decoded event and the states around it when
    the stream's domain is known and the event applies; else those three are None, and
    ``problem`` says why when the event could not be applied."""

    step: Step
    problem: str | None = None


def follow(
    store: Store,
    domain_for: DomainFor,
    stream: str | None = None,
    *,
    from_generation: int = 1,
    limit: int | None = None,
    poll_interval: float = 0.2,
    snapshots: SnapshotPolicy = DEFAULT_POLICY,
) -> Generator[FollowedStep, None, None]:
    """The events of ``stream`` from ``from_generation`` (of every stream when None), then
    each new one as it is committed, until ``limit`` events or until the caller stops.

    A stream joined midway is first folded up to there, from its newest usable snapshot
    below that point (``escli.app.snapshots``; following takes none itself). An event that
    cannot be applied (its data does not fit its class, the stream has a gap) is still
    shown, with the problem, and that stream's state is not tracked any further: following
    is for watching, and one odd event must not end it. Blocks between events.
    """
    if stream is not None:
        Domain.domain_name_of(stream)  # "" or "ogre" is no stream: never "every stream"
    if limit is not None and limit <= 0:
        return
    after = max(from_generation, 1) - 1 if stream is not None else 0
    states: dict[str, Any] = {}
    untracked: set[str] = set()
    subscription = store.subscribe(stream, after, poll_interval=poll_interval)
    try:
        for count, recorded in enumerate(subscription, start=1):
            name = recorded.stream
            domain = None if name in untracked else domain_for(name)
            if domain is None:
                yield FollowedStep(Step(recorded, None, None, None))
            else:
                try:
                    before = _state_before(store, domain, recorded, states.get(name), snapshots)
                    event = decode_event(domain, recorded)
                except (StoreError, UnreadableEvent) as e:  # undecodable, or no upcaster
                    untracked.add(name)
                    states.pop(name, None)
                    problem = f"{e}; the state of {name} is no longer shown"
                    yield FollowedStep(Step(recorded, None, None, None), problem)
                else:
                    apply = domain.aggregate_impl.apply_event
                    with calling(domain, f" (folding {name} at generation {recorded.generation})"):
                        states[name] = applied(apply, before, event)
                    yield FollowedStep(Step(recorded, event, before, states[name]))
            if limit is not None and count >= limit:
                return
    finally:
        close = getattr(subscription, "close", None)
        if close is not None:
            close()


def _state_before(
    store: Store, domain: Domain, recorded: RecordedEvent, state: Any, policy: SnapshotPolicy
) -> Any:
    """The stream's state just before ``recorded``, folding what was not seen yet: the first
    time a stream is met, from its newest usable snapshot below ``recorded``."""
    if state is None:
        before = recorded.generation - 1
        if before == 0:
            state = domain.initial_state(recorded.stream)
        else:
            state = fold_stream(
                domain, store, recorded.stream, to_generation=before, policy=policy
            ).state
    elif state.generation < recorded.generation - 1:  # what the subscription skipped
        rows = store.read_data(recorded.stream, state.generation + 1, recorded.generation - 1)
        state = fold(
            domain,
            recorded.stream,
            rows,
            state,
            ids=lambda generation: event_id_at(store, recorded.stream, generation),
        )
    if state.generation != recorded.generation - 1:
        raise StoreError(
            f"{recorded.stream}: expected generation {state.generation + 1}, the store gave "
            f"{recorded.generation}; the stream has a gap or is out of order"
        )
    return state
