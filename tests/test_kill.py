"""``kill -9`` in the middle of import, copy, dispatch with a mirror and publish to NATS, on
SQLite and PostgreSQL, leaves every stream whole or a clean prefix of its source (generations
1..n, ids unique, the same events), and running the command again finishes the job; and
concurrent dispatchers never lose or double an event.

These drive the installed ``escli`` (the one beside this Python) in processes of their own
and SIGKILL them at random moments drawn from a seeded generator: a failure names its seed,
and ``ESCLI_KILL_SEED=N`` replays it. The kills are few and the data small, so the file runs
in seconds on loopback.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from escli_combat import Attack, Spawn

from escli import dispatch, load_domain, open_store
from escli.errors import EscliError
from escli.stores.base import Store
from escli.stores.memory import MemoryStore
from tests.conftest import NATS_HOST, NATS_PORT, require_service

ESCLI = Path(sys.executable).with_name("escli")
SEED = int(os.environ.get("ESCLI_KILL_SEED", "20261201"))
STREAMS, EVENTS = 8, 60  # per stream, the spawn included
KILLS = 2  # per command and store, before the run that finishes
LONG = 800  # events per stream of an import or copy to kill

Row = tuple[int, str, str, str, Any, str]  # generation, id, type, version, data, time


class Source(NamedTuple):
    url: str  # a SQLite store holding the streams
    file: Path  # the same streams as CloudEvents JSON Lines
    streams: dict[str, list[Row]]


def rows(store: Store, stream: str) -> list[Row]:
    return [
        (r.generation, r.event_id, r.event_type, r.type_version, r.data, r.recorded_at)
        for r in store.read(stream)
    ]


def fill(store: Store, events: MemoryStore) -> None:
    for info in events.streams():
        store.append(info.stream, [r.as_new() for r in events.read(info.stream)], 0)


@pytest.fixture(scope="module")
def events() -> MemoryStore:
    combat = load_domain("combat")
    store = MemoryStore()
    for n in range(STREAMS):
        dispatch(combat, Spawn(f"troll{n}", 10**6), store)
        for damage in range(1, EVENTS):
            dispatch(combat, Attack(f"troll{n}", damage), store)
    return store


@pytest.fixture(scope="module")
def source(events: MemoryStore, tmp_path_factory: pytest.TempPathFactory) -> Source:
    folder = tmp_path_factory.mktemp("kill-source")
    url = f"sqlite:///{folder / 'source.db'}"
    store = open_store(url)
    fill(store, events)
    streams = {info.stream: rows(store, info.stream) for info in store.streams()}
    store.close()
    file = folder / "streams.jsonl"
    escli("export", "--all", "-o", str(file), "--store", url, check=True)
    return Source(url, file, streams)


@pytest.fixture(scope="module")
def long_source(tmp_path_factory: pytest.TempPathFactory) -> Source:
    """Like ``source``, with ``LONG`` events a stream: an import or copy is one transaction
    on SQLite and PostgreSQL, visible only when it ends, and one of ``source`` would end
    before most kills."""
    from escli.stores.base import NewEvent, new_event_id

    folder = tmp_path_factory.mktemp("kill-long-source")
    url = f"sqlite:///{folder / 'source.db'}"
    store = open_store(url)
    kind = ("1.0", "events://escli/samples/combat")
    for n in range(STREAMS):
        entity = f"ogre{n}"
        spawn = NewEvent(
            "combat.EntitySpawned", *kind, {"entity_id": entity, "hitpoints": 10**6}, new_event_id()
        )
        attacks = [
            NewEvent(
                "combat.EntityAttacked", *kind, {"entity_id": entity, "damage": d}, new_event_id()
            )
            for d in range(1, LONG)
        ]
        store.append(f"combat-{entity}", [spawn, *attacks], 0)
    streams = {info.stream: rows(store, info.stream) for info in store.streams()}
    store.close()
    file = folder / "streams.jsonl"
    escli("export", "--all", "-o", str(file), "--store", url, check=True)
    return Source(url, file, streams)


@pytest.fixture
def rng(request: pytest.FixtureRequest) -> random.Random:
    return random.Random(f"{SEED}:{request.node.name}")


def escli(*args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [str(ESCLI), *args], capture_output=True, text=True, env=ENV, timeout=60, check=False
    )
    if check:
        assert done.returncode == 0, (args, done.stdout, done.stderr)
    return done


ENV = {**os.environ, "NO_COLOR": "1", "COLUMNS": "100"}
ENV.pop("ESCLI_STORE", None)
ENV.pop("ESCLI_DOMAINS", None)


def kill_midway(args: list[str], rng: random.Random, started: Callable[[], bool]) -> bool:
    """Run ``escli ARGS`` and SIGKILL it, half the time a random pause after ``started()``
    says it has written something, else at a random moment from its start; whether it was
    still running then."""
    process = subprocess.Popen(
        [str(ESCLI), *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV
    )
    if rng.random() < 0.5:
        time.sleep(rng.uniform(0.05, 0.6))
    else:
        deadline = time.monotonic() + 5
        while process.poll() is None and time.monotonic() < deadline and not started():
            time.sleep(0.005)
        time.sleep(rng.uniform(0, 0.03))
    alive = process.poll() is None
    if alive:
        process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    return alive


def holds_events(url: str) -> Callable[[], bool]:
    def check() -> bool:
        try:
            store = open_store(url)
            try:
                return any(True for _ in store.streams())
            finally:
                store.close()
        except EscliError:
            return False

    return check


def store_made(url: str) -> Callable[[], bool]:
    """Whether the store at ``url`` exists yet. An import or copy is one transaction on
    SQLite and PostgreSQL, so none of its events is visible before it ends; the store it
    writes to is made when the transaction begins."""
    if url.startswith("sqlite:"):
        path = url.removeprefix("sqlite:///")
        return lambda: os.path.exists(path)
    import psycopg

    from escli.stores.postgres import parse_url

    conninfo, schema = parse_url(url)

    def check() -> bool:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            found = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,))
            return found.fetchone() is not None

    return check


def assert_clean_prefixes(url: str, source: Source, *, seed: str) -> dict[str, int]:
    """Every stream of the store at ``url`` is a prefix of its source stream (maybe whole),
    with no gap and no id twice; how many events each holds."""
    store = open_store(url)
    try:
        held = {info.stream: rows(store, info.stream) for info in store.streams()}
    finally:
        store.close()
    ids = [row[1] for stream in held.values() for row in stream]
    assert len(ids) == len(set(ids)), f"an id twice (seed {seed})"
    for stream, got in held.items():
        want = source.streams[stream]
        assert got == want[: len(got)], f"{stream} is not a clean prefix (seed {seed})"
    return {stream: len(got) for stream, got in held.items()}


@pytest.fixture(params=["sqlite", "postgresql"])
def new_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], str]]:
    """Makes empty store URLs of one kind."""
    made = iter(range(100))
    if request.param == "sqlite":
        yield lambda: f"sqlite:///{tmp_path / f'store{next(made)}.db'}"
    else:
        schemas = request.getfixturevalue("postgres_schemas")
        yield schemas


# -- import and copy ---------------------------------------------------------------------


@pytest.mark.parametrize("command", ["import", "copy"])
def test_a_killed_import_or_copy_leaves_clean_prefixes_and_running_it_again_finishes(
    command: str, long_source: Source, new_url: Callable[[], str], rng: random.Random
) -> None:
    source = long_source

    def args(target: str) -> list[str]:
        if command == "import":
            return ["import", str(source.file), "--store", target]
        return ["copy", source.url, target, "--all"]

    landed, rounds = 0, 0
    while rounds < KILLS or (not landed and rounds < KILLS + 3):
        rounds += 1
        target = new_url()  # a fresh one each time, so that every kill finds work to do
        landed += kill_midway(args(target), rng, store_made(target))
        held = assert_clean_prefixes(target, source, seed=f"{SEED}, round {rounds}")
        # One transaction: all of it or none.
        assert held in ({}, dict.fromkeys(source.streams, LONG)), f"seed {SEED}"
    assert landed, f"every {command} ended before its kill (seed {SEED})"
    # Run again on what the last kill left, it finishes the job.
    escli(*args(target), check=True)
    assert assert_clean_prefixes(target, source, seed=str(SEED)) == {
        stream: LONG for stream in source.streams
    }


# -- dispatch with a mirror --------------------------------------------------------------


def test_a_killed_dispatch_leaves_its_mirror_a_clean_prefix_with_the_rest_pending(
    new_url: Callable[[], str], tmp_path: Path, rng: random.Random
) -> None:
    store_url = new_url()
    mirror = f"sqlite:///{tmp_path / 'mirror.db'}"
    escli("dispatch", "combat", "spawn", "titan", "1000000", "--store", store_url, check=True)
    started = time.monotonic()
    escli("dispatch", "combat", "attack", "titan", "1", "--store", store_url, "--to", mirror)
    took = time.monotonic() - started
    args = ["dispatch", "combat", "attack", "titan", "1", "--store", store_url, "--to", mirror]
    for _ in range(KILLS + 1):
        process = subprocess.Popen([str(ESCLI), *args], stdout=subprocess.DEVNULL, env=ENV)
        time.sleep(rng.uniform(0.3, 1.1) * took)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        store, target = open_store(store_url), open_store(mirror)
        try:
            stored = [r.event_id for r in store.read("combat-titan")]
            held = [r.event_id for r in target.read("combat-titan")]
            assert [r.generation for r in store.read("combat-titan")] == list(
                range(1, len(stored) + 1)
            )
            assert held == stored[: len(held)], f"the mirror is no prefix (seed {SEED})"
            if len(held) < len(stored):
                canonical = getattr(target, "canonical_url", mirror)
                [pending] = store.pending(canonical, "combat-titan")
                assert pending.from_generation <= len(held) + 1, f"seed {SEED}"
                assert pending.to_generation >= len(stored), f"seed {SEED}"
        finally:
            store.close()
            target.close()
    escli("publish", "--pending", "--to", mirror, "--store", store_url, check=True)
    store, target = open_store(store_url), open_store(mirror)
    try:
        assert rows(target, "combat-titan") == rows(store, "combat-titan")
        assert store.pending() == []
    finally:
        store.close()
        target.close()


# -- publish to NATS ---------------------------------------------------------------------


def subjects_hold(place: Any, source: Source) -> dict[str, int]:
    """What each subject holds: a clean prefix of its stream, in order; how many."""
    import nats.js.errors

    held: dict[str, list[tuple[int, str]]] = {}
    try:
        messages = place.probe.messages(place.stream)
    except nats.js.errors.NotFoundError:
        messages = []  # killed before it made the JetStream stream
    for message in messages:
        event = json.loads(message.data)
        assert message.subject == place.subject(event["subject"])
        held.setdefault(event["subject"], []).append((event["generation"], event["id"]))
    for stream, got in held.items():
        want = [(row[0], row[1]) for row in source.streams[stream]]
        assert got == want[: len(got)], f"{stream}: out of order or doubled (seed {SEED})"
    return {stream: len(got) for stream, got in held.items()}


def test_a_killed_publish_to_nats_leaves_each_subject_a_clean_prefix(
    source: Source, events: MemoryStore, new_url: Callable[[], str], rng: random.Random
) -> None:
    require_service("NATS", NATS_HOST, NATS_PORT)
    from tests.nats_server import JetStreamPlace

    store_url = new_url()
    store = open_store(store_url)
    fill(store, events)
    store.close()
    places: list[JetStreamPlace] = []

    def published() -> bool:
        try:
            return places[-1].probe.count(places[-1].stream) > 0
        except Exception:  # the stream is not made yet
            return False

    try:
        landed = 0
        while len(places) < KILLS or (not landed and len(places) < KILLS + 3):
            places.append(JetStreamPlace.unique(f"nats://{NATS_HOST}:{NATS_PORT}"))
            args = ["publish", "--all", "--to", places[-1].url, "--store", store_url]
            landed += kill_midway(args, rng, published)
            subjects_hold(places[-1], source)
        assert landed, f"every publish ended before its kill (seed {SEED})"
        escli(*args, check=True)
        assert subjects_hold(places[-1], source) == {stream: EVENTS for stream in source.streams}
    finally:
        for place in places:
            place.probe.delete(place.stream)


# -- concurrent dispatchers --------------------------------------------------------------


def test_eight_concurrent_dispatchers_never_lose_or_double_an_event(
    tmp_path: Path, rng: random.Random
) -> None:
    # On SQLite, through the CLI; PostgreSQL's 8-process race is in tests/stores/test_postgres.py.
    url = f"sqlite:///{tmp_path / 'events.db'}"
    escli("dispatch", "combat", "spawn", "titan", "1000000", "--store", url, check=True)
    reported: list[int] = []
    conflicts = 0
    lock = threading.Lock()

    def dispatcher(successes: int) -> None:
        nonlocal conflicts
        while successes:
            done = escli("dispatch", "combat", "attack", "titan", "1", "--store", url, "--json")
            if done.returncode == 6:
                with lock:
                    conflicts += 1
                continue
            assert done.returncode == 0, done.stderr
            [event] = json.loads(done.stdout)["events"]
            with lock:
                reported.append(event["generation"])
            successes -= 1

    workers = [threading.Thread(target=dispatcher, args=(rng.randint(1, 2),)) for _ in range(8)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    store = open_store(url)
    try:
        stored = list(store.read("combat-titan"))
    finally:
        store.close()
    assert sorted(reported) == list(range(2, len(stored) + 1)), f"seed {SEED}"
    assert [r.generation for r in stored] == list(range(1, len(stored) + 1))
    assert len({r.event_id for r in stored}) == len(stored)
