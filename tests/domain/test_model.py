"""Domains, events with metadata, states with a generation the framework owns."""

from __future__ import annotations

import threading
from dataclasses import dataclass, fields
from functools import cached_property
from typing import Any

import pytest

from escli import AggregateState, Domain, event_meta
from escli.domain.calls import NotAState
from escli.domain.model import applied, applying, domain_of, kebab_case, stamped
from escli.errors import InvalidInput, NotFound


def make_domain() -> Domain:
    return Domain("shop", source="events://example/shop", stream_field="cart_id")


def test_events_get_type_version_and_source_by_default() -> None:
    shop = make_domain()

    @shop.event
    @dataclass(frozen=True)
    class ItemAdded:
        cart_id: str

    assert event_meta(ItemAdded) == ("shop.ItemAdded", "1.0", "events://example/shop")
    assert event_meta(ItemAdded("c1")).event_type == "shop.ItemAdded"


def test_event_metadata_can_be_overridden() -> None:
    shop = make_domain()

    @shop.event(type="com.example.cart.item-added", version="2.1", source="urn:cart")
    @dataclass(frozen=True)
    class ItemAdded:
        cart_id: str

    assert event_meta(ItemAdded) == ("com.example.cart.item-added", "2.1", "urn:cart")
    assert shop.events[("com.example.cart.item-added", "2.1")] is ItemAdded


def test_a_type_and_version_can_be_registered_only_once() -> None:
    shop = make_domain()

    @shop.event
    @dataclass(frozen=True)
    class ItemAdded:
        cart_id: str

    with pytest.raises(TypeError, match="registered twice"):
        shop.event(type="shop.ItemAdded")(dataclass(frozen=True)(type("ItemAdded", (), {})))


def test_non_dataclasses_are_refused() -> None:
    shop = make_domain()
    with pytest.raises(TypeError, match="must be a dataclass"):
        shop.event(type("Plain", (), {}))
    with pytest.raises(TypeError, match="must be a dataclass"):
        shop.command(type("Plain", (), {}))


def test_a_plain_class_is_not_an_event() -> None:
    with pytest.raises(TypeError, match="not an event"):
        event_meta(object())


def test_commands_are_named_in_kebab_case_and_name_their_stream() -> None:
    shop = make_domain()

    @shop.command
    @dataclass(frozen=True)
    class AddItem:
        cart_id: str
        sku: str

    @shop.command(stream_field="sku")
    @dataclass(frozen=True)
    class RecallSKU:
        sku: str

    assert set(shop.commands) == {"add-item", "recall-sku"}
    assert shop.command_spec("AddItem").cls is AddItem
    assert shop.stream_of(AddItem("c1", "s9")) == "shop-c1"
    assert shop.stream_of(RecallSKU("s9")) == "shop-s9"
    assert domain_of(AddItem) is shop


def test_a_command_without_its_stream_field_is_refused() -> None:
    shop = make_domain()
    with pytest.raises(TypeError, match="no field 'cart_id'"):
        shop.command(dataclass(frozen=True)(type("Ping", (), {"__annotations__": {"x": int}})))


def test_an_unknown_command_lists_the_known_ones() -> None:
    shop = make_domain()
    with pytest.raises(NotFound, match=r"domain 'shop' has no command 'pay' \(known: none\)"):
        shop.command_spec("pay")


@pytest.mark.parametrize(
    ("name", "kebab"),
    [
        ("Attack", "attack"),
        ("HealAll", "heal-all"),
        ("RecallSKU", "recall-sku"),
        ("HTTPRequestSent", "http-request-sent"),
    ],
)
def test_kebab_case(name: str, kebab: str) -> None:
    assert kebab_case(name) == kebab


def test_stream_names_are_domain_dash_id() -> None:
    shop = make_domain()
    assert shop.stream_name("c-1") == "shop-c-1"
    assert shop.stream_id("shop-c-1") == "c-1"
    assert Domain.domain_name_of("shop-c-1") == "shop"
    with pytest.raises(InvalidInput):
        shop.stream_id("other-c1")
    with pytest.raises(InvalidInput):
        Domain.domain_name_of("nodash")


@dataclass(frozen=True)
class Cart(AggregateState):
    cart_id: str
    items: tuple[str, ...] = ()


def test_generation_starts_at_zero_and_is_keyword_only() -> None:
    cart = Cart("c1")
    assert cart.generation == 0
    with pytest.raises(TypeError):
        Cart("c1", (), 3)  # type: ignore[misc]


def test_evolve_copies_with_changes_and_refuses_unknown_fields() -> None:
    cart = Cart("c1")
    more = cart.evolve(items=("apple",))
    assert more == Cart("c1", ("apple",))
    assert cart.items == ()
    with pytest.raises(TypeError, match="no field 'itemz'"):
        cart.evolve(itemz=())


def test_evolve_runs_post_init_validation_when_a_state_has_it() -> None:
    @dataclass(frozen=True)
    class Counter(AggregateState):
        value: int = 0

        def __post_init__(self) -> None:
            if self.value < 0:
                raise ValueError("negative")

    with pytest.raises(ValueError, match="negative"):
        Counter().evolve(value=-1)


def test_evolve_copies_only_the_fields_not_a_cached_property() -> None:
    @dataclass(frozen=True)
    class Tally(AggregateState):
        values: tuple[int, ...] = ()

        @cached_property
        def total(self) -> int:
            return sum(self.values)

    tally = Tally((1, 2))
    assert tally.total == 3
    more = tally.evolve(values=(1, 2, 3))
    assert more.total == 6
    assert "total" not in more.evolve().__dict__


def test_evolve_keeps_the_generation_outside_an_apply() -> None:
    cart = Cart("c1", generation=4)
    assert cart.evolve(items=("a",)).generation == 4


# -- applied: the one function that stamps a generation ----------------------------------


def frozen_copy(state: AggregateState) -> dict[str, Any]:
    """What a state holds, to prove later that nothing changed it."""
    if hasattr(state, "__dict__"):
        return dict(state.__dict__)
    return {f.name: getattr(state, f.name) for f in fields(state)}


def fold_with(apply: Any, state: Any, count: int) -> list[Any]:
    """The states after ``count`` events, each through ``applied`` (as dispatch applies),
    and the fold's way: ``stamped`` within one ``applying`` window; both must agree."""
    one_by_one, windowed = [state], [state]
    for _ in range(count):
        one_by_one.append(applied(apply, one_by_one[-1], None))
    with applying() as applying_to:
        for generation in range(1, count + 1):
            applying_to[0] = windowed[-1]
            windowed.append(stamped(apply(windowed[-1], None), windowed[0].generation + generation))
    assert one_by_one == windowed
    return one_by_one


def test_applied_stamps_a_copy_when_apply_event_returns_its_input() -> None:
    start = Cart("c1")
    states = fold_with(lambda state, _: state, start, 3)
    assert [s.generation for s in states] == [0, 1, 2, 3]
    assert len({id(s) for s in states}) == 4
    assert start == Cart("c1") and start.generation == 0


def test_applied_never_changes_a_module_level_constant() -> None:
    before = frozen_copy(EMPTY)
    states = fold_with(lambda state, _: EMPTY, Cart("c1"), 3)
    assert [s.generation for s in states] == [0, 1, 2, 3]
    assert all(s.items == () for s in states)
    assert frozen_copy(EMPTY) == before and EMPTY.generation == 0


def test_applied_never_changes_a_cached_value_returned_twice() -> None:
    cache: dict[str, Cart] = {}

    def apply(state: Cart, _: object) -> Cart:
        if "full" not in cache:  # made inside an apply: evolve gives it the next generation
            cache["full"] = state.evolve(items=("apple",))
        return cache["full"]

    states = fold_with(apply, Cart("c1"), 3)
    assert [s.generation for s in states] == [0, 1, 2, 3]
    assert all(s.items == ("apple",) for s in states[1:])
    assert cache["full"].generation == 1  # as made, never restamped
    assert states[1] is cache["full"]  # already the right value: no copy needed


def test_applied_gives_a_state_with_a_cached_property_its_own_value() -> None:
    @dataclass(frozen=True)
    class Tally(AggregateState):
        values: tuple[int, ...] = ()

        @cached_property
        def total(self) -> int:
            return sum(self.values) + self.generation

    same = Tally((1, 2))
    assert same.total == 3
    before = frozen_copy(same)
    states = fold_with(lambda state, _: same, Tally(), 2)
    assert [(s.generation, s.total) for s in states[1:]] == [(1, 4), (2, 5)]
    assert frozen_copy(same) == before
    grown = fold_with(
        lambda state, _: state.evolve(values=(*state.values, state.total)), Tally(), 3
    )
    assert [(s.generation, s.values) for s in grown] == [
        (0, ()),
        (1, (0,)),
        (2, (0, 1)),
        (3, (0, 1, 3)),
    ]


def test_applied_stamps_slotted_states() -> None:
    @dataclass(frozen=True, slots=True)
    class Slotted(AggregateState):
        tags: tuple[str, ...] = ()

    shared = Slotted(("x",))
    grown = fold_with(lambda state, _: state.evolve(tags=(*state.tags, "t")), Slotted(), 2)
    assert [(s.generation, s.tags) for s in grown] == [(0, ()), (1, ("t",)), (2, ("t", "t"))]
    again = fold_with(lambda state, _: shared, Slotted(), 2)
    assert [s.generation for s in again] == [0, 1, 2]
    assert shared == Slotted(("x",)) and shared.generation == 0


def test_applied_stamps_states_with_post_init_and_runs_it() -> None:
    checked: list[int] = []

    @dataclass(frozen=True)
    class Counter(AggregateState):
        value: int = 0

        def __post_init__(self) -> None:
            checked.append(self.value)
            if self.value < 0:
                raise ValueError("negative")

    zero = Counter()
    counted = fold_with(lambda state, _: state.evolve(value=state.value + 1), zero, 2)
    assert [(s.generation, s.value) for s in counted] == [(0, 0), (1, 1), (2, 2)]
    unchanged = fold_with(lambda state, _: zero, zero, 2)
    assert [s.generation for s in unchanged] == [0, 1, 2]
    assert zero == Counter() and zero.generation == 0
    assert set(checked) == {0, 1, 2}
    with pytest.raises(ValueError, match="negative"):
        applied(lambda state, _: state.evolve(value=-1), zero, None)


def test_applied_returns_a_fresh_evolved_state_without_copying_it_again() -> None:
    made: list[Cart] = []

    def apply(state: Cart, _: object) -> Cart:
        made.append(state.evolve(items=(*state.items, "a")))
        return made[-1]

    states = fold_with(apply, Cart("c1"), 2)
    assert [id(s) for s in states[1:]] == [id(m) for m in made[:2]]  # the very objects made


def test_applied_refuses_what_is_not_a_state() -> None:
    with pytest.raises(NotAState, match="returned None"):
        applied(lambda state, _: None, Cart("c1"), None)


def test_evolve_gives_the_next_generation_only_in_this_context() -> None:
    seen: list[int] = []

    def elsewhere() -> None:
        seen.append(Cart("c1").evolve().generation)

    with applying() as applying_to:
        applying_to[0] = handed = Cart("c1")
        seen.append(handed.evolve().generation)
        thread = threading.Thread(target=elsewhere)
        thread.start()
        thread.join()
    elsewhere()
    assert seen == [1, 0, 0]


def test_only_the_state_handed_to_apply_event_evolves_to_the_next_generation() -> None:
    # A nested state, a constant, and a state evolved already keep their generations: the
    # one apply_event was handed is the only one a generation is bumped for.
    captain = Cart("captain", generation=7)
    nested: list[Cart] = []

    def apply(state: Cart, _: object) -> Cart:
        nested.append(captain.evolve(items=("x",)))
        once = state.evolve(items=(*state.items, "a"))
        return once.evolve(items=(*once.items, "b"))

    states = fold_with(apply, Cart("c1"), 2)
    assert [s.generation for s in states] == [0, 1, 2]
    assert [s.items for s in states] == [(), ("a", "b"), ("a", "b", "a", "b")]
    assert {n.generation for n in nested} == {7}
    assert captain.generation == 7


EMPTY = Cart("shared")
