"""``escli stats`` summarises a store: the same answers from SQL (SQLite, PostgreSQL) as
from the scan every other store makes."""

from __future__ import annotations

import json

import pytest

from escli.stores.memory import MemoryStore
from escli.stores.search import SearchFromReadAll
from tests.conftest import Run, open_store


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_stats_counts_streams_types_days_and_views(
    kind: str, escli: Run, store_url: str, request: pytest.FixtureRequest
) -> None:
    url = store_url if kind == "sqlite" else request.getfixturevalue("postgres_schemas")()
    for words in (["spawn", "wolf", "100"], ["attack", "wolf", "1"], ["attack", "ogre", "1"]):
        assert escli("dispatch", "combat", *words, "--store", url).exit_code == 0
    escli("project", "combat.roster", "--store", url)
    found = json.loads(escli("stats", "--store", url, "--json").stdout)
    assert (found["streams"], found["events"]) == (2, 3)
    assert [(v["type"], v["version"], v["events"]) for v in found["versions"]] == [
        ("combat.EntityAttacked", "2.0", 2),
        ("combat.EntitySpawned", "1.0", 1),
    ]
    assert found["longest"] == [
        {"stream": "combat-wolf", "generation": 2},
        {"stream": "combat-ogre", "generation": 1},
    ]
    store = open_store(url)
    # The SQL answer is the scan's answer.
    assert found["per_day"] == [
        {"day": d, "events": n}
        for d, n in SearchFromReadAll.events_per_day(store)  # type: ignore[arg-type]
    ]
    assert sum(d["events"] for d in found["per_day"]) == 3
    assert found["projections"] == [
        {"projection": "combat.roster", "state": "fresh", "lag": 0, "rows": 2}
    ]
    shown = escli("stats", "--store", url).stdout.splitlines()
    assert shown[0].split() == ["streams", "2", "events", "3"]


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_times_with_an_offset_count_on_their_utc_day(kind: str, store_url: str) -> None:
    from escli.stores.base import NewEvent

    store = MemoryStore() if kind == "memory" else open_store(store_url)
    late = NewEvent("combat.EntitySpawned", "1.0", "s", {"entity_id": "x", "hitpoints": 1}, "i1")
    store.append("combat-x", [late._replace(recorded_at="2026-01-01T23:30:00-02:00")], 0)
    assert store.events_per_day() == [("2026-01-02", 1)]
