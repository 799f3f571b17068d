"""escli.testing fails loudly when a scenario does not hold."""

from dataclasses import dataclass

import pytest
from escli_combat import Attack, EntityAttacked, EntityDied

from escli import AggregateState, Domain
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


def test_given_events_get_their_generations_whatever_apply_event_returns() -> None:
    """The given events are stamped as a replay stamps them (a shared constant or the
    input state returned is never changed), and handle_command runs outside any apply:
    an ``evolve`` there keeps the generation."""
    shop = Domain("shop", source="events://test/shop", stream_field="cart_id")

    @shop.event
    @dataclass(frozen=True)
    class Emptied:
        cart_id: str

    @shop.event
    @dataclass(frozen=True)
    class Looked:
        cart_id: str
        generation_seen: int

    @shop.command
    @dataclass(frozen=True)
    class Look:
        cart_id: str

    @dataclass(frozen=True)
    class Cart(AggregateState):
        cart_id: str

    empty = Cart("c1")

    @shop.aggregate
    class Shop:
        def initial_state(self, stream_id: str) -> Cart:
            return empty

        def handle_command(self, state: Cart, command: Look) -> list[object]:
            return [Looked(command.cart_id, state.evolve().generation)]

        def apply_event(self, state: Cart, event: object) -> Cart:
            return empty if isinstance(event, Emptied) else state

    scenario = given(Emptied("c1"), Emptied("c1"), domain=shop).when(Look("c1"))
    scenario.then(Looked("c1", 2))
    assert scenario.state.generation == 3
    assert empty.generation == 0
