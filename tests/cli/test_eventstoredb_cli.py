"""Every command against EventStoreDB by URL: the same output as on SQLite, mirrors both ways,
and a missing server reported fast with nothing written anywhere. (`follow` is in
test_follow.py, which runs each of its tests on both stores.)"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Run, masked, needs_esdb_client, open_store

pytestmark = needs_esdb_client


@pytest.fixture
def name() -> str:
    return f"orc{uuid.uuid4().hex[:6]}"


def test_every_command_prints_the_same_on_eventstoredb_as_on_sqlite(
    escli: Run, store_url: str, esdb_url: str, name: str
) -> None:
    stream = f"combat-{name}"
    commands = [
        ["dispatch", "combat", "spawn", name, "500"],
        ["dispatch", "combat", "attack", name, "150"],
        ["dispatch", "combat", "attack", name, "350"],  # two events: attacked, died
        ["dispatch", "combat", "heal", name, "10"],  # rejected: dead
        ["dispatch", "combat", "spawn", name, "80", "--dry-run"],
        ["replay", stream],
        ["replay", stream, "--steps"],
        ["replay", stream, "--to-generation", "2", "--json"],
        ["follow", stream, "--limit", "4"],
    ]
    for words in commands:
        on_sqlite = escli(*words, "--store", store_url)
        on_esdb = escli(*words, "--store", esdb_url)
        assert on_esdb.exit_code == on_sqlite.exit_code, words
        # Ids and times are the stores' own; everything else is the same.
        assert masked(on_esdb.stdout) == masked(on_sqlite.stdout), words
        assert on_esdb.stderr == on_sqlite.stderr.replace(store_url, esdb_url), words
    assert open_store(esdb_url).generation(stream) == 4


def test_streams_lists_what_the_server_holds(escli: Run, esdb_server: Any) -> None:
    url = esdb_server.url
    out = escli("streams", "--store", url)
    assert (out.exit_code, out.stdout, out.stderr) == (0, "", f"no streams in {url}\n")
    for words in (
        ["attack", "ogre", "150"],
        ["attack", "ogre", "150"],
        ["attack", "goblin", "500"],
    ):
        assert escli("dispatch", "combat", *words, "--store", url).exit_code == 0
    out = escli("streams", "--store", url)
    assert out.stdout == (
        "stream         generation  events\n"
        "combat-goblin           2  2\n"
        "combat-ogre             2  2\n"
    )
    assert escli("streams", "--json", "--store", url).stdout == (
        '[{"stream": "combat-goblin", "generation": 2, "events": 2}, '
        '{"stream": "combat-ogre", "generation": 2, "events": 2}]\n'
    )


def same_events(a: str, b: str, stream: str) -> None:
    """Both stores hold the same events (positions aside, which each store assigns)."""
    left, right = list(open_store(a).read(stream)), list(open_store(b).read(stream))
    assert [r._replace(position=0) for r in left] == [r._replace(position=0) for r in right]
    assert left


def test_an_eventstoredb_target_mirrors_with_the_same_generations_and_ids(
    escli: Run, store_url: str, esdb_url: str, name: str
) -> None:
    for generation, words in enumerate((["spawn", name, "500"], ["attack", name, "150"]), 1):
        out = escli("dispatch", "combat", *words, "--to", esdb_url)
        assert out.exit_code == 0, out.stderr
        assert out.stdout.endswith(f"  ok  {esdb_url}  generations {generation}..{generation}\n")
    same_events(store_url, esdb_url, f"combat-{name}")


def test_an_eventstoredb_store_mirrors_to_a_sqlite_target(
    escli: Run, esdb_url: str, tmp_path: Path, name: str
) -> None:
    mirror = f"sqlite:///{tmp_path / 'mirror.db'}"
    for words in (["spawn", name, "500"], ["attack", name, "500"]):
        out = escli("dispatch", "combat", *words, "--store", esdb_url, "--to", mirror)
        assert out.exit_code == 0, out.stderr
    same_events(esdb_url, mirror, f"combat-{name}")
    assert open_store(mirror).generation(f"combat-{name}") == 3


def test_an_unreachable_eventstoredb_target_is_reported_after_storing(
    escli: Run, store_url: str
) -> None:
    target = "esdb://admin:s3cret@127.0.0.1:1?Tls=false"
    out = escli("dispatch", "combat", "attack", "ogre", "150", "--to", target)
    shown = "esdb://admin:***@127.0.0.1:1?Tls=false"
    assert out.exit_code == 9
    assert out.stdout.endswith(
        f"  FAILED  {shown}  generations 1..1 pending: EventStoreDB at 127.0.0.1:1 is "
        "unavailable (connection refused)\n"
    )
    assert out.stderr == (
        f"Error: stored in {store_url} at generations 1..1; pending for {shown} (1..1): "
        "escli publish --pending --to URL sends them\n"
    )
    assert "s3cret" not in out.stdout + out.stderr


def test_an_unavailable_store_fails_before_any_target_gets_anything(
    escli: Run, tmp_path: Path
) -> None:
    out_db = tmp_path / "out.db"
    out = escli(
        "dispatch",
        "combat",
        "attack",
        "ogre",
        "150",
        "--store",
        "esdb://127.0.0.1:1?Tls=false",
        "--to",
        f"sqlite:///{out_db}",
    )
    assert (out.exit_code, out.stdout, out.stderr) == (
        8,
        "",
        "Error: EventStoreDB at 127.0.0.1:1 is unavailable (connection refused)\n",
    )
    assert not out_db.exists()


def test_an_unavailable_store_leaves_no_cloudevents_file_and_fails_within_3s(
    escli: Run, tmp_path: Path
) -> None:
    import time

    out_file = tmp_path / "out.jsonl"
    start = time.monotonic()
    out = escli(
        "dispatch",
        "combat",
        "attack",
        "ogre",
        "150",
        "--store",
        "esdb://127.0.0.1:1?Tls=false",
        "--to",
        f"cloudevents:{out_file}",
    )
    assert time.monotonic() - start < 3
    assert (out.exit_code, out.stdout, out.stderr) == (
        8,
        "",
        "Error: EventStoreDB at 127.0.0.1:1 is unavailable (connection refused)\n",
    )
    assert not out_file.exists()


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield listener.getsockname()[1]


@pytest.mark.parametrize("kind", ["refused", "silent"])
def test_the_console_script_reports_a_missing_server_within_three_seconds(
    tmp_path: Path, silent_port: int, kind: str
) -> None:
    port = 1 if kind == "refused" else silent_port
    reason = (
        "is unavailable (connection refused)" if kind == "refused" else "did not answer in time"
    )
    script = Path(sys.executable).with_name("escli")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "escli"]
    started = time.monotonic()
    done = subprocess.run(
        [
            *command,
            "dispatch",
            "combat",
            "attack",
            "ogre",
            "150",
            "--store",
            f"esdb://127.0.0.1:{port}?Tls=false",
            "--to",
            "sqlite:///out.db",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
    )
    elapsed = time.monotonic() - started
    assert (done.returncode, done.stdout, done.stderr) == (
        8,
        "",
        f"Error: EventStoreDB at 127.0.0.1:{port} {reason}\n",
    )
    assert elapsed < 3.0
    assert not (tmp_path / "out.db").exists()
