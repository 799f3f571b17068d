"""Copy streams from one store to another, keeping event ids, generations and times.

A copy is the mirror's (``escli.stores.mirror``, one rule with the store sink and import):
it first checks, stream by stream, that the events the target already holds are the
source's (the same ids with the same content at the same generations); a stream that
diverged stops the copy before anything is written. Then it appends what the target lacks
with the expected generation (a concurrent writer is met by looking again), so running it
again writes nothing.

Into a ``Transactional`` target (SQLite, PostgreSQL, memory) the whole copy is one
transaction: a target that another writer moves meanwhile, with other events (``Diverged``)
or again and again (``ConcurrencyConflict``), or that holds one of the ids in another stream
(``DuplicateEventId``), is left as it was, every stream. Into
EventStoreDB, which writes one stream at a time, such an error names the streams copied
before it and those not (``errors.written_before``); copying again writes the rest.

Copying every stream (``plan_copy(source)``) walks ``read_all``: events reach the target in
the source's global order (new positions, same order), consecutive events of one stream in
one append. Named streams are copied one after another with ``read``. Either way events
are streamed and appended in batches of at most ``BATCH``: memory does not grow with the
store, only with the number of streams.

``copy --upcast`` (``current``, issue 13) copies each event at its current version
(``escli.stores.current``: the same id, generation, time and source; the current type,
version and data). The mirror's rule is unchanged, and compares the upcast event with what
the target holds, so copying again copies nothing, and a target that holds the old versions
(a copy made without ``--upcast``) has diverged: stored events are never rewritten. Then
``escli.app.verify`` checks that every stream this copy wrote to folds to the same state in
both stores; into a ``Transactional`` target that check is inside the copy's transaction, so
a mismatch leaves the target as it was. A stream whose domain is unknown is refused before
anything is read: ``--upcast`` promises current versions that replay as the source does,
which such a stream cannot keep (copy it without ``--upcast``, naming the streams).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import NamedTuple, TypeVar

from escli.app.verify import Checked, check_folds
from escli.errors import EscliError, NotFound, written_before
from escli.stores.base import NewEvent, RecordedEvent, Store, StreamInfo, Transactional
from escli.stores.current import CurrentRecords
from escli.stores.mirror import compare, mirror

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

Handled = Callable[[int], None]  # told how many events were handled
# What a copy does to the source's records on their way: nothing, or ``CurrentRecords``.
Convert = Callable[[Iterator[RecordedEvent]], Iterator[RecordedEvent]]


def _as_stored(records: Iterator[RecordedEvent]) -> Iterator[RecordedEvent]:
    return records


class CopyPlan(NamedTuple):
    streams: list[StreamInfo]
    everything: bool  # every stream, in the source's global order

    @property
    def events(self) -> int:
        return sum(s.events for s in self.streams)


class StreamCopy(NamedTuple):
    stream: str
    copied: int
    present: int  # already in the target: the same events at the same generations


class CopyResult(NamedTuple):
    source: str
    target: str
    streams: list[StreamCopy]
    checked: list[Checked] | None = None  # with --upcast: the streams folded in both stores

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


def _present(
    source: Store, target: Store, stream: str, progress: Handled | None, convert: Convert
) -> int:
    """How many of the source's events the target holds already: the mirror's comparison over
    the generations the target holds (``Diverged`` if it holds others)."""
    held = target.generation(stream)
    if not held:
        return 0
    # The source's read is closed here, a divergence or not, while its store is open.
    with _closing(source.read(stream, 1, held)) as ours:
        present = compare(target, stream, 1, held, _counted(convert(ours), progress))
    if progress is not None and present % BATCH:
        progress(present % BATCH)
    return present  # fewer than ``held`` when the target is ahead of the source


def _counted(records: Iterator[RecordedEvent], progress: Handled | None) -> Iterator[RecordedEvent]:
    """``records``, reporting each ``BATCH`` of them taken (compared) to ``progress``."""
    if progress is None:
        yield from records
        return
    for n, record in enumerate(records, start=1):
        yield record
        if not n % BATCH:
            progress(BATCH)


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


def _batches(records: Iterable[RecordedEvent]) -> Iterator[tuple[str, int, list[NewEvent]]]:
    """Consecutive events of one stream, at most ``BATCH`` at a time: the stream, the first
    one's generation, the events."""
    stream, first = "", 0
    batch: list[NewEvent] = []
    for r in records:
        if r.stream != stream or len(batch) == BATCH:
            if batch:
                yield stream, first, batch
            stream, first, batch = r.stream, r.generation, []
        batch.append(r.as_new())
    if batch:
        yield stream, first, batch


def copy_streams(
    source: Store,
    target: Store,
    plan: CopyPlan,
    progress: Handled | None = None,
    *,
    current: CurrentRecords | None = None,
) -> CopyResult:
    """Copy what ``plan`` (from ``plan_copy``) covers; see the module docstring.
    ``progress`` is called with the number of events handled (checked or copied).
    ``current`` (``copy --upcast``) copies current versions, then checks the folds."""
    if current is not None:
        current.check(info.stream for info in plan.streams)  # before anything is read
    atomic = isinstance(target, Transactional)
    whole: AbstractContextManager[None] = (
        target.transaction() if isinstance(target, Transactional) else nullcontext()
    )
    with whole:
        result = _copy(source, target, plan, progress, atomic, current or _as_stored)
        if current is None:
            return result
        copied = [(s.stream, s.copied + s.present) for s in result.streams if s.copied]
        checked = check_folds(source, target, copied, current.domain, atomic=atomic)
        return result._replace(checked=checked)


def _copy(
    source: Store,
    target: Store,
    plan: CopyPlan,
    progress: Handled | None,
    atomic: bool,
    convert: Convert,
) -> CopyResult:
    # Every stream is checked before anything is written.
    checked = {
        info.stream: _present(source, target, info.stream, progress, convert)
        for info in plan.streams
    }
    present, copied = dict(checked), dict.fromkeys(checked, 0)

    def append(records: Iterator[RecordedEvent]) -> None:
        batches = _batches(convert(records))
        while True:
            try:
                # An event that cannot be upcast stops the copy here too, after earlier appends.
                item = next(batches, None)
                if item is None:
                    return
                stream, first, batch = item
                # The target is where the check, or the copy's own appends, left it.
                appended = mirror(target, stream, first, batch, at=first - 1)
            except EscliError as e:
                if atomic:
                    raise  # the transaction takes back what was copied before
                written = [
                    f"{s} ({n} event{'s' if n != 1 else ''})" for s, n in copied.items() if n
                ]
                left = [i.stream for i in plan.streams if i.events > present[i.stream]]
                left = [s for s in left if not copied[s]]
                raise written_before(e, written, left, "copy again to write the rest") from e
            copied[stream] += appended
            present[stream] += len(batch) - appended  # a concurrent writer's, the same
            if progress is not None:
                progress(len(batch))

    # Reads are closed explicitly, so that a failed append leaves none open.
    if plan.everything:
        # Streams created after the plan wait for the next copy: they were not checked.
        with _closing(source.read_all()) as everything:
            append(
                r for r in everything if r.stream in checked and r.generation > checked[r.stream]
            )
    else:
        for name in checked:
            with _closing(source.read(name, checked[name] + 1)) as records:
                append(records)
    return CopyResult(
        source.url, target.url, [StreamCopy(s, copied[s], present[s]) for s in checked]
    )
