"""Copy streams from one store to another, keeping event ids, generations and times.

A copy first checks, stream by stream, that the events the target already holds are the
source's (the same ids at the same generations); a stream that diverged stops the copy
before anything is written. Then it appends what the target lacks with the expected
generation, so running it again writes nothing.

Into a ``Transactional`` target (SQLite, PostgreSQL, memory) the whole copy is one
transaction: a target that moves meanwhile (``ConcurrencyConflict``), or that holds one of
the ids in another stream (``DuplicateEventId``), leaves it as it was, every stream. Into
EventStoreDB, which writes one stream at a time, such an error names the streams copied
before it and those not (``errors.written_before``); copying again writes the rest.

Copying every stream (``plan_copy(source)``) walks ``read_all``: events reach the target in
the source's global order (new positions, same order), consecutive events of one stream in
one append. Named streams are copied one after another with ``read``. Either way events
are streamed and appended in batches of at most ``BATCH``: memory does not grow with the
store, only with the number of streams.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import NamedTuple, TypeVar

from escli.errors import EscliError, NotFound, StoreError, written_before
from escli.stores.base import NewEvent, RecordedEvent, Store, StreamInfo, Transactional

__all__ = [
    "BATCH",
    "CopyPlan",
    "CopyResult",
    "StreamCopy",
    "copy_streams",
    "plan_copy",
]

BATCH = 1000

T = TypeVar("T")

Progress = Callable[[int], None]


class CopyPlan(NamedTuple):
    streams: list[StreamInfo]
    everything: bool  # every stream, in the source's global order

    @property
    def events(self) -> int:
        return sum(s.events for s in self.streams)


class StreamCopy(NamedTuple):
    stream: str
    copied: int
    present: int  # already in the target: the same ids at the same generations


class CopyResult(NamedTuple):
    source: str
    target: str
    streams: list[StreamCopy]

    @property
    def copied(self) -> int:
        return sum(s.copied for s in self.streams)

    @property
    def present(self) -> int:
        return sum(s.present for s in self.streams)


def plan_copy(source: Store, streams: Sequence[str] = ()) -> CopyPlan:
    """What a copy covers: the streams named, else every stream of the source. A named
    stream the source does not hold is ``NotFound``."""
    if not streams:
        return CopyPlan(list(source.streams()), everything=True)
    planned = []
    for name in dict.fromkeys(streams):
        generation = source.generation(name)
        if generation == 0:
            raise NotFound(f"stream {name!r} is not in {source.url}")
        planned.append(StreamInfo(name, generation, generation))
    return CopyPlan(planned, everything=False)


def _present(source: Store, target: Store, stream: str, progress: Progress | None) -> int:
    """How many of the source's events the target holds already; raises if it holds others."""
    held = target.generation(stream)
    if not held:
        return 0
    checked = 0
    # Reads a divergence leaves unfinished are closed here, while their stores are open.
    with (
        _closing(source.read(stream, 1, held)) as ours,
        _closing(target.read(stream, 1, held)) as theirs,
    ):
        for mine in ours:
            there = next(theirs, None)
            if there is None or there.event_id != mine.event_id:
                raise StoreError(
                    f"{stream} has diverged in {target.url}: generation {mine.generation} is "
                    f"event {there.event_id if there else '(none)'} there but {mine.event_id} "
                    f"in {source.url}; nothing was written to {stream}"
                )
            checked += 1
            if progress is not None and checked % BATCH == 0:
                progress(BATCH)
    if progress is not None and checked % BATCH:
        progress(checked % BATCH)
    return checked  # fewer than ``held`` when the target is ahead of the source


@contextmanager
def _closing(iterator: Iterator[T]) -> Iterator[Iterator[T]]:
    """Close a store's read (a generator holding a cursor) when done with it, even unfinished,
    while its store is still open; plain iterators have nothing to close."""
    try:
        yield iterator
    finally:
        close = getattr(iterator, "close", None)
        if close is not None:
            close()


def _batches(records: Iterable[RecordedEvent]) -> Iterator[tuple[str, list[NewEvent]]]:
    """Consecutive events of one stream, at most ``BATCH`` at a time."""
    stream = ""
    batch: list[NewEvent] = []
    for r in records:
        if r.stream != stream or len(batch) == BATCH:
            if batch:
                yield stream, batch
            stream, batch = r.stream, []
        batch.append(r.as_new())
    if batch:
        yield stream, batch


def copy_streams(
    source: Store, target: Store, plan: CopyPlan, progress: Progress | None = None
) -> CopyResult:
    """Copy what ``plan`` (from ``plan_copy``) covers; see the module docstring.
    ``progress`` is called with the number of events handled (checked or copied)."""
    atomic = isinstance(target, Transactional)
    whole: AbstractContextManager[None] = (
        target.transaction() if isinstance(target, Transactional) else nullcontext()
    )
    with whole:
        return _copy(source, target, plan, progress, atomic)


def _copy(
    source: Store, target: Store, plan: CopyPlan, progress: Progress | None, atomic: bool
) -> CopyResult:
    present = {
        info.stream: _present(source, target, info.stream, progress) for info in plan.streams
    }
    copied = dict.fromkeys(present, 0)

    def append(records: Iterable[RecordedEvent]) -> None:
        for stream, batch in _batches(records):
            try:
                target.append(stream, batch, present[stream] + copied[stream])
            except EscliError as e:
                if atomic:
                    raise  # the transaction takes back what was copied before
                written = [
                    f"{s} ({n} event{'s' if n != 1 else ''})" for s, n in copied.items() if n
                ]
                left = [i.stream for i in plan.streams if i.events > present[i.stream]]
                left = [s for s in left if not copied[s]]
                raise written_before(e, written, left, "copy again to write the rest") from e
            copied[stream] += len(batch)
            if progress is not None:
                progress(len(batch))

    # Reads are closed explicitly, so that a failed append leaves none open.
    if plan.everything:
        # Streams created after the plan wait for the next copy: they were not checked.
        with _closing(source.read_all()) as everything:
            append(
                r for r in everything if r.stream in present and r.generation > present[r.stream]
            )
    else:
        for name in present:
            with _closing(source.read(name, present[name] + 1)) as records:
                append(records)
    return CopyResult(
        source.url, target.url, [StreamCopy(s, copied[s], present[s]) for s in present]
    )
