"""`escli run`: scripts from files and stdin, expectations, --keep-going, located errors."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import ROOT, Run, open_store, snapshot


def write(tmp_path: Path, text: str, name: str = "script.yaml") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_stdin_plain_text_runs_one_command_per_line(escli: Run, store_url: str) -> None:
    text = "# a fight\ncombat attack ogre 150\n\n   combat heal ogre 50  \n"
    out = escli("run", "-", input=text)
    assert out.exit_code == 0, out.stderr
    assert "── step 1: combat attack ogre 150\n" in out.stdout
    assert "── step 2: combat heal ogre 50\n" in out.stdout
    assert out.stdout.endswith("2 passed, 0 failed\n")
    state = [r.data for r in open_store(store_url).read("combat-ogre")]
    assert state == [
        {"entity_id": "ogre", "damage": 150, "weapon": "fists"},
        {"entity_id": "ogre", "amount": 50},
    ]


def test_stdin_yaml_runs_both_step_syntaxes(escli: Run, store_url: str) -> None:
    text = (
        "- combat attack ogre 150\n"
        "- {domain: combat, command: attack, args: {entity_id: ogre, damage: 100}}\n"
        "- dispatch combat heal ogre 20\n"
    )
    out = escli("run", "-", input=text)
    assert out.exit_code == 0, out.stderr
    records = list(open_store(store_url).read("combat-ogre"))
    assert [(r.event_type, r.data) for r in records] == [
        ("combat.EntityAttacked", {"entity_id": "ogre", "damage": 150, "weapon": "fists"}),
        ("combat.EntityAttacked", {"entity_id": "ogre", "damage": 100, "weapon": "fists"}),
        ("combat.EntityHealed", {"entity_id": "ogre", "amount": 20}),
    ]


def test_the_sample_demo_passes_and_can_run_again(escli: Run) -> None:
    demo = str(ROOT / "sample_streams" / "combat-demo.yaml")
    for _ in range(2):
        out = escli("run", demo)
        assert out.exit_code == 0, out.stdout + out.stderr
        assert out.stdout.endswith("6 passed, 0 failed\n")
        assert "rejected as expected: ghost is immortal" in out.stdout


def test_a_failed_expectation_stops_the_script_and_shows_a_diff(
    escli: Run, tmp_path: Path, store_url: str
) -> None:
    script = write(
        tmp_path,
        "domain: combat\n"
        "steps:\n"
        "  - run: attack ogre 150\n"
        "    expect:\n"
        "      state: {hitpoints: 700}\n"
        "  - attack ogre 1\n",
    )
    out = escli("run", script)
    assert out.exit_code == 10
    assert f"FAILED at {script}:3:5\n" in out.stdout
    assert '-  "hitpoints": 700\n' in out.stdout
    assert '+  "hitpoints": 750\n' in out.stdout
    assert "step 2" not in out.stdout
    assert out.stdout.endswith("0 passed, 1 failed\n")
    assert out.stderr == (
        f"Error: step 1 at {script}:3:5 (attack ogre 150) did not meet its expectation\n"
    )
    assert open_store(store_url).generation("combat-ogre") == 1


def test_keep_going_runs_every_step_and_still_fails(escli: Run, tmp_path: Path) -> None:
    script = write(
        tmp_path,
        "- combat attack ghost 1\n- combat attack ogre 150\n- combat attack ogre 150\n",
    )
    out = escli("run", script, "--keep-going")
    assert out.exit_code == 5
    assert out.stdout.endswith("2 passed, 1 failed\n")
    assert out.stderr == (
        f"Error: step 1 at {script}:1:3 (combat attack ghost 1): "
        "ghost is immortal: attacks pass through it\n"
    )


def test_a_rejection_without_an_expected_error_stops_the_script(
    escli: Run, tmp_path: Path, store_url: str
) -> None:
    script = write(tmp_path, "- combat attack ghost 1\n- combat attack ogre 150\n")
    out = escli("run", script)
    assert out.exit_code == 5
    assert open_store(store_url).generation("combat-ogre") == 0


def test_expected_errors_pass_and_an_error_that_does_not_come_fails(
    escli: Run, tmp_path: Path
) -> None:
    script = write(
        tmp_path,
        "- run: combat attack ogre 1\n  expect: {error: rejected}\n",
    )
    out = escli("run", script)
    assert out.exit_code == 10
    assert "expected a rejected error, but the command succeeded" in out.stdout


def test_json_output_is_one_object_per_step_then_a_summary(escli: Run) -> None:
    out = escli("run", "-", "--json", input="combat attack ogre 150\ncombat attack ghost 1\n")
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert [(x.get("step"), x.get("ok")) for x in lines[:2]] == [(1, True), (2, False)]
    assert lines[0]["result"]["state"]["after"]["hitpoints"] == 750
    assert lines[1]["error"] == {
        "kind": "rejected",
        "message": "ghost is immortal: attacks pass through it",
    }
    assert lines[2] == {"summary": {"passed": 1, "failed": 1}}


def test_a_script_can_name_its_store_and_the_command_line_overrides_it(
    escli: Run, tmp_path: Path
) -> None:
    own = tmp_path / "own.db"
    script = write(tmp_path, f"store: sqlite:///{own}\nsteps: [combat attack ogre 1]\n")
    assert escli("run", script).exit_code == 0
    assert open_store(f"sqlite:///{own}").generation("combat-ogre") == 1
    other = f"sqlite:///{tmp_path / 'other.db'}"
    assert escli("run", script, "--store", other).exit_code == 0
    assert open_store(other).generation("combat-ogre") == 1
    assert open_store(f"sqlite:///{own}").generation("combat-ogre") == 1


@pytest.mark.parametrize(
    ("text", "location", "message"),
    [
        ("- combat attack ogre 150\n- [unclosed\n", ":3:1", "invalid YAML"),
        ("steps:\n  - combat attack ogre 1\nstpes: []\n", ":3:1", "unknown key 'stpes'"),
        (
            "- run: combat attack ogre 1\n  expect: {state: {}, colour: red}\n",
            ":2:23",
            "unknown key 'colour' in expect",
        ),
        (
            "- combat attack ogre 150\n- combat attack ogre abc\n",
            ":2:3",
            "attack damage: expected an integer, got 'abc'",
        ),
        (
            "- combat attack ogre 150\n- combat kick ogre\n",
            ":2:3",
            "domain 'combat' has no command 'kick'",
        ),
        (
            "- {domain: combat, command: attack, args: {entity_id: ogre, damage: [1]}}\n",
            ":1:69",
            "attack damage: expected an integer, got [1]",
        ),
        (
            '- {domain: combat, command: attack, args: {entity_id: ogre, damage: "5"}}\n',
            ":1:69",
            "attack damage: expected an integer, got '5'",
        ),
        (
            "- {domain: combat, command: attack, args: {entity_id: ogre, damage: '5'}}\n",
            ":1:69",
            "attack damage: expected an integer, got '5'",
        ),
        (
            "- domain: combat\n  command: attack\n  args:\n    entity_id: ogre\n    damage: |\n"
            "      5\n",
            ":5:13",
            "attack damage: expected an integer, got '5\\n'",
        ),
        (
            "- {domain: combat, command: attack, args: {entity_id: ogre, power: 1}}\n",
            ":1:61",
            "attack has no field 'power'",
        ),
        ("- {domain: shop, command: buy}\n", ":1:12", "unknown domain 'shop'"),
        (
            "- run: combat attack ogre 1\n  expect: {generation: many}\n",
            ":2:24",
            "generation must be an integer",
        ),
        ("- combat attack ogre 1\n- 42\n", ":2:3", "a step must be a string or mapping"),
        ("steps:\n  - combat attack ogre 1\nsteps: []\n", ":3:1", "duplicate key 'steps'"),
    ],
)
def test_bad_scripts_are_located_errors_and_nothing_runs(
    escli: Run, tmp_path: Path, store_url: str, text: str, location: str, message: str
) -> None:
    escli("dispatch", "combat", "attack", "troll", "1")
    before = snapshot(open_store(store_url))
    script = write(tmp_path, text)
    out = escli("run", script)
    assert out.exit_code == 4, out.stdout + out.stderr
    assert out.stderr.startswith(f"Error: {script}{location}: ")
    assert message in out.stderr
    assert out.stderr.count("\n") == 1
    assert out.stdout == ""
    assert snapshot(open_store(store_url)) == before


def test_a_mapping_takes_quoted_strings_for_string_fields_and_words_as_typed(
    escli: Run, tmp_path: Path, store_url: str
) -> None:
    script = write(
        tmp_path,
        "- {domain: combat, command: attack, args: {entity_id: 'ogre', damage: 5}}\n"
        '- {domain: combat, command: heal, args: {entity_id: "ogre", amount: 0x3}}\n',
    )
    out = escli("run", script, "--json")
    assert out.exit_code == 0, out.stderr
    store = open_store(store_url)
    assert [r.data for r in store.read("combat-ogre")] == [
        {"entity_id": "ogre", "damage": 5, "weapon": "fists"},
        {"entity_id": "ogre", "amount": 3},
    ]


def test_a_later_bad_file_stops_every_file_from_running(
    escli: Run, tmp_path: Path, store_url: str
) -> None:
    good = write(tmp_path, "combat attack ogre 1\n", "good.txt")
    bad = write(tmp_path, "combat attack ogre nope\n", "bad.txt")
    out = escli("run", good, bad)
    assert out.exit_code == 4
    assert out.stderr.startswith(f"Error: {bad}:1:1: ")
    assert list(open_store(store_url).streams()) == []


def test_a_missing_file_is_invalid_input(escli: Run, tmp_path: Path) -> None:
    out = escli("run", str(tmp_path / "nope.yaml"))
    assert (out.exit_code, out.stderr) == (
        4,
        f"Error: {tmp_path / 'nope.yaml'}: No such file or directory\n",
    )


def test_yaml_tags_that_build_python_objects_are_refused(escli: Run, tmp_path: Path) -> None:
    script = write(tmp_path, "- !!python/object/apply:os.system ['echo pwned']\n")
    out = escli("run", script)
    assert (out.exit_code, out.stderr) == (
        4,
        f"Error: {script}:1:3: unsupported YAML tag "
        "tag:yaml.org,2002:python/object/apply:os.system\n",
    )
    assert "pwned" not in out.stdout


COMMANDS = st.one_of(
    st.tuples(
        st.just("attack"), st.sampled_from(["ogre", "goblin", "ghost", "imp"]), st.integers(-5, 400)
    ),
    st.tuples(st.just("heal"), st.sampled_from(["ogre", "goblin", "imp"]), st.integers(-5, 400)),
    st.tuples(st.just("spawn"), st.sampled_from(["imp", "ogre"]), st.integers(-5, 300)),
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(COMMANDS, min_size=1, max_size=25))
def test_a_script_and_one_by_one_dispatches_make_identical_streams(
    tmp_path_factory: pytest.TempPathFactory, commands: list[tuple[str, str, int]]
) -> None:
    from click.testing import CliRunner

    from escli import CommandRejected, dispatch, load_domain
    from escli.cli import cli

    folder = tmp_path_factory.mktemp("prop")
    scripted, direct = f"sqlite:///{folder / 'a.db'}", f"sqlite:///{folder / 'b.db'}"
    text = "".join(f"combat {c} {e} {n}\n" for c, e, n in commands)
    result = CliRunner().invoke(
        cli, ["run", "-", "--keep-going", "--store", scripted, "--json"], input=text
    )
    assert result.exit_code in (0, 5), result.output
    combat = load_domain("combat")
    store = open_store(direct)
    for name, entity, amount in commands:
        with contextlib.suppress(CommandRejected):
            dispatch(combat, combat.command_spec(name).cls(entity, amount), store)

    def content(url: str) -> list[tuple[object, ...]]:
        s = open_store(url)
        return [
            (r.stream, r.generation, r.event_type, r.type_version, r.source, r.data)
            for info in s.streams()
            for r in s.read(info.stream)
        ]

    assert content(scripted) == content(direct)


def test_a_byte_order_mark_is_not_part_of_a_script(escli: Run, tmp_path: Path) -> None:
    path = tmp_path / "bom.txt"
    path.write_bytes("\ufeffcombat attack ogre 10\n".encode())
    out = escli("run", str(path))
    assert out.exit_code == 0, out.stderr


def test_a_folder_given_as_a_script_is_invalid_input(escli: Run, tmp_path: Path) -> None:
    out = escli("run", str(tmp_path))
    assert (out.exit_code, out.stderr) == (4, f"Error: {tmp_path}: is a directory, not a file\n")


def test_an_upper_case_sqlite_url_names_the_same_file(escli: Run, tmp_path: Path) -> None:
    path = tmp_path / "up.db"
    assert (
        escli("dispatch", "combat", "attack", "ogre", "1", "--store", f"SQLITE:///{path}").exit_code
        == 0
    )
    assert open_store(f"sqlite:///{path}").generation("combat-ogre") == 1


def test_a_script_takes_snapshots_as_the_project_file_says_as_dispatch_does(
    escli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "escli.toml").write_text("snapshot-every = 2\n")
    monkeypatch.chdir(tmp_path)
    assert escli("run", "-", input="combat attack ogre 5\n" * 3).exit_code == 0
    other = f"sqlite:///{tmp_path / 'dispatched.db'}"
    for _ in range(3):
        assert escli("dispatch", "combat", "attack", "ogre", "5", "--store", other).exit_code == 0

    def taken(*options: str) -> list[int]:
        listed = json.loads(escli("snapshots", "--json", *options).stdout)
        return [s["generation"] for s in listed]

    assert taken() == taken("--store", other) == [2]
