"""The CLI end to end on the local PostgreSQL server, each test in a fresh schema, with a
password in every URL that must never be printed."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import Run, masked, open_store
from tests.stores.contract import new

PASSWORD = "hunter22"


@pytest.fixture
def store_url(postgres_schemas: Callable[[], str]) -> str:
    """Overrides the SQLite default: the ``escli`` runner now talks to PostgreSQL."""
    return postgres_schemas().replace("postgres@", f"postgres:{PASSWORD}@")


@pytest.fixture
def shown_url(store_url: str) -> str:
    return store_url.replace(PASSWORD, "***")


@pytest.fixture
def run(escli: Run) -> Run:
    """``escli``, checking that no output ever carries the password."""

    def checked(*args: str, input: str | None = None) -> object:
        out = escli(*args, input=input)
        assert PASSWORD not in out.stdout + out.stderr
        return out

    return checked  # type: ignore[return-value]


def test_dispatch_and_replay_give_the_same_results_as_on_sqlite(run: Run) -> None:
    first = run("dispatch", "combat", "attack", "ogre", "150")
    assert (first.exit_code, first.stderr) == (0, "")
    assert first.stdout.splitlines()[:3] == [
        "combat-ogre  generation 0 → 1",
        "events",
        '    1  combat.EntityAttacked v2.0  {"entity_id": "ogre", "damage": 150, '
        '"weapon": "fists"}',
    ]
    assert run("dispatch", "combat", "attack", "ogre", "150").exit_code == 0
    replayed = run("replay", "combat-ogre", "--json")
    assert replayed.exit_code == 0
    assert json.loads(replayed.stdout)["state"]["hitpoints"] == 600
    assert run("replay", "combat-ogre").stdout.splitlines()[:3] == [
        "combat-ogre  generation 2",
        "  entity_id      ogre",
        "  hitpoints      600",
    ]


def test_replay_steps_show_data_as_it_was_written(run: Run) -> None:
    run("dispatch", "combat", "attack", "ogre", "150")
    out = run("replay", "combat-ogre", "--steps")
    # json (not jsonb) keeps the text, key order included.
    assert masked(out.stdout).splitlines()[1:3] == [
        '    1  <id>  <time>  combat.EntityAttacked v2.0  {"entity_id": "ogre", "damage": 150, '
        '"weapon": "fists"}',
        "       hitpoints  900 → 750",
    ]


def test_streams_lists_what_dispatch_wrote(run: Run, shown_url: str) -> None:
    empty = run("streams")
    assert (empty.exit_code, empty.stdout, empty.stderr) == (0, "", f"no streams in {shown_url}\n")
    run("dispatch", "combat", "attack", "ogre", "150")
    run("dispatch", "combat", "attack", "troll", "10")
    out = run("streams")
    assert (out.exit_code, out.stdout) == (
        0,
        "stream        generation  events\n"
        "combat-ogre            1  1\n"
        "combat-troll           1  1\n",
    )


def test_init_creates_the_schema_once(run: Run, shown_url: str) -> None:
    first = run("init")
    assert (first.exit_code, first.stderr) == (0, f"created the escli schema in {shown_url}\n")
    again = run("init")
    assert (again.exit_code, again.stderr) == (
        0,
        f"{shown_url} already has the escli schema; nothing to do\n",
    )


def test_a_rejected_command_writes_nothing(run: Run) -> None:
    out = run("dispatch", "combat", "attack", "ghost", "10")
    assert (out.exit_code, out.stderr) == (5, "Error: ghost is immortal: attacks pass through it\n")
    assert run("streams", "--json").stdout == "[]\n"


def test_a_stream_name_or_event_id_past_postgres_index_limits_is_invalid_input(
    run: Run, shown_url: str, tmp_path: Path
) -> None:
    # Random text, so that PostgreSQL cannot compress the key under its btree's 2,704 bytes.
    huge = secrets.token_hex(1500)
    out = run("dispatch", "combat", "spawn", huge, "10")
    assert out.exit_code == 4
    assert out.stderr.startswith(
        f"Error: {shown_url}: a stream name or event id too long for PostgreSQL's indexes ("
    )
    assert out.stderr.endswith("the append was not written: keep them under 2,700 bytes\n")
    assert out.stderr.count("\n") == 1
    event = {
        "specversion": "1.0",
        "id": huge,
        "source": "events://escli/samples/combat",
        "type": "combat.EntitySpawned",
        "subject": "combat-wolf",
        "time": "2026-01-01T00:00:00Z",
        "typeversion": "1.0",
        "generation": 1,
        "data": {"entity_id": "wolf", "hitpoints": 10},
    }
    (tmp_path / "huge.jsonl").write_text(json.dumps(event) + "\n")
    imported = run("import", str(tmp_path / "huge.jsonl"))
    assert imported.exit_code == 4
    assert "too long for PostgreSQL's indexes" in imported.stderr
    assert run("streams", "--json").stdout == "[]\n"


def test_copy_round_trip_through_the_cli(run: Run, store_url: str, tmp_path: Path) -> None:
    source = f"sqlite:///{tmp_path / 'source.db'}"
    back = f"sqlite:///{tmp_path / 'back.db'}"
    sqlite = open_store(source)
    sqlite.append("combat-ogre", [new(), new()], 0)
    sqlite.append("combat-troll", [new()], 0)
    sqlite.close()
    there = run("copy", source, store_url, "--all", "--json")
    assert (there.exit_code, json.loads(there.stdout)["copied"]) == (0, 3)
    again = run("copy", source, store_url, "--all")
    assert (again.exit_code, again.stderr) == (
        0,
        f"nothing to copy: {store_url.replace(PASSWORD, '***')} already holds all 3 events\n",
    )
    home = run("copy", store_url, back, "combat-ogre", "combat-troll")
    assert (home.exit_code, home.stdout) == (
        0,
        "stream        copied  already present\ncombat-ogre        2  0\ncombat-troll       1  0\n",
    )
    assert [tuple(r)[:-1] for r in open_store(back).read_all()] == [
        tuple(r)[:-1] for r in open_store(source).read_all()
    ]


@pytest.mark.parametrize("command", [["streams"], ["dispatch", "combat", "attack", "ogre", "1"]])
def test_an_unreachable_server_is_exit_8_with_one_line(run: Run, command: list[str]) -> None:
    out = run(*command, "--store", f"postgresql://postgres:{PASSWORD}@127.0.0.1:1/test")
    assert (out.exit_code, out.stdout, out.stderr) == (
        8,
        "",
        "Error: cannot reach PostgreSQL at 127.0.0.1:1: Connection refused\n",
    )


def test_a_missing_database_is_exit_7_naming_it(run: Run) -> None:
    url = f"postgresql://postgres:{PASSWORD}@127.0.0.1:5432/escli_no_such_db"
    out = run("replay", "combat-ogre", "--store", url)
    assert (out.exit_code, out.stderr) == (
        7,
        "Error: PostgreSQL at 127.0.0.1:5432 has no database 'escli_no_such_db'\n",
    )


def test_a_bad_schema_name_is_exit_4(run: Run) -> None:
    url = f"postgresql://postgres:{PASSWORD}@127.0.0.1:5432/test?schema=Drop-Table"
    out = run("streams", "--store", url)
    assert out.exit_code == 4
    assert out.stderr.startswith("Error: PostgreSQL schema must be a lowercase name")
