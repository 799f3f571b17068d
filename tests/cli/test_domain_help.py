"""Help that teaches a domain: its commands, a command's fields, defaults and an example
that runs, the closest name for a typo, and lines that fit the terminal."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest

from tests.conftest import Run

SHOP = '''\
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import Enum

from escli import AggregateState, Domain

domain = Domain("shop", source="events://example/shop", stream_field="cart_id",
                description="Carts that fill up.")


class Colour(Enum):
    RED = "red"
    BLUE = "blue"


@dataclass(frozen=True)
class Cart(AggregateState):
    cart_id: str
    items: int = 0


@domain.command
@dataclass(frozen=True)
class AddItem:
    """Put QUANTITY of an item in a cart.

    The cart is made by its first item.
    """

    cart_id: str
    quantity: int
    price: Decimal
    colour: Colour
    delivery: date
    tags: list[str] = field(default_factory=list)
    gift: bool = False


@domain.command
@dataclass(frozen=True)
class Empty:
    cart_id: str


@domain.event(version="3.1")
@dataclass(frozen=True)
class ItemAdded:
    """An item went into a cart."""

    cart_id: str
    quantity: int
    note: str = "none"


@domain.aggregate
class Shop:
    def initial_state(self, stream_id):
        return Cart(stream_id)

    def handle_command(self, state, command):
        return [ItemAdded(command.cart_id, getattr(command, "quantity", 0))]

    def apply_event(self, state, event):
        return state.evolve(items=state.items + event.quantity)
'''


@pytest.fixture
def shop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "domains"
    folder.mkdir()
    (folder / "shop.py").write_text(SHOP)
    monkeypatch.setenv("ESCLI_DOMAINS", str(folder))
    return folder


def test_dispatch_domain_help_lists_its_commands_with_their_docstrings(
    escli: Run, shop: Path
) -> None:
    out = escli("dispatch", "shop", "--help")
    assert out.exit_code == 0
    assert out.stdout == (
        "Usage: escli dispatch shop COMMAND [ARGS]... [OPTIONS]\n"
        "\n"
        "  Carts that fill up.\n"
        "\n"
        "Commands:\n"
        "  add-item CART_ID QUANTITY PRICE COLOUR DELIVERY [TAGS] [GIFT]  Put QUANTITY of an "
        "item in a cart.\n"
        "  empty CART_ID\n"
        "\n"
        "'escli dispatch shop COMMAND --help' shows a command's fields.\n"
    )


def test_dispatch_command_help_shows_fields_types_defaults_the_stream_and_an_example(
    escli: Run, shop: Path
) -> None:
    out = escli("dispatch", "shop", "add-item", "-h")
    assert out.exit_code == 0
    assert out.stdout == (
        "Usage: escli dispatch shop add-item CART_ID QUANTITY PRICE COLOUR DELIVERY [TAGS] "
        "[GIFT] [OPTIONS]\n"
        "\n"
        "  Put QUANTITY of an item in a cart.\n"
        "\n"
        "  The cart is made by its first item.\n"
        "\n"
        "Fields (in order, or by name as --field value):\n"
        "  CART_ID   --cart-id   str      the stream: shop-CART_ID\n"
        "  QUANTITY  --quantity  int\n"
        "  PRICE     --price     Decimal\n"
        "  COLOUR    --colour    Colour\n"
        "  DELIVERY  --delivery  date\n"
        "  TAGS      --tags      list     default: []\n"
        "  GIFT      --gift      bool     default: false\n"
        "\n"
        "Example:\n"
        "  escli dispatch shop add-item cart-1 1 9.99 red 2026-01-01\n"
    )


@pytest.mark.parametrize("command", ["add-item", "empty"])
def test_the_example_line_runs_as_it_is(escli: Run, shop: Path, command: str) -> None:
    help_text = escli("dispatch", "shop", command, "--help").stdout
    example = help_text.split("Example:\n")[1].strip()
    words = shlex.split(example)[1:]  # without "escli"
    assert escli(*words).exit_code == 0


def test_help_after_options_and_field_values_is_still_the_commands(
    escli: Run, shop: Path, tmp_path: Path
) -> None:
    out = escli("dispatch", "--dry-run", "shop", "add-item", "c1", "--quantity", "2", "--help")
    assert out.stdout.startswith("Usage: escli dispatch shop add-item CART_ID")


def test_help_of_an_unknown_domain_or_command_is_the_not_found_error(
    escli: Run, shop: Path
) -> None:
    domain = escli("dispatch", "shopp", "--help")
    assert (domain.exit_code, domain.stdout) == (3, "")
    assert "unknown domain 'shopp'" in domain.stderr and "did you mean 'shop'?" in domain.stderr
    command = escli("dispatch", "shop", "add-iten", "--help")
    assert command.exit_code == 3
    assert command.stderr == (
        "Error: domain 'shop' has no command 'add-iten'; did you mean 'add-item'? "
        "(known: add-item, empty)\n"
    )


def test_dispatch_without_a_domain_keeps_clicks_help(escli: Run) -> None:
    out = escli("dispatch", "--help")
    assert out.exit_code == 0
    assert out.stdout.startswith("Usage: escli dispatch [OPTIONS] DOMAIN COMMAND ARGS...")


def test_a_missing_command_lists_the_domains_commands(escli: Run, shop: Path) -> None:
    out = escli("dispatch", "shop")
    assert (out.exit_code, out.stdout) == (2, "")
    assert out.stderr == (
        "Error: missing COMMAND for domain 'shop' (its commands: add-item, empty; "
        "see 'escli dispatch shop --help')\n"
    )


def test_domains_name_shows_defaults_docstrings_and_versions(escli: Run, shop: Path) -> None:
    out = escli("domains", "shop")
    lines = out.stdout.splitlines()
    add_item = next(line for line in lines if line.strip().startswith("add-item"))
    assert "tags: list = [], gift: bool = false" in add_item
    assert add_item.endswith("Put QUANTITY of an item in a cart.")
    empty = next(line for line in lines if line.strip().startswith("empty"))
    assert empty.endswith("(stream: cart_id)")  # no docstring: nothing after
    event = next(line for line in lines if "shop.ItemAdded" in line)
    assert re.search(r"v3\.1\s+cart_id: str, quantity: int, note: str = \"none\"", event)
    assert event.endswith("An item went into a cart.")
    data = json.loads(escli("domains", "shop", "--json").stdout)
    assert data["commands"][0]["defaults"] == {"tags": "[]", "gift": "false"}
    assert data["commands"][1]["doc"] == ""
    assert data["events"][0]["doc"] == "An item went into a cart."


def test_on_a_terminal_lines_are_wrapped_by_rich_at_its_width(
    escli: Run, shop: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "60")
    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    monkeypatch.setenv("FORCE_COLOR", "1")
    out = escli("domains", "shop")
    plain = re.sub(r"\x1b\[[0-9;]*m", "", out.stdout)
    assert max(len(line) for line in plain.splitlines()) <= 60
    assert "Put QUANTITY of an item" in plain.replace("\n", " ").replace("  ", " ")
    # Into a pipe, a line stays one line: the same command, no terminal.
    monkeypatch.delenv("FORCE_COLOR")
    monkeypatch.delenv("TTY_COMPATIBLE")
    piped = escli("domains", "shop").stdout
    assert max(len(line) for line in piped.splitlines()) > 60


def test_help_as_an_options_value_is_the_value(escli: Run, shop: Path) -> None:
    # -h after a field option is that field's value, not a request for help.
    out = escli("dispatch", "combat", "attack", "ogre", "1", "--weapon", "-h")
    assert out.exit_code == 0, out.stderr
    assert '"weapon": "-h"' in out.stdout
    after_flag = escli("dispatch", "--dry-run", "combat", "attack", "--help")
    assert after_flag.stdout.startswith("Usage: escli dispatch combat attack ENTITY_ID")
    after_dashes = escli("dispatch", "combat", "attack", "ogre", "1", "--", "-h")
    assert after_dashes.exit_code == 0, after_dashes.stderr
    assert '"weapon": "-h"' in after_dashes.stdout
    last = escli("dispatch", "--help").stdout.splitlines()[-1]
    assert last.split() == ["-h,", "--help", "Show", "this", "message", "and", "exit."]
