"""escli's benchmark: one command, figures with ratios to a floor measured in the same run.

    python benchmarks/run.py [--runs 21] [--events 100000]

Figures:
- dispatch latency: whole-process ``escli dispatch combat attack ogre 150`` on the embedded
  SQLite store (median of --runs), run from a regular install of this checkout made in a
  temporary folder (``pip install --target``; an editable install adds an import hook),
  next to the import floor
  ``python -c "import click, rich.console, sqlite3, json"``. Runs alternate with the floor so
  that machine noise hits both alike.
- replay: library-level fold of one --events stream from SQLite (events/s), next to a floor
  of bare sqlite3 + json.loads folding the same rows; the same stream stored at the old
  version 1.0 of ``EntityAttacked`` (read through the sample's upcaster) next to it at 2.0
  (the issue-13 floor: 0.90x); and, to show where a fold's time goes,
  its typed decoding alone (the rows' stored texts into event classes, with every check)
  next to json.loads alone on the same texts.
- cloudevents (cloudevents_bench.py): export and import of --events events, next to the
  CloudEvents SDK doing the same.
- import (import_bench.py): whole ``escli import`` processes on SQLite: one event into a
  store of 200,000 next to one into an empty store, peak RSS of 200,000 and 1,000,000
  events (``--no-million`` skips the latter), 10,000 streams next to one stream, and a
  no-op ``import --append`` into PostgreSQL next to SQLite.
- postgres (postgres.py): append and replay on the local PostgreSQL, next to bare psycopg.
- nats (nats_bench.py): publishing --events events to JetStream, next to bare nats-py.
- snapshots (snapshot_bench.py): dispatch and replay on a 1,000,000-event SQLite stream
  (100,000 with ``--no-million``) after its snapshot, next to a 10-event stream (target
  1.2x); a dispatch that takes a snapshot next to one that does not (target 1.1x); the same
  on a 100,000-event PostgreSQL stream.
- projections (projection_bench.py): catch-up of 100,000 events over 2,000 interleaved
  streams next to the replay of one 100,000-event stream (target 0.5x), and the peak
  memory of a catch-up at 20,000 and 100,000 events.
- complete (complete_bench.py): a Tab on a stream id, whole process, on a store of
  1,000,000 streams (100,000 with ``--no-million``) next to one of 1,000 (target 200 ms),
  and ``stream_names`` alone on SQLite and PostgreSQL.
- search (search_bench.py): ``events`` searches, a ``streams`` pattern and ``event ID`` on
  10,000 streams (100,000 events), SQLite and PostgreSQL, next to the same answer from a
  scan of the whole log (target: within a second).

``--only GROUP`` (repeatable) runs some; a group whose server or client is missing says so.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import escli
from escli.stores import open_store
from escli.stores.base import NewEvent, new_event_id

FLOOR_IMPORTS = "import click, rich.console, sqlite3, json"


ROOT = Path(__file__).resolve().parents[1]


def installed_copy(work: Path) -> dict[str, str]:
    """A regular (non-editable) install of this checkout in ``work``, as ``pip install .``
    gives a user, and the environment that puts it first on sys.path. An editable install's
    import hook would otherwise be measured too."""
    target = work / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(target),
            str(ROOT),
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return {"PYTHONPATH": str(target)}


def seed_store(path: Path, domain: escli.Domain, hitpoints: int) -> None:
    """An ogre that survives every attack the benchmark makes: killed, then respawned huge."""
    store = open_store(f"sqlite:///{path}")
    spawn, attack = domain.command_spec("spawn").cls, domain.command_spec("attack").cls
    escli.dispatch(domain, attack("ogre", 900), store)
    escli.dispatch(domain, spawn("ogre", hitpoints), store)
    store.close()


def time_process(cmd: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def bench_dispatch(runs: int, work: Path) -> tuple[float, float]:
    domain = escli.load_domain("combat")
    store_path = work / "dispatch.db"
    seed_store(store_path, domain, 10**12)
    env = {**os.environ, **installed_copy(work), "ESCLI_STORE": f"sqlite:///{store_path}"}
    # A user's install has its .pyc files (pip writes them); a shell that says not to write
    # any would have every run compile escli from source, which measures the compiler.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    command = [sys.executable, "-m", "escli", "dispatch", "combat", "attack", "ogre", "150"]
    floor_cmd = [sys.executable, "-c", FLOOR_IMPORTS]
    for _ in range(2):  # warm the page cache and .pyc files
        time_process(command, work, env)
        time_process(floor_cmd, work, env)
    before = open_store(f"sqlite:///{store_path}").generation("combat-ogre")
    ours, floor = [], []
    for _ in range(runs):
        ours.append(time_process(command, work, env))
        floor.append(time_process(floor_cmd, work, env))
    after = open_store(f"sqlite:///{store_path}").generation("combat-ogre")
    assert after - before == runs, f"expected {runs} appends, got {after - before}"
    return statistics.median(ours), statistics.median(floor)


def build_stream(
    path: Path, events: int, *, stream: str = "combat-ogre", attacked: str = "2.0"
) -> str:
    """A stream of one spawn and ``events - 1`` attacks, the attacks at version ``attacked``
    of ``EntityAttacked`` (2.0, the current one, carries a weapon; 1.0, the sample's first
    version, is read through its upcaster)."""
    store = open_store(f"sqlite:///{path}")
    batch = 1000
    entity = stream.partition("-")[2]
    spawn = NewEvent(
        "combat.EntitySpawned",
        "1.0",
        "events://escli/samples/combat",
        {"entity_id": entity, "hitpoints": 10**12},
        new_event_id(),
    )
    data: dict[str, object] = {"entity_id": entity, "damage": 150}
    if attacked == "2.0":
        data["weapon"] = "axe"
    store.append(stream, [spawn], 0)
    generation = 1
    while generation < events:
        n = min(batch, events - generation)
        store.append(
            stream,
            [
                NewEvent(
                    "combat.EntityAttacked",
                    attacked,
                    "events://escli/samples/combat",
                    data,
                    new_event_id(),
                )
                for _ in range(n)
            ],
            generation,
        )
        generation += n
    store.close()
    return stream


def bench_decoding(events: int, work: Path, repeats: int = 3) -> tuple[float, float]:
    """The typed decoding of a fold (``stored_decoder``'s two parts, as ``fold`` calls them)
    next to ``json.loads``, on the replay stream's stored texts read once into memory."""
    from escli.domain.codec import stored_decoder

    domain = escli.load_domain("combat")
    conn = sqlite3.connect(work / "replay.db")
    rows = conn.execute("SELECT event_type, type_version, data FROM events").fetchall()
    conn.close()
    parts = {key: stored_decoder(cls) for key, cls in domain.events.items()}

    def ours() -> None:
        for event_type, version, data in rows:
            decoding = parts[event_type, version]
            decoding.check(data)
            decoding.build(data)

    def floor() -> None:
        loads = json.loads
        for _, _, data in rows:
            loads(data)

    def best(f) -> float:  # type: ignore[no-untyped-def]
        return min(_timed(f) for _ in range(repeats))

    return events / best(ours), events / best(floor)


def _timed(f) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    f()
    return time.perf_counter() - start


def bench_replay(events: int, work: Path, repeats: int = 3) -> tuple[float, float]:
    path = work / "replay.db"
    stream = build_stream(path, events)
    domain = escli.load_domain("combat")

    def ours() -> None:
        store = open_store(f"sqlite:///{path}")
        state = escli.fold(domain, stream, store.read_data(stream))
        assert state.generation == events
        store.close()

    def floor() -> None:
        conn = sqlite3.connect(path)
        hitpoints, count = 0, 0
        loads = json.loads
        rows = conn.execute(
            "SELECT event_type, data FROM events WHERE stream = ? ORDER BY generation", (stream,)
        )
        for event_type, data in rows:
            d = loads(data)
            if event_type == "combat.EntityAttacked":
                hitpoints -= d["damage"]
            else:
                hitpoints = d["hitpoints"]
            count += 1
        assert count == events
        conn.close()

    def best(f) -> float:  # type: ignore[no-untyped-def]
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            f()
            times.append(time.perf_counter() - start)
        return min(times)

    return events / best(ours), events / best(floor)


def bench_upcast_replay(events: int, work: Path, repeats: int = 9) -> tuple[float, float]:
    """Library-level fold of a stream stored entirely at ``EntityAttacked`` 1.0 (every event
    through the sample's upcaster) next to the same stream at the current 2.0, both from
    one SQLite file, alternated so that machine noise hits both alike."""
    path = work / "upcast.db"
    current = build_stream(path, events, stream="combat-ogre", attacked="2.0")
    old = build_stream(path, events, stream="combat-troll", attacked="1.0")
    domain = escli.load_domain("combat")

    def fold(stream: str) -> float:
        store = open_store(f"sqlite:///{path}")
        start = time.perf_counter()
        state = escli.fold(domain, stream, store.read_data(stream))
        elapsed = time.perf_counter() - start
        assert state.generation == events
        store.close()
        return elapsed

    times: dict[str, list[float]] = {current: [], old: []}
    for _ in range(repeats):
        for stream in (current, old):
            times[stream].append(fold(stream))
    return events / min(times[old]), events / min(times[current])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument(
        "--only",
        choices=[
            "sqlite",
            "cloudevents",
            "import",
            "postgres",
            "nats",
            "complete",
            "snapshots",
            "search",
            "projections",
        ],
        action="append",
        help="Run only these groups (repeatable); default: all whose server is reachable.",
    )
    parser.add_argument(
        "--no-million", action="store_true", help="Skip the 1,000,000-event import figure."
    )
    args = parser.parse_args()
    groups = set(
        args.only
        or [
            "sqlite",
            "cloudevents",
            "import",
            "postgres",
            "nats",
            "complete",
            "snapshots",
            "search",
            "projections",
        ]
    )
    work = Path(tempfile.mkdtemp(prefix="escli-bench-"))
    try:
        if "sqlite" in groups:
            ours, floor = bench_dispatch(args.runs, work)
            print(
                f"dispatch latency   {ours * 1e3:7.1f} ms   floor {floor * 1e3:7.1f} ms   "
                f"ratio {ours / floor:.2f}x   (median of {args.runs}, sqlite)",
                flush=True,
            )
            rate, floor_rate = bench_replay(args.events, work)
            print(
                f"replay             {rate:9,.0f} ev/s   floor {floor_rate:9,.0f} ev/s   "
                f"ratio {rate / floor_rate:.2f}x   ({args.events:,} events, sqlite)",
                flush=True,
            )
            rate, peer = bench_upcast_replay(args.events, work)
            print(
                f"upcast replay      {rate:9,.0f} ev/s   2.0   {peer:9,.0f} ev/s   "
                f"ratio {rate / peer:.2f}x   (a 1.0 stream through its upcaster vs the same "
                "at 2.0; floor 0.90x)",
                flush=True,
            )
            rate, floor_rate = bench_decoding(args.events, work)
            print(
                f"replay decoding    {rate:9,.0f} ev/s   json  {floor_rate:9,.0f} ev/s   "
                f"ratio {rate / floor_rate:.2f}x   (typed decoding alone vs json.loads alone)",
                flush=True,
            )
    finally:
        shutil.rmtree(work)
    if "cloudevents" in groups:
        from cloudevents_bench import bench_cloudevents

        for line in bench_cloudevents(args.events):
            print(line, flush=True)
    if "import" in groups:
        from import_bench import bench_import

        for line in bench_import(million=not args.no_million):
            print(line, flush=True)
    if "postgres" in groups:
        try:
            from postgres import bench_postgres
        except ImportError as e:  # psycopg is not installed
            print(f"postgres           skipped: {e}")
        else:
            try:
                lines = bench_postgres(args.events)
            except Exception as e:  # a benchmark reports and goes on
                lines = [f"postgres           skipped: {str(e).splitlines()[0]}"]
            for line in lines:
                print(line, flush=True)

    if "nats" in groups:
        try:
            from nats_bench import bench_nats

            lines = bench_nats(args.events)
        except Exception as e:  # a benchmark reports and goes on (no server, no nats-py)
            lines = [f"nats               skipped: {str(e).splitlines()[0]}"]
        for line in lines:
            print(line, flush=True)

    if "complete" in groups:
        from complete_bench import bench_complete

        for line in bench_complete(streams=100_000 if args.no_million else 1_000_000):
            print(line, flush=True)
    if "projections" in groups:
        from projection_bench import bench_projections

        for line in bench_projections():
            print(line, flush=True)
    if "snapshots" in groups:
        from snapshot_bench import bench_snapshots, bench_snapshots_postgres

        for line in bench_snapshots(events=100_000 if args.no_million else 1_000_000):
            print(line, flush=True)
        try:
            lines = bench_snapshots_postgres()
        except Exception as e:  # a benchmark reports and goes on (no server, no psycopg)
            lines = [f"snapshots, pg      skipped: {str(e).splitlines()[0]}"]
        for line in lines:
            print(line, flush=True)
    if "search" in groups:
        from search_bench import bench_search

        for line in bench_search():
            print(line, flush=True)


if __name__ == "__main__":
    main()
