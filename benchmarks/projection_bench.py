"""Projections' figures on SQLite, each next to a peer measured in the same run:

    python benchmarks/projection_bench.py [--runs 5]

- catch-up of ``combat.roster`` over 100,000 events of 2,000 streams, interleaved as real
  writers interleave them (library ``catch_up``, from position 0 each run), next to the
  replay rate of one 100,000-event stream (``escli.fold`` over ``read_data``); target: at
  least 0.5x. Runs alternate, so machine noise hits both alike;
- peak memory (RSS) of a whole catch-up process over 20,000 and over 100,000 events: it must
  not grow with the events (batches and the row cache are bounded).

Stores are written with plain SQL in escli's schema (what is measured is reading them).
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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from escli.stores import init_store, open_store

SOURCE = "events://escli/samples/combat"


def fill(path: Path, events: int, streams: int) -> str:
    """``events`` combat events over ``streams`` streams, interleaved (stream n*7919 mod)."""
    url = f"sqlite:///{path}"
    store = open_store(url)
    init_store(store)
    store.close()
    generations: dict[int, int] = {}
    rows = []
    for position in range(1, events + 1):
        n = (position * 7919) % streams
        g = generations[n] = generations.get(n, 0) + 1
        spawn = g == 1
        data = (
            {"entity_id": f"k{n}", "hitpoints": 10**12}
            if spawn
            else {"entity_id": f"k{n}", "damage": 1, "weapon": "axe"}
        )
        rows.append(
            (
                f"combat-k{n}",
                g,
                position,
                str(uuid.uuid4()),
                "combat.EntitySpawned" if spawn else "combat.EntityAttacked",
                "1.0" if spawn else "2.0",
                SOURCE,
                "2026-01-01T00:00:00Z",
                json.dumps(data),
            )
        )
    with contextlib.closing(sqlite3.connect(path)) as conn, conn:
        conn.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)", rows)
    return url


PEAK = """
import resource, sys
from escli import load_domain, open_store
from escli.app.projections import catch_up
store = open_store(sys.argv[1])
catch_up(load_domain("combat").projections["roster"], store, store)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def peak_kib(url: str) -> int:
    env = {**os.environ, "ESCLI_NO_PROJECT": "1"}
    done = subprocess.run(
        [sys.executable, "-c", PEAK, url], env=env, check=True, capture_output=True, text=True
    )
    return int(done.stdout.split()[-1])


def bench_projections(runs: int = 5, events: int = 100_000, streams: int = 2_000) -> list[str]:
    import escli
    from escli.app.projections import catch_up

    combat = escli.load_domain("combat")
    roster = combat.projections["roster"]
    lines = []
    with tempfile.TemporaryDirectory(prefix="escli-bench-proj-") as work:
        many = fill(Path(work) / "many.db", events, streams)
        one = fill(Path(work) / "one.db", events, 1)
        many_store, one_store = open_store(many), open_store(one)
        ours, peer = [], []
        for _ in range(runs):
            many_store.drop_view(roster.full_name)  # type: ignore[attr-defined]
            start = time.perf_counter()
            caught = catch_up(roster, many_store, many_store)  # type: ignore[arg-type]
            ours.append(time.perf_counter() - start)
            assert caught.events == events
            start = time.perf_counter()
            state = escli.fold(combat, "combat-k0", one_store.read_data("combat-k0"))
            peer.append(time.perf_counter() - start)
            assert state.generation == events
        rate, replay = events / statistics.median(ours), events / statistics.median(peer)
        lines.append(
            f"catch-up          {rate:9,.0f} ev/s   replay {replay:9,.0f} ev/s   ratio "
            f"{rate / replay:.2f}x   ({events:,} events over {streams:,} interleaved streams vs "
            "one stream; target >= 0.5x)"
        )
        many_store.close()
        one_store.close()
        small = fill(Path(work) / "small.db", events // 5, streams)
        big_kib, small_kib = peak_kib(many), peak_kib(small)
        lines.append(
            f"catch-up memory   {big_kib / 1024:7.1f} MiB   {events // 5:,} events "
            f"{small_kib / 1024:7.1f} MiB   ratio {big_kib / small_kib:.2f}x   (peak RSS of a "
            f"whole process, {events:,} vs {events // 5:,} events; flat: bounded batches)"
        )
    return lines


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    for line in bench_projections(args.runs):
        print(line, flush=True)
