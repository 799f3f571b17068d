"""The combat rules, as given/when/then with no store."""

from pathlib import Path

import pytest
from escli_combat import (
    Attack,
    EntityAttacked,
    EntityDied,
    EntityHealed,
    EntitySpawned,
    Heal,
    Spawn,
    domain,
)

from escli.testing import FileScenario, assert_upcasts, given, scenarios_from, stored

SCENARIOS = Path(__file__).resolve().parents[2] / "sample_streams" / "combat.scenarios.yaml"


def test_the_ogre_is_known_from_the_start_with_900_hitpoints():
    given().when(Attack("ogre", 150)).then(EntityAttacked("ogre", 150, "fists")).then_state(
        hitpoints=750, max_hitpoints=900, alive=True, generation=1
    )


def test_the_blow_that_reaches_zero_also_kills():
    given(EntityAttacked("ogre", 800, "fists")).when(Attack("ogre", 100)).then(
        EntityAttacked("ogre", 100, "fists"), EntityDied("ogre")
    ).then_state(hitpoints=0, alive=False, generation=3)


def test_hitpoints_never_go_below_zero():
    given(EntityAttacked("goblin", 100, "fists")).when(Attack("goblin", 5000)).then(
        EntityAttacked("goblin", 5000, "fists"), EntityDied("goblin")
    ).then_state(hitpoints=0)


def test_attacking_the_dead_is_rejected():
    given(EntityAttacked("ogre", 900, "fists"), EntityDied("ogre")).when(
        Attack("ogre", 1)
    ).then_rejected("ogre is dead")


def test_healing_the_dead_is_rejected():
    given(EntityAttacked("ogre", 900, "fists"), EntityDied("ogre")).when(
        Heal("ogre", 10)
    ).then_rejected("ogre is dead")


def test_the_immortal_ghost_cannot_be_attacked():
    given().when(Attack("ghost", 10)).then_rejected("ghost is immortal")


def test_unknown_entities_must_be_spawned_first():
    given().when(Attack("dragon", 10)).then_rejected("dragon is unknown: spawn it first")
    given().when(Heal("dragon", 10)).then_rejected("dragon is unknown")


def test_non_positive_amounts_are_rejected():
    given().when(Attack("ogre", 0)).then_rejected("damage must be positive, got 0")
    given().when(Heal("ogre", -5)).then_rejected("amount must be positive, got -5")
    given().when(Spawn("dragon", 0)).then_rejected("hitpoints must be positive, got 0")


def test_healing_stops_at_the_maximum_and_records_what_was_healed():
    given(EntityAttacked("ogre", 100, "fists")).when(Heal("ogre", 500)).then(
        EntityHealed("ogre", 100)
    ).then_state(hitpoints=900)


def test_healing_at_full_health_is_rejected():
    given().when(Heal("ogre", 10)).then_rejected("already at full health (900 hitpoints)")


def test_spawning_makes_an_unknown_entity_alive():
    given().when(Spawn("dragon", 2000)).then(EntitySpawned("dragon", 2000)).then_state(
        hitpoints=2000, max_hitpoints=2000, alive=True, known=True
    )


def test_spawning_the_living_is_rejected():
    given().when(Spawn("ogre", 10)).then_rejected("ogre is already alive with 900 hitpoints")


def test_the_dead_can_be_spawned_again():
    given(EntityAttacked("ogre", 900, "fists"), EntityDied("ogre")).when(Spawn("ogre", 50)).then(
        EntitySpawned("ogre", 50)
    ).then_state(hitpoints=50, max_hitpoints=50, alive=True, generation=3)


def test_events_carry_type_version_and_source():
    from escli import event_meta

    meta = event_meta(EntityAttacked("ogre", 1, "fists"))
    assert (meta.event_type, meta.version, meta.source) == (
        "combat.EntityAttacked",
        "2.0",
        "events://escli/samples/combat",
    )


def test_an_attack_names_its_weapon_and_bare_hands_are_the_default():
    given().when(Attack("ogre", 150, "axe")).then(EntityAttacked("ogre", 150, "axe"))
    given().when(Attack("ogre", 150)).then(EntityAttacked("ogre", 150, "fists"))


def test_a_blow_recorded_before_weapons_reads_as_struck_with_fists():
    assert_upcasts(
        domain,
        "EntityAttacked",
        "1.0",
        {"entity_id": "ogre", "damage": 300},
        EntityAttacked("ogre", 300, "fists"),
    )


def test_a_fight_recorded_at_1_0_still_decides_what_comes_next():
    old_blow = stored("EntityAttacked", "1.0", {"entity_id": "ogre", "damage": 850})
    given(old_blow).when(Attack("ogre", 50, "club")).then(
        EntityAttacked("ogre", 50, "club"), EntityDied("ogre")
    ).then_state(hitpoints=0, alive=False)


@pytest.mark.parametrize("scenario", scenarios_from(SCENARIOS), ids=str)
def test_the_sample_scenario_file_holds_in_pytest_too(scenario: FileScenario) -> None:
    scenario.check()


def test_a_file_scenario_that_does_not_hold_fails_with_its_diff(tmp_path: Path) -> None:
    path = tmp_path / "wrong.yaml"
    path.write_text(
        "scenarios:\n"
        "  - name: wrong\n"
        "    when: combat attack ogre 150\n"
        "    then: {state: {hitpoints: 1}}\n"
    )
    [scenario] = scenarios_from(path)
    with pytest.raises(
        AssertionError, match=r'(?s)wrong .*-  "hitpoints": 1\n\+  "hitpoints": 750'
    ):
        scenario.check()
