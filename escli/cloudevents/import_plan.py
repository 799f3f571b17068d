"""Planning an import: each chunk of a CloudEvents file's events checked against the store.

``Checker`` keeps one ``StreamPlan`` per stream of the file (the store's generation when the
import first saw it, how far the file has got), never the events: it checks each chunk as
the file is read and gathers the new events for the use case (``escli.cloudevents.importing``)
to append. What it checks, and how ids are looked up without reading the store, is told in
that module's docstring. The first problem (the earliest line or event) is a ``Problem``,
turned into a located error once the file's kind is known.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from typing import Final

from escli.cloudevents.formats import ParsedFile
from escli.errors import StoreError
from escli.stores.base import NewEvent, RecordedEvent, Store, StreamIds
from escli.stores.mirror import Diverged, compare, difference

__all__ = ["EARLIER", "Checker", "Problem", "SeenIds", "StreamPlan"]


class Problem(Exception):
    """The first problem of the file, at ``location``: raised from inside the reading, and
    turned into a located ``InvalidInput`` once the file's kind is known."""

    def __init__(self, location: int, message: str, repeated_id: str | None = None) -> None:
        super().__init__(location, message)
        self.location, self.message = location, message
        self.repeated_id = repeated_id  # an id the import wrote earlier: where is found later


# Stands for "line N" in a message about an id the import itself wrote earlier: where that
# was is found by reading the file again (an error's path only).
EARLIER: Final = "an earlier event"


class StreamPlan:
    """One stream of the file: the store's generation when the import first saw it, the
    file's last generation so far, and what became of its events."""

    __slots__ = ("before", "broken", "floating", "gap", "last", "new", "present", "written")

    def __init__(self, before: int, last: int, *, floating: bool = False) -> None:
        self.before, self.last = before, last
        self.present = self.new = self.written = 0
        # Every event of the stream so far came without a generation (``import --append``):
        # they go at the stream's end, wherever a concurrent writer moved it (``moved``).
        self.floating = floating
        self.broken = False  # a problem was found: later events of the stream say nothing
        # The stream does not continue the store: the error, unless the file's own order of
        # the stream is wrong too, which is the error then (the file's fault comes first).
        self.gap: tuple[int, str] | None = None


class SeenIds:
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


class Checker:
    """Checks the file's events against the store, chunk by chunk, and gathers the new ones
    to append (``flush`` hands them over, one list per stream)."""

    def __init__(self, store: Store, ref: ParsedFile, seen: SeenIds | None) -> None:
        self.store, self.ref, self.seen = store, ref, seen
        self.streams: dict[str, StreamPlan] = {}
        self._gathered: dict[str, list[NewEvent]] = {}
        self._gathered_ids: dict[str, int] = {}  # new ids since the last flush -> location
        self.gathered = 0
        self.gaps = 0  # streams with a gap, reported at the end unless something else is
        self._repeated: dict[int, str] = {}  # location -> an id this import wrote before it
        # The store has no index of ids: each stream's are read once into ``seen``.
        self._scoped = seen is not None and isinstance(store, StreamIds)
        # The store has one: each chunk's ids are looked up once, with their events.
        self._indexed = not isinstance(store, StreamIds)

    def check(
        self, names: Sequence[str], generations: Sequence[int], locations: Sequence[int],
        events: Sequence[NewEvent],
    ) -> None:  # fmt: skip
        problems: list[tuple[int, str]] = []
        present: dict[str, list[tuple[int, int, NewEvent]]] = {}
        chunk_ids: dict[str, int] = {}
        gathered, earlier = self._gathered, self._gathered_ids
        held = self._held(events)
        fresh = self.store.generations([n for n in dict.fromkeys(names) if n not in self.streams])
        stored = self._stored_before(names, generations, events, held)
        for name, generation, location, event in zip(
            names, generations, locations, events, strict=True
        ):
            state = self.streams.get(name)
            if state is None:
                current = fresh[name]
                state = self.streams[name] = StreamPlan(
                    current, (generation or current + 1) - 1, floating=not generation
                )
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
            if generation:
                state.floating = False
            else:  # import --append: at the end, unless stored already
                at = stored.get(event.event_id)
                if at is not None and at[0] == name:
                    problems.extend(self._compare(name, [(at[1], location, event)], held))
                    state.present += 1
                    continue
                generation = state.last + 1
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
        for name, items in present.items():
            problems.extend(self._compare(name, items, held))
        if chunk_ids:
            problems.extend(self._look_up(chunk_ids, held))
        if problems:
            self._raise(problems)
        earlier.update(chunk_ids)
        self.gathered += len(chunk_ids)

    def _held(self, events: Sequence[NewEvent]) -> dict[str, RecordedEvent] | None:
        """The events the store holds under the chunk's ids, in one look-up (a few queries,
        however many streams the chunk names): what every check of the chunk against the
        store is answered from, but a problem's wording (``_compare``). None for a store
        without an index of ids, which is asked as each check needs."""
        if not self._indexed:
            return None
        return self.store.find_events(list(dict.fromkeys(e.event_id for e in events)))

    def _stored_before(
        self, names: Sequence[str], generations: Sequence[int], events: Sequence[NewEvent],
        held: dict[str, RecordedEvent] | None,
    ) -> dict[str, tuple[str, int]]:  # fmt: skip
        """Where the store held the ids of the chunk's events without a generation before
        this import (``import --append``: those are skipped if the same, an error if not).
        An id stored elsewhere, or by this import, is left to the checks of new ids."""
        ids = [e.event_id for g, e in zip(generations, events, strict=True) if not g]
        if not ids:
            return {}
        if held is None:
            found = self.store.find_ids(
                ids, [n for n, g in zip(names, generations, strict=True) if not g]
            )
        else:
            found = {i: (held[i].stream, held[i].generation) for i in ids if i in held}
        return {
            event_id: (stream, generation)
            for event_id, (stream, generation) in found.items()
            if stream not in self.streams or generation <= self.streams[stream].before
        }

    def end(self) -> None:
        """At the end of the file: a stream that does not continue the store is an error."""
        if self.gaps:
            self._raise([])

    def _raise(self, problems: list[tuple[int, str]]) -> None:
        gaps = [s.gap for s in self.streams.values() if s.gap is not None] if self.gaps else []
        location, message = min(problems + gaps)
        repeated = self._repeated.get(location) if message.endswith(EARLIER) else None
        raise Problem(location, message, repeated)

    def _compare(
        self, name: str, held: list[tuple[int, int, NewEvent]],
        stored: dict[str, RecordedEvent] | None,
    ) -> Iterator[tuple[int, str]]:  # fmt: skip
        """Events the store holds already must be the file's: the mirror's rule (the same id
        with the same content at the same generation), told about the file. When ``stored``
        (the chunk's ids looked up) holds each at its generation, the same, that is all;
        else the store is read at those generations, and the first difference told."""
        if stored is not None and all(
            (s := stored.get(e.event_id)) is not None
            and (s.stream, s.generation) == (name, g)
            and difference(s, e) is None
            for g, _, e in held
        ):
            return
        first, last = held[0][0], held[-1][0]
        try:
            same = compare(self.store, name, first, last, [event for _, _, event in held])
        except Diverged as d:
            location = held[d.generation - first][1]
            if d.field is None:
                yield (
                    location,
                    (
                        f"{name} generation {d.generation} is already taken in the store by "
                        f"event {d.held_id}"
                    ),
                )
            else:
                yield (
                    location,
                    (
                        f"event {d.held_id} is already stored at {name} generation {d.generation} "
                        f"with another {d.field}"
                    ),
                )
            return
        if same < len(held):  # the store held them when the import first saw the stream
            raise StoreError(f"{name} lost events in {self.store.url} while it was imported")

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

    def _look_up(
        self, ids: dict[str, int], stored: dict[str, RecordedEvent] | None
    ) -> Iterator[tuple[int, str]]:
        """New ids the store (``stored``: the chunk's looked up), or the file before them,
        holds already."""
        # A store without an index of ids looks in the streams that hold events, or has
        # their ids in ``seen`` already (``_read_ids``).
        held = [stream for stream in self._gathered if self.streams[stream].before]
        if stored is not None:
            found = {i: (stored[i].stream, stored[i].generation) for i in ids if i in stored}
        else:
            found = {} if self._scoped else self.store.find_ids(list(ids), held)
        for event_id, (stream, generation) in found.items():
            state = self.streams.get(stream)
            if state is not None and generation > state.before:
                # Written by this import (inside its transaction): the file repeats it.
                self._repeated[ids[event_id]] = event_id
                yield ids[event_id], f"event id {event_id} repeats " + EARLIER
                continue
            yield (
                ids[event_id],
                (f"event id {event_id} is already stored, at {stream} generation {generation}"),
            )
        if self.seen is not None:
            repeated, in_streams = self.seen.add(ids)
            for event_id, first in repeated.items():
                yield ids[event_id], f"event id {event_id} repeats {self.ref.ref(first)}"
            for event_id, (stream, generation) in in_streams.items():
                yield (
                    ids[event_id],
                    (f"event id {event_id} is already stored, at {stream} generation {generation}"),
                )

    def moved(self, stream: str, at: int, held: int) -> None:
        """A floating stream's first append found it moved by a concurrent writer: its new
        events went after generation ``at`` instead, ``held`` of them stored already (the
        writer's, the same). The plan is then as if the import had first seen it at ``at``."""
        state = self.streams[stream]
        state.new -= held
        state.present += held
        state.before, state.last, state.written = at, at + state.new, state.new

    def flush(self) -> list[tuple[str, list[NewEvent]]]:
        """The new events gathered since the last flush, per stream, and forget them."""
        gathered = list(self._gathered.items())
        self._gathered, self._gathered_ids, self.gathered = {}, {}, 0
        return gathered
