"""Import a CloudEvents file into a store, in memory that does not grow with the file.

The file is read as ``escli.cloudevents.files`` reads it (same formats, same located errors), but
a chunk at a time: each chunk of checked events is checked against the store, then the
parser lets it go. What stays in memory is one record per stream of the file (its
generation in the store, how far the file has got), never the events.

Per stream, the file's generations must be consecutive and continue the store's: events the
store already holds (same id at the same generation, same content) are skipped, the rest
must start right after the store's generation. An id the file repeats, or that the store
holds elsewhere, is an error: each chunk's new ids are looked up in the store's unique
index of ids (``Store.find_ids``), so the check costs what the file holds, not what the
store holds. EventStoreDB has no such index (``StreamIds``): the ids of each stream the
file names that holds events are read once, into the scratch table of the first pass; an
id stored in a stream the file does not name goes unnoticed, as the server takes it. The
first problem in the file (the earliest line or event) is the error.

How the "all or nothing, checked before anything is visible" promise is kept:

- On a ``Transactional`` store (SQLite, PostgreSQL, memory), one pass inside one
  transaction: each chunk is checked, then appended; the first problem (in the file, or a
  concurrent writer's conflict) rolls the whole transaction back. Nothing is visible until
  the file has been read to its end and every event checked, and then everything is, in one
  commit. The transaction holds the store's write lock meanwhile (other writers wait).
- On EventStoreDB, which writes one stream at a time, two passes: the first checks the
  whole file and writes nothing; the second reads the file again and appends, a chunk at a
  time per stream. A concurrent writer can still move a stream between the passes: the
  error then names the streams written (whole or up to which generation) and those not,
  and importing the file again skips what was written.
- ``dry_run`` is the first pass alone, on any store: nothing is written, nor locked.

Standard input is spooled to a temporary file first (the second pass, and the search for
the first of two repeated ids, read it again). JSON Lines (what ``export`` writes) is read
in constant memory; a batch file is one JSON array, parsed whole before its events are
checked and written a chunk at a time.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from itertools import islice
from typing import TYPE_CHECKING, Final, NamedTuple

from escli.cloudevents.files import (
    BOM,
    NO_PROGRESS,
    STDIN,
    ParsedFile,
    Progress,
    count_lines,
    open_input,
    parse_stream,
)
from escli.cloudevents.read import EventParser
from escli.errors import EscliError, InvalidInput, written_before
from escli.stores.base import NewEvent, RecordedEvent, Store, StreamIds, Transactional

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


class _Problem(Exception):
    """The first problem of the file, at ``location``: raised from inside the reading, and
    turned into a located ``InvalidInput`` once the file's kind is known."""

    def __init__(self, location: int, message: str, repeated_id: str | None = None) -> None:
        super().__init__(location, message)
        self.location, self.message = location, message
        self.repeated_id = repeated_id  # an id the import wrote earlier: where is found later


# Stands for "line N" in a message about an id the import itself wrote earlier: where that
# was is found by reading the file again (an error's path only).
_EARLIER: Final = "an earlier event"


class _Stream:
    """One stream of the file: the store's generation when the import first saw it, the
    file's last generation so far, and what became of its events."""

    __slots__ = ("before", "broken", "gap", "last", "new", "present", "written")

    def __init__(self, before: int, last: int) -> None:
        self.before, self.last = before, last
        self.present = self.new = self.written = 0
        self.broken = False  # a problem was found: later events of the stream say nothing
        # The stream does not continue the store: the error, unless the file's own order of
        # the stream is wrong too, which is the error then (the file's fault comes first).
        self.gap: tuple[int, str] | None = None

    def result(self, stream: str) -> StreamImport:
        return StreamImport(stream, self.before, self.new, self.present)


def _difference(stored: RecordedEvent, event: NewEvent) -> str | None:
    for label, theirs, ours in (
        ("type", stored.event_type, event.event_type),
        ("typeversion", stored.type_version, event.type_version),
        ("source", stored.source, event.source),
        ("time", stored.recorded_at, event.recorded_at),
        ("data", stored.data, event.data),
    ):
        if theirs != ours:
            return label
    return None


class _SeenIds:
    """The ids of the file's new events so far, with their locations, in a scratch SQLite
    file: a pass that writes nothing cannot lean on the store's index to find an id the file
    repeats, and a set of a million ids would hold the file in memory after all. On a store
    without an index of ids (``StreamIds``: EventStoreDB) it holds the ids of the streams
    the file names too, each read once (``stored``), where ``find_ids`` would read them
    again for every chunk."""

    def __init__(self, folder: str) -> None:
        self._conn = sqlite3.connect(os.path.join(folder, "ids.db"), isolation_level=None)
        # An id is the file's (at location) or the store's (at stream, generation).
        self._conn.executescript(
            "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"
            " CREATE TABLE ids (id TEXT PRIMARY KEY, location INTEGER, stream TEXT,"
            " generation INTEGER) WITHOUT ROWID;"
        )

    def _held(self, ids: Sequence[str]) -> list[tuple[str, int | None, str | None, int | None]]:
        rows: list[tuple[str, int | None, str | None, int | None]] = []
        for start in range(0, len(ids), 500):
            part = ids[start : start + 500]
            rows += self._conn.execute(
                f"SELECT * FROM ids WHERE id IN ({','.join('?' * len(part))})", part
            )
        return rows

    def add(self, ids: dict[str, int]) -> tuple[dict[str, int], dict[str, tuple[str, int]]]:
        """Record ``ids`` (id -> location). Returns those the file had before, with their
        first location, and those the streams read into ``stored`` hold."""
        seen: dict[str, int] = {}
        stored: dict[str, tuple[str, int]] = {}
        for event_id, location, stream, generation in self._held(list(ids)):
            if location is not None:
                seen[event_id] = location
            elif stream is not None and generation is not None:
                stored[event_id] = (stream, generation)
        self._conn.execute("BEGIN")
        self._conn.executemany(
            "INSERT OR IGNORE INTO ids (id, location) VALUES (?, ?)", ids.items()
        )
        self._conn.execute("COMMIT")
        return seen, stored

    def stored(self, stream: str, held: Iterable[tuple[str, int]]) -> dict[str, tuple[int, int]]:
        """Record the ids ``stream`` holds (``(id, generation)``); returns those the file's
        new events so far have: id -> (location in the file, generation in ``stream``)."""
        clashes: dict[str, tuple[int, int]] = {}
        held = iter(held)
        self._conn.execute("BEGIN")
        while part := list(islice(held, 500)):
            generations = dict(part)
            for event_id, location, _, _ in self._held(list(generations)):
                if location is not None:
                    clashes[event_id] = (location, generations[event_id])
            self._conn.executemany(
                "INSERT OR IGNORE INTO ids (id, stream, generation) VALUES (?, ?, ?)",
                [(event_id, stream, generation) for event_id, generation in part],
            )
        self._conn.execute("COMMIT")
        return clashes

    def close(self) -> None:
        self._conn.close()


class _Checker:
    """Checks the file's events against the store, chunk by chunk, and gathers the new ones
    to append (``flush`` hands them over, one list per stream)."""

    def __init__(self, store: Store, ref: ParsedFile, seen: _SeenIds | None) -> None:
        self.store, self.ref, self.seen = store, ref, seen
        self.streams: dict[str, _Stream] = {}
        self._gathered: dict[str, list[NewEvent]] = {}
        self._gathered_ids: dict[str, int] = {}  # new ids since the last flush -> location
        self.gathered = 0
        self.gaps = 0  # streams with a gap, reported at the end unless something else is
        self._repeated: dict[int, str] = {}  # location -> an id this import wrote before it
        # The store has no index of ids: each stream's are read once into ``seen``.
        self._scoped = seen is not None and isinstance(store, StreamIds)

    def check(
        self, names: Sequence[str], generations: Sequence[int], locations: Sequence[int],
        events: Sequence[NewEvent],
    ) -> None:  # fmt: skip
        problems: list[tuple[int, str]] = []
        present: dict[str, list[tuple[int, int, NewEvent]]] = {}
        chunk_ids: dict[str, int] = {}
        gathered, earlier = self._gathered, self._gathered_ids
        for name, generation, location, event in zip(
            names, generations, locations, events, strict=True
        ):
            state = self.streams.get(name)
            if state is None:
                current = self.store.generation(name)
                state = self.streams[name] = _Stream(current, generation - 1)
                if generation > current + 1:
                    state.gap = (location, (
                        f"{name} generation {generation} does not continue the store, where "
                        f"{name} is at generation {current}"
                    ))  # fmt: skip
                    self.gaps += 1
                elif current and self._scoped:
                    problems.extend(self._read_ids(name))
            if state.broken:
                continue
            if generation != state.last + 1:
                problems.append((location, (
                    f"{name} generation {generation} does not follow generation "
                    f"{state.last}; a stream's events must come in order, without gaps"
                )))  # fmt: skip
                state.broken = True
                if state.gap is not None:
                    state.gap, self.gaps = None, self.gaps - 1
                continue
            state.last = generation
            if state.gap is not None:
                continue
            if generation <= state.before:
                present.setdefault(name, []).append((generation, location, event))
                state.present += 1
                continue
            event_id = event.event_id
            first = earlier.get(event_id, chunk_ids.get(event_id))
            if first is not None:
                problems.append((location, f"event id {event_id} repeats {self.ref.ref(first)}"))
                continue
            chunk_ids[event_id] = location
            gathered.setdefault(name, []).append(event)
            state.new += 1
        for name, held in present.items():
            problems.extend(self._compare(name, held))
        if chunk_ids:
            problems.extend(self._look_up(chunk_ids))
        if problems:
            self._raise(problems)
        earlier.update(chunk_ids)
        self.gathered += len(chunk_ids)

    def end(self) -> None:
        """At the end of the file: a stream that does not continue the store is an error."""
        if self.gaps:
            self._raise([])

    def _raise(self, problems: list[tuple[int, str]]) -> None:
        gaps = [s.gap for s in self.streams.values() if s.gap is not None] if self.gaps else []
        location, message = min(problems + gaps)
        repeated = self._repeated.get(location) if message.endswith(_EARLIER) else None
        raise _Problem(location, message, repeated)

    def _compare(
        self, name: str, held: list[tuple[int, int, NewEvent]]
    ) -> Iterator[tuple[int, str]]:
        """Events the store holds already must be the file's: same id, same content."""
        stored = self.store.read(name, held[0][0], held[-1][0])
        for (generation, location, event), r in zip(held, stored, strict=True):
            if r.event_id != event.event_id:
                yield (
                    location,
                    (
                        f"{name} generation {generation} is already taken in the store by "
                        f"event {r.event_id}"
                    ),
                )
                return
            differs = _difference(r, event)
            if differs is not None:
                yield (
                    location,
                    (
                        f"event {r.event_id} is already stored at {name} generation "
                        f"{generation} with another {differs}"
                    ),
                )
                return

    def _read_ids(self, stream: str) -> Iterator[tuple[int, str]]:
        """Read the ids ``stream`` holds into ``seen``: the file's new events so far that
        have one of them are problems."""
        assert self.seen is not None and isinstance(self.store, StreamIds)
        clashes = self.seen.stored(stream, self.store.stream_ids(stream))
        for event_id, (location, generation) in clashes.items():
            yield (
                location,
                f"event id {event_id} is already stored, at {stream} generation {generation}",
            )

    def _look_up(self, ids: dict[str, int]) -> Iterator[tuple[int, str]]:
        """New ids the store, or the file before them, holds already."""
        # A store without an index of ids looks in the streams that hold events, or has
        # their ids in ``seen`` already (``_read_ids``).
        held = [stream for stream in self._gathered if self.streams[stream].before]
        found = {} if self._scoped else self.store.find_ids(list(ids), held)
        for event_id, (stream, generation) in found.items():
            state = self.streams.get(stream)
            if state is not None and generation > state.before:
                # Written by this import (inside its transaction): the file repeats it.
                self._repeated[ids[event_id]] = event_id
                yield ids[event_id], f"event id {event_id} repeats " + _EARLIER
                continue
            yield (
                ids[event_id],
                (f"event id {event_id} is already stored, at {stream} generation {generation}"),
            )
        if self.seen is not None:
            repeated, stored = self.seen.add(ids)
            for event_id, first in repeated.items():
                yield ids[event_id], f"event id {event_id} repeats {self.ref.ref(first)}"
            for event_id, (stream, generation) in stored.items():
                yield (
                    ids[event_id],
                    (f"event id {event_id} is already stored, at {stream} generation {generation}"),
                )

    def flush(self) -> list[tuple[str, list[NewEvent]]]:
        """The new events gathered since the last flush, per stream, and forget them."""
        gathered = list(self._gathered.items())
        self._gathered, self._gathered_ids, self.gathered = {}, {}, 0
        return gathered


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

    def ref(self) -> ParsedFile:
        """How to name a place in the file, as far as its first character tells."""
        return ParsedFile(self.name, _first_kind(self.disk), EventParser(()))

    def scan(
        self, take: Take, progress: Progress, end: Callable[[], None] | None = None
    ) -> tuple[str, EventParser]:
        """Read the file chunk by chunk, giving each to ``take``; the first problem (the
        file's own, or one ``take`` raises as ``_Problem``) is a located ``InvalidInput``.
        Returns the file's kind and the parser (its counts)."""
        parser = EventParser(self.domains, skip_unknown=self.skip_unknown)
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
        except _Problem as problem:
            message = problem.message
            if problem.repeated_id is not None:
                first = self._first_location(problem.repeated_id)
                message = message.removesuffix(_EARLIER) + ref.ref(first)
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
) -> ImportResult:
    """Check a CloudEvents file (``-``: standard input) against the domains and the store,
    and append its new events; see the module docstring. ``dry_run`` writes nothing."""
    with (
        tempfile.TemporaryDirectory(prefix="escli-import-") as folder,
        _on_disk(path, folder) as disk,
    ):
        source = _Source(disk, STDIN if path == "-" else path, domains, skip_unknown)
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
    source: _Source, kind: str, parser: EventParser, checker: _Checker, dry_run: bool
) -> ImportResult:
    streams = [state.result(stream) for stream, state in checker.streams.items()]
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
    expected generation, an id stored meanwhile the unique index, and all is undone."""
    checker = _Checker(store, source.ref(), None)
    started = False
    with ExitStack() as transaction:

        def write() -> None:
            nonlocal started
            appends = []
            for stream, events in checker.flush():
                state = checker.streams[stream]
                appends.append((stream, events, state.before + state.written))
                state.written += len(events)
            if appends:
                if not started:
                    transaction.enter_context(transactional.transaction())
                    started = True
                transactional.append_streams(appends)

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
    seen = _SeenIds(folder)
    try:
        checker = _Checker(store, source.ref(), seen)

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
    store: Store, source: _Source, streams: dict[str, _Stream], total: int, progress: Progress
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
                raise _Problem(location, f"{source.name} changed while it was being imported")
            batch.append(event)
        for name, batch in batches.items():
            state = streams[name]
            store.append(name, batch, state.before + state.written)
            state.written += len(batch)
            done += len(batch)
        progress.update(done)

    progress.start("writing", total)
    try:
        source.scan(take, NO_PROGRESS)
    except EscliError as e:  # an append refused, or the file changed since the first pass
        raise _written_so_far(e, streams) from e


def _written_so_far(error: EscliError, streams: dict[str, _Stream]) -> EscliError:
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
