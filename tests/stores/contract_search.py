"""The contract of ``EventSearch``: every store finds the same events and streams for a query,
as ``escli.stores.search.event_filter`` defines them (SQL on SQLite and PostgreSQL, server
filters on EventStoreDB, a scan of the log elsewhere). Stores may be shared by the session:
each test writes the streams of a domain of its own and searches within it."""

from __future__ import annotations

from typing import Any

import pytest

from escli.app.conditions import where_condition
from escli.stores.base import NewEvent, Store, new_event_id
from escli.stores.search import Query, parse_glob
from tests.stores.contract import Contract, unique_domain


def at(time: str, data: dict[str, Any], event_type: str = "combat.EntityAttacked") -> NewEvent:
    return NewEvent(event_type, "1.0", "events://test", data, new_event_id(), time)


def found(store: Store, query: Query) -> list[tuple[str, int]]:
    return [(r.stream, r.generation) for r in store.search_events(query)]


class SearchContract(Contract):
    @pytest.fixture
    def d(self, store: Store) -> str:
        """A domain of this test's own with three streams: ``D-ogre`` (spawned, attacked
        twice), ``D-orc`` (attacked), ``D-elf`` (healed), written at known times."""
        d = unique_domain()
        spawned = at("2024-03-04T10:00:00Z", {"hp": 900}, "combat.EntitySpawned")
        store.append(f"{d}-ogre", [spawned, at("2024-03-04T11:00:00Z", {"damage": 150})], 0)
        store.append(f"{d}-orc", [at("2024-03-04T11:30:00Z", {"damage": 50})], 0)
        store.append(f"{d}-ogre", [at("2024-03-04T12:00:00Z", {"damage": 200})], 2)
        healed = at("2024-03-04T13:00:00+02:00", {"amount": 5}, "combat.EntityHealed")
        store.append(f"{d}-elf", [healed], 0)  # 11:00 UTC, written with an offset
        return d

    def test_search_finds_events_of_the_given_types_in_position_order(
        self, store: Store, d: str
    ) -> None:
        query = Query(types=("combat.EntityAttacked", "combat.EntityHealed"), prefix=f"{d}-")
        assert found(store, query) == [
            (f"{d}-ogre", 2),
            (f"{d}-orc", 1),
            (f"{d}-ogre", 3),
            (f"{d}-elf", 1),
        ]

    def test_a_found_event_is_recorded_as_the_log_holds_it(self, store: Store, d: str) -> None:
        log = [r for r in store.read_all() if r.stream.startswith(f"{d}-")]
        assert list(store.search_events(Query(prefix=f"{d}-"))) == log

    @pytest.mark.parametrize(
        ("pattern", "streams"),
        [
            ("{d}-o*", ["ogre", "ogre", "orc", "ogre"]),
            ("{d}-o?c", ["orc"]),
            ("{d}-[!o]*", ["elf"]),
            ("{d}-[eo]r*", ["orc"]),
            ("{d}-ogre", ["ogre", "ogre", "ogre"]),
            ("{d}-og", []),
        ],
    )
    def test_a_stream_glob_matches_whole_names(
        self, store: Store, d: str, pattern: str, streams: list[str]
    ) -> None:
        query = Query(stream=parse_glob(pattern.format(d=d)))
        assert [s.removeprefix(f"{d}-") for s, _ in found(store, query)] == streams

    def test_since_is_inclusive_and_until_exclusive_whatever_offset_a_time_has(
        self, store: Store, d: str
    ) -> None:
        query = Query(prefix=f"{d}-", since="2024-03-04T11:00:00Z", until="2024-03-04T12:00:00Z")
        assert found(store, query) == [(f"{d}-ogre", 2), (f"{d}-orc", 1), (f"{d}-elf", 1)]

    @pytest.mark.parametrize(
        ("condition", "expected"),
        [
            ("damage>=150", [("ogre", 2), ("ogre", 3)]),
            ("damage<150", [("orc", 1)]),
            ("damage=50", [("orc", 1)]),
            ("damage!=50", [("ogre", 2), ("ogre", 3)]),  # the field must be there
            ('damage="50"', []),  # a text is not a number
            ("hp>100", [("ogre", 1)]),
            ("amount=null", []),
        ],
    )
    def test_data_conditions_compare_as_view_where_does(
        self, store: Store, d: str, condition: str, expected: list[tuple[str, int]]
    ) -> None:
        query = Query(prefix=f"{d}-", where=(where_condition(condition),))
        assert found(store, query) == [(f"{d}-{s}", g) for s, g in expected]

    def test_data_conditions_agree_with_their_python_definition_on_every_kind_of_value(
        self, store: Store
    ) -> None:
        d = unique_domain()
        values: list[Any] = [0, 1, 1.5, -3, True, False, None, "1", "b", "", [1], {"a": 1}]
        store.append(f"{d}-x", [at("2024-03-04T10:00:00Z", {"v": v}) for v in values], 0)
        store.append(f"{d}-y", [at("2024-03-04T10:00:00Z", {"other": 1})], 0)
        for text in [
            "v=1",
            "v>=1",
            "v<1",
            "v!=1",
            "v>0.5",
            "v=true",
            "v<=false",
            'v="1"',
            'v>"a"',
            "v!=b",
            'v=""',
            "v=null",
            "v!=null",
            "v>null",
            "v=[1]",
        ]:
            condition = where_condition(text)
            query = Query(prefix=f"{d}-", where=(condition,))
            expected = [
                r
                for r in store.read_all()
                if r.stream.startswith(f"{d}-") and condition.holds(r.data)
            ]
            assert list(store.search_events(query)) == expected, text

    def test_a_limit_is_met_and_after_pages_on(self, store: Store, d: str) -> None:
        first = list(store.search_events(Query(prefix=f"{d}-", limit=2)))
        assert [(r.stream, r.generation) for r in first] == [(f"{d}-ogre", 1), (f"{d}-ogre", 2)]
        rest = Query(prefix=f"{d}-", after=first[-1].position, limit=5)
        assert found(store, rest) == [(f"{d}-orc", 1), (f"{d}-ogre", 3), (f"{d}-elf", 1)]

    def test_a_limit_is_met_when_the_native_filter_is_looser_than_the_query(
        self, store: Store, d: str
    ) -> None:
        """A character set reaches SQL as one character of any kind: the store asks on."""
        query = Query(stream=parse_glob(f"{d}-[!o]*"), limit=1)
        assert found(store, query) == [(f"{d}-elf", 1)]

    def test_find_event_looks_an_id_up_and_none_is_not_found(self, store: Store, d: str) -> None:
        last = list(store.search_events(Query(prefix=f"{d}-")))[-1]
        assert store.find_event(last.event_id) == last
        assert store.find_event(new_event_id()) is None

    def test_find_events_by_id_prefix_finds_the_ids_it_begins_in_id_order(
        self, store: Store, d: str
    ) -> None:
        ids = [f"{d}9b", f"{d}9", f"{d}:x", f"{d}8z", f"{d}9a"]  # ':' follows '9'
        events = [NewEvent("combat.EntityAttacked", "1.0", "events://test", {}, i) for i in ids]
        store.append(f"{d}-ids", events, 0)

        def ids_of(prefix: str, limit: int = 10) -> list[str]:
            return [r.event_id for r in store.find_events_by_id_prefix(prefix, limit)]

        assert ids_of(f"{d}9") == [f"{d}9", f"{d}9a", f"{d}9b"]
        assert ids_of(f"{d}9", 2) == [f"{d}9", f"{d}9a"]
        assert ids_of(f"{d}9a") == [f"{d}9a"]
        assert ids_of(f"{d}7") == []
        (whole,) = store.find_events_by_id_prefix(f"{d}8", 10)
        assert whole == store.find_event(f"{d}8z")

    def test_find_streams_matches_a_glob_within_a_prefix_by_name(
        self, store: Store, d: str
    ) -> None:
        shown = [(s.stream, s.generation, s.events) for s in store.find_streams(prefix=f"{d}-")]
        assert shown == [(f"{d}-elf", 1, 1), (f"{d}-ogre", 3, 3), (f"{d}-orc", 1, 1)]
        assert [s.stream for s in store.find_streams(parse_glob(f"{d}-o*"))] == [
            f"{d}-ogre",
            f"{d}-orc",
        ]
        assert list(store.find_streams(parse_glob(f"{d}-[!eo]*"))) == []

    def test_like_and_glob_characters_in_a_name_are_only_themselves(self, store: Store) -> None:
        d = unique_domain()
        for name in ("a%_b", "aXYb", "a*b"):
            store.append(f"{d}-{name}", [at("2024-03-04T10:00:00Z", {})], 0)
        names = [s.stream.removeprefix(f"{d}-") for s in store.find_streams(prefix=f"{d}-")]
        assert sorted(names) == ["a%_b", "a*b", "aXYb"]
        for pattern, expected in [
            ("a%_*", ["a%_b"]),
            ("a[*]b", ["a*b"]),
            ("a??b", ["a%_b", "aXYb"]),
        ]:
            glob = parse_glob(f"{d}-{pattern}")
            assert (
                sorted(s.removeprefix(f"{d}-") for s, _ in found(store, Query(stream=glob)))
                == expected
            )
