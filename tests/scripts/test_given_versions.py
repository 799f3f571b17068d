"""Scenario files' ``given`` events at old versions: stored as the old domain stored them,
read through the upcasters, checked on load; and a given without a version is current."""

from __future__ import annotations

from contextlib import closing
from pathlib import Path

import pytest

from escli.domain.discovery import DomainRegistry
from escli.errors import InvalidInput
from escli.scripts.loading import load_scenarios
from tests.conftest import Run, open_store

ARENA = """\
from dataclasses import dataclass

from escli import AggregateState, CommandRejected, Domain

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


# EntityAttacked v1.0 had no weapon; EntityHit v1.0 was its name before that.
@domain.upcaster("EntityAttacked", "1.0", to="2.0")
def add_weapon(data):
    data["weapon"] = "fists"
    return data


@domain.upcaster("EntityHit", "1.0", to=("EntityAttacked", "1.0"))
def renamed(data):
    return {"entity_id": data["who"], "damage": data["damage"]}


@dataclass(frozen=True)
class Fighter(AggregateState):
    entity_id: str
    damage_taken: int = 0
    weapons: tuple[str, ...] = ()


@domain.aggregate
class Arena:
    def initial_state(self, stream_id: str) -> Fighter:
        return Fighter(stream_id)

    def handle_command(self, state: Fighter, command: Attack) -> list[object]:
        if state.damage_taken + command.damage > 100:
            raise CommandRejected(f"{state.entity_id} is down")
        return [EntityAttacked(command.entity_id, command.damage, command.weapon)]

    def apply_event(self, state: Fighter, event: EntityAttacked) -> Fighter:
        return state.evolve(
            damage_taken=state.damage_taken + event.damage,
            weapons=(*state.weapons, getattr(event, "weapon", "none")),
        )
"""

RENAMED_LINE = (
    ARENA.splitlines().index('    return {"entity_id": data["who"], "damage": data["damage"]}') + 1
)

# Both classes kept, the current one registered first: the current is the highest version.
BOTH_KEPT = ARENA.replace(
    "# EntityAttacked v1.0 had no weapon",
    """@domain.event(type="arena.EntityAttacked", version="1.0")
@dataclass(frozen=True)
class EntityAttackedV1:
    entity_id: str
    damage: int


# EntityAttacked v1.0 had no weapon""",
).replace('@domain.upcaster("EntityAttacked", "1.0", to="2.0")', "")

SCENARIO = """\
domain: arena
scenarios:
  - name: an ogre hit by the old domain is down after one more blow
    given:
      - {type: EntityHit, version: "1.0", data: {who: ogre, damage: 40}}
      - {type: EntityAttacked, version: "1.0", data: {entity_id: ogre, damage: 50}}
      - {type: EntityAttacked, data: {entity_id: ogre, damage: 5, weapon: axe}}
    when: attack ogre 5
    then:
      events: [{type: EntityAttacked, data: {damage: 5, weapon: fists}}]
      state: {damage_taken: 100, weapons: [fists, fists, axe, fists]}
      generation: 4
"""


@pytest.fixture
def arena(tmp_path: Path) -> str:
    folder = tmp_path / "domains"
    folder.mkdir()
    (folder / "arena.py").write_text(ARENA)
    return str(folder)


def _given(text: str, folder: str, source: str = "s.yaml") -> list[tuple[str, str, object]]:
    [scenario] = load_scenarios(text, source, DomainRegistry([folder]))
    return [(g.event.event_type, g.event.type_version, g.event.data) for g in scenario.given]


def test_an_old_version_is_given_as_the_old_domain_stored_it(arena: str) -> None:
    assert _given(SCENARIO, arena) == [
        ("arena.EntityHit", "1.0", {"who": "ogre", "damage": 40}),
        ("arena.EntityAttacked", "1.0", {"entity_id": "ogre", "damage": 50}),
        ("arena.EntityAttacked", "2.0", {"entity_id": "ogre", "damage": 5, "weapon": "axe"}),
    ]


def test_a_scenario_tests_the_upcasters_through_the_fold(
    escli: Run, arena: str, tmp_path: Path
) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(SCENARIO)
    out = escli("test", str(path), "--domains", arena)
    assert (out.exit_code, out.stdout, out.stderr) == (
        0,
        "PASS  an ogre hit by the old domain is down after one more blow\n1 passed, 0 failed\n",
        "",
    )
    # Its upcasters are under test: one that gives another weapon fails the scenario.
    wrong = tmp_path / "wrong"
    wrong.mkdir()
    (wrong / "arena.py").write_text(ARENA.replace('= "fists"', '= "stick"'))
    out = escli("test", str(path), "--domains", str(wrong))
    assert out.exit_code == 10
    assert '+    "stick",\n' in out.stdout


def test_the_scenario_reads_the_old_events_through_a_shared_store_too(
    escli: Run, arena: str, tmp_path: Path
) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(SCENARIO)
    other = f"sqlite:///{tmp_path / 'other.db'}"
    out = escli("test", str(path), "--domains", arena, "--store", other)
    assert (out.exit_code, out.stderr) == (0, "")
    with closing(open_store(other)) as store:
        assert list(store.streams()) == []  # rolled back


def test_a_given_without_a_version_is_at_the_highest_registered_not_the_last(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "domains"
    folder.mkdir()
    (folder / "arena.py").write_text(BOTH_KEPT)
    text = SCENARIO.replace("      - {type: EntityHit", "      # - {type: EntityHit")
    given = _given(text, str(folder))
    assert [(t, v) for t, v, _ in given] == [
        ("arena.EntityAttacked", "1.0"),  # its own class now: decoded by it
        ("arena.EntityAttacked", "2.0"),
    ]
    with pytest.raises(InvalidInput, match=r"s\.yaml:6:92: EntityAttacked weapon: not a field"):
        _given(text.replace("damage: 50}", "damage: 50, weapon: axe}"), str(folder))
    with pytest.raises(InvalidInput, match=r"s\.yaml:7:38: EntityAttacked weapon: missing"):
        _given(text.replace(", weapon: axe}", "}"), str(folder))


def _fails(escli: Run, arena: str, tmp_path: Path, text: str, store_url: str) -> tuple[int, str]:
    path = tmp_path / "s.yaml"
    path.write_text(text)
    out = escli("test", str(path), "--domains", arena)
    assert out.stdout == ""
    with closing(open_store(store_url)) as store:
        assert list(store.streams()) == []
    return out.exit_code, out.stderr.replace(str(path), "s.yaml")


def test_old_data_that_does_not_fit_once_upcast_is_invalid_input_at_it(
    escli: Run, arena: str, tmp_path: Path, store_url: str
) -> None:
    text = SCENARIO.replace("entity_id: ogre, damage: 50", "entity_id: ogre, damage: lots")
    assert _fails(escli, arena, tmp_path, text, store_url) == (
        4,
        "Error: s.yaml:6:80: EntityAttacked v1.0 upcaster add_weapon (arena.EntityAttacked "
        "v1.0 -> v2.0) returned data whose damage does not fit EntityAttacked "
        "(arena.EntityAttacked v2.0): expected an integer, got 'lots'\n",
    )


def test_an_upcaster_that_raises_is_the_authors_error_naming_the_given_event(
    escli: Run, arena: str, tmp_path: Path, store_url: str
) -> None:
    text = SCENARIO.replace("{who: ogre, damage: 40}", "{entity_id: ogre, damage: 40}")
    code, stderr = _fails(escli, arena, tmp_path, text, store_url)
    assert code == 11
    assert stderr.splitlines()[0] == (
        f"Error: {arena}/arena.py:{RENAMED_LINE}: domain 'arena': renamed raised KeyError: "
        "'who' (upcaster renamed (arena.EntityHit v1.0 -> arena.EntityAttacked v1.0), "
        "upcasting the given event at s.yaml:5:9)"
    )


@pytest.mark.parametrize(
    ("change", "stderr"),
    [
        (
            ('version: "1.0", data: {entity_id', 'version: "0.9", data: {entity_id'),
            "Error: s.yaml:6:41: domain 'arena' has no event type arena.EntityAttacked v0.9 "
            "(it has v2.0): add an upcaster from it (@domain.upcaster) or keep its old class; "
            'see the README\'s "Changing a domain"\n',
        ),
        (
            ('version: "1.0", data: {entity_id', "version: 1.0, data: {entity_id"),
            "Error: s.yaml:6:41: version must be a string, got 1.0\n",
        ),
        (
            ('{type: EntityHit, version: "1.0",', "{type: EntityHit,"),
            "Error: s.yaml:5:16: EntityHit has no class in domain 'arena', only upcasters from "
            'v1.0: name the version a store holds (version: "1.0")\n',
        ),
        (
            ("{type: EntityHit,", "{type: EntityStruck,"),
            "Error: s.yaml:5:16: domain 'arena' has no event 'EntityStruck'\n",
        ),
        (
            ("{type: EntityAttacked, data: {damage: 5", "{type: EntityHit, data: {damage: 5"),
            "Error: s.yaml:10:23: domain 'arena' has no event 'EntityHit' (known: "
            "EntityAttacked)\n",
        ),
    ],
    ids=["unknown-version", "unquoted-version", "upcast-only-type", "unknown-type", "expected"],
)
def test_a_given_event_the_domain_cannot_read_is_a_located_error(
    escli: Run,
    arena: str,
    tmp_path: Path,
    store_url: str,
    change: tuple[str, str],
    stderr: str,
) -> None:
    """The last: an expected event is one the command emits, of a class: a type the domain
    only upcasts from is none."""
    text = SCENARIO.replace(*change)
    assert text != SCENARIO
    assert _fails(escli, arena, tmp_path, text, store_url) == (4, stderr)
