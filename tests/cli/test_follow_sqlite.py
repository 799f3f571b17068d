"""``follow`` on SQLite converges on what the file holds: after an idle spell it polls on a
new connection, and again at doubling intervals (up to a minute) while the spell lasts.

The case found by the adversarial run is a writer killed after writing a commit's frames to
the WAL and before updating the shared WAL index (the ``-shm`` file), which SQLite does after
the WAL's fsync: open connections do not see that commit, and whether anyone ever does is
decided when the file's connections end (see ``SQLiteStore._refresh``). A writer SIGKILLed
in a loop of commits is mostly inside that fsync, so real kills make the case often (in a
trial, 50 of 60 left a commit that a follower without the refresh missed and a later reader
saw), but not always. So one test makes that very state on disk instead: a writer in a
process of its own commits, and the index's header (the first 136 bytes of ``-shm``: the
header's two copies and the checkpoint record, as SQLite's WAL format documents) is then put
back as it was before that commit; the others kill real writers.

The polling loop runs on a clock of the test's own that moves only when the loop sleeps, so
nothing here waits for time to pass or races a thread.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from escli.stores.base import NewEvent, new_event_id
from escli.stores.sqlite import SQLiteStore


def attack() -> NewEvent:
    return NewEvent(
        "combat.EntityAttacked",
        "1.0",
        "events://escli/samples/combat",
        {"entity_id": "ogre", "damage": 1},
        new_event_id(),
    )


class Clock:
    """Time for one store's polling loop: it moves by the loop's sleeps, and runs what is
    due at each moment (an append, say) as the loop sleeps past it."""

    def __init__(self, store: SQLiteStore) -> None:
        self.now = 0.0
        self.due: list[tuple[float, Callable[[], object]]] = []
        self.refreshed: list[float] = []
        refresh = store._refresh

        def refreshing() -> None:
            self.refreshed.append(self.now)
            refresh()

        store._clock = lambda: self.now  # type: ignore[method-assign]
        store._sleep = self.sleep  # type: ignore[method-assign]
        store._refresh = refreshing  # type: ignore[method-assign]

    def at(self, moment: float, action: Callable[[], object]) -> None:
        self.due.append((moment, action))

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        for entry in [entry for entry in self.due if entry[0] <= self.now]:
            self.due.remove(entry)
            entry[1]()


def test_an_idle_subscription_reopens_after_2_s_then_at_doubling_intervals_up_to_a_minute(
    tmp_path: Path,
) -> None:
    store = SQLiteStore(f"sqlite:///{tmp_path / 'events.db'}")
    store.append("combat-ogre", [attack()], 0)
    clock = Clock(store)
    subscription = store.subscribe("combat-ogre", poll_interval=0.5)
    assert next(subscription).generation == 1
    [first] = store._conns.values()
    clock.at(250, lambda: store.append("combat-ogre", [attack()], 1))
    assert next(subscription).generation == 2
    assert clock.refreshed == [2, 6, 14, 30, 62, 122, 182, 242]
    assert first not in store._conns.values()  # it was closed, a new one reads
    # An event starts the schedule over.
    clock.refreshed.clear()
    clock.at(300, lambda: store.append("combat-ogre", [attack()], 2))
    assert next(subscription).generation == 3
    assert clock.refreshed == [252, 256, 264, 280]
    subscription.close()
    store.close()


def test_a_subscription_that_keeps_receiving_events_keeps_its_connection(
    tmp_path: Path,
) -> None:
    store = SQLiteStore(f"sqlite:///{tmp_path / 'events.db'}")
    store.append("combat-ogre", [attack()], 0)
    clock = Clock(store)
    subscription = store.subscribe("combat-ogre", poll_interval=0.5)
    assert next(subscription).generation == 1
    [conn] = store._conns.values()
    for generation in range(1, 20):  # one event every 1.5 s, for half a minute
        clock.at(1.5 * generation, lambda g=generation: store.append("combat-ogre", [attack()], g))
        assert next(subscription).generation == generation + 1
    assert clock.refreshed == []
    assert list(store._conns.values()) == [conn]
    subscription.close()
    store.close()


# The follower, in a process of its own that ends without closing its store (as the CLI
# does). It follows the stream for 10 s of its clock; on its first idle poll, a writer
# process commits and is "killed" (``restored``: the index is then put back as it was before
# its commit) or appends in a loop and is SIGKILLed at a random moment (``killed``).
FOLLOWER = textwrap.dedent(
    """
    import json, os, random, signal, subprocess, sys, time
    from escli.stores.sqlite import SQLiteStore
    from test_follow_sqlite import Clock

    url, refresh, writer, seed = sys.argv[1:]
    path = url.removeprefix("sqlite:///")
    store = SQLiteStore(url)
    if refresh == "off":
        store.REFRESH_AFTER_S = None
    clock = Clock(store)

    class Enough(Exception):
        pass

    def restored():
        with open(path + "-shm", "rb") as shm:
            header = shm.read(136)
        subprocess.run([sys.executable, "-c", WRITER, url, "1"], check=True)
        with open(path + "-shm", "r+b") as shm:
            shm.write(header)

    def killed():
        process = subprocess.Popen(
            [sys.executable, "-c", WRITER, url, "forever"], stdout=subprocess.PIPE
        )
        process.stdout.readline()  # it has committed once: it is in its loop
        time.sleep(random.Random(seed).uniform(0, 0.05))
        process.send_signal(signal.SIGKILL)
        process.wait()
        process.stdout.close()

    def kill_the_writer():
        {"restored": restored, "killed": killed}[writer]()
        fresh = SQLiteStore(url)
        print(json.dumps({"fresh reader meanwhile": fresh.generation("combat-ogre")}))
        fresh.close()  # not the last connection: changes nothing

    def enough():
        raise Enough

    clock.at(0.5, kill_the_writer)
    clock.at(10, enough)
    seen = []
    try:
        for recorded in store.subscribe("combat-ogre", poll_interval=0.5):
            seen.append(recorded.generation)
    except Enough:
        pass
    print(json.dumps({"followed": seen}), flush=True)
    os._exit(0)
    """
)
# Appends generation 2 and ends without closing, or appends on until it is killed.
WRITER = textwrap.dedent(
    """
    import os, sys
    from escli.stores.sqlite import SQLiteStore
    from test_follow_sqlite import attack

    store, generation = SQLiteStore(sys.argv[1]), 1
    while True:
        store.append("combat-ogre", [attack()], generation)
        generation += 1
        if sys.argv[2] != "forever":
            os._exit(0)
        if generation == 2:
            print("writing", flush=True)
    """
)


def follow_through_a_killed_commit(
    tmp_path: Path, *, refresh: str, writer: str, seed: int = 0
) -> tuple[list[int], int, int]:
    """What the follower printed, what a fresh reader saw meanwhile, and what a reader
    sees once every process has ended."""
    url = f"sqlite:///{tmp_path / 'events.db'}"
    store = SQLiteStore(url)
    store.append("combat-ogre", [attack()], 0)
    store.close()
    here = str(Path(__file__).parent)
    done = subprocess.run(
        [sys.executable, "-c", f"WRITER = {WRITER!r}\n{FOLLOWER}", url, refresh, writer, str(seed)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": here},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    meanwhile, followed = (json.loads(line) for line in done.stdout.splitlines())
    later = SQLiteStore(url)
    try:
        return (
            followed["followed"],
            meanwhile["fresh reader meanwhile"],
            later.generation("combat-ogre"),
        )
    finally:
        later.close()


def test_without_the_refresh_the_state_a_killed_writer_leaves_makes_follow_miss_an_event(
    tmp_path: Path,
) -> None:
    # The check on the state the test makes: it is the adversarial run's bug.
    followed, meanwhile, later = follow_through_a_killed_commit(
        tmp_path, refresh="off", writer="restored"
    )
    assert (followed, meanwhile, later) == ([1], 1, 2)


def test_follow_and_a_later_reader_agree_after_a_writer_killed_mid_commit(
    tmp_path: Path,
) -> None:
    followed, meanwhile, later = follow_through_a_killed_commit(
        tmp_path, refresh="on", writer="restored"
    )
    assert meanwhile == 1
    # The follower held the last connection: its refresh closed it, which checkpointed what
    # the index showed and deleted the WAL, so the killed commit is gone for every reader.
    assert (followed, later) == ([1], 1)


def test_without_the_refresh_a_real_writer_killed_while_it_commits_makes_follow_miss_one(
    tmp_path: Path,
) -> None:
    # The real kills below have teeth: without the refresh, one soon lands in the window.
    for seed in range(20):
        run = tmp_path / str(seed)
        run.mkdir()
        followed, _, later = follow_through_a_killed_commit(
            run, refresh="off", writer="killed", seed=seed
        )
        if followed != list(range(1, later + 1)):
            assert followed == list(range(1, later)), f"seed {seed}"  # the last one missed
            return
    pytest.fail("20 kills of a writer in its commit loop never left a commit unindexed")


@pytest.mark.parametrize("seed", range(3))
def test_follow_and_a_later_reader_agree_after_a_real_writer_is_killed_while_it_commits(
    tmp_path: Path, seed: int
) -> None:
    followed, meanwhile, later = follow_through_a_killed_commit(
        tmp_path, refresh="on", writer="killed", seed=seed
    )
    assert later >= 2
    assert followed == list(range(1, later + 1)), f"seed {seed}: {meanwhile=}"
