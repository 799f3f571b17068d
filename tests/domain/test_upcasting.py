"""Upcasters: registration, the chain checks made when a domain loads, and reading old data."""

from __future__ import annotations

import datetime
import decimal
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pytest

from escli import AggregateState, Domain, DomainError, DomainRegistry
from escli.app.fold import fold
from escli.domain.upcasting import UpcastFailed, chain_decoder, version_key
from escli.errors import UnreadableEvent


@dataclass(frozen=True)
class Cart(AggregateState):
    items: int = 0
    notes: tuple[str, ...] = ()


def shop(*, with_added_v1: bool = False) -> tuple[Domain, type]:
    """A shop whose ``ItemAdded`` is at 2.0 (a ``note`` added), with its aggregate."""
    domain = Domain("shop", source="test://shop", stream_field="cart")

    @domain.event(version="2.0")
    @dataclass(frozen=True)
    class ItemAdded:
        cart: str
        quantity: int
        note: str

    if with_added_v1:

        @domain.event(type="shop.ItemAdded", version="1.0")
        @dataclass(frozen=True)
        class ItemAddedV1:
            cart: str
            quantity: int

    @domain.aggregate
    class Shop:
        def initial_state(self, stream_id: str) -> Cart:
            return Cart()

        def handle_command(self, state: Cart, command: Any) -> list[Any]:
            return []

        def apply_event(self, state: Cart, event: Any) -> Cart:
            return state.evolve(
                items=state.items + event.quantity, notes=(*state.notes, event.note)
            )

    return domain, ItemAdded


def add_note(data: dict[str, Any]) -> dict[str, Any]:
    return {**data, "note": "none"}


def rows(*stored: tuple[str, str, str]) -> list[tuple[int, str, str, str]]:
    return [(g, t, v, data) for g, (t, v, data) in enumerate(stored, start=1)]


def test_an_old_version_is_read_through_its_upcaster() -> None:
    domain, _ = shop()
    domain.upcaster("ItemAdded", "1.0", to="2.0")(add_note)
    state = fold(
        domain,
        "shop-c1",
        rows(
            ("shop.ItemAdded", "1.0", '{"cart": "c1", "quantity": 2}'),
            ("shop.ItemAdded", "2.0", '{"cart": "c1", "quantity": 3, "note": "gift"}'),
        ),
    )
    assert state == Cart(items=5, notes=("none", "gift"), generation=2)


def test_a_rename_then_a_new_field_is_one_chain_read_in_order() -> None:
    domain, _ = shop()
    domain.upcaster("ItemAdded", "1.0", to="2.0")(add_note)

    @domain.upcaster("ProductPut", "1.0", to=("ItemAdded", "1.0"))
    def renamed(data: dict[str, Any]) -> dict[str, Any]:
        return {"cart": data["cart"], "quantity": data["count"]}

    chains = domain.check_upcasters()
    put = chains["shop.ProductPut", "1.0"]
    assert [s.upcaster.function for s in put.steps] == [renamed, add_note]
    assert put.describe() == (
        "renamed "
        "(shop.ProductPut v1.0 -> shop.ItemAdded v1.0), then add_note (shop.ItemAdded v1.0 -> v2.0)"
    )
    state = fold(domain, "shop-c1", rows(("shop.ProductPut", "1.0", '{"cart":"c1","count":4}')))
    assert state == Cart(items=4, notes=("none",), generation=1)


def test_a_long_stream_of_an_old_version_reads_as_the_short_one_does() -> None:
    """Past the plain path's first events (PLAIN_USES), the typed path takes over: one verdict."""
    domain, _ = shop()
    domain.upcaster("ItemAdded", "1.0", to="2.0")(add_note)
    stored = [("shop.ItemAdded", "1.0", '{"cart": "c1", "quantity": 1}')] * 1000
    state = fold(domain, "shop-c1", rows(*stored))
    assert (state.items, state.generation, set(state.notes)) == (1000, 1000, {"none"})


def broken(domain: Domain, problem: str) -> str:
    with pytest.raises(DomainError) as caught:
        domain.check_upcasters()
    message = str(caught.value)
    assert "\n" not in message
    assert re.search(problem, message), message
    return message


def test_a_gap_in_a_chain_names_the_upcaster_where_it_stops() -> None:
    domain, _ = shop()

    @domain.upcaster("ItemAdded", "0.9", to="1.0")
    def to_one(data: dict[str, Any]) -> dict[str, Any]:
        return data

    message = broken(
        domain,
        r"upcaster to_one \(shop\.ItemAdded v0\.9 -> v1\.0\) leads to shop\.ItemAdded v1\.0, "
        r"which has no event class and no upcaster",
    )
    line = to_one.__code__.co_firstlineno
    assert message.startswith(f"{__file__}:{line}: domain 'shop': ")


def test_a_cycle_is_refused() -> None:
    domain, _ = shop()
    domain.upcaster("Old", "1.0", to=("Older", "1.0"))(add_note)
    domain.upcaster("Older", "1.0", to=("Old", "1.0"))(add_note)
    broken(domain, r"closes a cycle: shop\.Old v1\.0 -> shop\.Older v1\.0 -> shop\.Old v1\.0")


def test_two_upcasters_from_one_version_are_refused() -> None:
    domain, _ = shop()
    domain.upcaster("ItemAdded", "1.0", to="2.0")(add_note)
    domain.upcaster("shop.ItemAdded", "1.0", to="2.0")(lambda data: data)
    broken(domain, r"add_note upcasts shop\.ItemAdded v1\.0 already; keep one")


def test_an_upcaster_from_a_version_that_still_has_its_class_is_refused() -> None:
    domain, _ = shop(with_added_v1=True)
    domain.upcaster("ItemAdded", "1.0", to="2.0")(add_note)
    broken(domain, r"upcasts a version that still has its class \(ItemAddedV1\)")


def test_an_upcaster_back_to_an_earlier_version_is_refused() -> None:
    domain, _ = shop()
    domain.upcaster("ItemAdded", "3.0", to="2.0")(add_note)
    broken(domain, r"does not go to a later version")


def test_a_broken_chain_stops_the_domain_loading(tmp_path: Path) -> None:
    (tmp_path / "shop.py").write_text(
        "from dataclasses import dataclass\n"
        "from escli import Domain\n"
        "domain = Domain('shop', source='test://shop')\n"
        "@domain.event(version='2.0')\n"
        "@dataclass(frozen=True)\n"
        "class ItemAdded:\n"
        "    cart: str\n"
        "@domain.upcaster('ItemAdded', '1.0', to='1.5')\n"
        "def half_way(data):\n"
        "    return data\n"
    )
    with pytest.raises(DomainError, match=r"shop\.py:8: domain 'shop': upcaster half_way"):
        DomainRegistry([tmp_path]).get("shop")


def test_an_upcaster_that_raises_is_the_authors_error_naming_where() -> None:
    domain, _ = shop()

    @domain.upcaster("ItemAdded", "1.0", to="2.0")
    def needs_price(data: dict[str, Any]) -> dict[str, Any]:
        return {**data, "note": data["price"]}

    with pytest.raises(DomainError) as caught:
        fold(
            domain,
            "shop-c1",
            rows(("shop.ItemAdded", "1.0", '{"cart": "c1", "quantity": 2}')),
            ids=lambda generation: f"id-{generation}",
        )
    assert str(caught.value).endswith(
        "needs_price raised KeyError: 'price' (upcaster needs_price (shop.ItemAdded v1.0 -> "
        "v2.0), upcasting shop-c1 generation 1, event id-1)"
    )


@pytest.mark.parametrize(
    ("returned", "problem"),
    [
        (
            {"cart": "c1", "quantity": 2},
            r"returned data whose note does not fit ItemAdded "
            r"\(shop\.ItemAdded v2\.0\): missing",
        ),
        ([{"cart": "c1"}], r"returned \[\{'cart': 'c1'\}\] \(a list\), not a dict"),
        (None, r"returned None \(a NoneType\), not a dict"),
    ],
)
def test_an_upcaster_whose_result_does_not_decode_is_named(returned: Any, problem: str) -> None:
    domain, _ = shop()
    domain.upcaster("ItemAdded", "1.0", to="2.0")(lambda data: returned)
    with pytest.raises(DomainError, match=problem) as caught:
        fold(
            domain,
            "shop-c1",
            rows(("shop.ItemAdded", "1.0", '{"cart": "c1", "quantity": 2}')),
            ids=lambda generation: "e-1",
        )
    assert str(caught.value).endswith("upcasting shop-c1 generation 1, event e-1")


def test_a_version_with_neither_class_nor_upcaster_says_what_to_do() -> None:
    domain, _ = shop()
    with pytest.raises(UnreadableEvent) as caught:
        fold(domain, "shop-c1", rows(("shop.ItemAdded", "1.0", '{"cart": "c1"}')))
    assert str(caught.value) == (
        "shop-c1 generation 1: domain 'shop' has no event type shop.ItemAdded v1.0 (it has "
        "v2.0): add an upcaster from it (@domain.upcaster) or keep its old class; see the "
        'README\'s "Changing a domain"'
    )


def test_the_current_version_is_the_highest_registered_not_the_last() -> None:
    domain, _ = shop(with_added_v1=True)  # 2.0 registered before 1.0
    assert domain.current_version("ItemAdded") == "2.0"
    assert domain.current_version("shop.ItemAdded") == "2.0"
    assert domain.current_version("Unknown") is None


@pytest.mark.parametrize(
    ("older", "newer"), [("1.0", "2.0"), ("1.9", "1.10"), ("2", "2.0.1"), ("9.0", "beta")]
)
def test_versions_are_ordered_as_dotted_numbers(older: str, newer: str) -> None:
    assert version_key(older) < version_key(newer)


@dataclass(frozen=True)
class Flat:
    name: str
    count: int
    flag: bool | None = None
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rich:
    when: datetime.datetime
    amount: decimal.Decimal
    kind: Literal["a", "b"] = "a"


@pytest.mark.parametrize(
    ("cls", "upcast"),
    [
        (Flat, {"name": "n", "count": 1}),
        (Flat, {"name": "n", "count": 1, "flag": True, "tags": ["x"]}),
        (Flat, {"name": "n", "count": True}),  # a bool is not an int
        (Flat, {"name": "n", "count": 1.0}),
        (Flat, {"name": "n", "count": 10**30}),
        (Flat, {"name": "n"}),
        (Flat, {"name": None, "count": 1}),
        (Flat, {"name": "n", "count": 1, "extra": 1}),
        (Flat, {"name": "n", "count": 1, "tags": "x"}),
        (Rich, {"when": "2026-01-31T09:30:00+01:00", "amount": "12.50"}),
        (Rich, {"when": "2026-01-31T09:30:00", "amount": "12.50"}),  # naive
        (Rich, {"when": "2026-01-31T09:30:00Z", "amount": "NaN"}),
        (Rich, {"when": "2026-01-31T09:30:00Z", "amount": 3, "kind": "c"}),
    ],
)
def test_the_typed_and_plain_upcast_decoders_give_one_verdict(
    cls: type, upcast: dict[str, Any]
) -> None:
    domain = Domain("lab", source="test://lab")
    domain.event(type="lab.Thing", version="2.0")(cls)
    domain.upcaster("lab.Thing", "1.0", to="2.0")(lambda data: dict(upcast))
    chain = domain.check_upcasters()["lab.Thing", "1.0"]
    verdicts = []
    for typed in (False, True):
        decoding = chain_decoder(chain, typed=typed)
        try:
            verdicts.append(("event", decoding.build("{}")))
        except UpcastFailed as e:
            assert e.field is not None
            verdicts.append(("refused", e.field.path))
    assert verdicts[0] == verdicts[1]
