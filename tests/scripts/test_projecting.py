"""Scenario files that test a projection: ``project`` names it, ``given`` events land on the
streams they name, the scenario's clock times them, and ``then_rows`` is the whole view."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from escli.domain.discovery import DomainRegistry
from escli.errors import DomainError, InvalidInput
from escli.scripts.loading import ScenarioSpec, load_scenarios
from escli.scripts.running import run_scenario
from escli.stores import open_store
from escli.testing import scenarios_from
from tests.conftest import ROOT

ARENA = """\
from dataclasses import dataclass

from escli import AggregateState, CommandRejected, Domain, Meta

domain = Domain("arena", source="events://test/arena", stream_field="entity_id")


@domain.command
@dataclass(frozen=True)
class Attack:
    entity_id: str
    damage: int
    weapon: str = "fists"


@domain.event(version="2.0")
@dataclass(frozen=True)
class EntityAttacked:
    entity_id: str
    damage: int
    weapon: str


@domain.upcaster("EntityAttacked", "1.0", to="2.0")
def add_weapon(data):
    data["weapon"] = "fists"
    return data


@domain.event(version="1.0")
@dataclass(frozen=True)
class EntityFled:
    entity_id: str


@domain.event(version="1.0")
@dataclass(frozen=True)
class EntityCheered:
    entity_id: str


@dataclass(frozen=True)
class Fighter(AggregateState):
    entity_id: str
    damage_taken: int = 0


@domain.aggregate
class Arena:
    def initial_state(self, stream_id: str) -> Fighter:
        return Fighter(stream_id)

    def handle_command(self, state: Fighter, command: Attack) -> list[object]:
        if state.damage_taken + command.damage > 100:
            raise CommandRejected(f"{state.entity_id} is down")
        return [EntityAttacked(command.entity_id, command.damage, command.weapon)]

    def apply_event(self, state: Fighter, event: object) -> Fighter:
        if isinstance(event, EntityAttacked):
            return state.evolve(damage_taken=state.damage_taken + event.damage)
        return state


@domain.projection("fighting")
def fighting(row, event: EntityAttacked | EntityFled, meta: Meta):
    \"\"\"One row per fighter in the arena: the damage it took; gone once it flees.\"\"\"
    if isinstance(event, EntityFled):
        return None
    damage = (row or {"damage": 0})["damage"] + event.damage
    return {"damage": damage, "at": meta.time, "generation": meta.generation,
            "position": meta.position}


@domain.projection("by_weapon", key=lambda event, meta: event.weapon)
def by_weapon(row, event: EntityAttacked, meta: Meta):
    \"\"\"One row per weapon: the blows struck with it, and on whom.\"\"\"
    row = row or {"blows": 0, "streams": []}
    return {"blows": row["blows"] + 1, "streams": sorted({*row["streams"], meta.stream})}
"""

SCENARIO = """\
domain: arena
scenarios:
  - name: a fighter stays on the board until it flees
    project: fighting
    given:
      - {stream: arena-ogre, type: EntityAttacked, data: {entity_id: ogre, damage: 10, weapon: axe}}
      - stream: arena-imp
        type: EntityAttacked
        version: "1.0"
        data: {entity_id: imp, damage: 5}
        time: 2026-05-01T12:00:00Z
      - {stream: arena-ogre, type: EntityCheered, data: {entity_id: ogre}}
      - {stream: arena-imp, type: EntityFled, data: {entity_id: imp}}
    when: attack ogre 20
    then_rows:
      arena-ogre: {damage: 30, at: "2026-05-01T12:00:00.000000+00:00", generation: 3, position: 5}
      arena-imp: null
"""


@pytest.fixture
def arena(tmp_path: Path) -> DomainRegistry:
    folder = tmp_path / "domains"
    folder.mkdir()
    (folder / "arena.py").write_text(ARENA)
    return DomainRegistry([str(folder)])


def _load(registry: DomainRegistry, text: str = SCENARIO) -> ScenarioSpec:
    [scenario] = load_scenarios(text, "s.yaml", registry)
    return scenario


def _problems(registry: DomainRegistry, text: str = SCENARIO) -> list[str]:
    return run_scenario(_load(registry, text), open_store).problems


def test_the_rows_of_the_given_and_when_events_are_the_whole_view(
    arena: DomainRegistry,
) -> None:
    """The imp's row was made, then deleted when it fled; the cheer is no class the
    projection takes, yet it holds a generation and a position."""
    assert _problems(arena) == []


def test_given_events_go_to_their_streams_at_the_scenario_clock(arena: DomainRegistry) -> None:
    scenario = _load(arena)
    assert [(g.stream, g.event.event_type, g.time) for g in scenario.given] == [
        ("arena-ogre", "arena.EntityAttacked", "2000-01-01T00:00:00.000000+00:00"),
        ("arena-imp", "arena.EntityAttacked", "2026-05-01T12:00:00.000000+00:00"),
        ("arena-ogre", "arena.EntityCheered", "2026-05-01T12:00:00.000000+00:00"),
        ("arena-imp", "arena.EntityFled", "2026-05-01T12:00:00.000000+00:00"),
    ]
    assert scenario.rows is not None
    assert scenario.rows.projection.full_name == "arena.fighting"


def test_a_given_event_without_a_stream_goes_to_the_when_commands(
    arena: DomainRegistry,
) -> None:
    text = SCENARIO.replace("{stream: arena-ogre, type: EntityCheered", "{type: EntityCheered")
    assert [g.stream for g in _load(arena, text).given][2] == "arena-ogre"
    assert _problems(arena, text) == []


def test_a_row_that_differs_fails_with_a_diff_of_its_fields(arena: DomainRegistry) -> None:
    assert _problems(arena, SCENARIO.replace("damage: 30", "damage: 25")) == [
        "--- expected row arena-ogre",
        "+++ actual row arena-ogre",
        "@@ -1,5 +1,5 @@",
        " {",
        '   "at": "2026-05-01T12:00:00.000000+00:00",',
        '-  "damage": 25,',
        '+  "damage": 30,',
        '   "generation": 3,',
        '   "position": 5',
    ]


def test_a_deleted_row_expected_is_a_failure(arena: DomainRegistry) -> None:
    """``null`` is "no row": a row the projection deleted cannot be expected."""
    text = SCENARIO.replace("arena-imp: null", "arena-imp: {damage: 5}")
    assert _problems(arena, text) == [
        '- row arena-imp: {"damage": 5}',
        "+ row arena-imp: (no row)",
    ]


def test_a_row_the_scenario_does_not_list_fails_it(arena: DomainRegistry) -> None:
    """``then_rows`` is the whole view: leaving a key out is not "anything"."""
    text = SCENARIO.replace("      arena-ogre: {damage: 30", "      arena-orc: {damage: 30")
    assert _problems(arena, text) == [
        "- row arena-ogre: (no row)",
        '+ row arena-ogre: {"at": "2026-05-01T12:00:00.000000+00:00", "damage": 30, '
        '"generation": 3, "position": 5}',
        '- row arena-orc: {"at": "2026-05-01T12:00:00.000000+00:00", "damage": 30, '
        '"generation": 3, "position": 5}',
        "+ row arena-orc: (no row)",
    ]


def test_rows_compare_as_json_so_true_is_not_one(arena: DomainRegistry) -> None:
    text = SCENARIO.replace("position: 5}", "position: 5.0}")
    assert _problems(arena, text) == []
    text = SCENARIO.replace("generation: 3", "generation: true")
    assert '-  "generation": true,' in _problems(arena, text)


KEYED = """\
scenarios:
  - name: blows are counted by weapon, old ones struck with fists
    project: arena.by_weapon
    given:
      - {stream: arena-ogre, type: EntityAttacked, data: {entity_id: ogre, damage: 10, weapon: axe}}
      - {stream: arena-imp, type: EntityAttacked, version: "1.0", data: {entity_id: imp, damage: 5}}
      - {stream: arena-ogre, type: EntityFled, data: {entity_id: ogre}}
    when: arena attack imp 1 --weapon axe
    then_rows:
      axe: {blows: 2, streams: [arena-imp, arena-ogre]}
      fists: {blows: 1, streams: [arena-imp]}
"""


def test_a_keyed_projection_is_checked_by_its_own_keys(arena: DomainRegistry) -> None:
    """The projection's annotation takes EntityAttacked only: the flight never reaches it;
    the 1.0 attack reaches it upcast, with fists."""
    assert _problems(arena, KEYED) == []
    assert _problems(arena, KEYED.replace("fists: {blows: 1", "fists: {blows: 2")) == [
        "--- expected row fists",
        "+++ actual row fists",
        "@@ -1,4 +1,4 @@",
        " {",
        '-  "blows": 2,',
        '+  "blows": 1,',
        '   "streams": [',
        '     "arena-imp"',
    ]


def test_a_scenario_without_when_projects_its_given_events_only(arena: DomainRegistry) -> None:
    text = KEYED.replace("    when: arena attack imp 1 --weapon axe\n", "")
    text = text.replace("axe: {blows: 2, streams: [arena-imp, ", "axe: {blows: 1, streams: [")
    assert _problems(arena, text) == []


def test_a_when_rejected_as_then_expects_adds_no_rows(arena: DomainRegistry) -> None:
    text = KEYED.replace("imp 1 --weapon axe", "imp 100 --weapon axe")
    text = text.replace("    then_rows:", "    then: {error: rejected}\n    then_rows:")
    text = text.replace("axe: {blows: 2, streams: [arena-imp, ", "axe: {blows: 1, streams: [")
    assert _problems(arena, text) == []


def test_an_unexpected_rejection_is_the_one_problem(arena: DomainRegistry) -> None:
    text = KEYED.replace("imp 1 --weapon axe", "imp 100 --weapon axe")
    assert _problems(arena, text) == ["unexpected rejected error: imp is down"]


def test_a_projection_that_raises_is_the_domains_error_ending_the_run(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "arena.py").write_text(ARENA.replace("return None", "return 1 / 0"))
    with pytest.raises(
        DomainError, match=r"ZeroDivisionError.*projecting arena-imp at generation 2"
    ):
        _problems(DomainRegistry([str(folder)]))


def test_a_named_store_holds_the_given_events_and_the_rows_are_still_in_memory(
    arena: DomainRegistry, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    text = SCENARIO.replace("domain: arena\n", f"domain: arena\nstore: {url}\n")
    assert _problems(arena, text) == []
    with open_store(url) as store:
        assert list(store.streams()) == []  # rolled back


def test_scenarios_from_runs_projection_scenarios_in_pytest(
    arena: DomainRegistry, tmp_path: Path
) -> None:
    (tmp_path / "s.yaml").write_text(SCENARIO + KEYED.removeprefix("scenarios:\n"))
    domains = [str(tmp_path / "domains")]
    passing, keyed = scenarios_from(tmp_path / "s.yaml", domains)
    passing.check()
    keyed.check()
    (tmp_path / "s.yaml").write_text(SCENARIO.replace("damage: 30", "damage: 25"))
    [failing] = scenarios_from(tmp_path / "s.yaml", domains)
    with pytest.raises(AssertionError, match=r'(?s)-  "damage": 25,\n\+  "damage": 30,'):
        failing.check()


def test_the_readme_example_is_the_sample_scenario() -> None:
    readme = (ROOT / "README.md").read_text()
    start = readme.index("- name: the roster counts the blows each entity took")
    example = yaml.safe_load(readme[start : readme.index("```", start)])
    sample = yaml.safe_load((ROOT / "sample_streams" / "combat.scenarios.yaml").read_text())
    assert example == [s for s in sample["scenarios"] if s.get("project")]


@pytest.mark.parametrize(
    ("change", "error"),
    [
        (
            ("project: fighting", "project: brawling"),
            "s.yaml:4:14: domain 'arena' has no projection 'brawling' (known: arena.by_weapon, "
            "arena.fighting); did you mean one of 'arena.fighting', 'arena.by_weapon'?",
        ),
        (
            ("project: fighting", "project: [fighting]"),
            's.yaml:4:14: project must be a projection\'s name, got ["fighting"]',
        ),
        (
            ("project: fighting", "project: combat.roster"),
            "s.yaml:4:14: projection combat.roster reads domain 'combat', not the scenario's "
            "domain 'arena'",
        ),
        (
            [("domain: arena\n", ""), ("    when: attack ogre 20\n", "")],
            "s.yaml:3:14: projection 'fighting' names no domain and the scenario has none: "
            "write <domain>.fighting",
        ),
        (
            ("    project: fighting\n", ""),
            "s.yaml:3:5: a scenario with then_rows: needs project:",
        ),
        (
            [("then_rows:\n", "# then_rows:\n"), ("      arena-", "      # arena-")],
            "s.yaml:3:5: a scenario with project: needs then_rows:",
        ),
        (
            ("then_rows:\n      arena-ogre:", "rows:\n      arena-ogre:"),
            "s.yaml:15:5: unknown key 'rows' in a scenario (allowed: name, domain, store, "
            "project, given, when, then, then_rows)",
        ),
        (
            [("then_rows:\n", "then_rows: [arena-ogre]\n"), ("      arena-", "      # arena-")],
            's.yaml:15:16: then_rows must be a mapping of key -> row (or null), got ["arena-ogre"]',
        ),
        (
            ("arena-imp: null", "arena-imp: gone"),
            "s.yaml:17:18: the row of 'arena-imp' must be a mapping (a JSON object) or null for "
            'no row, got "gone"',
        ),
        (
            ("arena-imp: null", '"": null'),
            "s.yaml:17:7: a row's key is a non-empty string",
        ),
        (
            ("{stream: arena-ogre, type: EntityAttacked", "{stream: bank-1, type: EntityAttacked"),
            "s.yaml:6:18: stream 'bank-1' is not of domain 'arena' (its streams are arena-<id>)",
        ),
        (
            ("{stream: arena-ogre, type: EntityAttacked", "{stream: arena-, type: EntityAttacked"),
            "s.yaml:6:18: stream 'arena-' is not of domain 'arena' (its streams are arena-<id>)",
        ),
        (
            ("{stream: arena-ogre, type: EntityAttacked", "{stream: 7, type: EntityAttacked"),
            "s.yaml:6:18: stream must be a string, got 7",
        ),
        (
            [
                ("    when: attack ogre 20\n", ""),
                ("{stream: arena-ogre, type: EntityCheered", "{type: EntityCheered"),
            ],
            "s.yaml:12:9: a given event needs a stream: in a scenario without when (arena-<id>)",
        ),
        (
            ("    when: attack ogre 20\n", "    then: {events: [EntityAttacked]}\n"),
            "s.yaml:14:5: then: expects of a when command, and there is none",
        ),
        (
            ("when: attack ogre 20", "when: combat attack ogre 20"),
            "s.yaml:14:11: the when command is of domain 'combat'; arena.fighting reads "
            "domain 'arena'",
        ),
        (
            ("time: 2026-05-01T12:00:00Z", "time: noon"),
            "s.yaml:11:15: time 'noon' is not an RFC 3339 timestamp (2026-05-01T12:00:00Z, say)",
        ),
        (
            ("time: 2026-05-01T12:00:00Z", "time: 2026-05-01T12:00:60Z"),
            "s.yaml:11:15: time '2026-05-01T12:00:60Z' is a leap second, which escli cannot "
            "keep (2026-05-01T12:00:00Z, say)",
        ),
        (
            ("time: 2026-05-01T12:00:00Z", "time: 12"),
            "s.yaml:11:15: time must be RFC 3339 text, got 12",
        ),
    ],
    ids=[
        "unknown-projection",
        "project-not-a-name",
        "projection-of-another-domain",
        "bare-name-without-a-domain",
        "then-rows-without-project",
        "project-without-then-rows",
        "misspelt-then-rows",
        "then-rows-not-a-mapping",
        "row-not-an-object",
        "empty-key",
        "stream-of-another-domain",
        "stream-without-an-id",
        "stream-not-a-string",
        "no-stream-and-no-when",
        "then-without-when",
        "when-of-another-domain",
        "time-not-rfc-3339",
        "time-a-leap-second",
        "time-not-text",
    ],
)
def test_bad_projection_scenarios_are_located_errors_on_load(
    arena: DomainRegistry, change: tuple[str, str] | list[tuple[str, str]], error: str
) -> None:
    text = SCENARIO
    for old, new in change if isinstance(change, list) else [change]:
        assert old in text
        text = text.replace(old, new)
    with pytest.raises(InvalidInput) as raised:
        _load(arena, text)
    assert str(raised.value) == error
