"""escli follow: the escli events on a JetStream subject, as they arrive."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from escli_combat import EntityAttacked

from escli import Domain
from escli.errors import InvalidInput
from escli.jetstream.follow import Follower
from tests.conftest import WITH_SIGINT, Run
from tests.nats_server import JetStreamPlace


def test_follow_nats_prints_every_event_the_stream_holds(
    escli: Run, jetstream: JetStreamPlace
) -> None:
    escli("dispatch", "combat", "spawn", "dragon", "100", "--to", jetstream.url)
    escli("dispatch", "combat", "attack", "ogre", "30", "--to", jetstream.url)
    escli("dispatch", "combat", "attack", "dragon", "40", "--to", jetstream.url)
    out = escli("follow", jetstream.url, "--limit", "3")
    assert (out.exit_code, out.stdout, out.stderr) == (
        0,
        'combat-dragon    1  combat.EntitySpawned v1.0  {"entity_id": "dragon", "hitpoints": 100}\n'
        'combat-ogre    1  combat.EntityAttacked v2.0  {"entity_id": "ogre", "damage": 30, '
        '"weapon": "fists"}\n'
        'combat-dragon    2  combat.EntityAttacked v2.0  {"entity_id": "dragon", "damage": 40, '
        '"weapon": "fists"}\n',
        f"following {jetstream.prefix}.> in JetStream stream {jetstream.stream} at "
        "127.0.0.1:4222\n",
    )
    out = escli(
        "follow",
        jetstream.url,
        "--subject",
        jetstream.subject("combat-dragon"),
        "--limit",
        "2",
        "--json",
    )
    exported = escli("export", "combat-dragon").stdout.splitlines()
    assert [json.loads(line) for line in out.stdout.splitlines()] == [
        json.loads(line) for line in exported
    ]


def test_follow_nats_decodes_events_through_the_loaded_domains(
    escli: Run, jetstream: JetStreamPlace, combat: Domain
) -> None:
    escli("dispatch", "combat", "attack", "ogre", "30", "--to", jetstream.url)
    with Follower(jetstream.url, []) as follower, pytest.raises(InvalidInput) as caught:
        next(iter(follower))
    assert str(caught.value) == (
        f"{jetstream.subject('combat-ogre')} (stream sequence 1): not an escli event: subject "
        "'combat-ogre': unknown domain 'combat' (known: none); --skip-unknown skips such events"
    )
    with Follower(jetstream.url, [combat]) as follower:
        event = next(iter(follower))
    assert (event.subject, event.stream, event.generation) == (
        jetstream.subject("combat-ogre"),
        "combat-ogre",
        1,
    )
    assert event.event == EntityAttacked("ogre", 30, "fists")


def follow_in_another_process(*args: str, cwd: Path) -> subprocess.Popen[str]:
    """``escli follow ARGS`` in a process of its own, once it has subscribed."""
    follower = subprocess.Popen(
        [*WITH_SIGINT, sys.executable, "-m", "escli", "follow", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
    )
    assert follower.stderr is not None
    assert follower.stderr.readline().startswith("following ")
    return follower


def test_follow_nats_shows_events_from_another_process_within_a_second(
    escli: Run, jetstream: JetStreamPlace, tmp_path: Path
) -> None:
    escli("dispatch", "combat", "attack", "ogre", "1", "--to", jetstream.url)  # before: not shown
    arrived: list[tuple[float, str]] = []
    sent: list[float] = []
    args = (jetstream.url, "--new", "--json", "--limit", "3")
    with follow_in_another_process(*args, cwd=tmp_path) as follower:

        def read() -> None:
            assert follower.stdout is not None
            for line in follower.stdout:
                arrived.append((time.monotonic(), line))

        reader = threading.Thread(target=read)
        reader.start()
        for _ in range(3):
            out = escli("dispatch", "combat", "attack", "ogre", "1", "--to", jetstream.url)
            assert out.exit_code == 0
            sent.append(time.monotonic())
            time.sleep(0.2)
        assert follower.wait(timeout=10) == 0
        reader.join()
    assert [json.loads(line)["generation"] for _, line in arrived] == [2, 3, 4]
    for (at, _), dispatched in zip(arrived, sent, strict=True):
        assert at - dispatched < 1.0


def test_follow_nats_stops_on_ctrl_c_without_a_traceback(
    jetstream: JetStreamPlace, escli: Run, tmp_path: Path
) -> None:
    escli("dispatch", "combat", "attack", "ogre", "1", "--to", jetstream.url)
    with follow_in_another_process(jetstream.url, cwd=tmp_path) as follower:
        assert follower.stdout is not None
        assert follower.stdout.readline().startswith("combat-ogre    1  combat.EntityAttacked")
        follower.send_signal(signal.SIGINT)
        stdout, stderr = follower.communicate(timeout=10)
    assert (follower.returncode, stdout, stderr) == (0, "", "stopped after 1 event\n")


def test_follow_nats_says_what_is_wrong(escli: Run, jetstream: JetStreamPlace) -> None:
    out = escli("follow", jetstream.target)
    assert (out.exit_code, out.stderr) == (
        7,
        f"Error: JetStream stream {jetstream.stream!r} does not exist at 127.0.0.1:4222; "
        "add create=1 to the URL to create it\n",
    )
    out = escli("follow", "nats://127.0.0.1:4222", "--subject", "a b")
    assert (out.exit_code, out.stderr) == (
        4,
        "Error: subject 'a b' is not a NATS subject (empty token or space)\n",
    )
    out = escli("follow", "nats://127.0.0.1:4222?colour=red")
    assert (out.exit_code, out.stderr) == (
        4,
        "Error: unknown NATS URL option 'colour' (known: subject, stream, create)\n",
    )
