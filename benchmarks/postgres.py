"""The PostgreSQL store's figures, each next to a bare-psycopg floor measured in the same run.

    python benchmarks/postgres.py [--events 100000] [--url postgresql://...]

The server is ``--url``, else ``$ESCLI_BENCH_POSTGRES``, else the local test database. All
work happens in a fresh schema, dropped at the end.

- append: ``--events`` events through ``PostgresStore.append``, 2 events per append (the
  size of a dispatch whose attack kills: one transaction per command), next to two floors
  into an equivalent table (same columns and keys): psycopg ``executemany`` of the same
  rows in one transaction per 2 events (the same commits, without escli's generation check,
  position lock and NOTIFY), and one ``COPY`` of every row (what batching could reach).
- replay: ``escli.fold`` over ``read_data`` of the stream just written, next to a bare
  ``SELECT event_type, data::text`` + ``json.loads`` fold by hand.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import escli
from escli.stores.base import NewEvent, new_event_id
from escli.stores.postgres import PostgresStore

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"
PER_APPEND = 2
SOURCE = "events://escli/samples/combat"

FLOOR_TABLE = """
CREATE TABLE {s}.floor (
    stream text NOT NULL, generation bigint NOT NULL, position bigint NOT NULL UNIQUE,
    event_id text NOT NULL UNIQUE, event_type text NOT NULL, type_version text NOT NULL,
    source text NOT NULL, recorded_at timestamptz NOT NULL, recorded_at_given text,
    data jsonb NOT NULL, PRIMARY KEY (stream, generation)
)"""
FLOOR_COLUMNS = (
    "stream, generation, position, event_id, event_type, type_version, source, recorded_at, data"
)


def attack() -> NewEvent:
    return NewEvent(
        "combat.EntityAttacked",
        "2.0",
        SOURCE,
        {"entity_id": "ogre", "damage": 1, "weapon": "axe"},
        new_event_id(),
    )


def floor_rows(table: str, events: int) -> list[tuple[object, ...]]:
    now = datetime.now(UTC)
    data = json.dumps({"entity_id": "ogre", "damage": 1, "weapon": "axe"})
    return [
        (table, g, g, new_event_id(), "combat.EntityAttacked", "2.0", SOURCE, now, data)
        for g in range(1, events + 1)
    ]


def timed(f: Callable[[], object]) -> float:
    start = time.perf_counter()
    f()
    return time.perf_counter() - start


def bench_append(store: PostgresStore, conn: psycopg.Connection, events: int) -> list[float]:  # type: ignore[type-arg]
    spawn = NewEvent(
        "combat.EntitySpawned",
        "1.0",
        SOURCE,
        {"entity_id": "ogre", "hitpoints": 10**12},
        new_event_id(),
    )
    store.append("combat-ogre", [spawn], 0)

    def ours() -> None:
        for generation in range(1, events + 1, PER_APPEND):
            n = min(PER_APPEND, events + 1 - generation)
            store.append("combat-ogre", [attack() for _ in range(n)], generation)

    s = store._s
    insert = f"INSERT INTO {s}.floor ({FLOOR_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"

    def executemany() -> None:
        rows = floor_rows("per-command", events)
        with conn.cursor() as cursor:
            for i in range(0, events, PER_APPEND):
                with conn.transaction():
                    cursor.executemany(insert, rows[i : i + PER_APPEND])

    def copy() -> None:
        rows = [(*r[:2], r[2] + events, *r[3:]) for r in floor_rows("bulk", events)]
        command = f"COPY {s}.floor ({FLOOR_COLUMNS}) FROM STDIN"
        with conn.transaction(), conn.cursor() as cursor, cursor.copy(command) as copying:
            for row in rows:
                copying.write_row(row)

    return [timed(ours), timed(executemany), timed(copy)]


def bench_replay(url: str, conn: psycopg.Connection, events: int, repeats: int = 3) -> list[float]:  # type: ignore[type-arg]
    domain = escli.load_domain("combat")
    schema = PostgresStore(url)._s

    def ours() -> None:
        store = escli.open_store(url)
        state = escli.fold(domain, "combat-ogre", store.read_data("combat-ogre"))
        assert state.generation == events + 1, state.generation  # the spawn, then attacks
        store.close()

    def floor() -> None:
        hitpoints, count = 0, 0
        loads = json.loads
        rows = conn.execute(
            f"SELECT event_type, data::text FROM {schema}.events WHERE stream = %s"
            " ORDER BY generation",
            ("combat-ogre",),
        )
        for event_type, data in rows:
            d = loads(data)
            if event_type == "combat.EntityAttacked":
                hitpoints -= d["damage"]
            else:
                hitpoints = d["hitpoints"]
            count += 1
        assert count == events + 1

    return [min(timed(ours) for _ in range(repeats)), min(timed(floor) for _ in range(repeats))]


def bench_postgres(events: int, url: str | None = None) -> list[str]:
    """Printable lines: append and replay rates with their floors (see the module docstring)."""
    base = url or os.environ.get("ESCLI_BENCH_POSTGRES") or DEFAULT_URL
    schema = f"escli_bench_{uuid.uuid4().hex[:8]}"
    store_url = f"{base}{'&' if '?' in base else '?'}schema={schema}"
    store = PostgresStore(store_url)
    conn = psycopg.connect(store._conninfo, autocommit=True)
    try:
        store.init()
        conn.execute(FLOOR_TABLE.format(s=store._s))
        ours, per_command, bulk = bench_append(store, conn, events)
        replay, replay_floor = bench_replay(store_url, conn, events)
    finally:
        store.close()
        conn.execute(f"DROP SCHEMA IF EXISTS {store._s} CASCADE")
        conn.close()
    rate, floor_rate, copy_rate = events / ours, events / per_command, events / bulk
    replay_rate, replay_floor_rate = (events + 1) / replay, (events + 1) / replay_floor
    return [
        f"pg append         {rate:9,.0f} ev/s   floor {floor_rate:9,.0f} ev/s   "
        f"ratio {rate / floor_rate:.2f}x   ({events:,} events, {PER_APPEND} per append/"
        "transaction; floor: executemany, same commits)",
        f"pg append bulk                        floor {copy_rate:9,.0f} ev/s   "
        f"ratio {rate / copy_rate:.2f}x   (COPY, one transaction)",
        f"pg replay         {replay_rate:9,.0f} ev/s   floor {replay_floor_rate:9,.0f} ev/s   "
        f"ratio {replay_rate / replay_floor_rate:.2f}x   ({events + 1:,} events, read_data + fold)",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--url", default=None, help="PostgreSQL URL (no schema option)")
    args = parser.parse_args()
    for line in bench_postgres(args.events, args.url):
        print(line, flush=True)


if __name__ == "__main__":
    main()
