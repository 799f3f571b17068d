"""Domains, events with metadata, states with a generation the framework owns."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from escli import AggregateState, Domain, event_meta
from escli.domain.model import domain_of, kebab_case, with_generation
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


def test_stamping_never_changes_a_state_someone_else_holds() -> None:
    shared = Cart("c1")
    stamped = with_generation(shared, 5)
    assert (shared.generation, stamped.generation) == (0, 5)
    again = with_generation(stamped, 6)
    assert (stamped.generation, again.generation) == (5, 6)


def test_stamping_a_fresh_state_gives_it_the_generation() -> None:
    shared = Cart("c1")
    assert with_generation(shared.evolve(items=("a",)), 1) == Cart("c1", ("a",), generation=1)


def test_stamping_works_for_slotted_states() -> None:
    @dataclass(frozen=True, slots=True)
    class Slotted(AggregateState):
        tags: list[str] = field(default_factory=list)

    s = Slotted()
    assert with_generation(s, 2).generation == 2
    assert s.generation == 0
