"""`escli follow`: existing events first, then new ones live, on SQLite and EventStoreDB alike."""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from escli import dispatch, load_domain
from tests.conftest import WITH_SIGINT, Run, masked, needs_esdb_client, open_store


@pytest.fixture(params=["sqlite", pytest.param("esdb", marks=needs_esdb_client)])
def url(request: pytest.FixtureRequest, store_url: str) -> str:
    """A store URL of each kind: the test's own SQLite file, or the EventStoreDB test server."""
    if request.param == "sqlite":
        return store_url
    esdb_url: str = request.getfixturevalue("esdb_url")
    return esdb_url


@pytest.fixture(params=["sqlite", pytest.param("esdb", marks=needs_esdb_client)])
def fresh_url(request: pytest.FixtureRequest, store_url: str) -> str:
    """An empty store of each kind: a SQLite file, or an in-process EventStoreDB server."""
    if request.param == "sqlite":
        return store_url
    return str(request.getfixturevalue("esdb_server").url)


SPAWNED = {
    "hitpoints": [0, 500],
    "max_hitpoints": [0, 500],
    "alive": [False, True],
    "known": [False, True],
}


@pytest.fixture
def name() -> str:
    """An entity of the test's own (the EventStoreDB server is shared by the session)."""
    return f"orc{uuid.uuid4().hex[:6]}"


def attack(url: str, entity: str, damage: int) -> None:
    combat = load_domain("combat")
    store = open_store(url)
    dispatch(combat, combat.command_spec("attack").cls(entity, damage), store)
    store.close()


def spawn_and_attack(escli: Run, url: str, entity: str) -> None:
    for words in (["spawn", entity, "500"], ["attack", entity, "100"]):
        assert escli("dispatch", "combat", *words, "--store", url).exit_code == 0


def test_follow_shows_each_event_with_the_fields_it_changed(
    escli: Run, url: str, name: str
) -> None:
    spawn_and_attack(escli, url, name)
    out = escli("follow", f"combat-{name}", "--limit", "2", "--store", url)
    assert out.exit_code == 0
    assert masked(out.stdout) == (
        "    1  <id>  <time>  "
        f'combat.EntitySpawned v1.0  {{"entity_id": "{name}", "hitpoints": 500}}\n'
        "       hitpoints      0 → 500\n"
        "       max_hitpoints  0 → 500\n"
        "       alive          false → true\n"
        "       known          false → true\n"
        f'    2  <id>  <time>  combat.EntityAttacked v2.0  {{"entity_id": "{name}", "damage": 100, '
        '"weapon": "fists"}\n'
        "       hitpoints  500 → 400\n"
    )
    shown = open_store(url).url
    assert out.stderr == f"following combat-{name} in {shown} (Ctrl-C to stop)\n"


def test_follow_json_from_a_generation_folds_what_came_before(
    escli: Run, url: str, name: str
) -> None:
    spawn_and_attack(escli, url, name)
    out = escli(
        "follow",
        f"combat-{name}",
        "--from-generation",
        "2",
        "--limit",
        "1",
        "--json",
        "--store",
        url,
    )
    assert (out.exit_code, out.stderr) == (0, "")
    [line] = out.stdout.splitlines()
    data = json.loads(line)
    [stored] = open_store(url).read(f"combat-{name}", 2, 2)
    assert data == {
        "id": stored.event_id,
        "stream": f"combat-{name}",
        "generation": 2,
        "position": stored.position,
        "type": "combat.EntityAttacked",
        "version": "2.0",
        "source": "events://escli/samples/combat",
        "time": stored.recorded_at,
        "data": {"entity_id": name, "damage": 100, "weapon": "fists"},
        "metadata": {**stored.metadata, "command": "Attack"},
        "changed": {"hitpoints": [500, 400]},
        "problem": None,
    }


def test_follow_all_names_each_stream(escli: Run, fresh_url: str) -> None:
    spawn_and_attack(escli, fresh_url, "orc")
    escli("dispatch", "combat", "attack", "goblin", "20", "--store", fresh_url)
    out = escli("follow", "--all", "--limit", "3", "--store", fresh_url)
    assert masked(out.stdout) == (
        "combat-orc     1  <id>  <time>  "
        'combat.EntitySpawned v1.0  {"entity_id": "orc", "hitpoints": 500}\n'
        "                  hitpoints      0 → 500\n"
        "                  max_hitpoints  0 → 500\n"
        "                  alive          false → true\n"
        "                  known          false → true\n"
        "combat-orc     2  <id>  <time>  "
        'combat.EntityAttacked v2.0  {"entity_id": "orc", "damage": 100, '
        '"weapon": "fists"}\n'
        "                  hitpoints  500 → 400\n"
        "combat-goblin     1  <id>  <time>  "
        'combat.EntityAttacked v2.0  {"entity_id": "goblin", "damage": 20, '
        '"weapon": "fists"}\n'
        "                     hitpoints  120 → 100\n"
    )
    assert out.stderr == f"following every stream in {open_store(fresh_url).url} (Ctrl-C to stop)\n"


def test_follow_all_from_a_shared_store_reaches_new_streams(
    escli: Run, url: str, name: str
) -> None:
    spawn_and_attack(escli, url, name)
    stream = f"combat-{name}"
    events = follow_lines(
        url, ["--all"], until=lambda e: e["stream"] == stream and e["generation"] == 2
    )
    mine = [(e["generation"], e["type"], e["changed"]) for e in events if e["stream"] == stream]
    assert mine == [
        (1, "combat.EntitySpawned", SPAWNED),
        (2, "combat.EntityAttacked", {"hitpoints": [500, 400]}),
    ]


def test_events_of_an_unknown_domain_are_shown_without_state(escli: Run, url: str) -> None:
    from escli.stores.base import NewEvent, new_event_id

    store = open_store(url)
    stream = f"shop-{uuid.uuid4().hex[:6]}"
    store.append(stream, [NewEvent("shop.ItemAdded", "1.0", "s", {"sku": "x"}, new_event_id())], 0)
    out = escli("follow", stream, "--limit", "1", "--store", url, "--json")
    data = json.loads(out.stdout)
    assert (data["type"], data["data"], data["changed"]) == ("shop.ItemAdded", {"sku": "x"}, None)
    out = escli("follow", stream, "--limit", "1", "--store", url)
    assert masked(out.stdout) == '    1  <id>  <time>  shop.ItemAdded v1.0  {"sku": "x"}\n'


def test_an_event_that_does_not_apply_is_shown_with_the_problem_and_following_goes_on(
    escli: Run, url: str, name: str
) -> None:
    from escli.stores.base import NewEvent, new_event_id

    stream, source = f"combat-{name}", "events://escli/samples/combat"
    store = open_store(url)
    attacks = ({"damage": 1, "weapon": "axe"}, {"entity_id": name, "damage": 2, "weapon": "axe"})
    for generation, data in enumerate(attacks):
        event = NewEvent("combat.EntityAttacked", "2.0", source, data, new_event_id())
        store.append(stream, [event], generation)
    out = escli("follow", stream, "--limit", "2", "--store", url)
    assert out.exit_code == 0
    assert masked(out.stdout) == (
        '    1  <id>  <time>  combat.EntityAttacked v2.0  {"damage": 1, "weapon": "axe"}\n'
        f"       {stream} generation 1: combat.EntityAttacked field entity_id: missing; "
        f"the state of {stream} is no longer shown\n"
        f'    2  <id>  <time>  combat.EntityAttacked v2.0  {{"entity_id": "{name}", "damage": 2, '
        '"weapon": "axe"}\n'
    )
    lines = escli("follow", stream, "--limit", "2", "--json", "--store", url).stdout.splitlines()
    assert [(json.loads(x)["changed"], bool(json.loads(x)["problem"])) for x in lines] == [
        (None, True),
        (None, False),
    ]


def test_follow_shows_an_event_appended_by_another_thread(escli: Run, url: str, name: str) -> None:
    spawn_and_attack(escli, url, name)
    appended: list[float] = []

    def write() -> None:
        attack(url, name, 7)
        appended.append(time.monotonic())  # committed: the event is in the store

    writer = threading.Timer(0.3, write)
    writer.start()
    out = escli(
        "follow", f"combat-{name}", "--from-generation", "3", "--limit", "1", "--store", url
    )
    shown = time.monotonic()
    writer.join()
    # From the commit to follow having printed it and stopped (--limit 1).
    assert shown - appended[0] < 1.0
    assert masked(out.stdout) == (
        f'    3  <id>  <time>  combat.EntityAttacked v2.0  {{"entity_id": "{name}", "damage": 7, '
        '"weapon": "fists"}\n'
        "       hitpoints  400 → 393\n"
    )


STARTUP = 30.0  # seconds a process may take to print its first line on a loaded machine


class Follower:
    """`escli follow --json` as a process of its own (the console script), which Ctrl-C
    (SIGINT) can interrupt; a thread reads its lines as they come."""

    def __init__(self, *args: str) -> None:
        script = Path(sys.executable).with_name("escli")
        command = [str(script)] if script.exists() else [sys.executable, "-m", "escli"]
        self.process = subprocess.Popen(
            [*WITH_SIGINT, *command, "follow", "--json", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        # The only reader of stdout until it ends (communicate() would race it).
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.stderr: str | None = None

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)

    def next_event(self, timeout: float) -> Any:
        try:
            return json.loads(self.lines.get(timeout=timeout))
        except queue.Empty:
            stderr = self.stop(signal.SIGKILL)
            pytest.fail(f"no line from escli follow within {timeout} s; stderr: {stderr!r}")

    def stop(self, sig: int = signal.SIGINT) -> str:
        """Send ``sig`` and wait for the end; what the process wrote to stderr."""
        if self.stderr is None:
            if self.process.poll() is None:
                self.process.send_signal(sig)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()  # no follower left behind, whatever the test says
                self.process.wait()
                raise
            self.reader.join(timeout=10)
            assert self.process.stdout is not None and self.process.stderr is not None
            self.stderr = self.process.stderr.read()
            self.process.stdout.close()
            self.process.stderr.close()
        return self.stderr


def follow_lines(
    url: str, args: list[str], until: Callable[[dict[str, Any]], bool]
) -> list[dict[str, Any]]:
    follower = Follower(*args, "--store", url)
    seen: list[dict[str, Any]] = []
    try:
        while True:
            event = follower.next_event(STARTUP)
            seen.append(event)
            if until(event):
                return seen
    finally:
        follower.stop()


def test_follow_in_a_process_shows_a_new_event_within_a_second_and_stops_on_ctrl_c(
    escli: Run, url: str, name: str
) -> None:
    spawn_and_attack(escli, url, name)
    follower = Follower(f"combat-{name}", "--store", url)
    try:
        assert follower.next_event(STARTUP)["generation"] == 1
        assert follower.next_event(STARTUP)["generation"] == 2
        attack(url, name, 5)
        appended = time.monotonic()  # committed: from here the follower has a second
        live = follower.next_event(5)
        assert time.monotonic() - appended < 1.0
        assert (live["generation"], live["changed"]) == (3, {"hitpoints": [400, 395]})
    finally:
        stderr = follower.stop()
    assert follower.process.returncode == 0
    assert stderr == ""  # no traceback; --json prints no note


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "follow: give a STREAM to follow, or --all"),
        (["combat-ogre", "--all"], "follow: give a STREAM or --all, not both"),
        (["--all", "--from-generation", "2"], "follow: --from-generation needs a STREAM"),
    ],
)
def test_follow_needs_one_stream_or_all(escli: Run, args: list[str], message: str) -> None:
    out = escli("follow", *args)
    assert (out.exit_code, out.stdout, out.stderr) == (2, "", f"Error: {message}\n")


@pytest.mark.parametrize(
    ("stream", "code", "message"),
    [
        ("", 4, "stream name '' is not of the form <domain>-<id>"),  # not "every stream"
        ("bad", 4, "stream name 'bad' is not of the form <domain>-<id>"),
        ("combat-", 4, "stream name 'combat-' is not of the form <domain>-<id>"),
        ("nodomain-x", 3, "unknown domain 'nodomain' (known: combat)"),
    ],
)
def test_follow_refuses_a_stream_it_could_only_wait_on_for_ever_as_replay_does(
    escli: Run, stream: str, code: int, message: str
) -> None:
    assert escli("dispatch", "combat", "attack", "ogre", "1").exit_code == 0
    out = escli("follow", stream, "--limit", "1")  # would block for ever if it followed
    assert (out.exit_code, out.stdout, out.stderr) == (code, "", f"Error: {message}\n")
    assert escli("replay", stream).stderr == f"Error: {message}\n"


def test_following_an_empty_stream_name_is_refused_by_the_library_too(store_url: str) -> None:
    from contextlib import closing

    from escli.app.follow import follow
    from escli.errors import InvalidInput

    with closing(open_store(store_url)) as store, pytest.raises(InvalidInput, match="<domain>"):
        next(follow(store, lambda stream: load_domain("combat"), ""))


def test_follow_help_ends_with_an_example(escli: Run) -> None:
    out = escli("follow", "--help")
    assert out.exit_code == 0
    assert "Example:" in out.stdout and "--limit N" in out.stdout and "Ctrl-C" in out.stdout


def test_follow_new_shows_only_what_is_appended_after_the_end(
    escli: Run, url: str, name: str
) -> None:
    spawn_and_attack(escli, url, name)  # generations 1 and 2, never shown
    done = threading.Event()

    def write() -> None:  # until follow has shown one: it may start after the first blow
        while not done.wait(0.2):
            attack(url, name, 7)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        out = escli("follow", f"combat-{name}", "--new", "--limit", "1", "--store", url)
    finally:
        done.set()
        writer.join()
    generation = int(out.stdout.split()[0])
    before = 400 - 7 * (generation - 3)  # the state folded up to where following began
    assert generation >= 3
    assert masked(out.stdout) == (
        f'{generation:5}  <id>  <time>  combat.EntityAttacked v2.0  {{"entity_id": "{name}", '
        '"damage": 7, "weapon": "fists"}\n'
        f"       hitpoints  {before} → {before - 7}\n"
    )
