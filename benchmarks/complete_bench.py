"""Completion's figures: a Tab on a stream id against a store of 1,000,000 streams, next to
the same Tab against a store of 1,000 streams, measured in the same run (both offer the
bound of 100 names, so the two differ only in the store's size).

    python benchmarks/complete_bench.py [--runs 11] [--streams 1000000]

- whole process: ``_ESCLI_COMPLETE=bash_complete escli`` completing
  ``escli replay combat-`` (what a user waits for after pressing Tab), median of --runs,
  alternating the two stores so that machine noise hits both alike; the target is 200 ms.
- the store alone: ``stream_names("combat-", 100)`` on SQLite and on the local PostgreSQL
  (skipped when it does not answer), median of --runs, next to the same call on 1,000 streams.

The stores are filled with plain SQL (one event a stream, in escli's schema), since what is
measured is the lookup, not the writing.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from escli.stores import init_store, open_store

TARGET_MS = 200
SMALL = 1_000  # the peer: enough streams to fill the bound of 100, as the big one does
PG_URL = os.environ.get("ESCLI_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


def fill_sqlite(path: Path, streams: int) -> str:
    url = f"sqlite:///{path}"
    store = open_store(url)
    init_store(store)
    store.close()
    with sqlite3.connect(path) as conn:
        conn.executemany(
            "INSERT INTO events VALUES (?, 1, ?, ?, 'combat.EntitySpawned', '1.0', 's', "
            "'2026-01-01T00:00:00Z', '{}', NULL)",
            ((f"combat-e{n:07}", n + 1, str(uuid.uuid4())) for n in range(streams)),
        )
    return url


def fill_postgres(streams: int) -> tuple[str, Callable[[], None]]:
    import psycopg

    schema = f"bench_complete_{uuid.uuid4().hex[:8]}"
    url = f"{PG_URL}?schema={schema}"
    store = open_store(url)
    init_store(store)
    store.close()
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(
            f"INSERT INTO {schema}.events (stream, generation, position, event_id, event_type,"
            " type_version, source, recorded_at, data) SELECT 'combat-e' || lpad(n::text, 7,"
            " '0'), 1, n, md5(n::text), 'combat.EntitySpawned', '1.0', 's', now(), '{}'"
            f" FROM generate_series(1, {streams}) AS n"
        )
        conn.execute(f"ANALYZE {schema}.events")

    def drop() -> None:
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")

    return url, drop


def tab(url: str, offered: int) -> float:
    """One Tab, whole process; the store's names must be what it offers (``offered``)."""
    env = {
        **os.environ,
        "ESCLI_STORE": url,
        "ESCLI_NO_PROJECT": "1",
        "_ESCLI_COMPLETE": "bash_complete",
        "COMP_WORDS": "escli replay combat-",
        "COMP_CWORD": "2",
    }
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "escli"], env=env, capture_output=True, text=True, check=True
    )
    elapsed = time.perf_counter() - start
    assert out.stdout.count("\n") == offered, out.stdout[:200]
    return elapsed


def lookup(url: str, runs: int) -> float:
    store = open_store(url)
    try:
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            names = store.stream_names("combat-", 100)
            times.append(time.perf_counter() - start)
            assert len(names) == 100 and names == sorted(names)
        return statistics.median(times)
    finally:
        store.close()


def bench_complete(runs: int = 11, streams: int = 1_000_000) -> list[str]:
    lines = []
    with tempfile.TemporaryDirectory(prefix="escli-bench-complete-") as work:
        big = fill_sqlite(Path(work) / "big.db", streams)
        small = fill_sqlite(Path(work) / "small.db", SMALL)
        for _ in range(2):  # warm the page cache and .pyc files
            tab(big, 100)
        big_t, small_t = [], []
        for _ in range(runs):
            big_t.append(tab(big, 100))  # the bound, reached
            small_t.append(tab(small, 100))
        b, s = statistics.median(big_t), statistics.median(small_t)
        lines.append(
            f"completion Tab     {b * 1e3:7.1f} ms   {SMALL:,} streams {s * 1e3:6.1f} ms   "
            f"ratio {b / s:.2f}x   ({streams:,} streams, sqlite, whole process; "
            f"target {TARGET_MS} ms)"
        )
        b, s = lookup(big, runs), lookup(small, runs)
        lines.append(
            f"stream_names       {b * 1e3:7.2f} ms   {SMALL:,} streams {s * 1e3:6.2f} ms   "
            f"ratio {b / s:.2f}x   ({streams:,} streams, sqlite, the store alone)"
        )
    try:
        url, drop = fill_postgres(streams)
    except Exception as e:  # no server, no psycopg: a benchmark reports and goes on
        lines.append(f"stream_names       skipped on postgresql: {str(e).splitlines()[0]}")
        return lines
    try:
        small_url, drop_small = fill_postgres(SMALL)
        try:
            b, s = lookup(url, runs), lookup(small_url, runs)
        finally:
            drop_small()
        lines.append(
            f"stream_names       {b * 1e3:7.2f} ms   {SMALL:,} streams {s * 1e3:6.2f} ms   "
            f"ratio {b / s:.2f}x   ({streams:,} streams, postgresql, the store alone)"
        )
    finally:
        drop()
    return lines


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--streams", type=int, default=1_000_000)
    args = parser.parse_args()
    for line in bench_complete(args.runs, args.streams):
        print(line, flush=True)
