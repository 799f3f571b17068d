"""Copying streams between stores: what is kept, what is skipped, what is refused."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from escli import ConcurrencyConflict, NotFound, StoreError
from escli.app.copy import BATCH, copy_streams, plan_copy
from escli.stores.base import NewEvent, RecordedEvent, Store
from tests.conftest import open_store, snapshot
from tests.stores.contract import new


def without_positions(store: Store) -> list[tuple[object, ...]]:
    return [tuple(r._replace(position=0)) for r in store.read_all()]


def fill(store: Store) -> None:
    store.append("combat-ogre", [new({"entity_id": "ogre", "damage": n}) for n in (1, 2, 3)], 0)
    store.append("combat-troll", [new({"entity_id": "troll", "damage": 5})], 0)
    store.append("combat-ogre", [new({"entity_id": "ogre", "damage": 4})], 3)


def copy_all(source: Store, target: Store) -> dict[str, tuple[int, int]]:
    result = copy_streams(source, target, plan_copy(source))
    return {s.stream: (s.copied, s.present) for s in result.streams}


@pytest.fixture
def source(tmp_path: Path) -> Store:
    store = open_store(f"sqlite:///{tmp_path / 'source.db'}")
    fill(store)
    return store


@pytest.fixture
def target(tmp_path: Path) -> Store:
    return open_store(f"sqlite:///{tmp_path / 'target.db'}")


def test_a_copy_keeps_ids_generations_data_and_times(source: Store, target: Store) -> None:
    assert copy_all(source, target) == {"combat-ogre": (4, 0), "combat-troll": (1, 0)}
    assert without_positions(target) == without_positions(source)


def test_a_second_copy_writes_nothing(source: Store, target: Store) -> None:
    copy_all(source, target)
    before = snapshot(target)
    assert copy_all(source, target) == {"combat-ogre": (0, 4), "combat-troll": (0, 1)}
    assert snapshot(target) == before


def test_only_the_events_the_target_lacks_are_appended(source: Store, target: Store) -> None:
    copy_all(source, target)
    source.append("combat-ogre", [new(), new()], 4)
    source.append("combat-goblin", [new()], 0)
    assert copy_all(source, target) == {
        "combat-goblin": (1, 0),
        "combat-ogre": (2, 4),
        "combat-troll": (0, 1),
    }
    assert without_positions(target)[-3:] == without_positions(source)[-3:]


def test_a_diverged_target_stream_is_refused_and_left_unchanged(
    source: Store, target: Store
) -> None:
    target.append("combat-ogre", list(_as_new(source.read("combat-ogre", 1, 2))), 0)
    target.append("combat-ogre", [new()], 2)  # generation 3 is another event there
    before = snapshot(target)
    with pytest.raises(StoreError) as caught:
        copy_all(source, target)
    theirs = next(target.read("combat-ogre", 3)).event_id
    ours = next(source.read("combat-ogre", 3)).event_id
    assert str(caught.value) == (
        f"combat-ogre has diverged in {target.url}: generation 3 is event {theirs} there, not "
        f"{ours}; nothing was written"
    )
    assert snapshot(target) == before


def test_a_target_holding_an_id_with_other_content_is_refused_and_left_unchanged(
    source: Store, target: Store
) -> None:
    """Content is compared, not only ids: the mirror's one rule (a copy used to take the
    same id at the same generation as the same event)."""
    [first, second] = source.read("combat-ogre", 1, 2)
    edited = second.as_new()._replace(data={"entity_id": "ogre", "damage": 99})
    target.append("combat-ogre", [first.as_new(), edited], 0)
    before = snapshot(target)
    with pytest.raises(StoreError) as caught:
        copy_all(source, target)
    assert str(caught.value) == (
        f"combat-ogre has diverged in {target.url}: generation 2 is event {second.event_id} "
        "there too, but with another data; nothing was written"
    )
    assert snapshot(target) == before


def test_a_target_ahead_of_the_source_gets_nothing(source: Store, target: Store) -> None:
    copy_all(source, target)
    target.append("combat-troll", [new()], 1)
    assert copy_all(source, target)["combat-troll"] == (0, 1)
    assert target.generation("combat-troll") == 2


def test_named_streams_are_the_only_ones_copied(source: Store, target: Store) -> None:
    result = copy_streams(source, target, plan_copy(source, ["combat-troll", "combat-troll"]))
    assert [(s.stream, s.copied) for s in result.streams] == [("combat-troll", 1)]
    assert [s.stream for s in target.streams()] == ["combat-troll"]


def test_a_named_stream_the_source_lacks_is_not_found(source: Store, target: Store) -> None:
    with pytest.raises(NotFound, match="stream 'combat-ghost' is not in sqlite:///"):
        plan_copy(source, ["combat-troll", "combat-ghost"])


class CountingStore:
    """A target that records the size of every append it is given."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.url = store.url
        self.appends: list[int] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    def append(
        self, stream: str, events: Sequence[NewEvent], expected_generation: int
    ) -> list[RecordedEvent]:
        self.appends.append(len(events))
        return self.store.append(stream, events, expected_generation)


def test_a_long_stream_is_copied_in_batches_with_progress(tmp_path: Path) -> None:
    source = open_store("memory:")
    source.append("combat-ogre", [new() for _ in range(2 * BATCH + 500)], 0)
    target = CountingStore(open_store(f"sqlite:///{tmp_path / 'target.db'}"))
    handled: list[int] = []
    progress: Callable[[int], None] = handled.append
    copy_streams(source, target, plan_copy(source), progress)  # type: ignore[arg-type]
    assert target.appends == [BATCH, BATCH, 500]
    assert sum(handled) == 2 * BATCH + 500
    handled.clear()
    copy_streams(source, target, plan_copy(source), progress)  # type: ignore[arg-type]
    assert target.appends == [BATCH, BATCH, 500]  # nothing more
    assert sum(handled) == 2 * BATCH + 500  # every event checked counts


class ReadTracker:
    """A store that counts its reads still open (started, neither finished nor closed)."""

    def __init__(self, store: Store, fail_appends: bool = False) -> None:
        self.store = store
        self.url = store.url
        self.open = 0
        self.fail_appends = fail_appends

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    def _track(self, records: Any) -> Any:
        self.open += 1
        try:
            yield from records
        finally:
            self.open -= 1

    def read(self, *args: Any) -> Any:
        return self._track(self.store.read(*args))

    def read_all(self, *args: Any) -> Any:
        return self._track(self.store.read_all(*args))

    def append(self, stream: str, events: Any, expected_generation: int) -> Any:
        if self.fail_appends:
            raise ConcurrencyConflict(stream, expected_generation, expected_generation + 1)
        return self.store.append(stream, events, expected_generation)


def test_a_failed_copy_leaves_no_read_open(source: Store, target: Store) -> None:
    """Checked while the error is in hand: later, garbage collection would close the reads
    anyway, after the CLI closed their stores (SQLite then fails to close its cursor)."""
    target.append("combat-ogre", [new()], 0)
    tracked_source, tracked_target = ReadTracker(source), ReadTracker(target)
    failing = ReadTracker(open_store("memory:"), fail_appends=True)
    attempts = [
        (tracked_target, plan_copy(source), StoreError),  # diverged
        (failing, plan_copy(source), ConcurrencyConflict),
        (failing, plan_copy(source, ["combat-troll"]), ConcurrencyConflict),
    ]
    for copy_target, plan, error in attempts:
        try:
            copy_streams(tracked_source, copy_target, plan)  # type: ignore[arg-type]
        except error:
            assert (tracked_source.open, tracked_target.open) == (0, 0)
        else:
            pytest.fail(f"expected {error.__name__}")


def _as_new(records: Any) -> Any:
    for r in records:
        yield NewEvent(r.event_type, r.type_version, r.source, r.data, r.event_id, r.recorded_at)


def test_sqlite_to_postgres_to_sqlite_gives_back_the_same_events(
    tmp_path: Path, postgres_schemas: Callable[[], str]
) -> None:
    first = open_store(f"sqlite:///{tmp_path / 'first.db'}")
    fill(first)
    odd = {"name": "Ogre \u00e9\u4e2d\U0001f409", "nested": {"x": None, "list": [1.5, True]}}
    first.append("combat-odd", [new(odd)._replace(recorded_at="2020-01-02T05:04:05+02:00")], 0)
    middle = open_store(postgres_schemas())
    last = open_store(f"sqlite:///{tmp_path / 'last.db'}")
    assert copy_all(first, middle) == {
        "combat-odd": (1, 0),
        "combat-ogre": (4, 0),
        "combat-troll": (1, 0),
    }
    assert copy_all(middle, last) == {
        "combat-odd": (1, 0),
        "combat-ogre": (4, 0),
        "combat-troll": (1, 0),
    }
    assert without_positions(last) == without_positions(first)
    assert without_positions(middle) == without_positions(first)
    assert copy_all(first, middle) == {
        "combat-odd": (0, 1),
        "combat-ogre": (0, 4),
        "combat-troll": (0, 1),
    }
    assert [r.position for r in middle.read_all()] == [1, 2, 3, 4, 5, 6]
    middle.close()
