"""Search on a store of 10,000 streams, SQLite and PostgreSQL: the answers of the issue's
searches. SQLite's are written through the store (``append_streams``, one transaction, under
a second); PostgreSQL's by one ``COPY`` into escli's schema (its ``append_streams`` is an
append a stream: 40 s here). Timings are the benchmark's (``benchmarks/search_bench.py``);
here only what is found."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import pytest

from escli.app.search import event_query, list_streams
from escli.stores import init_store, open_store
from escli.stores.base import NewEvent, Store, new_event_id

STREAMS = 10_000
KINDS = ("ogre", "orc", "elf", "imp")


def damage(n: int) -> int:
    return (n * 7) % 200


def fill() -> list[tuple[str, list[NewEvent], int]]:
    """Stream ``combat-<kind><n>``: spawned at second n of the day, then attacked for
    ``damage(n)``; the appends, as ``append_streams`` takes them."""
    appends = []
    for n in range(STREAMS):
        entity = f"{KINDS[n % 4]}{n:05}"
        second = f"2024-03-04T{n // 60 // 60:02}:{n // 60 % 60:02}:{n % 60:02}Z"
        appends.append(
            (
                f"combat-{entity}",
                [
                    NewEvent(
                        "combat.EntitySpawned",
                        "1.0",
                        "t",
                        {"entity_id": entity, "hitpoints": 900},
                        new_event_id(),
                        second,
                    ),
                    NewEvent(
                        "combat.EntityAttacked",
                        "2.0",
                        "t",
                        {"entity_id": entity, "damage": damage(n), "weapon": "axe"},
                        new_event_id(),
                        second,
                    ),
                ],
                0,
            )
        )
    return appends


def copy_into(url: str, appends: list[tuple[str, list[NewEvent], int]]) -> None:
    import psycopg

    from escli.stores.postgres.urls import parse_url

    conninfo, schema = parse_url(url)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        with conn.cursor().copy(
            f'COPY "{schema}".events (stream, generation, position, event_id, event_type,'
            " type_version, source, recorded_at, data) FROM STDIN"
        ) as copy:
            position = 0
            for stream, events, _ in appends:
                for generation, e in enumerate(events, start=1):
                    position += 1
                    copy.write_row(
                        (
                            stream,
                            generation,
                            position,
                            e.event_id,
                            e.event_type,
                            e.type_version,
                            e.source,
                            e.recorded_at,
                            json.dumps(e.data),
                        )
                    )
        conn.execute(f'UPDATE "{schema}".store SET last_position = {position}')


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def big(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Store]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('big') / 'events.db'}"
    else:
        schemas: Callable[[], str] = request.getfixturevalue("postgres_schemas")
        url = schemas()
    with open_store(url) as store:
        if request.param == "sqlite":
            store.append_streams(fill())  # type: ignore[attr-defined]
        else:
            init_store(store)
            copy_into(url, fill())
        yield store


def test_a_glob_lists_and_counts_the_streams_it_matches(big: Store) -> None:
    listing = list_streams(big, "combat-o*", limit=20)
    assert listing.matched == STREAMS // 2  # ogres and orcs
    assert [s.stream for s in listing.streams][:3] == [
        "combat-ogre00000",
        "combat-ogre00004",
        "combat-ogre00008",
    ]
    assert len(listing.streams) == 20
    assert list_streams(big, "combat-orc0000?").matched == 3  # 1, 5, 9


def test_a_type_and_a_data_condition_find_every_match(big: Store) -> None:
    query = event_query(types=["combat.EntityAttacked"], where=["damage>=195"])
    found = list(big.search_events(query))
    expected = sorted(f"combat-{KINDS[n % 4]}{n:05}" for n in range(STREAMS) if damage(n) >= 195)
    assert sorted(r.stream for r in found) == expected
    assert [r.position for r in found] == sorted(r.position for r in found)


def test_a_limit_gives_the_first_matches_in_position_order(big: Store) -> None:
    query = event_query(stream="combat-imp*", types=["combat.EntitySpawned"], limit=3)
    assert [r.stream for r in big.search_events(query)] == [
        "combat-imp00003",
        "combat-imp00007",
        "combat-imp00011",
    ]


def test_a_time_window_finds_the_streams_of_its_seconds(big: Store) -> None:
    query = event_query(
        since="2024-03-04T02:00:00Z", until="2024-03-04T02:00:10Z", types=["combat.EntitySpawned"]
    )
    assert [r.stream for r in big.search_events(query)] == [
        f"combat-{KINDS[n % 4]}{n:05}" for n in range(7200, 7210)
    ]


def test_an_event_is_found_by_its_id(big: Store) -> None:
    last = list(big.search_events(event_query(stream="combat-imp09999")))[-1]
    assert big.find_event(last.event_id) == last


def test_no_stream_and_no_event_match_what_is_not_there(big: Store) -> None:
    assert list_streams(big, "shop-*").matched == 0
    assert list(big.search_events(event_query(where=["damage>=200"]))) == []
