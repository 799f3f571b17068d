"""Snapshots' figures, whole processes on SQLite, each next to a peer measured in the same run
(runs alternate, so that machine noise hits both alike):

    python benchmarks/snapshot_bench.py [--runs 11] [--events 1000000]

- dispatch on a stream of --events events, after the one dispatch that took its snapshot,
  next to a dispatch on a stream of 10 events (target: at most 1.2x);
- replay of that stream to its end, next to the replay of the 10-event stream (likewise);
- a dispatch that takes a snapshot (``--snapshot-every 1``) next to one that takes none
  (``--snapshot-every 0``), on the 10-event stream (target: at most 1.1x);
- the first dispatch on the long stream, which folds it all and takes the snapshot, for scale.

The long stream is written with plain SQL in escli's schema (what is measured is reading it).
"""

from __future__ import annotations

import argparse
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


def fill(path: Path, stream: str, events: int) -> str:
    url = f"sqlite:///{path}"
    store = open_store(url)
    init_store(store)
    store.close()
    entity = stream.removeprefix("combat-")
    spawned = json.dumps({"entity_id": entity, "hitpoints": 10**15})
    hit = json.dumps({"entity_id": entity, "damage": 1, "weapon": "fists"})
    with sqlite3.connect(path) as conn:
        position = conn.execute("SELECT coalesce(max(position), 0) FROM events").fetchone()[0]
        conn.executemany(
            "INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, 'events://escli/samples/combat',"
            " '2026-01-01T00:00:00Z', ?)",
            (
                (
                    stream,
                    g,
                    position + g,
                    str(uuid.uuid4()),
                    "combat.EntitySpawned" if g == 1 else "combat.EntityAttacked",
                    "1.0" if g == 1 else "2.0",
                    spawned if g == 1 else hit,
                )
                for g in range(1, events + 1)
            ),
        )
    return url


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
    lines = []
    with tempfile.TemporaryDirectory(prefix="escli-bench-snap-") as work:
        long_url = fill(Path(work) / "long.db", "combat-wolf", events)
        short_url = fill(Path(work) / "short.db", "combat-wolf", 10)
        attack = ["dispatch", "combat", "attack", "wolf", "1"]
        first = run(long_url, *attack)  # folds everything, takes the snapshot
        for _ in range(2):
            run(long_url, *attack)
            run(short_url, *attack)
        ours, peer = paired(runs, attack, attack, long_url, short_url)
        lines.append(
            f"dispatch, long     {ours * 1e3:7.1f} ms   10 events {peer * 1e3:7.1f} ms   "
            f"ratio {ours / peer:.2f}x   ({events:,}-event stream after its snapshot, sqlite; "
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
    args = parser.parse_args()
    for line in bench_snapshots(args.runs, args.events):
        print(line, flush=True)
