"""escli.cloudevents.importing: what an import costs, and that a failed one never half-writes.

An import costs what the file holds: it looks the file's ids up (never reads the whole
store) and appends a chunk at a time. On SQLite, PostgreSQL and memory it is one
transaction; on EventStoreDB a failure says which streams were written.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest

from escli import ConcurrencyConflict, StoreError, load_domain, open_store
from escli.app.copy import copy_streams, plan_copy
from escli.cloudevents.files import export_events
from escli.cloudevents.foreign import Foreign
from escli.cloudevents.importing import import_file
from escli.errors import InvalidInput
from escli.stores.base import NewEvent, RecordedEvent, Store
from escli.stores.mirror import Diverged
from tests.conftest import Run, needs_esdb_client, snapshot
from tests.stores.contract import new

COMBAT = load_domain("combat")
KIND = ("combat.EntityAttacked", "1.0", "events://escli/samples/combat")
TIME = "2026-11-26T12:52:09.974656+00:00"


def attacks(stream: str, count: int, first: int = 1, tag: str = "") -> list[RecordedEvent]:
    entity = stream.removeprefix("combat-")
    return [
        RecordedEvent(
            stream, g, f"{tag}{stream}-{g}", *KIND, {"entity_id": entity, "damage": 1}, TIME, 0
        )
        for g in range(first, first + count)
    ]


def write(path: Path, records: Sequence[RecordedEvent]) -> Path:
    with path.open("w", encoding="utf-8") as out:
        export_events(records, out)
    return path


class Watched:
    """A store that refuses whole-store reads and records each append's size; it may also
    run ``before_append`` (a concurrent writer) before an append to a stream, and refuse
    every append to the streams ``kept_moving`` names (a writer that keeps moving them)."""

    def __init__(
        self,
        store: Store,
        before_append: dict[str, Callable[[], None]] | None = None,
        kept_moving: Collection[str] = (),
    ):
        self.store = store
        self.url = store.url
        self.appends: list[tuple[str, int]] = []
        self.before_append = dict(before_append or {})
        self.kept_moving = kept_moving

    def __getattr__(self, name: str) -> Any:
        if name in ("transaction", "append_streams"):
            # Not Transactional, on every Python (3.12 checks protocols statically).
            raise AttributeError(name)
        return getattr(self.store, name)

    def read_all(self, after_position: int = 0) -> Iterator[RecordedEvent]:
        raise AssertionError("an import must not read the whole store")

    def streams(self) -> Iterator[Any]:
        raise AssertionError("an import must not list the store")

    def append(self, stream: str, events: Sequence[NewEvent], expected: int) -> Any:
        action = self.before_append.pop(stream, None)
        if action is not None:
            action()
        if stream in self.kept_moving:
            raise ConcurrencyConflict(stream, expected, expected + 1)
        self.appends.append((stream, len(events)))
        return self.store.append(stream, events, expected)


class WatchedTransactional(Watched):
    """``Watched`` for a ``Transactional`` store (declared, not found through __getattr__)."""

    def transaction(self) -> AbstractContextManager[None]:
        return self.store.transaction()  # type: ignore[attr-defined, no-any-return]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    def append_streams(self, appends: Sequence[tuple[str, Sequence[NewEvent], int]]) -> None:
        # One append each, inside the transaction the import holds.
        for stream, events, expected in appends:
            self.append(stream, events, expected)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'events.db'}"


def test_an_import_looks_ids_up_and_never_reads_the_whole_store(
    tmp_path: Path, sqlite_url: str
) -> None:
    store = open_store(sqlite_url)
    stored = attacks("combat-troll", 3)
    store.append("combat-troll", [r.as_new() for r in stored], 0)
    file = write(tmp_path / "ogre.jsonl", attacks("combat-ogre", 2))
    result = import_file(str(file), [COMBAT], WatchedTransactional(store))  # type: ignore[arg-type]
    assert (result.imported, store.generation("combat-ogre")) == (2, 2)
    moved = [stored[1]._replace(stream="combat-imp", generation=1)]
    elsewhere = write(tmp_path / "moved.json", moved)
    with pytest.raises(InvalidInput) as raised:
        import_file(str(elsewhere), [COMBAT], WatchedTransactional(store))  # type: ignore[arg-type]
    assert str(raised.value) == (
        f"{elsewhere}: event id combat-troll-2 is already stored, at combat-troll generation 2"
    )
    store.close()


class Counted(WatchedTransactional):
    """Counts the store's calls that cost a round trip each on PostgreSQL."""

    def __init__(self, store: Store) -> None:
        super().__init__(store)
        self.calls: dict[str, int] = {}

    def __getattr__(self, name: str) -> Any:
        found = getattr(self.store, name)
        if name in ("read", "generation", "generations", "find_ids", "find_events"):

            def counted(*args: Any, **kwargs: Any) -> Any:
                self.calls[name] = self.calls.get(name, 0) + 1
                return found(*args, **kwargs)

            return counted
        return found


def foreign_lines(records: Sequence[RecordedEvent]) -> str:
    """``records`` as another producer writes them: no generation (their typeversion, 1.0,
    kept: the type's current version is 2.0)."""
    lines = io.StringIO()
    export_events(records, lines)
    events = [json.loads(line) for line in lines.getvalue().splitlines()]
    return "".join(
        json.dumps({k: v for k, v in e.items() if k != "generation"}) + "\n" for e in events
    )


@pytest.mark.parametrize("shape", ["escli", "foreign"])
@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_importing_a_file_again_looks_its_ids_up_a_chunk_at_a_time_not_a_stream_at_a_time(
    tmp_path: Path, request: pytest.FixtureRequest, kind: str, shape: str
) -> None:
    """Every event of the file is stored already: the check is a few look-ups a chunk of
    the file (ids with their events, the generations of its streams), never a read or a
    generation per stream or per event."""
    url = (
        f"sqlite:///{tmp_path / 'events.db'}"
        if kind == "sqlite"
        else request.getfixturevalue("postgres_schemas")()
    )
    records = [r for n in range(1000) for r in attacks(f"combat-e{n}", 2)]
    file = tmp_path / "again.jsonl"
    if shape == "escli":
        write(file, records)
    else:
        file.write_text(foreign_lines(records))
    foreign = Foreign() if shape == "foreign" else None
    store = open_store(url)
    assert import_file(str(file), [COMBAT], store, foreign=foreign).imported == 2000
    counted = Counted(store)
    result = import_file(str(file), [COMBAT], counted, foreign=foreign)  # type: ignore[arg-type]
    assert (result.imported, result.present) == (0, 2000)
    assert set(counted.calls) == {"find_events", "generations"}, counted.calls
    assert counted.calls["find_events"] == counted.calls["generations"] <= 10
    store.close()


def test_a_long_file_is_appended_a_chunk_at_a_time(tmp_path: Path, sqlite_url: str) -> None:
    file = write(tmp_path / "long.jsonl", attacks("combat-ogre", 20_000))
    store = WatchedTransactional(open_store(sqlite_url))
    import_file(str(file), [COMBAT], store)  # type: ignore[arg-type]
    store.close()
    sizes = [n for _, n in store.appends]
    assert sum(sizes) == 20_000
    assert len(sizes) >= 4 and max(sizes) <= 5000  # the file is never held whole


def test_the_progress_moves_while_the_events_are_written(tmp_path: Path, sqlite_url: str) -> None:
    class Recorder:
        enabled = True

        def __init__(self) -> None:
            self.seen: list[tuple[str, int]] = []
            self.phase = ""

        def start(self, description: str, total: int | None) -> None:
            self.phase = description
            assert total == 20_000

        def update(self, done: int) -> None:
            self.seen.append((self.phase, done))

        def finish(self) -> None:
            pass

    file = write(tmp_path / "long.jsonl", attacks("combat-ogre", 20_000))
    progress, store = Recorder(), open_store(sqlite_url)
    import_file(str(file), [COMBAT], store, progress=progress)
    store.close()
    counts = [done for phase, done in progress.seen if phase == "importing"]
    assert len(set(counts)) > 10 and counts == sorted(counts) and counts[-1] == 20_000
    assert 0 < counts[len(counts) // 2] < 20_000


def test_an_id_repeated_far_apart_is_found_with_its_first_line(tmp_path: Path) -> None:
    records = attacks("combat-ogre", 6000)
    records[4999] = records[4999]._replace(event_id=records[0].event_id)
    file = write(tmp_path / "repeat.jsonl", records)
    for url in (f"sqlite:///{tmp_path / 'a.db'}", "memory:"):
        for dry_run in (False, True):
            store = open_store(url)
            with pytest.raises(InvalidInput) as raised:
                import_file(str(file), [COMBAT], store, dry_run=dry_run)
            assert str(raised.value) == f"{file}:5000: event id combat-ogre-1 repeats line 1"
            assert snapshot(store) == []
            store.close()


# --------------------------------------------------------------------------------------------
# A failed import or copy never says "nothing was written" after writing.


def two_streams(tmp_path: Path) -> Path:
    return write(tmp_path / "two.jsonl", attacks("combat-ogre", 3) + attacks("combat-troll", 2))


def concurrent_write(url: str, stream: str) -> Callable[[], None]:
    def write_one() -> None:
        other = open_store(url)
        other.append(stream, [new()], 0)
        other.close()

    return write_one


def test_an_import_whose_later_stream_moved_writes_nothing_on_sqlite(
    tmp_path: Path, sqlite_url: str
) -> None:
    store = open_store(sqlite_url)
    # SQLite's lock keeps writers out: this one is told. The mirror looks again after each
    # conflict, and gives up after a few.
    watched = WatchedTransactional(store, kept_moving={"combat-troll"})
    with pytest.raises(ConcurrencyConflict, match="nothing was written"):
        import_file(str(two_streams(tmp_path)), [COMBAT], watched)  # type: ignore[arg-type]
    assert watched.appends == [("combat-ogre", 3)]
    assert snapshot(store) == []
    store.close()


def test_an_import_whose_later_stream_moved_writes_nothing_on_postgres(
    tmp_path: Path, postgres_schemas: Callable[[], str]
) -> None:
    url = postgres_schemas()
    store = open_store(url)
    # A real writer, on its own connection, moves combat-troll after the import checked it,
    # with another event: the mirror looks again and finds the stream diverged.
    watched = WatchedTransactional(store, {"combat-ogre": concurrent_write(url, "combat-troll")})
    with pytest.raises(Diverged, match="nothing was written") as raised:
        import_file(str(two_streams(tmp_path)), [COMBAT], watched)  # type: ignore[arg-type]
    assert raised.value.exit_code == 7
    assert [(r.stream, r.generation) for r in store.read_all()] == [("combat-troll", 1)]
    store.close()


def test_an_import_whose_stream_got_the_same_events_meanwhile_skips_them_on_postgres(
    tmp_path: Path, postgres_schemas: Callable[[], str]
) -> None:
    url = postgres_schemas()
    store = open_store(url)

    def same_as_the_file() -> None:  # a writer on its own connection, with the file's event
        other = open_store(url)
        other.append("combat-troll", [attacks("combat-troll", 1)[0].as_new()], 0)
        other.close()

    watched = WatchedTransactional(store, {"combat-ogre": same_as_the_file})
    result = import_file(str(two_streams(tmp_path)), [COMBAT], watched)  # type: ignore[arg-type]
    assert result.imported == 5  # as planned: the writer's event is the file's
    assert [r.event_id for r in store.read_all()] == [
        "combat-troll-1",
        *(f"combat-ogre-{g}" for g in (1, 2, 3)),
        "combat-troll-2",
    ]
    store.close()


@needs_esdb_client
def test_an_import_whose_later_stream_moved_names_what_it_wrote_on_eventstoredb(
    tmp_path: Path, esdb_url: str
) -> None:
    import uuid

    store = open_store(esdb_url)
    ogre, troll = f"combat-o{uuid.uuid4().hex[:8]}", f"combat-t{uuid.uuid4().hex[:8]}"
    file = write(tmp_path / "two.jsonl", attacks(ogre, 3) + attacks(troll, 2, tag="x"))
    watched = Watched(store, {troll: concurrent_write(esdb_url, troll)})
    with pytest.raises(Diverged) as raised:  # the mirror looked again: another event is there
        import_file(str(file), [COMBAT], watched)  # type: ignore[arg-type]
    theirs = next(store.read(troll)).event_id
    assert str(raised.value) == (
        f"{troll} has diverged in {esdb_url}: generation 1 is event {theirs} there, not "
        f"x{troll}-1; that append wrote nothing, but written before it: {ogre} (generations "
        f"1..3); not written: {troll}; import the file again to write the rest (what is "
        "stored is skipped)"
    )
    assert (store.generation(ogre), store.generation(troll)) == (3, 1)
    store.close()


def test_the_stream_list_of_a_partial_write_is_summarised(tmp_path: Path) -> None:
    from escli.errors import written_before

    error = ConcurrencyConflict("combat-z", 0, 1)
    told = written_before(error, [f"combat-{n}" for n in range(8)], ["combat-z"], "go on")
    assert str(told) == (
        "stream 'combat-z' moved: expected generation 0, found 1; that append wrote nothing, "
        "but written before it: combat-0, combat-1, combat-2 and 5 more; not written: "
        "combat-z; go on"
    )
    assert (type(told), told.exit_code, told.actual) == (ConcurrencyConflict, 6, 1)
    assert written_before(error, [], ["combat-z"], "go on") is error


def test_a_write_that_wrote_nothing_is_marked_on_the_error_not_found_in_its_message() -> None:
    from escli.errors import in_context, written_before, wrote_nothing

    refused = wrote_nothing(StoreError(), "the events are too large")
    assert (str(refused), refused.refused) == (
        "the events are too large; nothing was written",
        "the events are too large",
    )
    told = written_before(in_context(refused, "combat-b"), ["combat-a (1 event)"], [], "go on")
    assert (type(told), str(told), told.refused) == (
        StoreError,
        "combat-b: the events are too large; that append wrote nothing, but written before "
        "it: combat-a (1 event); go on",
        None,
    )
    # A class whose __init__ takes other arguments than the message is retold too.
    moved = in_context(ConcurrencyConflict("combat-b", 0, 1), "step 2")
    assert (str(moved), moved.actual) == (
        "step 2: stream 'combat-b' moved: expected generation 0, found 1; nothing was "
        "written, retry the command",
        1,
    )
    # An error that only says the words is not cut short at them.
    other = StoreError("combat-b is gone; nothing was written to it since")
    assert str(written_before(other, ["combat-a"], [], "go on")) == (
        "combat-b is gone; nothing was written to it since; that append wrote nothing, but "
        "written before it: combat-a; go on"
    )


def filled_source() -> Store:
    source = open_store("memory:")
    for name in ("combat-a", "combat-b", "combat-c"):
        source.append(name, [r.as_new() for r in attacks(name, 3)], 0)
    return source


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_a_copy_that_meets_a_stored_id_late_leaves_the_target_as_it_was(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = (
        f"sqlite:///{tmp_path / 'target.db'}"
        if kind == "sqlite"
        else request.getfixturevalue("postgres_schemas")()
    )
    source, target = filled_source(), open_store(url)
    # The target holds the id of combat-c's last event, in another stream.
    target.append("combat-x", [attacks("combat-c", 3)[2].as_new()], 0)
    before = snapshot(target)
    with pytest.raises(StoreError, match="combat-c-3 is already stored; nothing was written"):
        copy_streams(source, target, plan_copy(source))
    assert snapshot(target) == before
    target.close()


@needs_esdb_client
def test_a_copy_cut_short_names_what_it_copied_on_eventstoredb(esdb_url: str) -> None:
    import uuid

    tag = uuid.uuid4().hex[:8]
    source = open_store("memory:")
    names = [f"combat-{c}{tag}" for c in "abc"]
    for name in names:
        source.append(name, [new() for _ in range(2)], 0)
    target = open_store(esdb_url)
    watched = Watched(target, {names[1]: concurrent_write(esdb_url, names[1])})
    # The mirror looks again after the conflict: the writer wrote another event there.
    with pytest.raises(Diverged) as raised:
        copy_streams(source, watched, plan_copy(source, names))  # type: ignore[arg-type]
    theirs, ours = next(target.read(names[1])), next(source.read(names[1]))
    assert str(raised.value) == (
        f"{names[1]} has diverged in {target.url}: generation 1 is event {theirs.event_id} "
        f"there, not {ours.event_id}; that append wrote nothing, but written before it: "
        f"{names[0]} (2 events); not written: {names[1]}, {names[2]}; copy again to write "
        "the rest"
    )
    target.close()


# --------------------------------------------------------------------------------------------
# What the CLI prints.


def test_a_long_listing_is_summarised_and_json_lists_every_stream(
    escli: Run, tmp_path: Path
) -> None:
    records = [r for n in range(8) for r in attacks(f"combat-ogre{n}", 2)]
    file = write(tmp_path / "many.jsonl", records)
    out = escli("import", str(file), "--dry-run")
    assert out.stdout == (
        f"dry run: would import 16 events into 8 streams from {file}; nothing written\n"
        "  combat-ogre0  generation 0 → 2\n"
        "  combat-ogre1  generation 0 → 2\n"
        "  combat-ogre2  generation 0 → 2\n"
        "  combat-ogre3  generation 0 → 2\n"
        "  combat-ogre4  generation 0 → 2\n"
        "  and 3 more streams (--json lists every stream)\n"
    )
    data = json.loads(escli("import", str(file), "--json").stdout)
    assert [s["stream"] for s in data["streams"]] == [f"combat-ogre{n}" for n in range(8)]


def test_standard_input_is_spooled_and_named_stdin(tmp_path: Path) -> None:
    import sys

    text = io.StringIO()
    export_events(attacks("combat-ogre", 3), text)
    stdin = sys.stdin
    sys.stdin = io.TextIOWrapper(io.BytesIO(text.getvalue().encode()))
    try:
        result = import_file("-", [COMBAT], open_store("memory:"), dry_run=True)
    finally:
        sys.stdin = stdin
    assert (result.name, result.events, result.imported) == ("<stdin>", 3, 3)


def test_a_long_copy_listing_is_summarised(escli: Run, tmp_path: Path) -> None:
    source_url = f"sqlite:///{tmp_path / 'source.db'}"
    source = open_store(source_url)
    for n in range(25):
        source.append(f"combat-imp{n:02}", [new()], 0)
    source.close()
    out = escli("copy", source_url, f"sqlite:///{tmp_path / 'target.db'}", "--all")
    lines = out.stdout.splitlines()
    # The same limit as an import's listing (five streams, then a count).
    assert (len(lines), lines[1], lines[-1]) == (
        7,
        "combat-imp00       1  0",
        "and 20 more streams (--json lists every stream)",
    )


def test_a_failed_import_into_a_store_that_does_not_exist_creates_nothing(
    tmp_path: Path,
) -> None:
    records = attacks("combat-ogre", 3)
    records[2] = records[2]._replace(generation=5)
    file = write(tmp_path / "gap.jsonl", records)
    store = open_store(f"sqlite:///{tmp_path / 'new.db'}")
    with pytest.raises(InvalidInput, match="generation 5 does not follow generation 2"):
        import_file(str(file), [COMBAT], store)
    store.close()
    assert not (tmp_path / "new.db").exists()


@pytest.mark.parametrize("kind", ["memory", "sqlite", "postgres"])
def test_stored_events_are_checked_inside_the_transaction_after_earlier_writes(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """New events of one stream come first (written before the file ends), then events of
    another that the store holds, then that stream's new ones."""
    urls = {"memory": "memory:", "sqlite": f"sqlite:///{tmp_path / 'events.db'}"}
    url = urls.get(kind) or request.getfixturevalue("postgres_schemas")()
    store = open_store(url)
    troll = attacks("combat-troll", 6000)
    store.append("combat-troll", [r.as_new() for r in troll[:5000]], 0)
    file = write(tmp_path / "mixed.jsonl", attacks("combat-ogre", 5000) + troll)
    result = import_file(str(file), [COMBAT], store)
    assert [(s.stream, s.before, s.imported, s.present) for s in result.streams] == [
        ("combat-ogre", 0, 5000, 0),
        ("combat-troll", 5000, 1000, 5000),
    ]
    assert (store.generation("combat-ogre"), store.generation("combat-troll")) == (5000, 6000)
    again = import_file(str(file), [COMBAT], store)
    assert (again.imported, again.present) == (0, 11000)
    changed = [
        *attacks("combat-imp", 5000),
        *troll[:10],
        troll[10]._replace(data={"entity_id": "troll", "damage": 2}),
    ]
    before = store.generation("combat-imp")
    with pytest.raises(InvalidInput) as raised:
        import_file(str(write(tmp_path / "changed.jsonl", changed)), [COMBAT], store)
    assert str(raised.value).endswith(
        ":5011: event combat-troll-11 is already stored at combat-troll generation 11 "
        "with another data"
    )
    assert store.generation("combat-imp") == before == 0
    store.close()


@needs_esdb_client
def test_the_cli_imports_into_eventstoredb_in_two_passes(
    escli: Run, tmp_path: Path, esdb_url: str
) -> None:
    import uuid

    ogre, troll = f"combat-o{uuid.uuid4().hex[:8]}", f"combat-t{uuid.uuid4().hex[:8]}"
    file = write(tmp_path / "two.jsonl", attacks(ogre, 3) + attacks(troll, 2))
    out = escli("import", str(file), "--store", esdb_url)
    assert (out.exit_code, out.stdout.splitlines()[0]) == (
        0,
        f"imported 5 events into 2 streams from {file}",
    )
    again = escli("import", str(file), "--store", esdb_url)
    assert again.stdout == f"nothing to import: {file} holds 5 events, all already stored\n"
    store = open_store(esdb_url)
    assert [r.event_id for r in store.read(troll)] == [f"{troll}-1", f"{troll}-2"]
    store.close()


def test_a_store_without_transactions_is_told_what_was_written(tmp_path: Path) -> None:
    """The two-pass import, on a store that writes one stream at a time (as EventStoreDB)."""
    store = open_store("memory:")
    watched = Watched(store, {"combat-troll": concurrent_write_to(store, "combat-troll")})
    with pytest.raises(Diverged) as raised:  # the mirror looked again: another event is there
        import_file(str(two_streams(tmp_path)), [COMBAT], watched)  # type: ignore[arg-type]
    assert "written before it: combat-ogre (generations 1..3); not written: combat-troll" in str(
        raised.value
    )
    assert "nothing was written" not in str(raised.value)


def concurrent_write_to(store: Store, stream: str) -> Callable[[], None]:
    def write_one() -> None:
        store.append(stream, [new()], 0)

    return write_one


@needs_esdb_client
def test_an_import_into_eventstoredb_reads_each_stored_stream_once(
    tmp_path: Path, esdb_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uuid

    ogre = f"combat-o{uuid.uuid4().hex[:8]}"
    store = open_store(esdb_url)
    store.append(ogre, [r.as_new() for r in attacks(ogre, 2)], 0)
    file = write(tmp_path / "long.jsonl", attacks(ogre, 3000))  # six chunks of 512 lines
    reads: list[str] = []  # the streams read from their first event to their last
    events = type(store)._stream_events  # type: ignore[attr-defined]

    def counted(self: Store, stream: str, first: int = 1, last: int | None = None) -> Any:
        if first <= 1 and last is None:
            reads.append(stream)
        return events(self, stream, first, last)

    monkeypatch.setattr(type(store), "_stream_events", counted)
    result = import_file(str(file), [COMBAT], store)
    assert (result.imported, store.generation(ogre), reads) == (2998, 3000, [ogre])
    store.close()


@needs_esdb_client
def test_an_id_another_stream_of_the_file_holds_on_eventstoredb_is_refused(
    tmp_path: Path, esdb_url: str
) -> None:
    import uuid

    ogre, troll = f"combat-o{uuid.uuid4().hex[:8]}", f"combat-t{uuid.uuid4().hex[:8]}"
    store = open_store(esdb_url)
    stored = attacks(troll, 2)
    store.append(troll, [r.as_new() for r in stored], 0)
    # The ogre's new event carries the id of the troll's event 2, which the file names after.
    file = write(tmp_path / "two.jsonl", [stored[1]._replace(stream=ogre, generation=1), *stored])
    with pytest.raises(InvalidInput) as raised:
        import_file(str(file), [COMBAT], store)
    assert str(raised.value) == (
        f"{file}:1: event id {troll}-2 is already stored, at {troll} generation 2"
    )
    assert store.generation(ogre) == 0
    store.close()
