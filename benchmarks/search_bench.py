"""Search's figures on a store of 10,000 streams (10 events each: 100,000 events), SQLite and
the local PostgreSQL, each query next to a peer measured in the same run: the same query
answered by a scan of the whole log (``read_all``, or ``streams`` for a listing, filtered in
Python: ``BaseStore``'s own way, EventStoreDB's without its server filters).

    python benchmarks/search_bench.py [--runs 11] [--streams 10000]

Each figure is the median of --runs, alternating ours and the peer so that machine noise hits
both alike; every answer is checked against the peer's. The target: every search within a
second. The stores are filled with plain SQL in escli's schema (what is measured is finding).
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from escli.app.search import event_query
from escli.stores import init_store, open_store
from escli.stores.search import SearchFromReadAll, parse_glob

PG_URL = os.environ.get("ESCLI_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
EVENTS = 10  # a stream
KINDS = ("ogre", "orc", "elf", "imp")
START = datetime(2024, 3, 4, tzinfo=UTC)


def rows(streams: int) -> Iterator[tuple[Any, ...]]:
    """(stream, generation, position, id, type, version, source, time, data), by position."""
    position = 0
    for g in range(1, EVENTS + 1):  # interleaved, as streams are written in life
        for n in range(streams):
            position += 1
            entity = f"{KINDS[n % 4]}{n:05}"
            if g == 1:
                kind, data = "combat.EntitySpawned", {"entity_id": entity, "hitpoints": 1000}
            else:
                kind = "combat.EntityAttacked"
                data = {"entity_id": entity, "damage": (n * 7 + g) % 200, "weapon": "axe"}
            at = (START + timedelta(seconds=position)).isoformat()
            yield (
                f"combat-{entity}",
                g,
                position,
                str(uuid.uuid4()),
                kind,
                "2.0",
                "s",
                at,
                json.dumps(data),
            )


def fill_sqlite(path: Path, streams: int) -> str:
    url = f"sqlite:///{path}"
    store = open_store(url)
    init_store(store)
    store.close()
    with sqlite3.connect(path) as conn:
        conn.executemany(
            "INSERT INTO events (stream, generation, position, event_id, event_type,"
            " type_version, source, recorded_at, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows(streams),
        )
    return url


def fill_postgres(streams: int) -> tuple[str, Callable[[], None]]:
    import psycopg

    schema = f"bench_search_{uuid.uuid4().hex[:8]}"
    url = f"{PG_URL}?schema={schema}"
    store = open_store(url)
    init_store(store)
    store.close()
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        with conn.cursor().copy(
            f"COPY {schema}.events (stream, generation, position, event_id, event_type,"
            " type_version, source, recorded_at, data) FROM STDIN"
        ) as copy:
            for row in rows(streams):
                copy.write_row(row)
        conn.execute(f"UPDATE {schema}.store SET last_position = {streams * EVENTS}")
        conn.execute(f"ANALYZE {schema}.events")

    def drop() -> None:
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")

    return url, drop


QUERIES = {
    "type + where": dict(types=["combat.EntityAttacked"], where=["damage>=199"], limit=100),
    "no match": dict(where=["damage>=1000"], limit=100),
    "stream glob": dict(stream="combat-o*1", limit=100),
    "time window": dict(since="2024-03-04T12:00:00Z", until="2024-03-04T12:01:00Z"),
    "domain + type": dict(domain="combat", types=["combat.EntitySpawned"], limit=100),
    "one stream": dict(stream="combat-orc09997"),
}


def timed(call: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    answer = call()
    return time.perf_counter() - start, answer


def compare(label: str, ours: Callable[[], Any], peer: Callable[[], Any], runs: int) -> str:
    mine, theirs = [], []
    for _ in range(runs):
        t, a = timed(ours)
        u, b = timed(peer)
        assert a == b, label
        mine.append(t)
        theirs.append(u)
    m, p = statistics.median(mine), statistics.median(theirs)
    return f"{label:<36}{m * 1e3:8.1f} ms   scan {p * 1e3:8.1f} ms   ratio {p / m:7.1f}x"


def bench_store(url: str, name: str, runs: int, streams: int) -> list[str]:
    store = open_store(url)
    lines = []
    try:
        for label, asked in QUERIES.items():
            query = event_query(**asked)  # type: ignore[arg-type]
            lines.append(
                compare(
                    f"events {label} ({name})",
                    lambda q=query: [r.position for r in store.search_events(q)],
                    lambda q=query: [r.position for r in SearchFromReadAll.search_events(store, q)],
                    runs,
                )
            )
        glob = parse_glob("combat-o*")
        lines.append(
            compare(
                f"streams combat-o* ({name})",
                lambda: len(list(store.find_streams(glob))),
                lambda: len(list(SearchFromReadAll.find_streams(store, glob))),
                runs,
            )
        )
        last_id = store.read_log(streams * EVENTS - 1, 1)[0][3]  # plain tuples on SQL
        lines.append(
            compare(
                f"event ID, the last ({name})",
                lambda: store.find_event(last_id),
                lambda: SearchFromReadAll.find_event(store, last_id),
                max(3, runs // 3),
            )
        )
    finally:
        store.close()
    return lines


def bench_search(runs: int = 11, streams: int = 10_000) -> list[str]:
    lines = [f"search: {streams:,} streams, {streams * EVENTS:,} events; median of {runs}"]
    with tempfile.TemporaryDirectory(prefix="escli-bench-search-") as work:
        url = fill_sqlite(Path(work) / "search.db", streams)
        lines += bench_store(url, "sqlite", runs, streams)
    try:
        url, drop = fill_postgres(streams)
    except Exception as e:  # no server, no psycopg: a benchmark reports and goes on
        return [*lines, f"search             skipped on postgresql: {str(e).splitlines()[0]}"]
    try:
        lines += bench_store(url, "postgresql", runs, streams)
    finally:
        drop()
    return lines


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--streams", type=int, default=10_000)
    args = parser.parse_args()
    for line in bench_search(args.runs, args.streams):
        print(line, flush=True)
