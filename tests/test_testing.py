"""escli.testing fails loudly when a scenario does not hold."""

from dataclasses import dataclass
from typing import Any

import pytest
from escli_combat import Attack, EntityAttacked, EntityDied

from escli import AggregateState, Domain
from escli.testing import assert_upcasts, given, stored, upcast


def test_then_fails_when_other_events_were_emitted() -> None:
    with pytest.raises(AssertionError, match="emitted"):
        given().when(Attack("ogre", 150)).then(EntityAttacked("ogre", 151, "fists"))


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
        given(EntityAttacked("ogre", 900, "fists"), EntityDied("ogre")).then()


def test_the_state_after_the_scenario_is_available() -> None:
    scenario = given(EntityAttacked("troll", 500, "fists")).when(Attack("troll", 1))
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


# -- upcasters: stored old versions, read as the fold reads them ---------------------------


def _evolved() -> tuple[Domain, type, type, type]:
    """A domain at its second version: ``Hit`` v1.0 (no weapon) upcast to v2.0, and ``Poked``
    v1.0, the old name of ``Hit``, renamed; returns it with its command and events."""
    arena = Domain("arena", source="events://test/arena", stream_field="entity_id")

    @arena.command
    @dataclass(frozen=True)
    class Strike:
        entity_id: str
        damage: int

    @arena.event(version="2.0")
    @dataclass(frozen=True)
    class Hit:
        entity_id: str
        damage: int
        weapon: str

    @arena.event
    @dataclass(frozen=True)
    class Fell:
        entity_id: str

    @arena.upcaster("Hit", "1.0", to="2.0")
    def add_weapon(data: dict[str, Any]) -> dict[str, Any]:
        data["weapon"] = "fists"  # in place: the caller's dict must not change
        if data["damage"] < 0:
            data["damage"] = str(data["damage"])  # does not fit Hit
        return data

    @arena.upcaster("Poked", "1.0", to=("Hit", "1.0"))
    def renamed(data: dict[str, Any]) -> dict[str, Any]:
        return {"entity_id": data["who"], "damage": data["damage"]}

    @dataclass(frozen=True)
    class Fighter(AggregateState):
        damage_taken: int = 0

    @arena.aggregate
    class Arena:
        def initial_state(self, stream_id: str) -> Fighter:
            return Fighter()

        def handle_command(self, state: Fighter, command: Any) -> list[object]:
            if state.damage_taken + command.damage >= 10:
                return [Hit(command.entity_id, command.damage, "sword"), Fell(command.entity_id)]
            return [Hit(command.entity_id, command.damage, "sword")]

        def apply_event(self, state: Fighter, event: Any) -> Fighter:
            if isinstance(event, Hit):
                return state.evolve(damage_taken=state.damage_taken + event.damage)
            return state

    return arena, Strike, Hit, Fell


def test_assert_upcasts_returns_the_current_event_and_leaves_the_data_alone() -> None:
    arena, _, Hit, _ = _evolved()
    data = {"entity_id": "ogre", "damage": 5}
    assert assert_upcasts(arena, "Hit", "1.0", data, Hit("ogre", 5, "fists")) == Hit(
        "ogre", 5, "fists"
    )
    assert data == {"entity_id": "ogre", "damage": 5}
    assert upcast(arena, "arena.Poked", "1.0", '{"who": "imp", "damage": 2}') == Hit(
        "imp", 2, "fists"
    )
    assert upcast(arena, "Hit", "2.0", {"entity_id": "a", "damage": 1, "weapon": "axe"}) == Hit(
        "a", 1, "axe"
    )


def test_assert_upcasts_fails_with_a_diff_of_the_two_events() -> None:
    arena, _, Hit, _ = _evolved()
    with pytest.raises(AssertionError) as caught:
        assert_upcasts(arena, "Poked", "1.0", {"who": "imp", "damage": 2}, Hit("imp", 2, "axe"))
    lines = str(caught.value).splitlines()
    assert lines[0] == 'stored(\'Poked\', \'1.0\', {"who": "imp", "damage": 2}) upcasts to'
    assert lines[1:4] == [
        f"  {Hit('imp', 2, 'fists')!r}",
        "expected",
        f"  {Hit('imp', 2, 'axe')!r}",
    ]
    assert lines[4:] == [
        "--- expected",
        "+++ upcast",
        "@@ -4,3 +4,3 @@",
        '     "entity_id": "imp",',
        '-    "weapon": "axe"',
        '+    "weapon": "fists"',
        "   },",
    ]


def test_stored_data_the_domain_cannot_read_is_an_assertion_saying_why() -> None:
    arena, _, Hit, _ = _evolved()
    with pytest.raises(AssertionError) as unreadable:
        upcast(arena, "Hit", "0.9", {"entity_id": "ogre"})
    assert str(unreadable.value) == (
        "stored('Hit', '0.9', {\"entity_id\": \"ogre\"}) does not read: domain 'arena' has no "
        "event type arena.Hit v0.9 (it has v2.0): add an upcaster from it (@domain.upcaster) "
        'or keep its old class; see the README\'s "Changing a domain"'
    )
    with pytest.raises(
        AssertionError,
        match=r"does not read: upcaster add_weapon \(arena\.Hit "
        r"v1\.0 -> v2\.0\) returned data whose damage does not fit Hit",
    ):
        upcast(arena, "Hit", "1.0", {"entity_id": "ogre", "damage": -1})
    with pytest.raises(AssertionError, match=r"does not read: arena\.Hit v2\.0 weapon: missing"):
        assert_upcasts(arena, "Hit", "2.0", {"entity_id": "a", "damage": 1}, Hit("a", 1, "x"))


def test_an_upcaster_that_raises_reaches_pytest_unchanged() -> None:
    arena, *_ = _evolved()
    with pytest.raises(KeyError, match="who") as caught:
        upcast(arena, "Poked", "1.0", {"entity_id": "imp", "damage": 2})
    assert caught.traceback[-1].name == "renamed"


def test_given_reads_stored_old_versions_through_the_upcasters() -> None:
    arena, Strike, Hit, Fell = _evolved()
    scenario = given(
        stored("Poked", "1.0", {"who": "ogre", "damage": 3}),
        stored("arena.Hit", "1.0", {"entity_id": "ogre", "damage": 4}),
        Hit("ogre", 2, "axe"),
    ).when(Strike("ogre", 1))
    scenario.then(Hit("ogre", 1, "sword"), Fell("ogre"))
    assert (scenario.state.damage_taken, scenario.state.generation) == (10, 5)
    with pytest.raises(AssertionError, match=r"stored\('Hit', '0\.9', .* does not read"):
        given(stored("Hit", "0.9", {}), domain=arena).when(Strike("ogre", 1))


def test_a_state_that_round_trips_through_a_snapshot_passes() -> None:
    from escli_combat import Entity

    from escli.testing import assert_snapshot_round_trips

    state = Entity("ogre", 900, 900, alive=True, known=True, generation=4)
    assert assert_snapshot_round_trips(state) == state


def test_a_state_that_does_not_round_trip_names_the_field() -> None:
    import dataclasses
    from decimal import Decimal
    from typing import Any

    from escli import AggregateState
    from escli.testing import assert_snapshot_round_trips

    @dataclasses.dataclass(frozen=True)
    class Ledger(AggregateState):
        account: str
        last: Any = None

    with pytest.raises(AssertionError) as caught:
        assert_snapshot_round_trips(Ledger("a", Decimal("1.10")))
    assert "last: Decimal('1.10') came back as" in str(caught.value)
