"""Mistakes that used to succeed silently (issue 11, section 3): each is now an error, or a
note, that says what happened."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from contextlib import closing
from pathlib import Path

import pytest

from escli import open_store
from tests.conftest import ROOT, Run, snapshot


def fight(escli: Run) -> None:
    for args in (["attack", "ogre", "150"], ["attack", "ogre", "150"], ["heal", "ogre", "100"]):
        assert escli("dispatch", "combat", *args).exit_code == 0


def held(store_url: str) -> list[tuple[object, ...]]:
    with closing(open_store(store_url)) as store:
        return snapshot(store)


# -- a stream that does not exist -------------------------------------------------------------


@pytest.mark.parametrize("args", [[], ["--steps"], ["--to-generation", "2"], ["--steps", "--json"]])
def test_replaying_a_mistyped_stream_is_not_found_with_the_closest_names(
    escli: Run, store_url: str, args: list[str]
) -> None:
    fight(escli)
    assert escli("dispatch", "combat", "spawn", "orc", "50").exit_code == 0
    before = held(store_url)
    out = escli("replay", "combat-orge", *args)
    message = "stream 'combat-orge' is not in the store; did you mean 'combat-ogre'?"
    assert (out.exit_code, out.stdout) == (3, "")
    if "--json" in args:
        assert json.loads(out.stderr) == {"error": message, "exit_code": 3}
    else:
        assert out.stderr == f"Error: {message}\n"
    out = escli("replay", "combat-ogr")
    assert out.stderr == (
        "Error: stream 'combat-ogr' is not in the store; did you mean one of 'combat-ogre', "
        "'combat-orc'?\n"
    )
    assert held(store_url) == before


def test_names_are_suggested_from_the_streams_domain_only(escli: Run) -> None:
    # "combat-troll" and "combat-ogre" share "combat-": that alone does not make them close.
    fight(escli)
    out = escli("replay", "combat-troll")
    assert (out.exit_code, out.stderr) == (3, "Error: stream 'combat-troll' is not in the store\n")


def test_dispatch_still_starts_a_new_stream(escli: Run) -> None:
    out = escli("dispatch", "combat", "spawn", "dragon", "2000")
    assert (out.exit_code, out.stderr) == (0, "")
    assert escli("replay", "combat-dragon").stdout.startswith("combat-dragon  generation 1\n")


def test_replay_to_generation_zero_of_a_stream_that_exists_is_its_initial_state(
    escli: Run,
) -> None:
    fight(escli)
    out = escli("replay", "combat-ogre", "--to-generation", "0", "--json")
    assert (out.exit_code, out.stderr) == (0, "")
    assert json.loads(out.stdout)["state"]["hitpoints"] == 900
    out = escli("replay", "combat-orge", "--to-generation", "0")
    assert (out.exit_code, out.stderr) == (
        3,
        "Error: stream 'combat-orge' is not in the store; did you mean 'combat-ogre'?\n",
    )


def test_publishing_or_exporting_a_mistyped_stream_is_not_found(escli: Run, tmp_path: Path) -> None:
    fight(escli)
    mirror = tmp_path / "mirror.db"
    out = escli("publish", "combat-ogre", "combat-orge", "--to", f"sqlite:///{mirror}")
    assert (out.exit_code, out.stdout) == (3, "")
    assert out.stderr == (
        "Error: stream 'combat-orge' is not in the store; did you mean 'combat-ogre'?\n"
    )
    assert not mirror.exists()  # checked before the target was opened
    out = escli("export", "combat-orge")
    assert (out.exit_code, out.stdout) == (3, "")
    assert out.stderr == (
        "Error: stream 'combat-orge' is not in the store; did you mean 'combat-ogre'?\n"
    )


# -- --to-generation past the end -------------------------------------------------------------


@pytest.mark.parametrize("steps", [[], ["--steps"]])
def test_replay_past_the_end_says_where_the_stream_ends(escli: Run, steps: list[str]) -> None:
    fight(escli)
    out = escli("replay", "combat-ogre", "--to-generation", "99", *steps)
    assert out.exit_code == 0
    assert out.stdout == escli("replay", "combat-ogre", *steps).stdout
    assert out.stderr == "combat-ogre ends at generation 3, before --to-generation 99\n"
    out = escli("replay", "combat-ogre", "--to-generation", "3", *steps)
    assert (out.exit_code, out.stderr) == (0, "")


def test_replay_past_the_end_of_a_file_says_so_too(escli: Run) -> None:
    sample = ROOT / "sample_streams" / "combat-troll.jsonl"
    out = escli("replay", "--file", str(sample), "--to-generation", "7")
    assert out.exit_code == 0
    assert out.stdout.startswith("combat-troll  generation 3\n")
    assert out.stderr == "combat-troll ends at generation 3, before --to-generation 7\n"


# -- a mistyped command -----------------------------------------------------------------------


def test_a_mistyped_command_gets_a_did_you_mean(escli: Run) -> None:
    out = escli("dispach", "combat", "attack", "ogre", "150")
    assert (out.exit_code, out.stdout) == (2, "")
    assert (
        out.stderr
        == "Error: No such command 'dispach'. Did you mean 'dispatch'? (see 'escli --help')\n"
    )
    out = escli("frobnicate")
    assert (out.exit_code, out.stderr) == (
        2,
        "Error: No such command 'frobnicate'. (see 'escli --help')\n",
    )


def test_suggesting_a_command_imports_no_command_module(tmp_path: Path) -> None:
    probe = (
        "import sys; from escli.cli import cli; code = cli.main(['stream'], standalone_mode=False);"
        "print(code, sorted(m for m in sys.modules if m.startswith('escli.cli.')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert (
        done.stderr
        == "Error: No such command 'stream'. Did you mean 'streams'? (see 'escli --help')\n"
    )
    assert done.stdout == "2 ['escli.cli.app']\n"


# -- escli run: an expectation no outcome could meet ------------------------------------------


def test_an_expected_event_type_the_domain_lacks_is_caught_before_the_first_step(
    escli: Run, tmp_path: Path, store_url: str
) -> None:
    path = tmp_path / "fight.yaml"
    path.write_text(
        "domain: combat\n"
        "steps:\n"
        "  - spawn dragon 1000\n"
        "  - run: attack dragon 1000\n"
        "    expect:\n"
        "      events: [EntityAttacked, {type: EntityDead}]\n"
    )
    out = escli("run", str(path))
    assert (out.exit_code, out.stdout) == (4, "")
    assert out.stderr == (
        f"Error: {path}:6:39: domain 'combat' has no event 'EntityDead' (known: EntityAttacked, "
        "EntityDied, EntityHealed, EntitySpawned)\n"
    )
    assert held(store_url) == []
    path.write_text(path.read_text().replace("EntityAttacked,", "combat.EntityAttack,"))
    out = escli("run", str(path))
    assert out.stderr == (
        f"Error: {path}:6:16: domain 'combat' has no event 'combat.EntityAttack' (known: "
        "combat.EntityAttacked, combat.EntityDied, combat.EntityHealed, combat.EntitySpawned)\n"
    )


def test_a_scenario_expecting_an_event_type_the_domain_lacks_is_invalid(
    escli: Run, tmp_path: Path
) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(
        "scenarios:\n"
        "  - name: the ogre is hit\n"
        "    when: combat attack ogre 1\n"
        "    then: {events: [Attacked]}\n"
    )
    out = escli("test", str(path))
    assert (out.exit_code, out.stdout) == (4, "")
    assert out.stderr == (
        f"Error: {path}:4:21: domain 'combat' has no event 'Attacked' (known: EntityAttacked, "
        "EntityDied, EntityHealed, EntitySpawned)\n"
    )


# -- escli test --store: a shared store -------------------------------------------------------


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_scenarios_in_a_shared_store_pass_run_after_run_and_leave_nothing_behind(
    escli: Run, tmp_path: Path, kind: str, request: pytest.FixtureRequest
) -> None:
    shared = (
        f"sqlite:///{tmp_path / 'shared.db'}"
        if kind == "sqlite"
        else request.getfixturevalue("postgres_schemas")()
    )
    # The store holds a dead ogre already: the scenarios must not see it.
    assert escli("dispatch", "combat", "attack", "ogre", "900", "--store", shared).exit_code == 0
    before = held(shared)
    for _ in range(2):
        out = escli("test", str(ROOT / "sample_streams"), "--store", shared)
        assert (out.exit_code, out.stderr) == (0, "")
        assert out.stdout.endswith("20 passed, 0 failed\n")
    # Each scenario ran in a transaction rolled back at its end: the store is as it was.
    assert held(shared) == before


def test_scenarios_in_a_store_without_transactions_keep_their_streams_and_say_so(
    escli: Run, tmp_path: Path, esdb_url: str
) -> None:
    path = tmp_path / "one.yaml"
    path.write_text(
        "scenarios:\n"
        "  - name: the ogre is hit\n"
        "    given: [{type: EntitySpawned, data: {entity_id: ogre, hitpoints: 900}}]\n"
        "    when: combat attack ogre 1\n"
        "    then: {events: [EntityAttacked]}\n"
    )
    out = escli("test", str(path), "--store", esdb_url)
    assert (out.exit_code, out.stdout) == (0, "PASS  the ogre is hit\n1 passed, 0 failed\n")
    [prefix] = re.findall(r"escli-test\.[0-9a-f]{12}\.", out.stderr)
    assert out.stderr == (
        "the store has no transactions: 1 scenario left its streams in it, under "
        f"escli-test.<random>. ({prefix})\n"
    )
    with closing(open_store(esdb_url)) as store:
        assert store.generation(f"{prefix}combat-ogre") == 2


# -- a reader that stops early ----------------------------------------------------------------


def test_a_reader_that_stops_after_the_first_line_ends_escli_quietly_with_0(
    escli: Run, tmp_path: Path
) -> None:
    many = tmp_path / "many.jsonl"
    with many.open("w") as f:
        for i in range(3000):
            event = {
                "specversion": "1.0",
                "id": str(uuid.uuid4()),
                "source": "events://escli/samples/combat",
                "type": "combat.EntitySpawned",
                "subject": f"combat-e{i}",
                "time": "2026-11-26T12:52:10Z",
                "typeversion": "1.0",
                "generation": 1,
                "data": {"entity_id": f"e{i}", "hitpoints": 10},
            }
            f.write(json.dumps(event) + "\n")
    assert escli("import", str(many)).exit_code == 0
    # `escli export --all | head -1`: ~800 KiB, more than a pipe holds, written in chunks,
    # so escli is still writing when the reader goes.
    with subprocess.Popen(
        [sys.executable, "-m", "escli", "export", "--all"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
    ) as child:
        assert child.stdout is not None and child.stderr is not None
        assert child.stdout.readline().startswith(b'{"specversion": "1.0"')
        child.stdout.close()
        stderr = child.stderr.read()
        assert (child.wait(timeout=60), stderr) == (0, b"")


@pytest.mark.parametrize(
    "args",
    [
        ["streams"],
        ["streams", "--json"],
        ["replay", "combat-ogre", "--steps"],
        # The events themselves go to stdout through a cloudevents:- target.
        ["publish", "--all", "--to", "cloudevents:-"],
        ["dispatch", "combat", "attack", "ogre", "1", "--to", "cloudevents:-"],
    ],
)
def test_a_reader_gone_before_escli_writes_ends_it_quietly_with_0(
    escli: Run, tmp_path: Path, args: list[str]
) -> None:
    fight(escli)
    read_end, write_end = os.pipe()
    os.close(read_end)  # `escli ... | head -0`
    try:
        done = subprocess.run(
            [sys.executable, "-m", "escli", *args],
            stdout=write_end,
            stderr=subprocess.PIPE,
            cwd=tmp_path,
            timeout=60,
            check=False,
        )
    finally:
        os.close(write_end)
    assert (done.returncode, done.stderr) == (0, b"")


# -- --json errors ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["replay", "combat-orge", "--json"], 3, "stream 'combat-orge' is not in the store; "
         "did you mean 'combat-ogre'?"),
        (["dispatch", "combat", "attack", "ghost", "1", "--json"], 5,
         "ghost is immortal: attacks pass through it"),
        (["dispatch", "combat", "attack", "ogre", "lots", "--json"], 4,
         "attack damage: expected an integer, got 'lots'"),
        (["replay", "--json"], 2, "Missing argument 'STREAM'. (see 'escli replay --help')"),
        (["streams", "--json", "--bogus"], 2,
         "No such option '--bogus'. (see 'escli streams --help')"),
        (["replay", "--json", "combat-ogre", "--to-generation", "-1"], 2,
         "Invalid value for '--to-generation': -1 is not in the range x>=0. "
         "(see 'escli replay --help')"),
        (["dispach", "--json"], 2, "No such command 'dispach'. Did you mean 'dispatch'? "
         "(see 'escli --help')"),
    ],
)  # fmt: skip
def test_with_json_every_kind_of_error_is_one_json_object_on_stderr(
    escli: Run, args: list[str], code: int, message: str
) -> None:
    fight(escli)
    out = escli(*args)
    assert (out.exit_code, out.stdout) == (code, "")
    assert out.stderr.count("\n") == 1
    assert json.loads(out.stderr) == {"error": message, "exit_code": code}
