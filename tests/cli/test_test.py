"""`escli test`: given/when/then scenario files."""

from __future__ import annotations

import json
from contextlib import closing
from pathlib import Path

from tests.conftest import ROOT, Run, open_store, snapshot

PASSING = """\
domain: combat
scenarios:
  - name: an attack on a dead ogre is rejected
    given:
      - {type: EntityAttacked, data: {entity_id: ogre, damage: 900, weapon: axe}}
      - {type: combat.EntityDied, version: "1.0", data: {entity_id: ogre}}
    when: attack ogre 1
    then:
      error: {kind: rejected, message: dead}
"""

FAILING = """\
scenarios:
  - name: the ogre loses what it is hit for
    when: combat attack ogre 150
    then:
      state: {hitpoints: 700}
      events: [{type: EntityAttacked, data: {damage: 140}}]
"""


def test_the_sample_scenarios_all_pass(escli: Run) -> None:
    out = escli("test", str(ROOT / "sample_streams"))
    assert out.exit_code == 0, out.stdout + out.stderr
    lines = out.stdout.splitlines()
    assert lines[-1] == f"{len(lines) - 1} passed, 0 failed"
    assert len(lines) - 1 >= 15
    assert all(line.startswith("PASS  ") for line in lines[:-1])


def test_a_failing_scenario_prints_a_diff_and_sets_the_exit_code(
    escli: Run, tmp_path: Path
) -> None:
    (tmp_path / "a.yaml").write_text(PASSING)
    (tmp_path / "b.yaml").write_text(FAILING)
    (tmp_path / "notes.yaml").write_text("just: data\n")
    out = escli("test", str(tmp_path))
    assert out.exit_code == 10
    assert out.stdout.startswith(
        "PASS  an attack on a dead ogre is rejected\n"
        f"FAIL  the ogre loses what it is hit for  ({tmp_path / 'b.yaml'}:2:5)\n"
    )
    assert '      -      "damage": 140\n' in out.stdout
    assert '      +      "damage": 150\n' in out.stdout
    assert "entity_id" not in out.stdout
    assert '      -  "hitpoints": 700\n' in out.stdout
    assert '      +  "hitpoints": 750\n' in out.stdout
    assert out.stdout.endswith("1 passed, 1 failed\n")
    assert out.stderr == "Error: 1 of 2 scenarios failed\n"


def test_scenarios_run_in_memory_and_leave_the_store_alone(
    escli: Run, tmp_path: Path, store_url: str
) -> None:
    escli("dispatch", "combat", "attack", "ogre", "150")
    before = snapshot(open_store(store_url))
    (tmp_path / "a.yaml").write_text(PASSING)
    assert escli("test", str(tmp_path / "a.yaml")).exit_code == 0
    assert snapshot(open_store(store_url)) == before


def test_json_reports_each_scenario(escli: Run, tmp_path: Path) -> None:
    (tmp_path / "b.yaml").write_text(FAILING)
    out = escli("test", str(tmp_path), "--json")
    first, summary = (json.loads(line) for line in out.stdout.splitlines())
    assert (first["name"], first["ok"]) == ("the ogre loses what it is hit for", False)
    assert summary == {"summary": {"passed": 0, "failed": 1}}


def test_a_bad_given_event_is_a_located_error(escli: Run, tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(PASSING.replace("damage: 900", "damage: lots"))
    out = escli("test", str(path))
    assert out.exit_code == 4
    assert out.stderr == (
        f"Error: {path}:5:64: EntityAttacked damage: expected an integer, got 'lots'\n"
    )


def test_an_unknown_event_type_in_given_is_a_located_error(escli: Run, tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(PASSING.replace("type: EntityAttacked", "type: EntityExploded"))
    out = escli("test", str(path))
    assert (out.exit_code, out.stderr) == (
        4,
        f"Error: {path}:5:16: domain 'combat' has no event 'EntityExploded'\n",
    )


def test_a_folder_without_scenarios_is_invalid_input(escli: Run, tmp_path: Path) -> None:
    out = escli("test", str(tmp_path))
    assert (out.exit_code, out.stderr) == (4, f"Error: no scenario files in {tmp_path}\n")


def test_a_scenario_file_that_is_not_utf8_is_invalid_input(escli: Run, tmp_path: Path) -> None:
    (tmp_path / "latin1.yaml").write_bytes("scenarios: # caf\xe9\n".encode("latin-1"))
    out = escli("test", str(tmp_path))
    assert out.exit_code == 4
    assert out.stderr.startswith(f"Error: {tmp_path / 'latin1.yaml'}: cannot read it as UTF-8")


def test_an_explicit_store_is_used_for_scenarios_that_name_none(escli: Run, tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(PASSING)
    other = tmp_path / "other.db"
    assert escli("test", str(tmp_path / "a.yaml"), "--store", f"sqlite:///{other}").exit_code == 0
    # The given events were seeded there, inside a transaction rolled back at the end.
    assert other.exists()
    with closing(open_store(f"sqlite:///{other}")) as store:
        assert list(store.streams()) == []
    out = escli("test", str(tmp_path / "a.yaml"), "--store", f"sqlite:///{other}?mode=ro")
    assert (out.exit_code, out.stderr) == (
        7,
        f"Error: store {other} is read-only; nothing was written\n",
    )


ROSTER = """\
domain: combat
scenarios:
  - name: the roster keeps a row per entity hit
    project: roster
    given:
      - stream: combat-troll
        type: EntityAttacked
        data: {entity_id: troll, damage: 500, weapon: axe}
    when: attack ogre 150
    then_rows:
      combat-ogre: {entity: ogre, hitpoints: 750, alive: true, blows_taken: 1,
                    damage_taken: 150, last_seen: "2000-01-01T00:00:00.000000+00:00"}
      combat-troll: {entity: troll, hitpoints: 1000, alive: true, blows_taken: 1,
                     damage_taken: 500, last_seen: "2000-01-01T00:00:00.000000+00:00"}
"""


def test_a_projection_scenario_passes_and_projects_nothing_into_the_store(
    escli: Run, tmp_path: Path
) -> None:
    (tmp_path / "roster.yaml").write_text(ROSTER)
    out = escli("test", str(tmp_path / "roster.yaml"))
    assert (out.exit_code, out.stdout, out.stderr) == (
        0,
        "PASS  the roster keeps a row per entity hit\n1 passed, 0 failed\n",
        "",
    )
    assert escli("view", "combat.roster", "--json").stdout == "[]\n"  # nothing projected there


def test_a_projection_scenario_fails_with_the_row_and_field_that_differ(
    escli: Run, tmp_path: Path
) -> None:
    path = tmp_path / "roster.yaml"
    path.write_text(ROSTER.replace("hitpoints: 1000", "hitpoints: 1500"))
    out = escli("test", str(path))
    assert out.exit_code == 10
    assert out.stdout == (
        f"FAIL  the roster keeps a row per entity hit  ({path}:3:5)\n"
        "      --- expected row combat-troll\n"
        "      +++ actual row combat-troll\n"
        "      @@ -4,5 +4,5 @@\n"
        '         "damage_taken": 500,\n'
        '         "entity": "troll",\n'
        '      -  "hitpoints": 1500,\n'
        '      +  "hitpoints": 1000,\n'
        '         "last_seen": "2000-01-01T00:00:00.000000+00:00"\n'
        "       }\n"
        "0 passed, 1 failed\n"
    )
    assert out.stderr == "Error: 1 of 1 scenarios failed\n"


def test_an_unknown_projection_is_invalid_input_at_its_line(escli: Run, tmp_path: Path) -> None:
    path = tmp_path / "roster.yaml"
    path.write_text(ROSTER.replace("project: roster", "project: rooster"))
    out = escli("test", str(path))
    assert (out.exit_code, out.stdout) == (4, "")
    assert out.stderr.startswith(
        f"Error: {path}:4:14: domain 'combat' has no projection 'rooster' (known: combat.roster)"
    )
