"""Read -> fold -> handle -> append with the expected generation -> fan out to extra targets.

The store is the source of truth: extra targets (sinks) receive events only after the store
accepted them, and each reports its own result.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from escli.app.fold import event_id_at, fold
from escli.domain.calls import calling, emitted
from escli.domain.codec import encode
from escli.domain.model import Domain, applied, event_meta
from escli.stores.base import NewEvent, RecordedEvent, Store, new_event_id

if TYPE_CHECKING:
    from escli.sinks.base import Delivery, Sink

__all__ = ["DispatchResult", "dispatch", "new_event"]


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


def new_event(event: Any, data: dict[str, Any] | None = None) -> NewEvent:
    """A domain event as the store's ``NewEvent``, with a fresh id; ``data`` is its encoded
    data when that is already at hand."""
    meta = event_meta(event)
    if data is None:
        data = encode(event)
    return NewEvent(meta.event_type, meta.version, meta.source, data, new_event_id())


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


def dispatch(
    domain: Domain,
    command: Any,
    store: Store,
    *,
    sinks: Sequence[Sink] = (),
    dry_run: bool = False,
) -> DispatchResult:
    """Handle ``command`` against its stream's current state and append what it emits.

    All events go in one atomic append that expects the generation the state was folded at,
    and that records them pending for every sink (``escli.app.delivery``) until they arrive;
    ``ConcurrencyConflict`` if the stream moved meanwhile (nothing is written then).
    ``CommandRejected`` from the domain propagates unchanged; any other failure of the
    domain's code is ``DomainError``, before anything is written. With ``dry_run`` nothing is
    written anywhere.
    """
    stream = domain.stream_of(command)
    before = fold(
        domain,
        stream,
        store.read_data(stream),
        ids=lambda generation: event_id_at(store, stream, generation),
    )
    checked, after = decide(domain, command, before)
    events = [event for event, _ in checked]
    if dry_run or not events:
        return DispatchResult(stream, command, before, after, events, [], [], dry_run)
    new = [new_event(event, data) for event, data in checked]
    if not sinks:
        recorded = store.append(stream, new, before.generation)
        return DispatchResult(stream, command, before, after, events, recorded, [])
    targets = [sink.url for sink in sinks]
    recorded = store.append(stream, new, before.generation, pending_for=targets)
    # Imported here: a dispatch without --to (the common one, measured whole-process) need
    # not load the delivery, sink and mirror modules.
    from escli.app.delivery import deliver

    deliveries = [deliver(store, sink, recorded) for sink in sinks]
    return DispatchResult(stream, command, before, after, events, recorded, deliveries)
