"""The ``EventLog`` and ``Views`` contracts (``escli.stores.views``).

``EventLogContract`` runs on every store: the global log in pages after a position, up to a
bound, of the streams a prefix names; the head position; the events after a position; and
waking when the log moves (``contract_wakeup``).
``ViewsContract`` runs on the stores that keep views (memory, SQLite, PostgreSQL): builds
numbered and dropped, each with the event store it is built from, rows and checkpoint
written together and only from the checkpoint read, switching and dropping, and reads of a
store that kept none.

The stores of a session may be shared (PostgreSQL's schema, the EventStoreDB server): each
test uses streams and views of its own, and counts positions from the head it found.
"""

from __future__ import annotations

import json
import random
import uuid
from typing import Any

import pytest

from escli.errors import ConcurrencyConflict
from escli.stores.base import EventStore, Transactional
from escli.stores.views import CheckpointMoved, EventLog, ViewBuild, Views
from tests.stores.contract import Contract, new, read_log, unique_domain
from tests.stores.contract_wakeup import WakeUpContract


def unique_view() -> str:
    return f"t{uuid.uuid4().hex[:12]}.roster"


def parsed(data: Any) -> Any:
    """A log row's data: JSON text (SQL stores) or the object (the others)."""
    return json.loads(data) if isinstance(data, str) else data


class EventLogContract(WakeUpContract, Contract):
    # A namespaced view's head is the store underneath's (one indexed read, where counting
    # its own events would read them all): a bound on its positions, not the newest of them.
    head_is_the_shared_stores = False

    def test_the_log_is_read_in_pages_in_position_order(self, store: EventStore) -> None:
        assert isinstance(store, EventLog)
        d = unique_domain()
        start = store.head_position()
        written = [
            *store.append(f"{d}-a", [new({"n": 1}), new({"n": 2})], 0),
            *store.append(f"{d}-b", [new({"n": 3})], 0),
            *store.append(f"{d}-a", [new({"n": 4})], 2),
        ]
        rows = read_log(store, start, 10, prefix=f"{d}-")
        assert [(r.stream, r.generation, r.event_id) for r in rows] == [
            (w.stream, w.generation, w.event_id) for w in written
        ]
        assert [r.position for r in rows] == [w.position for w in written]
        assert [parsed(r.data) for r in rows] == [{"n": 1}, {"n": 2}, {"n": 3}, {"n": 4}]
        # What read_all gives, the recorded time as the same text.
        [*read] = store.read_all(start)
        assert [(r.event_type, r.type_version, r.recorded_at) for r in rows] == [
            (r.event_type, r.type_version, r.recorded_at) for r in read
        ]
        # Pages: each from the last position of the one before, until an empty one.
        first = read_log(store, start, 3, prefix=f"{d}-")
        second = read_log(store, first[-1].position, 3, prefix=f"{d}-")
        assert first + second == rows and len(second) == 1
        assert read_log(store, rows[-1].position, 3, prefix=f"{d}-") == []
        # Without a prefix, the same (nobody else writes meanwhile).
        assert read_log(store, start, 10) == rows

    def test_the_log_is_read_up_to_a_bound(self, store: EventStore) -> None:
        d = unique_domain()
        start = store.head_position()
        written = store.append(f"{d}-a", [new(), new(), new()], 0)
        bound = written[1].position
        rows = read_log(store, start, 10, up_to=bound)
        assert [r.event_id for r in rows] == [w.event_id for w in written[:2]]
        assert read_log(store, bound, 10, up_to=bound) == []
        assert read_log(store, start, 1, up_to=bound)[0].event_id == written[0].event_id

    def test_a_prefix_matches_the_streams_that_start_with_it_and_no_other(
        self, store: EventStore
    ) -> None:
        d = unique_domain()
        start = store.head_position()
        # Streams that sort right beside ``<d>-`` ('.' and 'x' after '-', or a LIKE pattern's
        # '_' standing for any character) but do not start with it.
        # And one whose next character is the last code point, past any range's bound.
        for stream in (
            f"{d}.x",
            f"{d}x-1",
            f"{d}",
            f"{d}-1",
            f"{d}_-1",
            f"{d}--2",
            f"{d}-",
            f"{d}-\U0010ffff",
        ):
            store.append(stream, [new()], 0)
        assert [r.stream for r in read_log(store, start, 10, prefix=f"{d}-")] == [
            f"{d}-1",
            f"{d}--2",
            f"{d}-",
            f"{d}-\U0010ffff",
        ]
        assert [r.stream for r in read_log(store, start, 10, prefix=f"{d}_-")] == [f"{d}_-1"]
        assert read_log(store, start, 10, prefix=f"{d}-nothing") == []

    def test_the_head_is_the_newest_position_and_zero_on_an_empty_store(
        self, store: EventStore, empty_store: EventStore
    ) -> None:
        assert isinstance(empty_store, EventLog)
        if not self.head_is_the_shared_stores:
            assert empty_store.head_position() == 0
        assert empty_store.events_after(0) == 0
        assert read_log(empty_store, 0, 10) == []
        d = unique_domain()
        *_, last = store.append(f"{d}-a", [new(), new()], 0)
        assert store.head_position() == last.position
        [newer] = store.append(f"{d}-b", [new()], 0)
        assert store.head_position() == newer.position > last.position

    def test_events_after_a_position_are_counted_up_to_a_bound(self, store: EventStore) -> None:
        d = unique_domain()
        start = store.head_position()
        written = store.append(f"{d}-a", [new(), new(), new()], 0)
        assert store.events_after(start) == 3
        assert store.events_after(start, up_to=written[1].position) == 2
        assert store.events_after(written[0].position) == 2
        assert store.events_after(store.head_position()) == 0


def made(name: str, build: int, *, live: bool, fingerprint: str) -> tuple[Any, ...]:
    """A build as started: everything but its time."""
    return (name, build, live, 0, 0, fingerprint)


def without_time(builds: list[ViewBuild]) -> list[tuple[Any, ...]]:
    return [tuple(b)[:6] for b in builds]


class ViewsContract(Contract):
    def test_the_first_build_is_live_and_a_rebuild_is_numbered_beside_it(
        self, store: Views
    ) -> None:
        name = unique_view()
        assert store.view_builds(name) == []
        first = store.start_build(name, "fp1", live=True)
        assert tuple(first)[:6] == made(name, 1, live=True, fingerprint="fp1")
        rebuild = store.start_build(name, "fp2", live=False)
        assert tuple(rebuild)[:6] == made(name, 2, live=False, fingerprint="fp2")
        assert store.view_builds(name) == [first, rebuild]  # the live one first
        assert [b for b in store.view_builds() if b.name == name] == [first, rebuild]

    def test_a_build_records_the_event_store_it_is_built_from(self, store: Views) -> None:
        name = unique_view()
        own = store.start_build(name, "fp", live=True)  # the store's own events
        assert own.source == "" and store.view_builds(name)[0].source == ""
        elsewhere = "sqlite:////srv/events.db"
        rebuild = store.start_build(name, "fp", live=False, source=elsewhere)
        assert rebuild.source == elsewhere
        store.write_view(name, rebuild.build, {"a": "1"}, after=0, position=3, events=3)
        store.switch_build(name, rebuild.build)
        [build] = store.view_builds(name)
        assert (build.build, build.source, build.position) == (rebuild.build, elsewhere, 3)
        assert [b.source for b in store.view_builds() if b.name == name] == [elsewhere]

    def test_a_new_start_drops_the_build_that_was_not_live_with_its_rows(
        self, store: Views
    ) -> None:
        name = unique_view()
        store.start_build(name, "fp1", live=True)
        store.write_view(name, 1, {"a": "{}"}, after=0, position=1, events=1)
        store.start_build(name, "fp2", live=False)
        store.write_view(name, 2, {"b": "{}"}, after=0, position=1, events=1)
        again = store.start_build(name, "fp3", live=False)
        assert tuple(again)[:6] == made(name, 2, live=False, fingerprint="fp3")
        assert store.count_rows(name, 2) == 0
        assert store.view_rows(name, 1, ["a"]) == {"a": "{}"}  # the live build untouched
        # A live start replaces every build: numbered after the live one it drops.
        fresh = store.start_build(name, "fp4", live=True)
        assert without_time(store.view_builds(name)) == [
            made(name, 2, live=True, fingerprint="fp4")
        ]
        assert fresh.build == 2 and store.count_rows(name, 2) == 0
        assert store.view_rows(name, 1, ["a"]) == {}

    def test_a_write_sets_and_deletes_rows_and_moves_the_checkpoint(self, store: Views) -> None:
        name = unique_view()
        store.start_build(name, "fp", live=True)
        store.write_view(name, 1, {"a": '{"n": 1}', "b": '{"n": 2}'}, after=0, position=5, events=2)
        assert store.view_rows(name, 1, ["a", "b", "c"]) == {"a": '{"n": 1}', "b": '{"n": 2}'}
        [build] = store.view_builds(name)
        assert (build.position, build.events) == (5, 2)
        changed = {"a": None, "b": '{"n": 3}', "c": '{"n": 4}', "never": None}
        store.write_view(name, 1, changed, after=5, position=9, events=3)
        assert store.view_rows(name, 1, ["a", "b", "c"]) == {"b": '{"n": 3}', "c": '{"n": 4}'}
        [build] = store.view_builds(name)
        assert (build.position, build.events, build.fingerprint) == (9, 5, "fp")
        # A batch that changed no row still moves the checkpoint.
        store.write_view(name, 1, {}, after=9, position=20, events=0)
        assert store.view_builds(name)[0].position == 20
        assert store.count_rows(name, 1) == 2

    def test_a_write_from_a_checkpoint_that_moved_writes_nothing(self, store: Views) -> None:
        name = unique_view()
        store.start_build(name, "fp", live=True)
        store.write_view(name, 1, {"a": '{"n": 1}'}, after=0, position=3, events=1)
        with pytest.raises(CheckpointMoved) as caught:
            store.write_view(name, 1, {"a": None, "b": "{}"}, after=0, position=7, events=4)
        assert isinstance(caught.value, ConcurrencyConflict)
        assert (caught.value.expected, caught.value.actual) == (0, 3)
        assert store.view_rows(name, 1, ["a", "b"]) == {"a": '{"n": 1}'}
        [build] = store.view_builds(name)
        assert (build.position, build.events) == (3, 1)
        with pytest.raises(CheckpointMoved) as caught:  # a build that is not there
            store.write_view(name, 9, {"b": "{}"}, after=0, position=7, events=4)
        assert caught.value.actual == -1
        assert store.count_rows(name, 9) == 0

    def test_switching_makes_a_rebuild_live_and_drops_the_old_build_with_its_rows(
        self, store: Views
    ) -> None:
        name = unique_view()
        store.start_build(name, "old", live=True)
        store.write_view(name, 1, {"a": "1", "b": "2"}, after=0, position=4, events=4)
        store.start_build(name, "new", live=False)
        store.write_view(name, 2, {"a": "10"}, after=0, position=6, events=6)
        store.switch_build(name, 2)
        [build] = store.view_builds(name)
        assert (build.build, build.live, build.fingerprint, build.position) == (2, True, "new", 6)
        assert store.view_rows(name, 1, ["a", "b"]) == {} and store.count_rows(name, 1) == 0
        assert store.view_rows(name, 2, ["a", "b"]) == {"a": "10"}

    def test_switching_a_build_live_already_or_gone_drops_nothing(self, store: Views) -> None:
        name = unique_view()
        store.start_build(name, "old", live=True)
        store.start_build(name, "new", live=False)
        store.write_view(name, 2, {"a": "10"}, after=0, position=6, events=6)
        store.switch_build(name, 2)
        store.switch_build(name, 2)  # a second rebuilder of it, done a moment later
        assert without_time(store.view_builds(name)) == [(name, 2, True, 6, 6, "new")]
        assert store.view_rows(name, 2, ["a"]) == {"a": "10"}
        with pytest.raises(CheckpointMoved) as gone:  # dropped by another start meanwhile
            store.switch_build(name, 1)
        assert gone.value.actual == -1 and "the build written to is gone" in str(gone.value)
        assert without_time(store.view_builds(name)) == [(name, 2, True, 6, 6, "new")]
        assert store.view_rows(name, 2, ["a"]) == {"a": "10"}

    def test_dropping_a_view_forgets_every_build_and_its_rows(self, store: Views) -> None:
        name, other = unique_view(), unique_view()
        for view in (name, other):
            store.start_build(view, "fp", live=True)
            store.write_view(view, 1, {"a": "1"}, after=0, position=1, events=1)
        store.start_build(name, "fp2", live=False)
        store.write_view(name, 2, {"b": "2"}, after=0, position=1, events=1)
        assert store.drop_view(name) == 2
        assert store.view_builds(name) == []
        assert store.count_rows(name, 1) == store.count_rows(name, 2) == 0
        assert store.drop_view(name) == 0
        assert store.view_rows(other, 1, ["a"]) == {"a": "1"}

    def test_rows_are_found_by_many_keys_at_once(self, store: Views) -> None:
        name = unique_view()
        store.start_build(name, "fp", live=True)
        rows = {f"combat-k{i}": json.dumps({"i": i}) for i in range(1200)}
        store.write_view(name, 1, rows, after=0, position=1200, events=1200)
        assert store.count_rows(name, 1) == 1200
        wanted = [*rows, *(f"missing-{i}" for i in range(300))]
        random.Random(7).shuffle(wanted)
        assert store.view_rows(name, 1, wanted) == rows
        assert store.view_rows(name, 1, []) == {}
        gone = dict.fromkeys(list(rows)[:700])
        store.write_view(name, 1, gone, after=1200, position=1300, events=100)
        assert store.view_rows(name, 1, wanted) == {k: rows[k] for k in list(rows)[700:]}

    def test_a_scan_gives_every_row_of_the_build_by_key(self, store: Views) -> None:
        name = unique_view()
        store.start_build(name, "fp", live=True)
        keys = ["b", "B", "a", "a-1", "a.1", "a1", "é", "z", "10", "9", "a 1", "ä"]
        store.write_view(name, 1, {k: json.dumps(k) for k in keys}, after=0, position=1, events=1)
        store.start_build(name, "fp2", live=False)
        store.write_view(name, 2, {"other": "{}"}, after=0, position=1, events=1)
        # By code point, whatever the database's collation.
        assert list(store.scan_view(name, 1)) == [(k, json.dumps(k)) for k in sorted(keys)]
        assert list(store.scan_view(name, 3)) == []

    def test_a_store_that_kept_no_view_reads_empty_and_makes_one(self, empty_store: Views) -> None:
        name = unique_view()
        assert empty_store.view_builds() == [] and empty_store.view_builds(name) == []
        with pytest.raises(CheckpointMoved):  # no such build: its checkpoint is not at 0
            empty_store.write_view(name, 1, {"a": "1"}, after=0, position=1, events=1)
        assert empty_store.view_rows(name, 1, ["a"]) == {}
        assert list(empty_store.scan_view(name, 1)) == []
        assert empty_store.count_rows(name, 1) == 0
        assert empty_store.drop_view(name) == 0
        store = empty_store
        store.start_build(name, "fp", live=True)
        store.write_view(name, 1, {"a": "1"}, after=0, position=1, events=1)
        assert list(store.scan_view(name, 1)) == [("a", "1")]

    def test_a_write_in_a_rolled_back_transaction_goes_with_it(self, store: Views) -> None:
        assert isinstance(store, Transactional)
        name = unique_view()
        store.start_build(name, "fp", live=True)
        with store.transaction(rollback=True):
            store.write_view(name, 1, {"a": "1"}, after=0, position=2, events=2)
            assert store.view_rows(name, 1, ["a"]) == {"a": "1"}
            store.start_build(name, "fp2", live=False)
        assert store.view_rows(name, 1, ["a"]) == {}
        assert without_time(store.view_builds(name)) == [made(name, 1, live=True, fingerprint="fp")]

    def test_a_moved_checkpoint_inside_a_transaction_leaves_it_usable(self, store: Views) -> None:
        assert isinstance(store, Transactional)
        name = unique_view()
        store.start_build(name, "fp", live=True)
        with store.transaction():
            with pytest.raises(CheckpointMoved):
                store.write_view(name, 1, {"a": "1"}, after=5, position=6, events=1)
            store.write_view(name, 1, {"b": "2"}, after=0, position=6, events=1)
        assert store.view_rows(name, 1, ["a", "b"]) == {"b": "2"}
        assert store.view_builds(name)[0].position == 6

    def test_views_first_made_in_a_rolled_back_transaction_are_made_again(
        self, empty_store: Views
    ) -> None:
        # ``escli test`` runs projections in a transaction it rolls back: the tables the
        # first build made go with it, and the next build must make them again.
        assert isinstance(empty_store, Transactional)
        name = unique_view()
        with empty_store.transaction(rollback=True):
            empty_store.start_build(name, "fp", live=True)
            empty_store.write_view(name, 1, {"a": "1"}, after=0, position=1, events=1)
        assert empty_store.view_builds() == []
        empty_store.start_build(name, "fp", live=True)
        empty_store.write_view(name, 1, {"a": "1"}, after=0, position=1, events=1)
        assert empty_store.view_rows(name, 1, ["a"]) == {"a": "1"}
