"""`escli init` and `escli copy` on the embedded stores: exact output and exit codes."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from escli.cli.app import App
from tests.conftest import Run, open_store, snapshot
from tests.stores.contract import new


def test_init_creates_a_sqlite_store_once(escli: Run, store_url: str, tmp_path: Path) -> None:
    first = escli("init")
    assert (first.exit_code, first.stdout, first.stderr) == (
        0,
        "",
        f"created the escli schema in {store_url}\n",
    )
    with closing(sqlite3.connect(tmp_path / "events.db")) as conn:
        version = conn.execute("PRAGMA user_version").fetchone()
    assert version == (2,)
    again = escli("init")
    assert (again.exit_code, again.stderr) == (
        0,
        f"{store_url} already has the escli schema; nothing to do\n",
    )
    assert json.loads(escli("init", "--json").stdout) == {
        "store": store_url,
        "created": False,
        "schema": True,
        "project": None,
        "scaffolded": {},
    }


def test_init_on_a_store_without_a_schema_says_so(escli: Run) -> None:
    out = escli("init", "--store", "memory:")
    assert (out.exit_code, out.stderr) == (0, "memory: has no schema to create\n")


def test_init_refuses_a_sqlite_file_of_another_application(escli: Run, tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("CREATE TABLE customers (name TEXT)").connection.commit()
    out = escli("init", "--store", f"sqlite:///{path}")
    assert (out.exit_code, out.stderr) == (
        7,
        f"Error: {path} is a SQLite file but not an escli store\n",
    )


@pytest.fixture
def urls(tmp_path: Path) -> tuple[str, str]:
    source = f"sqlite:///{tmp_path / 'source.db'}"
    store = open_store(source)
    store.append("combat-ogre", [new(), new(), new()], 0)
    store.append("combat-troll", [new()], 0)
    store.close()
    return source, f"sqlite:///{tmp_path / 'target.db'}"


def test_copy_reports_each_stream_then_copies_nothing_the_second_time(
    escli: Run, urls: tuple[str, str]
) -> None:
    source, target = urls
    first = escli("copy", source, target, "--all")
    assert first.exit_code == 0
    assert first.stdout == (
        "stream        copied  already present\ncombat-ogre        3  0\ncombat-troll       1  0\n"
    )
    assert first.stderr == f"copied 4 events to {target} (0 were already there)\n"
    before = snapshot(open_store(target))
    second = escli("copy", source, target, "--all")
    assert second.exit_code == 0
    assert second.stdout == (
        "stream        copied  already present\ncombat-ogre        0  3\ncombat-troll       0  1\n"
    )
    assert second.stderr == f"nothing to copy: {target} already holds all 4 events\n"
    assert snapshot(open_store(target)) == before


def test_copy_json_is_one_object(escli: Run, urls: tuple[str, str]) -> None:
    source, target = urls
    out = escli("copy", source, target, "combat-troll", "--json")
    assert (out.exit_code, out.stderr) == (0, "")
    assert json.loads(out.stdout) == {
        "source": source,
        "target": target,
        "copied": 1,
        "already_stored": 0,
        "streams": [{"stream": "combat-troll", "copied": 1, "already_stored": 0}],
    }


def test_copying_an_empty_store_says_there_is_nothing(escli: Run, tmp_path: Path) -> None:
    out = escli("copy", "memory:", f"sqlite:///{tmp_path / 't.db'}", "--all")
    assert (out.exit_code, out.stdout, out.stderr) == (0, "", "no streams in memory:\n")


@pytest.mark.parametrize(
    ("extra", "code", "message"),
    [
        ([], 2, "give the STREAMs to copy, or --all (not both)"),
        (["combat-ogre", "--all"], 2, "give the STREAMs to copy, or --all (not both)"),
        (["combat-ghost"], 3, "stream 'combat-ghost' is not in {source}"),
    ],
)
def test_copy_needs_streams_that_exist_or_all(
    escli: Run, urls: tuple[str, str], extra: list[str], code: int, message: str
) -> None:
    source, target = urls
    out = escli("copy", source, target, *extra)
    assert (out.exit_code, out.stdout, out.stderr) == (
        code,
        "",
        f"Error: {message.format(source=source)}\n",
    )
    assert not Path(target.removeprefix("sqlite:///")).exists()


def test_copy_to_a_bad_url_is_invalid_input(escli: Run, urls: tuple[str, str]) -> None:
    out = escli("copy", urls[0], "ftp://u:hunter22@x/y", "--all")
    assert (out.exit_code, out.stderr) == (
        4,
        "Error: unknown store URL scheme 'ftp' in 'ftp://u:***@x/y' "
        "(known: sqlite, memory, postgresql, esdb[+discover], kurrentdb[+discover], "
        "kdb[+discover])\n",
    )


def test_copy_into_a_diverged_stream_is_a_store_error(escli: Run, urls: tuple[str, str]) -> None:
    source, target = urls
    open_store(target).append("combat-troll", [new()], 0)
    before = snapshot(open_store(target))
    out = escli("copy", source, target, "--all")
    assert out.exit_code == 7
    assert out.stderr.startswith("Error: combat-troll has diverged in ")
    assert out.stderr.endswith("; nothing was written\n")
    assert snapshot(open_store(target)) == before


def test_a_big_copy_shows_progress_only_on_a_terminal(
    escli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = f"sqlite:///{tmp_path / 'big.db'}"
    store = open_store(source)
    for start in range(0, 10_001, 1000):
        store.append("combat-ogre", [new() for _ in range(min(1000, 10_001 - start))], start)
    store.close()
    plain = escli("copy", source, f"sqlite:///{tmp_path / 'a.db'}", "--all")
    assert (
        plain.stderr
        == f"copied 10001 events to sqlite:///{tmp_path / 'a.db'} (0 were already there)\n"
    )

    from rich.console import Console

    terminal = Console(stderr=True, force_terminal=True, width=100)
    monkeypatch.setattr(App, "err", property(lambda self: terminal))
    shown = escli("copy", source, f"sqlite:///{tmp_path / 'b.db'}", "--all")
    assert shown.exit_code == 0
    assert "copying" in shown.stderr
    assert "100%" in shown.stderr


def test_init_and_copy_help_end_with_an_example(escli: Run) -> None:
    for command in ("init", "copy"):
        out = escli(command, "--help")
        assert out.exit_code == 0
        assert "Example:" in out.stdout
        assert "--json" in out.stdout
