"""What ``escli import`` costs: each figure next to its floor, measured in the same run.

    python benchmarks/import_bench.py [--runs 7] [--no-million]

Every figure times or measures a whole ``escli import`` process on a SQLite store (its own
peak RSS, from ``os.wait4`` in a small launcher), on JSON Lines files written by
``export_events``:

- one event into a store of 200,000 events, next to one event into an empty store (median
  of --runs, taken in turn): the id check looks the file's ids up, so the store's size must
  not show (target: at most 1.5x);
- peak RSS of importing 200,000 events of one stream (target: under 100 MiB), and of
  1,000,000 (under 120 MiB; ``--no-million`` skips it, about half a minute);
- importing 10,000 streams of 10 events, next to 100,000 events of one stream (best of 3,
  taken in turn; target: at least 50% of the single-stream rate).
- importing again, with ``--append``, 30,000 events of other producers (no generation) over
  3,000 streams that are all stored already (a no-op), into PostgreSQL next to SQLite (best
  of 3): the check looks a chunk's ids up at once, so neither pays a round trip per event
  or per stream. PostgreSQL is ``$ESCLI_BENCH_POSTGRES``, else the local test database, in a
  fresh schema dropped at the end; the figure is skipped when it cannot be reached.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

from escli.cloudevents.files import export_events
from escli.stores.base import RecordedEvent, new_event_id

SOURCE = "events://escli/samples/combat"
TIME = "2026-11-26T12:52:09.974656+00:00"
MIB = 1 << 20


def fight(streams: int, per_stream: int, prefix: str = "ogre") -> Iterator[RecordedEvent]:
    """Each stream a spawn then attacks, one stream after another (as ``export --all`` of
    streams written one at a time)."""
    position = 0
    for s in range(streams):
        entity = f"{prefix}{s}"
        for generation in range(1, per_stream + 1):
            position += 1
            if generation == 1:
                kind, data = "combat.EntitySpawned", {"entity_id": entity, "hitpoints": 10**12}
            else:
                kind, data = (
                    "combat.EntityAttacked",
                    {"entity_id": entity, "damage": 150, "weapon": "axe"},
                )
            yield RecordedEvent(
                f"combat-{entity}", generation, new_event_id(), kind,
                "2.0" if kind == "combat.EntityAttacked" else "1.0", SOURCE, data,
                TIME, position,
            )  # fmt: skip


def write_file(path: Path, records: Iterator[RecordedEvent]) -> Path:
    with path.open("w", encoding="utf-8") as out:
        export_events(records, out)
    return path


# Runs a command and prints its peak RSS (KiB). A process forked from this one would count
# this one's memory at the fork in its peak (Linux keeps the high-water mark over exec), so
# the command is started from this small launcher instead.
LAUNCHER = """
import os, sys, time
start = time.perf_counter()
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
print(time.perf_counter() - start, usage.ru_maxrss)
sys.exit(os.waitstatus_to_exitcode(status))
"""


def run_import(path: Path, store: Path | str, work: Path, *options: str) -> tuple[float, int]:
    """Seconds and peak RSS (bytes) of one ``escli import`` process (``store``: a SQLite
    file, or a store URL)."""
    env = {**os.environ, "ESCLI_STORE": store if isinstance(store, str) else f"sqlite:///{store}"}
    command = [sys.executable, "-c", LAUNCHER, sys.executable, "-m", "escli", "import", str(path)]
    command += options
    done = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"escli import {path.name} exited with {done.returncode}")
    elapsed, peak = done.stdout.splitlines()[-1].split()
    return float(elapsed), int(peak) * 1024  # ru_maxrss is in KiB on Linux


def bench_import(runs: int = 7, million: bool = True) -> list[str]:
    work = Path(tempfile.mkdtemp(prefix="escli-bench-import-"))
    lines = []
    try:
        # Peak RSS of 200,000 events of one stream; the store it fills is the big one below.
        big = work / "big.db"
        file = write_file(work / "200k.jsonl", fight(1, 200_000))
        _, rss = run_import(file, big, work)
        lines.append(
            f"import RSS 200k    {rss / MIB:7.1f} MiB   floor  100.0 MiB   "
            f"ratio {rss / (100 * MIB):.2f}x   (peak of the process, 200,000 events, one stream)"
        )
        file.unlink()
        if million:
            file = write_file(work / "1m.jsonl", fight(1, 1_000_000, "troll"))
            _, rss = run_import(file, work / "million.db", work)
            lines.append(
                f"import RSS 1M      {rss / MIB:7.1f} MiB   floor  120.0 MiB   "
                f"ratio {rss / (120 * MIB):.2f}x   (peak of the process, 1,000,000 events)"
            )
            file.unlink()
            (work / "million.db").unlink()
        else:
            lines.append("import RSS 1M      skipped (--no-million)")

        # One event into the big store and into an empty one, in turn.
        empty = work / "empty.db"
        run_import(write_file(work / "first.jsonl", fight(1, 1, "imp")), empty, work)
        into_big, into_empty = [], []
        for n in range(runs + 1):
            for store, times in ((big, into_big), (empty, into_empty)):
                one = write_file(work / "one.jsonl", fight(1, 1, f"goblin{n}x{store.stem}"))
                elapsed, _ = run_import(one, store, work)
                if n:  # the first round warms the caches
                    times.append(elapsed)
        ours, floor = statistics.median(into_big), statistics.median(into_empty)
        lines.append(
            f"import one event   {ours * 1e3:7.1f} ms   floor {floor * 1e3:7.1f} ms   "
            f"ratio {ours / floor:.2f}x   (into 200,000 events vs an empty store; "
            f"median of {runs}; target <= 1.5x)"
        )

        # Many streams against one, the same number of events.
        many = write_file(work / "many.jsonl", fight(10_000, 10, "orc"))
        single = write_file(work / "single.jsonl", fight(1, 100_000, "orc"))
        best = {many: float("inf"), single: float("inf")}
        for n in range(3):
            for path in (many, single):
                store = work / f"rate-{path.stem}-{n}.db"
                elapsed, _ = run_import(path, store, work)
                best[path] = min(best[path], elapsed)
                store.unlink()
        ours, floor = 100_000 / best[many], 100_000 / best[single]
        lines.append(
            f"import 10k streams {ours:9,.0f} ev/s   floor {floor:9,.0f} ev/s   "
            f"ratio {ours / floor:.2f}x   (10,000 streams x 10 vs 1 stream x 100,000; "
            "target >= 0.50x)"
        )
        lines.append(bench_import_again(work))
    finally:
        shutil.rmtree(work)
    return lines


def bench_import_again(work: Path) -> str:
    """A no-op ``import --append`` into PostgreSQL next to SQLite (the module docstring)."""
    records = fight(3_000, 10, "elf")
    file = work / "again.jsonl"
    write_file(file, records)
    foreign = [json.loads(line) for line in file.read_text().splitlines()]
    file.write_text("".join(json.dumps({k: v for k, v in e.items() if k != "generation"}) + "\n"
                            for e in foreign))  # fmt: skip
    base = os.environ.get("ESCLI_BENCH_POSTGRES") or "postgresql://postgres@127.0.0.1:5432/test"
    schema = f"escli_bench_{uuid.uuid4().hex[:8]}"
    stores: dict[str, Path | str] = {
        "pg": f"{base}{'&' if '?' in base else '?'}schema={schema}",
        "sqlite": work / "again.db",
    }
    best = dict.fromkeys(stores, float("inf"))
    try:
        for store in stores.values():
            run_import(file, store, work, "--append")  # fills it
        for _ in range(3):
            for name, store in stores.items():
                best[name] = min(best[name], run_import(file, store, work, "--append")[0])
    except RuntimeError as e:
        return f"import again pg    skipped: {e}"
    finally:
        _drop_schema(base, schema)
    return (
        f"import again pg   {best['pg']:7.2f} s    sqlite {best['sqlite']:6.2f} s    "
        f"ratio {best['pg'] / best['sqlite']:.2f}x   (--append of 30,000 events over 3,000 "
        "streams, all stored: a no-op)"
    )


def _drop_schema(url: str, schema: str) -> None:
    try:
        import psycopg

        with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    except Exception:  # no server: no schema to drop
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--no-million", action="store_true", help="Skip the 1,000,000 figure.")
    args = parser.parse_args()
    for line in bench_import(args.runs, million=not args.no_million):
        print(line, flush=True)


if __name__ == "__main__":
    main()
