"""Getting events to extra targets after the store accepted them, and not forgetting those
that did not arrive.

The store is the source of truth. For each (target, stream) the store keeps at most one
*pending* range of generations: events stored but not yet known to have reached that target.
A dispatch's append records its events pending for every target in its own transaction (a
transactional outbox; ``Store.append(pending_for=...)``), so a process killed mid-delivery
leaves them pending. Newer events for that stream queue behind the range, so a target always
receives a stream's events in order: every delivery first re-sends what is pending, and only
then the new events. A success clears the range; a failure leaves it (and records it again,
for a store that could not record it with the append). ``escli publish --pending`` sends the
pending ranges on demand.

A target that lacks a stream's events before those it is handed (``TargetBehind``: a store
target, or a NATS subject, that never had them) gets them from the store first, so it holds
every stream whole and in order. Re-sending is safe for targets that deduplicate by event id
(stores, NATS JetStream's ``Nats-Msg-Id`` and its check of the subject's last message); a
CloudEvents file simply gets the lines again. A target that can tell how many events it
newly stored says so (``Sink.deliver`` returns it), and ``publish`` reports that count.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import NamedTuple

from escli.errors import DeliveryIncomplete, EscliError, noted
from escli.sinks.base import Delivery, Sink, TargetBehind
from escli.stores.base import Pending, RecordedEvent, Store
from escli.urls import unmasked

__all__ = [
    "BATCH",
    "TargetFailed",
    "deliver",
    "pending_targets",
    "publish",
    "publish_each_pending",
    "publish_pending",
    "still_pending",
]

# Events handed to a target in one call when re-sending a range.
BATCH = 1000

# The way out for a target whose password its pending deliveries do not record.
UNRECORDED = (
    "its password is not recorded with what is pending, so it was tried without one: "
    "escli publish --pending --to URL, with the password, sends it"
)


def _batches(records: Iterator[RecordedEvent]) -> Iterator[list[RecordedEvent]]:
    batch: list[RecordedEvent] = []
    for record in records:
        batch.append(record)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _send(store: Store, sink: Sink, batch: Sequence[RecordedEvent]) -> tuple[int, int | None]:
    """Hand ``batch`` to the sink; a target that lacks earlier events of the stream (it was
    not given them before) gets those from the store first, so it holds the stream in order.
    The first generation handed over, and how many the target stored (None: it cannot tell).
    """
    try:
        return batch[0].generation, sink.deliver(batch)
    except TargetBehind as e:
        stream, first = batch[0].stream, batch[0].generation
        counts = [
            sink.deliver(earlier)
            for earlier in _batches(store.read(stream, e.generation + 1, first - 1))
        ]
        counts.append(sink.deliver(batch))
        return e.generation + 1, _total(counts)


def _total(counts: Sequence[int | None]) -> int | None:
    return None if None in counts else sum(c or 0 for c in counts)


def deliver(store: Store, sink: Sink, recorded: Sequence[RecordedEvent]) -> Delivery:
    """Deliver freshly appended events to ``sink``, behind anything pending for their
    stream (the append recorded them pending too); clear the range once they arrived, and
    make sure it is recorded if they did not (whatever stopped it: an error of the target's,
    or Ctrl-C, which is recorded and then goes on)."""
    stream, first, last = recorded[0].stream, recorded[0].generation, recorded[-1].generation
    pending = store.pending(sink.url, stream)
    # A concurrent delivery may have cleared part of this range: never start past ``first``.
    start = min(pending[0].from_generation, first) if pending else first
    try:
        if pending:
            for batch in _batches(store.read(stream, start, first - 1)):
                start = min(start, _send(store, sink, batch)[0])
        start = min(start, _send(store, sink, recorded)[0])
    except EscliError as e:
        store.set_pending(sink.url, stream, start, last)
        return Delivery(sink.url, e, start, last)
    except BaseException:
        store.set_pending(sink.url, stream, start, last)
        raise
    if pending:
        # They arrived: a record the store fails to clear only makes publish --pending send
        # them again (stores and NATS drop what they hold; a file gets the lines twice).
        with contextlib.suppress(EscliError):
            store.clear_pending(sink.url, stream, last)
    return Delivery(sink.url, None, start, last)


class Published(NamedTuple):
    """A range handed to a target (``target``: its name, masked): ``events`` of them, of
    which the target newly stored ``stored`` (None: it cannot tell, as a file cannot)."""

    target: str
    stream: str
    from_generation: int
    to_generation: int
    events: int
    stored: int | None = None


def publish(
    store: Store,
    sink: Sink,
    stream: str,
    from_generation: int = 1,
    to_generation: int | None = None,
) -> Published:
    """Re-send a stream's events (a generation range) to ``sink``, behind the earlier
    events it lacks; clears what it covers of the pending range on success."""
    count, start, last = 0, from_generation, from_generation - 1
    counts: list[int | None] = []
    for batch in _batches(store.read(stream, from_generation, to_generation)):
        first, stored = _send(store, sink, batch)
        counts.append(stored)
        count += batch[-1].generation - first + 1
        start, last = min(start, first), batch[-1].generation
    pending = store.pending(sink.url, stream)
    if count and pending and pending[0].from_generation >= start:
        store.clear_pending(sink.url, stream, last)
    return Published(sink.url, stream, start, last, count, _total(counts) if counts else None)


def publish_pending(store: Store, sink: Sink) -> Iterator[Published]:
    """Send exactly what earlier deliveries to ``sink`` left pending, stream by stream, in
    order, clearing each range once it arrived. Stops at the first failure (it propagates)."""
    pending: list[Pending] = store.pending(sink.url)
    for item in pending:
        yield publish(store, sink, item.stream, item.from_generation, item.to_generation)


class TargetFailed(NamedTuple):
    """A target that ``publish --pending`` could not send its pending events to (it could
    not be opened or reached, or it refused them); what is pending for it stays pending."""

    target: str
    error: EscliError


def pending_targets(store: Store) -> list[str]:
    """The name of every target something is pending for, in order."""
    return sorted({p.target for p in store.pending()})


def publish_each_pending(
    store: Store, targets: Sequence[str], open_target: Callable[[str], Sink]
) -> Iterator[Published | TargetFailed]:
    """What is pending for each of ``targets`` (``open_target`` opens one by its name),
    each target on its own: one that fails is reported (``TargetFailed``) and the next one
    is tried, so one target that is down keeps no other from its events. With a single
    target, its error propagates, as ``publish_pending`` to it would raise it.

    A pending delivery names its target by the URL masked: one whose password was masked is
    opened without it (``escli.sinks.open_recorded``), and its error says so, with the way
    out (``--to URL`` with the password)."""
    for target in targets:
        try:
            yield from publish_pending(store, open_target(target))
        except EscliError as e:
            error = noted(e, UNRECORDED) if unmasked(target) != target else e
            if len(targets) == 1:
                raise error from None
            yield TargetFailed(target, error)


def still_pending(failed: Sequence[TargetFailed], targets: int) -> DeliveryIncomplete:
    """The error that ends a ``publish --pending`` to several targets of which ``failed``
    did not get their events (as a dispatch with several targets ends: exit code 9)."""
    them = "it" if len(failed) == 1 else "them"
    return DeliveryIncomplete(
        f"{len(failed)} of {targets} targets failed: {', '.join(f.target for f in failed)}; "
        f"what is pending for {them} stays pending ('escli pending' lists it)"
    )


class Lacking(NamedTuple):
    """What a target still lacks of a stream (``escli pending``): generations ``from..to``,
    pending since the first of them was stored (its ``recorded_at``; "" if unreadable)."""

    target: str
    stream: str
    from_generation: int
    to_generation: int
    since: str


def lacking(store: Store, target: str | None = None) -> list[Lacking]:
    """Every pending delivery (of ``target``, or of all), with when it began: one read of
    one event per pending range, never of the streams."""
    found = []
    for p in store.pending(target):
        records = store.read(p.stream, p.from_generation, p.from_generation)
        first = next(iter(records), None)
        close = getattr(records, "close", None)
        if close is not None:
            close()
        since = first.recorded_at if first is not None else ""
        found.append(Lacking(p.target, p.stream, p.from_generation, p.to_generation, since))
    return found
