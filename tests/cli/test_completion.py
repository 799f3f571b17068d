"""Completion: what each kind of value completes to through click's completion API, that it
never writes or prints an error, and a real bash running the generated script."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest
from click.shell_completion import ShellComplete

from escli.cli import cli
from escli.cli.complete import LIMIT
from tests.conftest import Run, open_store
from tests.stores.contract import new

ESCLI = Path(sys.executable).parent / "escli"

SHOP = '''\
from dataclasses import dataclass
from enum import Enum
from typing import Literal

from escli import AggregateState, Domain

domain = Domain("shop", source="events://example/shop", stream_field="cart_id")


class Size(Enum):
    SMALL = "s"
    LARGE = "l"


@dataclass(frozen=True)
class Cart(AggregateState):
    cart_id: str


@domain.command
@dataclass(frozen=True)
class AddItem:
    """Put an item in a cart."""

    cart_id: str
    size: Size
    wrap: bool = False
    speed: Literal["slow", "fast"] = "slow"


@domain.event(version="1.0")
@dataclass(frozen=True)
class ItemAdded:
    cart_id: str


@domain.aggregate
class Shop:
    def initial_state(self, stream_id):
        return Cart(stream_id)

    def handle_command(self, state, command):
        return [ItemAdded(command.cart_id)]

    def apply_event(self, state, event):
        return state
'''


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store_url: str) -> Path:
    monkeypatch.setenv("ESCLI_STORE", store_url)
    monkeypatch.setenv("ESCLI_NO_PROJECT", "1")
    folder = tmp_path / "domains"
    folder.mkdir()
    (folder / "shop.py").write_text(SHOP)
    monkeypatch.setenv("ESCLI_DOMAINS", str(folder))
    return tmp_path


def complete(line: str) -> list[str]:
    """What a Tab at the end of ``line`` (after ``escli``) offers."""
    words = line.split(" ")
    args, incomplete = words[:-1], words[-1]
    found = ShellComplete(cli, {}, "escli", "_ESCLI_COMPLETE").get_completions(args, incomplete)
    return [item.value for item in found]


def kinds(line: str) -> list[str]:
    words = line.split(" ")
    found = ShellComplete(cli, {}, "escli", "_ESCLI_COMPLETE").get_completions(
        words[:-1], words[-1]
    )
    return [item.type for item in found]


def test_commands_domains_and_a_domains_commands(env: Path) -> None:
    assert complete("di") == ["dispatch"]
    assert "completion" in complete("") and "info" in complete("")
    assert complete("dispatch ") == ["combat", "shop"]
    assert complete("dispatch s") == ["shop"]
    assert complete("dispatch combat ") == ["spawn", "attack", "heal"]
    assert complete("dispatch shop add") == ["add-item"]
    assert complete("domains sh") == ["shop"]
    assert complete("versions c") == ["combat"]


def test_a_commands_field_options_less_those_given(env: Path) -> None:
    assert complete("dispatch shop add-item --")[:4] == ["--cart-id", "--size", "--wrap", "--speed"]
    assert complete("dispatch shop add-item c1 --")[:3] == ["--size", "--wrap", "--speed"]
    assert complete("dispatch shop add-item --size s --w") == ["--wrap"]
    # The command's own options follow the fields.
    assert "--dry-run" in complete("dispatch shop add-item c1 --")


def test_values_a_fields_type_knows(env: Path) -> None:
    assert complete("dispatch shop add-item c1 ") == ["s", "l"]
    assert complete("dispatch shop add-item c1 s ") == ["true", "false"]
    assert complete("dispatch shop add-item c1 --speed ") == ["slow", "fast"]
    assert complete("dispatch shop add-item c1 --speed f") == ["fast"]


def test_stream_ids_from_the_store_by_prefix(env: Path, store_url: str) -> None:
    store = open_store(store_url)
    for stream in ("shop-c1", "shop-c2", "shop-d1", "combat-ogre"):
        store.append(stream, [new()], 0)
    assert complete("dispatch shop add-item ") == ["c1", "c2", "d1"]
    assert complete("dispatch shop add-item c") == ["c1", "c2"]
    assert complete("dispatch shop add-item --size s ") == ["c1", "c2", "d1"]
    assert complete("dispatch shop add-item --cart-id d") == ["d1"]
    assert complete("replay shop-") == ["shop-c1", "shop-c2", "shop-d1"]
    assert complete("follow co") == ["combat-ogre"]
    assert complete("export combat") == ["combat-ogre"]
    assert complete("events --stream shop-c") == ["shop-c1", "shop-c2"]
    assert complete("project combat.roster --rebuild --stream co") == ["combat-ogre"]
    # copy completes the streams of its source, not of --store.
    assert complete(f"copy {store_url} sqlite:///b.db sh") == ["shop-c1", "shop-c2", "shop-d1"]
    assert complete("copy memory: sqlite:///b.db sh") == []


def test_stream_ids_are_bounded(env: Path, store_url: str) -> None:
    store = open_store(store_url)
    for n in range(LIMIT + 20):
        store.append(f"shop-c{n:04}", [new()], 0)
    found = complete("replay shop-")
    assert found == [f"shop-c{n:04}" for n in range(LIMIT)]


def test_the_stream_walk_seeks_the_stream_index_never_scans(tmp_path: Path) -> None:
    # What keeps completion fast on a store of a million streams: no step reads the table.
    store = open_store(f"sqlite:///{tmp_path / 'e.db'}")
    store.append("shop-a", [new()], 0)
    conn = store._connect(create=False)  # type: ignore[attr-defined]
    assert conn is not None
    sql = "SELECT (SELECT stream FROM events WHERE stream > ? ORDER BY stream LIMIT 1)"
    plan = " ".join(row[-1] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", ("a",)))
    # The (stream, generation) index: the table's primary key in stores an earlier escli
    # made, the unique index beside the rows in position order since.
    assert "SEARCH events USING COVERING INDEX" in plan and "SCAN events" not in plan


def test_urls_targets_folders_and_files(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert complete("streams --store ") == [
        "sqlite:///",
        "memory:",
        "postgresql://",
        "esdb://",
        "kurrentdb://",
    ]
    assert complete("streams --store po") == ["postgresql://"]
    assert complete("dispatch combat attack ogre 1 --to cl") == ["cloudevents:"]
    assert complete("publish --to na") == ["nats://"]
    assert kinds("run sam") == ["file"]
    assert kinds("test ") == ["file"]
    assert kinds("import ev") == ["file"]
    assert kinds("streams --domains do") == ["file"]
    assert kinds("replay --file ev") == ["file"]
    assert kinds("export -o ev") == ["file"]
    assert kinds("shell --history h") == ["file"]


def test_the_projects_targets_come_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ESCLI_STORE", "ESCLI_DOMAINS", "ESCLI_NO_PROJECT"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "escli.toml").write_text('targets = ["nats://127.0.0.1:4222"]\n')
    monkeypatch.chdir(tmp_path)
    assert complete("dispatch combat attack ogre 1 --to n") == ["nats://127.0.0.1:4222", "nats://"]


def test_completion_never_writes_and_never_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "nothing" / "events.db"
    monkeypatch.setenv("ESCLI_STORE", f"sqlite:///{missing}")
    monkeypatch.setenv("ESCLI_NO_PROJECT", "1")
    assert complete("replay ") == []
    assert not (tmp_path / "nothing").exists()
    empty = tmp_path / "empty.db"
    empty.touch()  # a file SQLite would make a store of, if it were written to
    monkeypatch.setenv("ESCLI_STORE", f"sqlite:///{empty}")
    assert complete("replay ") == []
    assert empty.stat().st_size == 0
    monkeypatch.setenv("ESCLI_STORE", "postgresql://nobody@127.0.0.1:1/none")
    assert complete("replay ") == []
    # A broken project file, a domain that does not import: nothing, and no error.
    monkeypatch.delenv("ESCLI_NO_PROJECT")
    monkeypatch.delenv("ESCLI_STORE")
    (tmp_path / "escli.toml").write_text("store = \n")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "broken.py").write_text("raise RuntimeError('boom')\n")
    monkeypatch.chdir(tmp_path)
    assert complete("dispatch broken ") == []
    monkeypatch.setenv("ESCLI_DOMAINS", str(tmp_path / "bad"))
    assert complete("dispatch broken ") == []
    assert complete("dispatch broken x ") == []


def test_completion_prints_each_shells_script(escli: Run) -> None:
    bash = escli("completion", "bash")
    assert bash.exit_code == 0
    assert "complete -o nosort -F _escli_completion escli" in bash.stdout
    zsh = escli("completion", "zsh")
    assert "#compdef escli" in zsh.stdout and "_ESCLI_COMPLETE=zsh_complete" in zsh.stdout
    fish = escli("completion", "fish")
    assert "complete --no-files --command escli" in fish.stdout
    assert escli("completion", "tcsh").exit_code == 2


def test_a_real_bash_completes_through_the_generated_script(env: Path, store_url: str) -> None:
    open_store(store_url).append("shop-cart7", [new()], 0)
    script = """
        eval "$("$ESCLI" completion bash)"
        complete -p escli
        COMP_WORDS=(escli dispatch shop add-item ca); COMP_CWORD=4
        _escli_completion escli
        printf 'reply:%s\\n' "${COMPREPLY[@]}"
        COMP_WORDS=(escli disp); COMP_CWORD=1
        COMPREPLY=(); _escli_completion escli
        printf 'reply:%s\\n' "${COMPREPLY[@]}"
    """
    out = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", script],
        # The script runs `escli` by name, as a user's shell does: from PATH.
        env={**os.environ, "ESCLI": str(ESCLI), "PATH": f"{ESCLI.parent}:{os.environ['PATH']}"},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    lines = out.stdout.splitlines()
    assert lines[0] == "complete -o nosort -F _escli_completion escli"
    assert lines[1:] == ["reply:cart7", "reply:dispatch"]
    assert out.stderr == ""


def test_the_store_holds_what_it_held_after_completing(env: Path, store_url: str) -> None:
    open_store(store_url).append("shop-c1", [new()], 0)
    path = store_url.removeprefix("sqlite:///")
    with closing(sqlite3.connect(path)) as conn:
        before = conn.execute("SELECT count(*) FROM events").fetchone()
    complete("dispatch shop add-item ")
    complete("dispatch shop add-item c1 s true ")
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("SELECT count(*) FROM events").fetchone() == before


def test_a_store_that_does_not_answer_in_time_completes_to_nothing(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    import escli.cli.complete as complete_module

    answer = threading.Event()

    def silent(url: str) -> None:  # a server that takes the connection and says nothing
        answer.wait(10)
        raise ConnectionError("late")

    monkeypatch.setattr(complete_module, "read_only_store", silent)
    monkeypatch.setattr(complete_module, "DEADLINE_S", 0.05)
    try:
        assert complete("replay combat-") == []
    finally:
        answer.set()


def test_a_broken_project_file_completes_as_if_there_were_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("ESCLI_STORE", "ESCLI_DOMAINS", "ESCLI_NO_PROJECT"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "escli.toml").write_text("store = \n")
    monkeypatch.chdir(tmp_path)
    assert complete("dispatch ") == ["combat"]
    assert complete("dispatch combat ") == ["spawn", "attack", "heal"]
