"""escli.testing fails loudly when a scenario does not hold."""

import pytest
from escli_combat import Attack, EntityAttacked, EntityDied

from escli.testing import given


def test_then_fails_when_other_events_were_emitted() -> None:
    with pytest.raises(AssertionError, match="emitted"):
        given().when(Attack("ogre", 150)).then(EntityAttacked("ogre", 151))


def test_then_fails_when_the_command_was_rejected() -> None:
    with pytest.raises(AssertionError, match="was rejected: ghost is immortal"):
        given().when(Attack("ghost", 1)).then()


def test_then_rejected_fails_when_the_command_was_accepted() -> None:
    with pytest.raises(AssertionError, match="was not rejected"):
        given().when(Attack("ogre", 1)).then_rejected()


def test_then_rejected_fails_on_another_message() -> None:
    with pytest.raises(AssertionError, match="does not mention 'mortal wound'"):
        given().when(Attack("ghost", 1)).then_rejected("mortal wound")


def test_then_state_fails_on_another_value() -> None:
    with pytest.raises(AssertionError, match="expected"):
        given().when(Attack("ogre", 150)).then_state(hitpoints=1)


def test_then_before_when_is_a_mistake() -> None:
    with pytest.raises(AssertionError, match=r"call \.when\(command\) before"):
        given(EntityAttacked("ogre", 900), EntityDied("ogre")).then()


def test_the_state_after_the_scenario_is_available() -> None:
    scenario = given(EntityAttacked("troll", 500)).when(Attack("troll", 1))
    assert (scenario.state.hitpoints, scenario.state.generation) == (999, 2)
