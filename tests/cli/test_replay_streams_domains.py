"""`escli replay`, `escli streams` and `escli domains`."""

from __future__ import annotations

import json

from tests.conftest import Run


def attack_twice_and_heal(escli: Run) -> None:
    for args in (["attack", "ogre", "150"], ["attack", "ogre", "150"], ["heal", "ogre", "100"]):
        assert escli("dispatch", "combat", *args).exit_code == 0


def test_replay_folds_the_stream_to_its_state(escli: Run) -> None:
    attack_twice_and_heal(escli)
    out = escli("replay", "combat-ogre")
    assert out.exit_code == 0
    assert out.stdout == (
        "combat-ogre  generation 3\n"
        "  entity_id      ogre\n"
        "  hitpoints      700\n"
        "  max_hitpoints  900\n"
        "  alive          true\n"
        "  known          true\n"
        "  immortal       false\n"
    )


def test_replay_steps_show_the_same_transitions_as_dispatch(escli: Run) -> None:
    attack_twice_and_heal(escli)
    out = escli("replay", "combat-ogre", "--steps", "--to-generation", "2")
    assert out.stdout == (
        "combat-ogre  from generation 0\n"
        '    1  combat.EntityAttacked v2.0  {"entity_id": "ogre", "damage": 150, '
        '"weapon": "fists"}\n'
        "       hitpoints  900 → 750\n"
        '    2  combat.EntityAttacked v2.0  {"entity_id": "ogre", "damage": 150, '
        '"weapon": "fists"}\n'
        "       hitpoints  750 → 600\n"
        "combat-ogre  generation 2\n"
        "  entity_id      ogre\n"
        "  hitpoints      600\n"
        "  max_hitpoints  900\n"
        "  alive          true\n"
        "  known          true\n"
        "  immortal       false\n"
    )


def test_replay_json_with_steps(escli: Run) -> None:
    attack_twice_and_heal(escli)
    data = json.loads(escli("replay", "combat-ogre", "--steps", "--json").stdout)
    assert data["generation"] == 3
    assert data["state"]["hitpoints"] == 700
    assert [(s["generation"], s["event"]["type"], s["changed"]) for s in data["steps"]] == [
        (1, "combat.EntityAttacked", {"hitpoints": [900, 750]}),
        (2, "combat.EntityAttacked", {"hitpoints": [750, 600]}),
        (3, "combat.EntityHealed", {"hitpoints": [600, 700]}),
    ]


def test_replaying_a_stream_the_store_does_not_hold_is_not_found(escli: Run) -> None:
    # Its initial state would read as if the stream were there (a typo looks like a new
    # entity); dispatch still starts a new stream from it.
    out = escli("replay", "combat-troll")
    assert (out.exit_code, out.stdout, out.stderr) == (
        3,
        "",
        "Error: stream 'combat-troll' is not in the store\n",
    )


def test_replaying_a_stream_of_an_unknown_domain_is_not_found(escli: Run) -> None:
    out = escli("replay", "shop-cart1")
    assert (out.exit_code, out.stderr) == (3, "Error: unknown domain 'shop' (known: combat)\n")


def test_a_stream_name_without_a_domain_is_invalid(escli: Run) -> None:
    out = escli("replay", "ogre")
    assert (out.exit_code, out.stderr) == (
        4,
        "Error: stream name 'ogre' is not of the form <domain>-<id>\n",
    )


def test_streams_lists_generation_and_count(escli: Run) -> None:
    attack_twice_and_heal(escli)
    escli("dispatch", "combat", "attack", "goblin", "500")
    out = escli("streams")
    assert out.stdout == (
        "stream         generation  events\n"
        "combat-goblin           2  2\n"
        "combat-ogre             3  3\n"
    )
    assert json.loads(escli("streams", "--json").stdout) == [
        {"stream": "combat-goblin", "generation": 2, "events": 2},
        {"stream": "combat-ogre", "generation": 3, "events": 3},
    ]


def test_streams_on_an_empty_store_says_so_on_stderr(escli: Run, store_url: str) -> None:
    out = escli("streams")
    assert (out.exit_code, out.stdout, out.stderr) == (0, "", f"no streams in {store_url}\n")


def test_domains_lists_the_installed_combat_sample(escli: Run) -> None:
    out = escli("domains")
    assert out.stdout == (
        "domain  commands             events  description\n"
        "combat  spawn, attack, heal  4       "
        "Entities that are spawned, attacked, healed, and die.\n"
    )


def test_domains_shows_one_domain_in_full(escli: Run) -> None:
    out = escli("domains", "combat")
    assert out.stdout == (
        "combat  Entities that are spawned, attacked, healed, and die.\n"
        "source  events://escli/samples/combat\n"
        "commands\n"
        "  spawn   entity_id: str, hitpoints: int                      (stream: entity_id)  "
        "Bring an entity to life.\n"
        '  attack  entity_id: str, damage: int, weapon: str = "fists"  (stream: entity_id)  '
        "Strike an entity; it dies at 0 hitpoints.\n"
        "  heal    entity_id: str, amount: int                         (stream: entity_id)  "
        "Give a living entity hitpoints, up to its maximum.\n"
        "events\n"
        "  combat.EntitySpawned   v1.0  entity_id: str, hitpoints: int\n"
        "  combat.EntityAttacked  v2.0  entity_id: str, damage: int, weapon: str\n"
        "  combat.EntityHealed    v1.0  entity_id: str, amount: int               "
        "What was healed: less than asked for near full health.\n"
        "  combat.EntityDied      v1.0  entity_id: str\n"
        "upcasters\n"
        "  combat.EntityAttacked  v1.0  → v2.0  add_weapon\n"
        "state (Entity)\n"
        "  generation: int, entity_id: str, hitpoints: int, max_hitpoints: int, alive: bool, "
        "known: bool, immortal: bool\n"
    )
    data = json.loads(escli("domains", "combat", "--json").stdout)
    assert data["commands"][1] == {
        "name": "attack",
        "class": "Attack",
        "stream_field": "entity_id",
        "fields": {"entity_id": "str", "damage": "int", "weapon": "str"},
        "defaults": {"weapon": '"fists"'},
        "doc": "Strike an entity; it dies at 0 hitpoints.",
    }
    assert data["events"][3] == {
        "type": "combat.EntityDied",
        "version": "1.0",
        "current": True,
        "source": "events://escli/samples/combat",
        "fields": {"entity_id": "str"},
        "defaults": {},
        "doc": "",
    }


def test_help_ends_each_command_with_an_example(escli: Run) -> None:
    for command in ("dispatch", "replay", "streams", "domains"):
        out = escli(command, "--help")
        assert out.exit_code == 0
        assert "Example:" in out.stdout
        assert "--store URL" in out.stdout
        assert "--json" in out.stdout
