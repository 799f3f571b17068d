"""`escli versions`: which event versions a store holds and how each domain reads them; and
the upcasters `escli domains NAME` shows. A small shop domain is written into a domains
folder (the combat sample is left alone: its own tests follow its evolution)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from escli.stores.base import NewEvent, new_event_id
from tests.conftest import Run, open_store

SHOP = """
from dataclasses import dataclass
from typing import Any

from escli import AggregateState, Domain

domain = Domain("shop", source="test://shop", stream_field="cart")


@domain.event(version="2.0")
@dataclass(frozen=True)
class ItemAdded:
    cart: str
    quantity: int
    note: str


@domain.event(type="shop.ItemAdded", version="1.5")
@dataclass(frozen=True)
class ItemAddedV15:
    cart: str
    quantity: int
    note: str


@domain.upcaster("ItemAdded", "1.0", to="2.0")
def add_note(data: dict[str, Any]) -> dict[str, Any]:
    return {**data, "note": "none"}


@domain.upcaster("ItemAdded", "0.9", to="1.0")
def name_quantity(data: dict[str, Any]) -> dict[str, Any]:
    return {"cart": data["cart"], "quantity": data["qty"]}


@domain.upcaster("ProductPut", "1.0", to=("ItemAdded", "1.0"))
def renamed(data: dict[str, Any]) -> dict[str, Any]:
    return {"cart": data["cart"], "quantity": data["count"]}


@dataclass(frozen=True)
class Cart(AggregateState):
    items: int = 0


@domain.aggregate
class Shop:
    def initial_state(self, stream_id: str) -> Cart:
        return Cart()

    def handle_command(self, state: Cart, command: Any) -> list[Any]:
        return []

    def apply_event(self, state: Cart, event: Any) -> Cart:
        return state.evolve(items=state.items + event.quantity)
"""


@pytest.fixture
def shop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "domains"
    folder.mkdir()
    (folder / "shop.py").write_text(SHOP)
    monkeypatch.setenv("ESCLI_DOMAINS", str(folder))
    return folder


def write(store_url: str, stream: str, *events: tuple[str, str, dict[str, object]]) -> None:
    """Events appended raw, at whatever type and version they say (no domain checks them)."""
    store = open_store(store_url)
    new = [NewEvent(t, v, "test://shop", data, new_event_id()) for t, v, data in events]
    store.append(stream, new, store.generation(stream))


def added(version: str, **data: object) -> tuple[str, str, dict[str, object]]:
    return ("shop.ItemAdded", version, {"cart": "c1", "quantity": 1, **data})


@pytest.fixture
def stored(store_url: str, shop: Path) -> None:
    """1.0 twice (upcast), 1.5 once (a kept class), 2.0 three times (current), 9.0 once
    (unknown), a renamed ProductPut once, and two events of a domain escli does not know."""
    write(store_url, "shop-c1", added("1.0"), added("1.5", note="a"), added("2.0", note="b"))
    write(store_url, "shop-c2", added("1.0"), added("2.0", note="c"), added("2.0", note="d"))
    write(store_url, "shop-c3", ("shop.ProductPut", "1.0", {"cart": "c3", "count": 2}))
    write(store_url, "shop-c4", added("9.0"))
    write(store_url, "ghost-1", ("ghost.Thing", "1.0", {}), ("ghost.Thing", "1.0", {}))


TABLE = (
    "domain  type             version  events  status   read through\n"
    "ghost   ghost.Thing      v1.0          2  unknown  no domain 'ghost'\n"
    "shop    shop.ItemAdded   v0.9          0  unused   name_quantity → v1.0, add_note → v2.0\n"
    "shop    shop.ItemAdded   v1.0          2  upcast   add_note → v2.0\n"
    "shop    shop.ItemAdded   v1.5          1  kept\n"
    "shop    shop.ItemAdded   v2.0          3  current\n"
    "shop    shop.ItemAdded   v9.0          1  unknown\n"
    "shop    shop.ProductPut  v1.0          1  upcast   "
    "renamed → shop.ItemAdded v1.0, add_note → v2.0\n"
)


def test_versions_lists_each_stored_version_with_its_count_and_how_it_is_read(
    escli: Run, stored: None
) -> None:
    out = escli("versions", "shop", "ghost")
    assert (out.exit_code, out.stdout) == (0, TABLE)
    assert out.stderr == (
        "3 events cannot be read (unknown): replaying their streams fails; register an "
        "upcaster from each such version, or keep its class (--check makes this an error)\n"
        "1 upcaster is unused: no stored event needs it, it can be retired\n"
    )


def test_versions_with_no_domain_named_lists_every_domain_it_knows_or_the_store_names(
    escli: Run, stored: None
) -> None:
    out = escli("versions")
    assert out.exit_code == 0
    # combat (installed) is listed too: its store holds none of its events, so its one
    # upcaster is unused, and its type widens the column.
    assert out.stdout == (
        "domain  type                   version  events  status   read through\n"
        "combat  combat.EntityAttacked  v1.0          0  unused   add_weapon → v2.0\n"
        "ghost   ghost.Thing            v1.0          2  unknown  no domain 'ghost'\n"
        "shop    shop.ItemAdded         v0.9          0  unused   "
        "name_quantity → v1.0, add_note → v2.0\n"
        "shop    shop.ItemAdded         v1.0          2  upcast   add_note → v2.0\n"
        "shop    shop.ItemAdded         v1.5          1  kept\n"
        "shop    shop.ItemAdded         v2.0          3  current\n"
        "shop    shop.ItemAdded         v9.0          1  unknown\n"
        "shop    shop.ProductPut        v1.0          1  upcast   "
        "renamed → shop.ItemAdded v1.0, add_note → v2.0\n"
    )
    data = json.loads(escli("versions", "--json").stdout)
    assert [d["domain"] for d in data["domains"]] == ["combat", "ghost", "shop"]


def test_versions_json_is_one_object_of_the_documented_shape(
    escli: Run, stored: None, store_url: str
) -> None:
    out = escli("versions", "shop", "ghost", "--json")
    assert (out.exit_code, out.stderr) == (0, "")
    data = json.loads(out.stdout)
    step = {
        "function": "add_note",
        "from": {"type": "shop.ItemAdded", "version": "1.0"},
        "to": {"type": "shop.ItemAdded", "version": "2.0"},
    }
    rename = {
        "function": "renamed",
        "from": {"type": "shop.ProductPut", "version": "1.0"},
        "to": {"type": "shop.ItemAdded", "version": "1.0"},
    }
    first = {
        "function": "name_quantity",
        "from": {"type": "shop.ItemAdded", "version": "0.9"},
        "to": {"type": "shop.ItemAdded", "version": "1.0"},
    }

    def row(t: str, v: str, n: int, status: str, *upcasters: object) -> dict[str, object]:
        return {"type": t, "version": v, "events": n, "status": status, "upcasters": [*upcasters]}

    assert data == {
        "store": store_url,
        "domains": [
            {
                "domain": "ghost",
                "known": False,
                "versions": [row("ghost.Thing", "1.0", 2, "unknown")],
            },
            {
                "domain": "shop",
                "known": True,
                "versions": [
                    row("shop.ItemAdded", "0.9", 0, "unused", first, step),
                    row("shop.ItemAdded", "1.0", 2, "upcast", step),
                    row("shop.ItemAdded", "1.5", 1, "kept"),
                    row("shop.ItemAdded", "2.0", 3, "current"),
                    row("shop.ItemAdded", "9.0", 1, "unknown"),
                    row("shop.ProductPut", "1.0", 1, "upcast", rename, step),
                ],
            },
        ],
        "unknown_events": 3,
        "unused_upcasters": 1,
    }


def test_check_fails_with_exit_11_naming_every_unreadable_version(escli: Run, stored: None) -> None:
    out = escli("versions", "shop", "ghost", "--check")
    assert (out.exit_code, out.stdout) == (11, TABLE)
    assert out.stderr == (
        "1 upcaster is unused: no stored event needs it, it can be retired\n"
        "Error: 3 stored events have no class and no upcaster: ghost.Thing v1.0 (2) "
        "(no domain 'ghost'), shop.ItemAdded v9.0 (1); see the README's \"Changing a domain\"\n"
    )
    out = escli("versions", "ghost", "--check", "--json")
    assert out.exit_code == 11
    assert json.loads(out.stdout)["unknown_events"] == 2
    assert json.loads(out.stderr)["exit_code"] == 11


def test_check_passes_when_every_stored_version_is_readable(
    escli: Run, store_url: str, shop: Path
) -> None:
    # Only the renamed ProductPut is stored: its chain goes through ItemAdded v1.0, so
    # add_note is in use though no event is stored at v1.0; name_quantity is not.
    write(store_url, "shop-c3", ("shop.ProductPut", "1.0", {"cart": "c3", "count": 2}))
    out = escli("versions", "shop", "--check")
    assert (out.exit_code, out.stdout) == (
        0,
        "domain  type             version  events  status  read through\n"
        "shop    shop.ItemAdded   v0.9          0  unused  name_quantity → v1.0, add_note → v2.0\n"
        "shop    shop.ProductPut  v1.0          1  upcast  "
        "renamed → shop.ItemAdded v1.0, add_note → v2.0\n",
    )
    assert out.stderr == "1 upcaster is unused: no stored event needs it, it can be retired\n"


def test_a_domain_named_that_is_neither_known_nor_stored_is_not_found(
    escli: Run, stored: None
) -> None:
    out = escli("versions", "shop", "nowhere")
    assert (out.exit_code, out.stdout) == (3, "")
    assert out.stderr.startswith("Error: unknown domain 'nowhere' (known: ")


def test_an_empty_store_lists_only_the_upcasters_all_unused(
    escli: Run, store_url: str, shop: Path
) -> None:
    (shop / "bare.py").write_text(
        "from escli import Domain\ndomain = Domain('bare', source='t:b')\n"
    )
    out = escli("versions", "shop", "bare")
    assert (out.exit_code, out.stdout) == (
        0,
        "domain  type             version  events  status  read through\n"
        "shop    shop.ItemAdded   v0.9          0  unused  name_quantity → v1.0, add_note → v2.0\n"
        "shop    shop.ItemAdded   v1.0          0  unused  add_note → v2.0\n"
        "shop    shop.ProductPut  v1.0          0  unused  "
        "renamed → shop.ItemAdded v1.0, add_note → v2.0\n",
    )
    assert out.stderr == (
        "3 upcasters are unused: no stored event needs them, they can be retired\n"
    )
    out = escli("versions", "bare")
    assert (out.exit_code, out.stdout, out.stderr) == (0, "", f"no events in {store_url}\n")
    assert json.loads(escli("versions", "bare", "--json").stdout) == {
        "store": store_url,
        "domains": [{"domain": "bare", "known": True, "versions": []}],
        "unknown_events": 0,
        "unused_upcasters": 0,
    }
    assert not Path(store_url.removeprefix("sqlite:///")).exists()  # reading made no file


def test_a_domain_that_fails_to_load_is_left_out_and_its_error_follows(
    escli: Run, stored: None, shop: Path
) -> None:
    (shop / "broken.py").write_text("raise RuntimeError('half written')\n")
    out = escli("versions")
    assert out.exit_code == 11
    assert "shop    shop.ItemAdded         v2.0          3  current\n" in out.stdout
    assert "broken" not in out.stdout
    assert "\nError: " in out.stderr
    assert "broken.py:1: domain 'broken' does not import: RuntimeError: half written" in out.stderr
    out = escli("versions", "--json")
    assert (out.exit_code, out.stdout) == (11, "")


def test_domains_shows_the_current_versions_and_the_upcasters(escli: Run, shop: Path) -> None:
    out = escli("domains", "shop")
    assert out.exit_code == 0
    assert out.stdout == (
        "shop\n"
        "source  test://shop\n"
        "commands\n"
        "\n"
        "events\n"
        "  shop.ItemAdded  v2.0  cart: str, quantity: int, note: str\n"
        "  shop.ItemAdded  v1.5  cart: str, quantity: int, note: str  (older: v2.0 is current)\n"
        "upcasters\n"
        "  shop.ItemAdded   v0.9  → v1.0                 name_quantity\n"
        "  shop.ItemAdded   v1.0  → v2.0                 add_note\n"
        "  shop.ProductPut  v1.0  → shop.ItemAdded v1.0  renamed\n"
        "state (Cart)\n"
        "  generation: int, items: int\n"
    )
    data = json.loads(escli("domains", "shop", "--json").stdout)
    assert [(e["version"], e["current"]) for e in data["events"]] == [("2.0", True), ("1.5", False)]
    assert data["upcasters"][2] == {
        "type": "shop.ProductPut",
        "version": "1.0",
        "to": {"type": "shop.ItemAdded", "version": "1.0"},
        "function": "renamed",
    }
