"""Snapshots' figures, whole processes on SQLite and on PostgreSQL, each next to a peer
measured in the same run (runs alternate, so that machine noise hits both alike):

    python benchmarks/snapshot_bench.py [--runs 11] [--events 1000000] [--pg-events 100000]

- dispatch on a stream of --events events, after the one dispatch that took its snapshot,
  next to a dispatch on a stream of 10 events (target: at most 1.2x);
- replay of that stream to its end, next to the replay of the 10-event stream (likewise);
- a dispatch that takes a snapshot (``--snapshot-every 1``) next to one that takes none
  (``--snapshot-every 0``), on the 10-event stream (target: at most 1.1x);
- the first dispatch on the long stream, which folds it all and takes the snapshot, for scale.

The same figures on PostgreSQL with a --pg-events stream (the issue's 100,000), in a fresh
schema of the server ``$ESCLI_BENCH_POSTGRES`` names (else the local test database), dropped
at the end. The long stream is written with plain SQL in escli's schema (what is measured is
reading it).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from escli.stores import init_store, open_store

PG_DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"
SOURCE = "events://escli/samples/combat"


def rows(stream: str, events: int) -> Iterator[tuple[str, int, str, str, str, str]]:
    """(stream, generation, event id, type, version, data): a spawn, then attacks."""
    entity = stream.removeprefix("combat-")
    spawned = json.dumps({"entity_id": entity, "hitpoints": 10**15})
    hit = json.dumps({"entity_id": entity, "damage": 1, "weapon": "fists"})
    for g in range(1, events + 1):
        first = g == 1
        yield (
            stream,
            g,
            str(uuid.uuid4()),
            "combat.EntitySpawned" if first else "combat.EntityAttacked",
            "1.0" if first else "2.0",
            spawned if first else hit,
        )


def fill(path: Path, stream: str, events: int) -> str:
    url = f"sqlite:///{path}"
    store = open_store(url)
    init_store(store)
    store.close()
    with contextlib.closing(sqlite3.connect(path)) as conn, conn:
        conn.executemany(
            f"INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, '{SOURCE}',"
            " '2026-01-01T00:00:00Z', ?, NULL)",
            ((s, g, g, i, t, v, d) for s, g, i, t, v, d in rows(stream, events)),
        )
    return url


def fill_postgres(url: str, stream: str, events: int) -> None:
    """``events`` events of ``stream`` in the (new) store at ``url``, by COPY."""
    import psycopg

    from escli.stores.postgres import PostgresStore

    store = PostgresStore(url)
    store.init()
    columns = (
        "stream, generation, position, event_id, event_type, type_version, source, recorded_at,"
        " data"
    )
    with psycopg.connect(store._conninfo) as conn:
        command = f"COPY {store._s}.events ({columns}) FROM STDIN"
        with conn.cursor() as cursor, cursor.copy(command) as copying:
            for s, g, i, t, v, d in rows(stream, events):
                copying.write_row((s, g, g, i, t, v, SOURCE, "2026-01-01T00:00:00Z", d))
        conn.execute(f"UPDATE {store._s}.store SET last_position = %s", (events,))
    store.close()


def run(url: str, *words: str) -> float:
    env = {**os.environ, "ESCLI_STORE": url, "ESCLI_NO_PROJECT": "1"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "escli", *words], env=env, check=True, stdout=subprocess.DEVNULL
    )
    return time.perf_counter() - start


def paired(
    runs: int, ours: list[str], peer: list[str], url: str, peer_url: str
) -> tuple[float, float]:
    a, b = [], []
    for _ in range(runs):
        a.append(run(url, *ours))
        b.append(run(peer_url, *peer))
    return statistics.median(a), statistics.median(b)


def bench_snapshots(runs: int = 11, events: int = 1_000_000) -> list[str]:
    with tempfile.TemporaryDirectory(prefix="escli-bench-snap-") as work:
        long_url = fill(Path(work) / "long.db", "combat-wolf", events)
        short_url = fill(Path(work) / "short.db", "combat-wolf", 10)
        return figures(runs, events, long_url, short_url, "sqlite")


def bench_snapshots_postgres(runs: int = 11, events: int = 100_000) -> list[str]:
    base = os.environ.get("ESCLI_BENCH_POSTGRES") or PG_DEFAULT_URL
    schemas = [f"escli_bench_{uuid.uuid4().hex[:8]}" for _ in range(2)]
    long_url, short_url = (f"{base}{'&' if '?' in base else '?'}schema={s}" for s in schemas)
    try:
        fill_postgres(long_url, "combat-wolf", events)
        fill_postgres(short_url, "combat-wolf", 10)
        return figures(runs, events, long_url, short_url, "postgres")
    finally:
        import psycopg

        with psycopg.connect(base, autocommit=True) as conn:
            for schema in schemas:
                conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def figures(runs: int, events: int, long_url: str, short_url: str, kind: str) -> list[str]:
    """The figures of the module docstring, on a long and a 10-event stream of one store."""
    lines = []
    attack = ["dispatch", "combat", "attack", "wolf", "1"]
    first = run(long_url, *attack)  # folds everything, takes the snapshot
    for _ in range(2):
        run(long_url, *attack)
        run(short_url, *attack)
    ours, peer = paired(runs, attack, attack, long_url, short_url)
    lines.append(
        f"dispatch, long     {ours * 1e3:7.1f} ms   10 events {peer * 1e3:7.1f} ms   "
        f"ratio {ours / peer:.2f}x   ({events:,}-event stream after its snapshot, {kind}; "
        "target <= 1.2x)"
    )
    replay = ["replay", "combat-wolf"]
    ours, peer = paired(runs, replay, replay, long_url, short_url)
    lines.append(
        f"replay, long       {ours * 1e3:7.1f} ms   10 events {peer * 1e3:7.1f} ms   "
        f"ratio {ours / peer:.2f}x   (the same streams, to their ends; target <= 1.2x)"
    )
    ours, peer = paired(
        runs,
        [*attack, "--snapshot-every", "1"],
        [*attack, "--snapshot-every", "0"],
        short_url,
        short_url,
    )
    lines.append(
        f"snapshot write     {ours * 1e3:7.1f} ms   none      {peer * 1e3:7.1f} ms   "
        f"ratio {ours / peer:.2f}x   (a dispatch that takes one vs one that does not; "
        "target <= 1.1x)"
    )
    lines.append(
        f"first dispatch     {first:7.2f} s    (folds all {events:,} events, takes the "
        "snapshot: once per stream)"
    )
    return lines


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--pg-events", type=int, default=100_000)
    args = parser.parse_args()
    for line in bench_snapshots(args.runs, args.events):
        print(line, flush=True)
    for line in bench_snapshots_postgres(args.runs, args.pg_events):
        print(line, flush=True)
