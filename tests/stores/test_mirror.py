"""The mirror's contract (escli.stores.mirror), on every store a mirror writes to: what a
target holds already is skipped, what it lacks is appended, and a target that diverged or
lacks earlier events is refused before anything is written."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from escli.errors import ConcurrencyConflict
from escli.stores.base import NewEvent, RecordedEvent, Store, Transactional
from escli.stores.mirror import (
    ATTEMPTS,
    Diverged,
    TargetBehind,
    compare,
    difference,
    mirror,
    mirror_streams,
)
from tests.conftest import needs_esdb_client, open_store
from tests.stores.contract import new, unique_stream

TIME = "2026-11-26T12:52:09.974656+00:00"


def events(count: int) -> list[NewEvent]:
    """The source's events: ids, content and the time they were first recorded."""
    return [
        new({"entity_id": "ogre", "damage": n})._replace(recorded_at=TIME)
        for n in range(1, count + 1)
    ]


def held(store: Store, stream: str) -> list[tuple[object, ...]]:
    """What the target holds of ``stream``, positions included (they change on any write)."""
    return [tuple(r) for r in store.read(stream)]


def content(store: Store, stream: str) -> list[NewEvent]:
    return [r.as_new() for r in store.read(stream)]


def open_target(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    urls = {
        "memory": lambda: "memory:",
        "sqlite": lambda: f"sqlite:///{tmp_path / 'target.db'}",
        "postgres": lambda: request.getfixturevalue("postgres_schemas")(),
        "eventstoredb": lambda: request.getfixturevalue("esdb_url"),
    }
    return open_store(urls[kind]())


@pytest.fixture(
    params=["memory", "sqlite", "postgres", pytest.param("eventstoredb", marks=needs_esdb_client)]
)
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    return open_target(request.param, request, tmp_path)


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def transactional(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    """A target that offers ``Transactional`` (EventStoreDB does not)."""
    store = open_target(request.param, request, tmp_path)
    assert isinstance(store, Transactional)
    return store


def test_a_target_that_holds_nothing_gets_every_event(target: Store) -> None:
    stream, source = unique_stream(), events(3)
    assert mirror(target, stream, 1, source) == 3
    assert content(target, stream) == source


def test_a_target_that_holds_everything_is_not_written(target: Store) -> None:
    stream, source = unique_stream(), events(3)
    target.append(stream, source, 0)
    before = held(target, stream)
    assert mirror(target, stream, 1, source) == 0
    assert mirror(target, stream, 2, source[1:]) == 0
    assert held(target, stream) == before


def test_a_target_that_holds_part_gets_the_rest(target: Store) -> None:
    stream, source = unique_stream(), events(5)
    target.append(stream, source[:2], 0)
    first_two = held(target, stream)
    assert mirror(target, stream, 1, source) == 3
    assert content(target, stream) == source
    assert held(target, stream)[:2] == first_two


def test_a_range_that_starts_inside_what_the_target_holds_is_compared_from_there(
    target: Store,
) -> None:
    stream, source = unique_stream(), events(5)
    target.append(stream, source[:3], 0)
    assert mirror(target, stream, 3, source[2:]) == 2
    assert content(target, stream) == source


def test_another_id_at_a_generation_is_divergence_and_nothing_is_written(target: Store) -> None:
    stream, source = unique_stream(), events(3)
    other = new()._replace(recorded_at=TIME)
    target.append(stream, [source[0], other], 0)
    before = held(target, stream)
    with pytest.raises(Diverged) as caught:
        mirror(target, stream, 1, source)
    assert str(caught.value) == (
        f"{stream} has diverged in {target.url}: generation 2 is event {other.event_id} "
        f"there, not {source[1].event_id}; nothing was written"
    )
    assert (caught.value.stream, caught.value.generation, caught.value.field) == (stream, 2, None)
    assert held(target, stream) == before


@pytest.mark.parametrize(
    ("field", "changed"),
    [
        ("data", {"data": {"entity_id": "ogre", "damage": 99}}),
        ("time", {"recorded_at": "2026-11-26T12:52:10.000000+00:00"}),
        ("type", {"event_type": "combat.EntitySpawned"}),
        ("source", {"source": "events://elsewhere"}),
    ],
)
def test_the_same_id_with_other_content_is_divergence_and_nothing_is_written(
    target: Store, field: str, changed: dict[str, Any]
) -> None:
    stream, source = unique_stream(), events(3)
    target.append(stream, [source[0], source[1]._replace(**changed)], 0)
    before = held(target, stream)
    with pytest.raises(Diverged) as caught:
        mirror(target, stream, 1, source)
    assert str(caught.value) == (
        f"{stream} has diverged in {target.url}: generation 2 is event {source[1].event_id} "
        f"there too, but with another {field}; nothing was written"
    )
    assert held(target, stream) == before


def test_a_target_that_lacks_earlier_events_is_behind(target: Store) -> None:
    stream, source = unique_stream(), events(5)
    target.append(stream, source[:1], 0)
    with pytest.raises(TargetBehind) as caught:
        mirror(target, stream, 3, source[2:], name="the-target")
    assert (str(caught.value), caught.value.generation) == (
        f"the-target: {stream} is only at generation 1",
        1,
    )
    assert content(target, stream) == source[:1]


def test_a_writer_that_got_in_with_the_same_events_is_no_error(target: Store) -> None:
    stream, source = unique_stream(), events(4)
    target.append(stream, source[:3], 0)  # after the caller saw the stream empty
    assert mirror(target, stream, 1, source, at=0) == 1
    assert content(target, stream) == source


def test_a_writer_that_got_in_with_other_events_is_divergence(target: Store) -> None:
    stream, source = unique_stream(), events(2)
    other = new()._replace(recorded_at=TIME)
    target.append(stream, [other], 0)  # after the caller saw the stream empty
    with pytest.raises(Diverged, match=f"generation 1 is event {other.event_id} there"):
        mirror(target, stream, 1, source, at=0)
    assert content(target, stream) == [other]


class Watched:
    """A target that records the ranges read from it, and may refuse every append as a
    writer that keeps moving the stream would."""

    def __init__(self, store: Store, moving: bool = False) -> None:
        self.store, self.url, self.moving = store, store.url, moving
        self.reads: list[tuple[int, int | None]] = []
        self.appends = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    def read(self, stream: str, first: int = 1, last: int | None = None) -> Any:
        self.reads.append((first, last))
        return self.store.read(stream, first, last)

    def read_all(self, after_position: int = 0) -> Iterator[RecordedEvent]:
        raise AssertionError("a mirror must not read the whole store")

    def append(self, stream: str, events: Sequence[NewEvent], expected: int) -> Any:
        self.appends += 1
        if self.moving:
            raise ConcurrencyConflict(stream, expected, expected + 1)
        return self.store.append(stream, events, expected)


def test_only_the_generations_being_mirrored_are_read(target: Store) -> None:
    stream, source = unique_stream(), events(12)
    target.append(stream, source[:10], 0)
    watched = Watched(target)
    assert mirror(watched, stream, 9, source[8:]) == 2  # type: ignore[arg-type]
    assert watched.reads == [(9, 10)]
    watched.reads.clear()
    assert mirror(watched, stream, 13, events(1)) == 1  # type: ignore[arg-type]
    assert watched.reads == []  # nothing held at those generations: nothing to compare


def test_a_writer_that_keeps_moving_the_stream_is_a_conflict_after_a_few_attempts(
    target: Store,
) -> None:
    stream = unique_stream()
    watched = Watched(target, moving=True)
    with pytest.raises(ConcurrencyConflict):
        mirror(watched, stream, 1, events(2))  # type: ignore[arg-type]
    assert watched.appends == ATTEMPTS
    assert target.generation(stream) == 0


def test_compare_streams_the_source_and_stops_at_what_the_target_holds(target: Store) -> None:
    stream, source = unique_stream(), events(6)
    target.append(stream, source[:4], 0)
    given = iter(source)
    assert compare(target, stream, 1, 6, given) == 4
    assert next(given) == source[4]  # the target ended first: the source was read no further
    assert compare(target, stream, 2, 3, source[1:]) == 2
    assert compare(target, stream, 1, 4, source[:2]) == 2  # the source ends first


def test_several_streams_are_mirrored_as_one_write(transactional: Store) -> None:
    assert isinstance(transactional, Transactional)
    ogre, troll, source, more = unique_stream(), unique_stream(), events(3), events(1)
    with transactional.transaction():
        mirror_streams(transactional, transactional, [(ogre, 1, source), (troll, 1, more)])
    assert (content(transactional, ogre), content(transactional, troll)) == (source, more)


def test_several_streams_one_of_which_moved_are_each_looked_at_again(
    transactional: Store,
) -> None:
    assert isinstance(transactional, Transactional)
    ogre, troll, source, more = unique_stream(), unique_stream(), events(3), events(3)
    transactional.append(troll, more[:2], 0)  # after the caller saw it empty: the same events
    with transactional.transaction():
        mirror_streams(transactional, transactional, [(ogre, 1, source), (troll, 1, more)])
    assert (content(transactional, ogre), content(transactional, troll)) == (source, more)


def test_data_that_reads_back_as_the_same_json_is_the_same_event() -> None:
    stored = events(1)[0].recorded("combat-ogre", 1, TIME, 7)
    assert difference(stored, stored._replace(position=8)) is None
    as_tuple = stored._replace(data={"entity_id": "ogre", "hits": [1, 2]})
    assert (
        difference(as_tuple, as_tuple.as_new()._replace(data={"entity_id": "ogre", "hits": (1, 2)}))
        is None
    )
    assert (
        difference(as_tuple, as_tuple._replace(data={"entity_id": "ogre", "hits": [2, 1]}))
        == "data"
    )
    assert difference(stored, stored._replace(event_id="other")) == "id"
    assert difference(stored, stored._replace(type_version="2.0")) == "typeversion"
