"""Mirroring: append to a store what it lacks of another's events, with the same ids at the
same generations, and refuse a target that has diverged.

The store sink (``escli.sinks.store``), ``copy`` (``escli.app.copy``) and ``import``
(``escli.cloudevents.importing``) all mirror through here, so they follow one rule.

The rule, per stream. The events being mirrored are the source's at generations
``first..last``. The target's events at those generations, and only those (a read of
``first..last``, never the whole stream or store), are compared with them in order:

- the same id with the same content at the same generation: the target holds that event
  already, and it is skipped;
- another id, or the same id with other content: the target has diverged. ``Diverged``
  names the target, the stream and the first generation that differs, and is raised
  before anything is written to that stream (a caller that mirrors several streams checks
  every one first, or undoes its writes in a transaction: bad input writes nothing);
- the target ends before ``last``: the rest is appended right after what it holds, with that
  expected generation, so no other writer's event can slip in between. A target that ends
  before ``first - 1`` lacks earlier events: ``TargetBehind`` (the sender sends those first).

The content is compared, not only the id, because an id names one event: another event
under a known id (an edited export imported again, a target written by something else)
would be taken as held, and the difference never seen. Every field the mirror writes is
compared (``difference``): type, type version, source, time and data. The time too, because
mirroring keeps it (``RecordedEvent.as_new``, a file's ``time``) and every store reads it
back exactly as given; a different time is a different recording. A source event without
a time (a file's event from another producer that had none, ``import --append``: the store
gives it the time of the append) leaves the time to the target, and matches any. The
position is each store's own, and is not. Data compare as values (``==``, as the JSON
they were read from parses), and, where they seem to differ, as JSON text: a domain's tuple
is a list once stored, and is the same data.

A concurrent writer (a ``ConcurrencyConflict`` on the append) is met by looking again: at
most ``ATTEMPTS`` appends, each after comparing what the target holds by then, so a writer
that wrote the same events (another delivery of them) is no error, and one that wrote others
is ``Diverged``. After the last attempt its ``ConcurrencyConflict`` is raised.

Events without a place of their own (``import --append``: CloudEvents another producer
wrote, placed at the end of their stream) are not bound to generations: a writer that moved
the stream's end meanwhile is met by ``append_at_end``, which looks again and appends after
what it finds, skipping the events it finds stored already by id (the same events another
import of the same file wrote), never reporting the move as a divergence.

Transactions are the caller's, where the store offers them (``Transactional``): copy and
import group their appends in one ``transaction()``; ``mirror_streams`` writes several
streams' events as one ``append_streams`` (an import of many short streams).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Generator, Iterable, Sequence
from typing import Any, Final

from escli.errors import ConcurrencyConflict, StoreError, wrote_nothing
from escli.stores.base import NewEvent, RecordedEvent, Store, Transactional

__all__ = [
    "ATTEMPTS",
    "Diverged",
    "TargetBehind",
    "append_at_end",
    "compare",
    "difference",
    "mirror",
    "mirror_streams",
]

ATTEMPTS: Final = 3  # appends tried against concurrent writers before giving up

# A source's event: a record read from a store, or one about to be appended (from a file).
# Both carry every field that is compared.
SourceEvent = RecordedEvent | NewEvent


class Diverged(StoreError):
    """The target holds another event at a generation being mirrored (another id, or the
    same id with other content, ``field``); nothing was written to that stream."""

    def __init__(
        self,
        target: str,
        stream: str,
        generation: int,
        held_id: str,
        given_id: str,
        field: str | None = None,
    ) -> None:
        super().__init__()
        there = (
            f"event {held_id} there, not {given_id}"
            if field is None
            else f"event {held_id} there too, but with another {field}"
        )
        wrote_nothing(
            self, f"{stream} has diverged in {target}: generation {generation} is {there}"
        )
        self.target, self.stream, self.generation = target, stream, generation
        self.held_id, self.given_id, self.field = held_id, given_id, field


class TargetBehind(StoreError):
    """The target lacks events before those it was given; the sender sends those first."""

    def __init__(self, url: str, stream: str, generation: int) -> None:
        super().__init__(f"{url}: {stream} is only at generation {generation}")
        self.generation = generation


def difference(held: RecordedEvent, given: SourceEvent) -> str | None:
    """What makes ``given`` another event than ``held``, at the same generation: ``"id"``, or
    the first field of its content that differs, by its CloudEvents name; None when they
    are the same event."""
    if held.event_id != given.event_id:
        return "id"
    for label, theirs, ours in (
        ("type", held.event_type, given.event_type),
        ("typeversion", held.type_version, given.type_version),
        ("source", held.source, given.source),
        ("time", held.recorded_at, given.recorded_at or held.recorded_at),
    ):
        if theirs != ours:
            return label
    if held.data != given.data and _json(held.data) != _json(given.data):
        return "data"
    return None


def _json(data: dict[str, Any]) -> str:
    return json.dumps(data, sort_keys=True, ensure_ascii=False)


def compare(
    target: Store,
    stream: str,
    first: int,
    last: int,
    given: Iterable[SourceEvent],
    *,
    name: str | None = None,
) -> int:
    """How many of ``given``, the source's events of ``stream`` at generations ``first``,
    ``first + 1``, ... (up to ``last``), the target holds already; ``Diverged`` at the first
    that differs (the target named ``name``, else its URL). Reads the target's generations
    ``first..last`` only, and closes that read however it ends."""
    held = 0
    there = target.read(stream, first, last)
    try:
        for theirs, ours in zip(there, given, strict=False):  # either may end first
            differs = difference(theirs, ours)
            if differs is not None:
                raise Diverged(
                    name or target.url,
                    stream,
                    theirs.generation,
                    theirs.event_id,
                    ours.event_id,
                    None if differs == "id" else differs,
                )
            held += 1
    finally:
        if isinstance(there, Generator):  # a store's cursor: closed while the store is open
            there.close()
    return held


def mirror(
    target: Store,
    stream: str,
    first: int,
    events: Sequence[NewEvent],
    *,
    at: int | None = None,
    name: str | None = None,
) -> int:
    """Append to ``target`` what it lacks of ``events``, the source's events of ``stream`` at
    generations ``first``, ``first + 1``, ...; returns how many it appended (0: it held them
    all). ``at`` is the target's generation as the caller knows it (its own check, or its
    own appends), None to ask the target. The rule and the retries are the module
    docstring's; errors name the target ``name``, else its URL."""
    name = name or target.url
    last = first + len(events) - 1
    for attempt in range(1, ATTEMPTS + 1):
        if at is None:
            at = target.generation(stream)
        if at < first - 1:
            raise TargetBehind(name, stream, at)
        held = (
            compare(target, stream, first, min(at, last), events, name=name) if at >= first else 0
        )
        missing = events[held:]
        if not missing:
            return 0
        try:
            target.append(stream, missing, first - 1 + held)
        except ConcurrencyConflict:
            if attempt == ATTEMPTS:
                raise
            at = None  # another writer moved the stream: look again
            continue
        return len(missing)
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


def append_at_end(
    target: Store, stream: str, events: Sequence[NewEvent], *, name: str | None = None
) -> tuple[int, int]:
    """Append ``events`` at the end of ``target``'s ``stream``, wherever it is by now, but for
    those whose ids the stream holds already: each of those must be the same event
    (``Diverged`` if not) and is skipped. Returns the generation the stream was at before
    the append and how many of ``events`` it held. A conflict is met by looking again, at
    most ``ATTEMPTS`` times (see the module docstring); an id held by another stream is the
    store's ``DuplicateEventId``, from the append."""
    name = name or target.url
    for attempt in range(1, ATTEMPTS + 1):
        at = target.generation(stream)
        found = target.find_ids([e.event_id for e in events], [stream])
        held = {i: g for i, (s, g) in found.items() if s == stream}
        for event in events:
            generation = held.get(event.event_id)
            if generation is not None:
                compare(target, stream, generation, generation, [event], name=name)
        missing = [e for e in events if e.event_id not in held]
        try:
            target.append(stream, missing, at)
        except ConcurrencyConflict:
            if attempt == ATTEMPTS:
                raise
            continue
        return at, len(events) - len(missing)
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


def mirror_streams(
    store: Store,
    transactional: Transactional,
    batches: Sequence[tuple[str, int, Sequence[NewEvent]]],
    *,
    at_end: Collection[str] = (),
    name: str | None = None,
) -> dict[str, tuple[int, int]]:
    """``mirror`` of several streams' ``(stream, first, events)`` as one write
    (``append_streams``; ``store`` and ``transactional`` are one object, seen as each
    protocol), each expected right after ``first - 1``, as the caller's own checks and
    appends know the target. A conflict (a writer got in) is met by ``mirror`` of each batch
    in turn, which looks again (``append_streams`` wrote none of them: every one or none,
    nested in the caller's transaction too, as the contract tests check); a stream named in
    ``at_end`` by ``append_at_end`` instead, as its events have no place but the end. How
    many each appended is not told: the caller planned them, and counts them itself; but
    for the ``at_end`` streams met again, what ``append_at_end`` returned, by stream."""
    try:
        transactional.append_streams([(s, events, first - 1) for s, first, events in batches])
    except ConcurrencyConflict:
        placed: dict[str, tuple[int, int]] = {}
        for s, first, events in batches:
            if s in at_end:
                placed[s] = append_at_end(store, s, events, name=name)
            else:
                mirror(store, s, first, events, name=name)
        return placed
    return {}
