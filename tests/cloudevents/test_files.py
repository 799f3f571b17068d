"""escli.cloudevents.files: round trips through every format, and export in constant memory."""

from __future__ import annotations

import contextlib
import io
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from escli import CommandRejected, Domain, dispatch, load_domain
from escli.cloudevents.files import export_events, stream_from_file
from escli.cloudevents.importing import import_file
from escli.errors import UsageError
from escli.stores.base import RecordedEvent, Store
from tests.conftest import open_store

COMBAT = load_domain("combat")
ENTITIES = ["ogre", "goblin", "troll", "imp"]

commands = st.lists(
    st.tuples(
        st.sampled_from(["spawn", "attack", "heal"]),
        st.sampled_from(ENTITIES),
        st.integers(1, 1000),
    ),
    min_size=1,
    max_size=25,
)


def play(domain: Domain, store: Store, history: list[tuple[str, str, int]]) -> None:
    """Dispatch a combat history; the rules reject some commands, which is part of the game."""
    for name, entity, amount in history:
        command = domain.command_spec(name).cls(entity, amount)
        with contextlib.suppress(CommandRejected):
            dispatch(domain, command, store)


def streams_of(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    """Every stream: (generation, id, type, version, source, data, time) of each event."""
    return {
        info.stream: [
            (
                r.generation,
                r.event_id,
                r.event_type,
                r.type_version,
                r.source,
                r.data,
                r.recorded_at,
            )
            for r in store.read(info.stream)
        ]
        for info in store.streams()
    }


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
@settings(
    max_examples=25,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(history=commands)
def test_a_combat_history_survives_export_and_import_in_every_format(
    kind: str, history: list[tuple[str, str, int]]
) -> None:
    with tempfile.TemporaryDirectory() as work:
        folder = Path(work)

        def new_store(name: str) -> Store:
            return open_store("memory:" if kind == "memory" else f"sqlite:///{folder / name}")

        source = new_store("source.db")
        play(COMBAT, source, history)
        expected = streams_of(source)
        total = sum(len(events) for events in expected.values())
        formats = ["jsonl", "batch"] + (["event"] if total == 1 else [])
        for fmt in formats:
            path = folder / f"export.{fmt}"
            with path.open("w", encoding="utf-8") as out:
                assert export_events(source.read_all(), out, fmt) == total
            target = new_store(f"target-{fmt}.db")
            result = import_file(str(path), [COMBAT], target)
            # One object spanning the file is an event, whatever wrote it.
            kind = "event" if total == 1 and fmt != "batch" else fmt
            assert (result.kind, result.imported, result.present) == (kind, total, 0)
            assert streams_of(target) == expected, fmt
            again = import_file(str(path), [COMBAT], target)
            assert (again.imported, again.present) == (0, total)
            assert streams_of(target) == expected
            target.close()
        source.close()


def test_replaying_a_file_gives_the_state_replaying_the_store_gives(tmp_path: Path) -> None:
    from escli import fold

    store = open_store("memory:")
    play(COMBAT, store, [("attack", "ogre", 500), ("heal", "ogre", 50), ("attack", "ogre", 900)])
    path = tmp_path / "ogre.jsonl"
    with path.open("w") as out:
        export_events(store.read("combat-ogre"), out)
    stream, events = stream_from_file(str(path), [COMBAT])
    assert stream == "combat-ogre"
    assert fold(COMBAT, stream, events.read_data(stream)) == fold(
        COMBAT, stream, store.read_data(stream)
    )
    assert [r[:-1] for r in events.read(stream)] == [r[:-1] for r in store.read(stream)]


class CountingRecords:
    """Records made on demand, counting how many were taken."""

    def __init__(self, template: RecordedEvent, count: int) -> None:
        self.template, self.count, self.taken = template, count, 0

    def __iter__(self) -> Iterator[RecordedEvent]:
        for n in range(1, self.count + 1):
            self.taken = n
            yield self.template._replace(generation=n, event_id=f"e{n}")


class WatchingOutput(io.StringIO):
    def __init__(self, records: CountingRecords) -> None:
        super().__init__()
        self.records, self.taken_at_writes = records, []  # type: ignore[var-annotated]

    def write(self, text: str) -> int:
        self.taken_at_writes.append(self.records.taken)
        return super().write(text)


@pytest.mark.parametrize("fmt", ["jsonl", "batch"])
def test_export_writes_as_it_reads(fmt: str) -> None:
    store = open_store("memory:")
    play(COMBAT, store, [("attack", "ogre", 1)])
    (template,) = store.read_all()
    records = CountingRecords(template, 5000)
    out = WatchingOutput(records)
    assert export_events(records, out, fmt) == 5000
    first_events_written = next(taken for taken in out.taken_at_writes if taken)
    assert first_events_written <= 1024  # the first chunk went out long before the end
    assert out.getvalue().count("\n") == 5000 + (2 if fmt == "batch" else 0)


def test_an_unknown_format_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="unknown format 'xml'"):
        export_events([], io.StringIO(), "xml")


def test_an_empty_batch_is_an_empty_array() -> None:
    out = io.StringIO()
    assert export_events([], out, "batch") == 0
    assert out.getvalue() == "[]\n"


@pytest.fixture(scope="module")
def imp_lines() -> list[str]:
    """3000 events of one stream as JSON Lines, over 1 MiB: several read blocks."""
    from escli.stores.base import NewEvent

    store = open_store("memory:")
    kind = ("combat.EntityAttacked", "1.0", "events://escli/samples/combat")
    store.append(
        "combat-imp",
        [NewEvent(*kind, {"entity_id": "imp", "damage": 1}, f"imp-{n}") for n in range(3000)],
        0,
    )
    out = io.StringIO()
    export_events(store.read("combat-imp"), out)
    return out.getvalue().splitlines(keepends=True)


@pytest.mark.parametrize("bad_line", [1, 511, 512, 513, 2500, 3000])
def test_errors_are_located_across_read_blocks_and_chunks(
    tmp_path: Path, imp_lines: list[str], bad_line: int
) -> None:
    from escli.errors import InvalidInput

    lines = list(imp_lines)
    lines[bad_line - 1] = lines[bad_line - 1].replace('"typeversion": "1.0"', '"typeversion": 1')
    path = tmp_path / "imp.jsonl"
    path.write_text("".join(lines))
    assert path.stat().st_size > 3 * (1 << 18)
    with pytest.raises(InvalidInput) as raised:
        import_file(str(path), [COMBAT], open_store("memory:"))
    assert str(raised.value) == f"{path}:{bad_line}: typeversion must be a non-empty string, got 1"
