"""Import a CloudEvents file into a store, in memory that does not grow with the file.

The file is read as ``escli.cloudevents.formats`` reads it (same formats, same located
errors), but a chunk at a time: each chunk of checked events is checked against the store,
then the parser lets it go. What stays in memory is one record per stream of the file (its
generation in the store, how far the file has got), never the events. The checking is
``escli.cloudevents.import_plan``'s; this module reads the file and appends.

Per stream, the file's generations must be consecutive and continue the store's: events the
store already holds are skipped, and must be the file's (the mirror's rule,
``escli.stores.mirror``: the same id with the same content at the same generation, the
store's events read at those generations only); the rest must start right after the
store's generation, and are appended through the mirror too. An id the file repeats, or
that the store holds elsewhere, is an error: each chunk's ids are looked up in the
store's unique index of ids, with the events stored under them (``Store.find_events``),
and its new streams' generations asked at once (``Store.generations``), so the check costs
what the file holds, not what the store holds, in a few queries a chunk: no read or round
trip per stream or per event (a file already stored is checked from those alone, the
stored events compared with the file's, and read at their generations only to word a
difference). EventStoreDB has no such index (``StreamIds``): the ids of each stream the
file names that holds events are read once, into the scratch table of the first pass; an
id stored in a stream the file does not name goes unnoticed, as the server takes it. The
first problem in the file (the earliest line or event) is the error.

How the "all or nothing, checked before anything is visible" promise is kept:

- On a ``Transactional`` store (SQLite, PostgreSQL, memory), one pass inside one
  transaction: each chunk is checked, then appended; the first problem (in the file, or a
  concurrent writer's other events) rolls the whole transaction back. A concurrent
  writer's conflict is met as the mirror meets it, by looking again: the file's own events,
  stored meanwhile at its generations, are skipped (and counted as imported: the import
  planned them, and they are stored as the file has them). Events without a generation
  (``foreign``) are placed at the end the writer left instead (``mirror.append_at_end``):
  the checks ran before the transaction began, and another import that committed
  meanwhile moved the end, which is no divergence; those it stored (the same file) are
  skipped, and the stream's plan starts again from there (``Checker.moved``). Nothing is
  visible until
  the file has been read to its end and every event checked, and then everything is, in one
  commit. The transaction holds the store's write lock meanwhile (other writers wait).
- On EventStoreDB, which writes one stream at a time, two passes: the first checks the
  whole file and writes nothing; the second reads the file again and appends, a chunk at a
  time per stream. A concurrent writer can still move a stream between the passes (with
  other events than the file's: the mirror's ``Diverged``): the error then names the
  streams written (whole or up to which generation) and those not, and importing the file
  again skips what was written.
- ``dry_run`` is the first pass alone, on any store: nothing is written, nor locked.

``foreign`` (``import --append``) reads events escli did not write by
``escli.cloudevents.foreign``'s rules; it needs a ``Transactional`` store, as the place of
an event without a generation is only known while the import holds the store's lock: the
plan is checked before, and met again, as above, if a writer moved a stream's end.

Standard input is spooled to a temporary file first (the second pass, and the search for
the first of two repeated ids, read it again). JSON Lines (what ``export`` writes) is read
in constant memory; a batch file is one JSON array, parsed whole before its events are
checked and written a chunk at a time.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from typing import TYPE_CHECKING, Final, NamedTuple

from escli.cloudevents.foreign import Foreign
from escli.cloudevents.formats import (
    BOM,
    STDIN,
    ParsedFile,
    count_lines,
    open_input,
    parse_stream,
)
from escli.cloudevents.import_plan import EARLIER, Checker, Problem, SeenIds, StreamPlan
from escli.cloudevents.parser import EventParser
from escli.cloudevents.progress import NO_PROGRESS, Progress
from escli.errors import EscliError, InvalidInput, UsageError, written_before
from escli.stores.base import NewEvent, Store, Transactional
from escli.stores.mirror import mirror, mirror_streams

if TYPE_CHECKING:
    from escli.domain.discovery import DomainRegistry
    from escli.domain.model import Domain

__all__ = ["ImportResult", "StreamImport", "import_file"]

# A chunk of the file's events: stream names, generations, locations, events.
Take = Callable[[list[str], list[int], list[int], list[NewEvent]], None]

_WRITE: Final = 4096  # events gathered before they are appended (one append per stream)


class StreamImport(NamedTuple):
    """What an import does to one stream: ``imported`` events appended after generation
    ``before``; ``present`` events of the file were already stored."""

    stream: str
    before: int
    imported: int
    present: int

    @property
    def after(self) -> int:
        return self.before + self.imported


class ImportResult(NamedTuple):
    name: str
    kind: str
    events: int  # events in the file
    streams: list[StreamImport]  # in the order the file first names them
    skipped: int  # events of unknown type skipped (--skip-unknown)
    dry_run: bool

    @property
    def imported(self) -> int:
        return sum(s.imported for s in self.streams)

    @property
    def present(self) -> int:
        return sum(s.present for s in self.streams)


class _Chunks:
    """The ``Progress`` the reading functions are given during an import. They report after
    each chunk of events they added to the parser; each report hands the chunk to ``take``
    and empties the parser's columns, so that the file is never held whole. Reports go on to
    the real progress."""

    def __init__(self, parser: EventParser, take: Take, progress: Progress) -> None:
        self.parser, self.take, self.progress = parser, take, progress
        self.enabled = progress.enabled

    def start(self, description: str, total: int | None) -> None:
        self.progress.start(description, total)

    def update(self, done: int) -> None:
        self.drain()
        self.progress.update(done)

    def drain(self) -> None:
        p = self.parser
        if p.events:
            chunk = p.stream_names, p.generations, p.locations, p.events
            p.stream_names, p.generations, p.locations, p.events = [], [], [], []
            self.take(*chunk)

    def finish(self) -> None:
        self.progress.finish()


def _first_kind(path: str) -> str:
    """The kind a file's first character promises (``batch`` for ``[``), for problems found
    while it is still being read; a one-event file is checked only once read whole."""
    with open(path, "rb") as f:
        head = f.read(1 << 16).removeprefix(BOM).lstrip()
    return "batch" if head[:1] == b"[" else "jsonl"


class _Source(NamedTuple):
    """The file being imported: where to read it (again), and how to check its events."""

    disk: str  # a regular file: the one named, or standard input spooled
    name: str  # as messages name it
    domains: DomainRegistry | Iterable[Domain]
    skip_unknown: bool
    foreign: Foreign | None = None

    def ref(self) -> ParsedFile:
        """How to name a place in the file, as far as its first character tells."""
        return ParsedFile(self.name, _first_kind(self.disk), EventParser(()))

    def scan(
        self, take: Take, progress: Progress, end: Callable[[], None] | None = None
    ) -> tuple[str, EventParser]:
        """Read the file chunk by chunk, giving each to ``take``; the first problem (the
        file's own, or one ``take`` raises as ``Problem``) is a located ``InvalidInput``.
        Returns the file's kind and the parser (its counts)."""
        parser = EventParser(self.domains, skip_unknown=self.skip_unknown, foreign=self.foreign)
        chunks = _Chunks(parser, take, progress)
        ref = self.ref()
        try:
            with open_input(self.disk) as (stream, _):
                try:
                    kind = parse_stream(stream, self.name, parser, chunks)
                except InvalidInput:
                    chunks.drain()  # the events before the bad one may hold an earlier problem
                    raise
            ref = ref._replace(kind=kind)
            chunks.drain()
            if end is not None:
                end()
        except Problem as problem:
            message = problem.message
            if problem.repeated_id is not None:
                first = self._first_location(problem.repeated_id)
                message = message.removesuffix(EARLIER) + ref.ref(first)
            raise ref.error(problem.location, message) from None
        return ref.kind, parser

    def _first_location(self, event_id: str) -> int:
        """Where ``event_id`` first is in the file."""

        class Found(Exception):
            pass

        def take(
            names: list[str], g: list[int], locations: list[int], events: list[NewEvent]
        ) -> None:
            for location, event in zip(locations, events, strict=True):
                if event.event_id == event_id:
                    raise Found(location)

        try:
            self.scan(take, NO_PROGRESS)
        except Found as found:
            return int(found.args[0])
        raise AssertionError(f"{event_id} is not in {self.name}")  # pragma: no cover


@contextmanager
def _on_disk(path: str, folder: str) -> Iterator[str]:
    """The file to read (twice if need be): ``path``, or standard input spooled to a file."""
    if path != "-":
        yield path
        return
    spooled = os.path.join(folder, "stdin")
    with open(spooled, "wb") as out:
        shutil.copyfileobj(sys.stdin.buffer, out, 1 << 20)
    yield spooled


def import_file(
    path: str,
    domains: DomainRegistry | Iterable[Domain],
    store: Store,
    *,
    skip_unknown: bool = False,
    dry_run: bool = False,
    progress: Progress = NO_PROGRESS,
    foreign: Foreign | None = None,
) -> ImportResult:
    """Check a CloudEvents file (``-``: standard input) against the domains and the store,
    and append its new events; see the module docstring. ``dry_run`` writes nothing."""
    if foreign is not None and not isinstance(store, Transactional):
        raise UsageError(
            f"--append needs a store that imports in one transaction (SQLite, PostgreSQL), "
            f"not {store.url}"
        )
    with (
        tempfile.TemporaryDirectory(prefix="escli-import-") as folder,
        _on_disk(path, folder) as disk,
    ):
        source = _Source(disk, STDIN if path == "-" else path, domains, skip_unknown, foreign)
        with open_input(disk):
            pass  # a file that cannot be read is an error before anything else
        total = count_lines(disk) if progress.enabled else None
        try:
            if isinstance(store, Transactional) and not dry_run:
                return _in_one_transaction(store, store, source, total, progress)
            return _in_two_passes(store, source, folder, dry_run, total, progress)
        finally:
            progress.finish()


def _result(
    source: _Source, kind: str, parser: EventParser, checker: Checker, dry_run: bool
) -> ImportResult:
    streams = [
        StreamImport(stream, state.before, state.new, state.present)
        for stream, state in checker.streams.items()
    ]
    return ImportResult(source.name, kind, parser.count, streams, parser.skipped, dry_run)


def _in_one_transaction(
    store: Store, transactional: Transactional, source: _Source, total: int | None,
    progress: Progress,
) -> ImportResult:  # fmt: skip
    """Check and append chunk by chunk inside one transaction (see the module docstring;
    ``store`` and ``transactional`` are one object, seen as each protocol), begun at the
    first write: a file that fails early, or is small, is checked without
    holding the store's lock (and a store that does not exist is not made). Checks made
    before it still hold inside: a stream that moved meanwhile fails its append's
    expected generation (and the mirror looks again), an id stored meanwhile the unique
    index, and all is undone."""
    checker = Checker(store, source.ref(), None)
    started = False
    with ExitStack() as transaction:

        def write() -> None:
            nonlocal started
            batches = []
            for stream, events in checker.flush():
                state = checker.streams[stream]
                batches.append((stream, state.before + state.written + 1, events))
                state.written += len(events)
            if not batches:
                return
            if not started:
                transaction.enter_context(transactional.transaction())
                started = True
            # A floating stream not written yet goes at the end a concurrent writer left.
            at_end = [
                s for s, first, _ in batches
                if checker.streams[s].floating and first == checker.streams[s].before + 1
            ]  # fmt: skip
            moved = mirror_streams(store, transactional, batches, at_end=at_end)
            for stream, (at, held) in moved.items():
                checker.moved(stream, at, held)

        def take(
            names: list[str], g: list[int], locations: list[int], events: list[NewEvent]
        ) -> None:
            checker.check(names, g, locations, events)
            if checker.gathered >= _WRITE:
                write()

        progress.start("importing", total)
        kind, parser = source.scan(take, progress, checker.end)
        write()
    return _result(source, kind, parser, checker, dry_run=False)


def _in_two_passes(
    store: Store,
    source: _Source,
    folder: str,
    dry_run: bool,
    total: int | None,
    progress: Progress,
) -> ImportResult:
    """Check the whole file writing nothing, then, unless ``dry_run``, read it again and
    append (see the module docstring)."""
    seen = SeenIds(folder)
    try:
        checker = Checker(store, source.ref(), seen)

        def check(
            names: list[str], g: list[int], locations: list[int], events: list[NewEvent]
        ) -> None:
            checker.check(names, g, locations, events)
            checker.flush()  # nothing is written in this pass

        progress.start("checking", total)
        kind, parser = source.scan(check, progress, checker.end)
    finally:
        seen.close()
    result = _result(source, kind, parser, checker, dry_run)
    if not dry_run and result.imported:
        _write(store, source, checker.streams, result.imported, progress)
    return result


def _write(
    store: Store, source: _Source, streams: dict[str, StreamPlan], total: int, progress: Progress
) -> None:
    """The second pass: append what the first found new, a chunk at a time per stream."""
    done = 0

    def take(names: list[str], g: list[int], locations: list[int], events: list[NewEvent]) -> None:
        nonlocal done
        batches: dict[str, list[NewEvent]] = {}
        for name, generation, location, event in zip(names, g, locations, events, strict=True):
            state = streams.get(name)
            if state is not None and generation <= state.before:
                continue  # stored already
            batch = batches.setdefault(name, [])
            if state is None or generation != state.before + state.written + len(batch) + 1:
                raise Problem(location, f"{source.name} changed while it was being imported")
            batch.append(event)
        for name, batch in batches.items():
            state = streams[name]
            at = state.before + state.written
            mirror(store, name, at + 1, batch, at=at)
            state.written += len(batch)
            done += len(batch)
        progress.update(done)

    progress.start("writing", total)
    try:
        source.scan(take, NO_PROGRESS)
    except EscliError as e:  # an append refused, or the file changed since the first pass
        raise _written_so_far(e, streams) from e


def _written_so_far(error: EscliError, streams: dict[str, StreamPlan]) -> EscliError:
    """``error``, saying which streams the import wrote before it, and which it did not."""
    written = [
        f"{name} (generations {state.before + 1}..{state.before + state.written}"
        + ("" if state.written == state.new else f" of {state.before + state.new}")
        + ")"
        for name, state in streams.items()
        if state.written
    ]
    unwritten = [name for name, state in streams.items() if state.new and not state.written]
    return written_before(
        error,
        written,
        unwritten,
        "import the file again to write the rest (what is stored is skipped)",
    )
