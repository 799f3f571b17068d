"""Publishing to NATS JetStream: escli's nats:// target next to bare nats-py in the same run.

    python benchmarks/nats_bench.py [--events 100000] [--repeats 3] [--server nats://127.0.0.1:4222]

- escli: the library equivalent of ``escli publish --all --to nats://...``: every stream of a
  SQLite store (100 streams) read, written as CloudEvents and published with
  ``escli.app.delivery.publish`` through ``NatsTarget`` (batches of ``escli.app.delivery.BATCH``,
  each published whole and then all its acks awaited), into a fresh JetStream stream.
- nats-py: the same payloads and headers, prepared beforehand, published by nats-py's own
  pipelined JetStream publish (``js.publish_async``) in batches of the same size, awaiting
  all the acks of a batch before the next; into another fresh stream (the same message ids
  in one stream would be dropped as duplicates).

Both streams are file-backed, as the target creates them. Each figure is the best of
--repeats; every stream made is deleted, also on failure. Needs a NATS server with JetStream.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shutil
import tempfile
import time
import uuid
from pathlib import Path

import nats
import nats.js.errors
from nats.js import api

from escli.app.delivery import BATCH, publish
from escli.cloudevents.mapping import CONTENT_TYPE
from escli.cloudevents.write import to_json
from escli.jetstream.connection import DUPLICATE_WINDOW
from escli.jetstream.publish import MSG_ID
from escli.sinks.nats import NatsTarget
from escli.stores import open_store
from escli.stores.base import NewEvent, Store, new_event_id

STREAMS = 100


def seed(store: Store, events: int) -> None:
    """``events`` combat events over ``STREAMS`` streams."""
    per_stream = events // STREAMS
    for s in range(STREAMS):
        entity = f"ogre{s}"
        store.append(
            f"combat-{entity}",
            [
                NewEvent(
                    "combat.EntityAttacked",
                    "2.0",
                    "events://escli/samples/combat",
                    {"entity_id": entity, "damage": 150, "weapon": "axe"},
                    new_event_id(),
                )
                for _ in range(per_stream)
            ],
            0,
        )


async def _admin(server: str, create: list[str], delete: list[str]) -> None:
    nc = await nats.connect(server, allow_reconnect=False, connect_timeout=2)
    try:
        js = nc.jetstream(timeout=10)
        for name in delete:
            with contextlib.suppress(nats.js.errors.NotFoundError):
                await js.delete_stream(name)
        for subjects in create:
            name, _, subject = subjects.partition(" ")
            await js.add_stream(
                name=name,
                subjects=[subject],
                retention=api.RetentionPolicy.LIMITS,
                storage=api.StorageType.FILE,
                duplicate_window=DUPLICATE_WINDOW,
            )
    finally:
        await nc.close()


async def _raw_publish(server: str, messages: list[tuple[str, bytes, dict[str, str]]]) -> int:
    nc = await nats.connect(server, allow_reconnect=False, connect_timeout=2)
    try:
        js = nc.jetstream(timeout=10, publish_async_max_pending=BATCH)
        acked = 0
        for start in range(0, len(messages), BATCH):
            futures = [
                await js.publish_async(subject, payload, headers=dict(headers))
                for subject, payload, headers in messages[start : start + BATCH]
            ]
            acked += len(await asyncio.gather(*futures))
        return acked
    finally:
        await nc.close()


def bench_nats(events: int, repeats: int = 3, server: str = "nats://127.0.0.1:4222") -> list[str]:
    """One line: escli's publish rate, bare nats-py's, and their ratio."""
    work = Path(tempfile.mkdtemp(prefix="escli-nats-bench-"))
    made: list[str] = []
    try:
        store = open_store(f"sqlite:///{work / 'events.db'}")
        seed(store, events)
        names = [info.stream for info in store.streams()]
        records = [r for name in names for r in store.read(name)]
        ours_times, raw_times = [], []
        for _ in range(repeats):
            tag = uuid.uuid4().hex[:10]
            ours_stream, raw_stream = f"BENCH_{tag}", f"BENCH_{tag}_RAW"
            made += [ours_stream, raw_stream]
            url = f"{server}?subject=b{tag}.{{domain}}.{{id}}&stream={ours_stream}&create=1"
            target = NatsTarget(url)
            messages = [
                (
                    f"r{tag}." + target.subject(r.stream).partition(".")[2],
                    to_json(r).encode(),
                    {"Content-Type": CONTENT_TYPE, MSG_ID: r.event_id},
                )
                for r in records
            ]
            asyncio.run(_admin(server, [f"{raw_stream} r{tag}.>"], []))

            start = time.perf_counter()
            sent = sum(publish(store, target, name).events for name in names)
            ours_times.append(time.perf_counter() - start)
            target.close()

            start = time.perf_counter()
            acked = asyncio.run(_raw_publish(server, messages))
            raw_times.append(time.perf_counter() - start)
            assert sent == acked == len(records), (sent, acked)
            asyncio.run(_admin(server, [], [ours_stream, raw_stream]))
        store.close()
    finally:
        asyncio.run(_admin(server, [], made))
        shutil.rmtree(work)
    ours, raw = len(records) / min(ours_times), len(records) / min(raw_times)
    return [
        f"nats publish  {ours:9,.0f} ev/s   nats-py {raw:9,.0f} ev/s   "
        f"ratio {ours / raw:.2f}x   ({len(records):,} events, {STREAMS} streams, "
        f"batches of {BATCH}, acked)"
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--server", default="nats://127.0.0.1:4222")
    args = parser.parse_args()
    for line in bench_nats(args.events, args.repeats, args.server):
        print(line)


if __name__ == "__main__":
    main()
