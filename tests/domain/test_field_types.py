"""The field types a domain may use: Decimal, datetime, date, UUID, lists, dicts, nested
dataclasses. Each goes through the command line, YAML scripts, stores and replay; a bad value
is one line naming the field; a type escli cannot store stops the domain loading."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from escli.errors import InvalidInput
from tests.conftest import Run

SHOP = """\
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from uuid import UUID

from escli import AggregateState, Domain

domain = Domain("shop", source="events://test/shop", stream_field="cart_id")


class Size(Enum):
    S = "s"
    L = "l"


@dataclass(frozen=True)
class Line:
    sku: str
    qty: int


@domain.command
@dataclass(frozen=True)
class AddItems:
    cart_id: str
    items: list[str]


@domain.command
@dataclass(frozen=True)
class Checkout:
    cart_id: str
    total: Decimal
    at: datetime
    due: date
    order_id: UUID
    size: Size = Size.S
    lines: list[Line] = field(default_factory=list)
    extras: dict[str, int] = field(default_factory=dict)
    note: str | None = None


@domain.event
@dataclass(frozen=True)
class ItemsAdded:
    cart_id: str
    items: list[str]


@domain.event
@dataclass(frozen=True)
class CheckedOut:
    cart_id: str
    total: Decimal
    at: datetime
    due: date
    order_id: UUID
    size: Size
    lines: list[Line]
    extras: dict[str, int]
    note: str | None


@dataclass(frozen=True)
class Cart(AggregateState):
    cart_id: str
    items: list = field(default_factory=list)
    info: dict = field(default_factory=dict)


@domain.aggregate
class Shop:
    def initial_state(self, stream_id):
        return Cart(stream_id)

    def handle_command(self, state, command):
        if isinstance(command, AddItems):
            return [ItemsAdded(command.cart_id, command.items)]
        c = command
        return [
            CheckedOut(
                c.cart_id, c.total, c.at, c.due, c.order_id, c.size, c.lines, c.extras, c.note
            )
        ]

    def apply_event(self, state, event):
        if isinstance(event, ItemsAdded):
            return state.evolve(items=[*state.items, *event.items])
        return state.evolve(
            info={"total": str(event.total), "at": event.at.isoformat(), "lines": len(event.lines)}
        )
"""

UUID_TEXT = "12345678-1234-5678-1234-567812345678"
GOOD = {
    "total": "12.50",
    "at": "2026-01-31T09:30:00+01:00",
    "due": "2026-02-01",
    "order_id": UUID_TEXT,
}


@pytest.fixture
def shop(tmp_path: Path) -> str:
    folder = tmp_path / "domains"
    folder.mkdir()
    (folder / "shop.py").write_text(SHOP)
    return str(folder)


def test_list_fields_are_given_on_the_command_line_as_json(escli: Run, shop: str) -> None:
    out = escli("dispatch", "shop", "add-items", "cart-1", '["a","b"]', "--domains", shop)
    assert out.exit_code == 0, out.stderr
    out = escli("dispatch", "shop", "add-items", "cart-1", '["c"]', "--json", "--domains", shop)
    assert json.loads(out.stdout)["state"]["after"]["items"] == ["a", "b", "c"]


def test_text_forms_and_json_values_round_trip_through_store_and_replay(
    escli: Run, shop: str
) -> None:
    words = [f"--{k.replace('_', '-')}={v}" for k, v in GOOD.items()]
    lines = '--lines=[{"sku": "x", "qty": 2}]'
    out = escli(
        "dispatch", "shop", "checkout", "cart-1", *words, lines, "--extras", '{"gift": 1}',
        "--json", "--domains", shop,
    )  # fmt: skip
    assert out.exit_code == 0, out.stderr
    data = json.loads(out.stdout)["events"][0]["data"]
    assert data == {
        "cart_id": "cart-1",
        "total": "12.50",
        "at": "2026-01-31T09:30:00+01:00",
        "due": "2026-02-01",
        "order_id": UUID_TEXT,
        "size": "s",
        "lines": [{"sku": "x", "qty": 2}],
        "extras": {"gift": 1},
        "note": None,
    }
    out = escli("replay", "shop-cart-1", "--json", "--domains", shop)
    assert out.exit_code == 0, out.stderr
    state = json.loads(out.stdout)["state"]
    assert state["info"] == {"total": "12.50", "at": "2026-01-31T09:30:00+01:00", "lines": 1}


# One table of bad values: each is given on the command line and in a YAML script, and each
# is refused in one line naming the command and the field, with nothing written. In YAML the
# value is what YAML reads (a list, a number, a string); where that reads differently from
# the command line's word, the YAML message is after a "|".
DEFECTS = [
    (
        "add-items",
        "items",
        "a,b",
        "expected a JSON list (like '[\"a\", \"b\"]'), got 'a,b'|expected a list, got 'a,b'",
    ),
    ("add-items", "items", "[1]", "items[0]: expected a string, got 1"),
    ("add-items", "items", '{"a": 1}', "expected a list, got {'a': 1}"),
    ("checkout", "total", "NaN", "expected a decimal number (like '12.50'), got 'NaN'"),
    ("checkout", "total", "12,50", "expected a decimal number (like '12.50'), got '12,50'"),
    ("checkout", "at", "2026-01-31T09:30:00", "escli does not store a naive datetime"),
    ("checkout", "at", "yesterday", "expected a date and time in RFC 3339"),
    ("checkout", "due", "31/01/2026", "expected a date (like '2026-01-31'), got '31/01/2026'"),
    ("checkout", "order_id", "12345", "expected a UUID, got '12345'|expected a UUID, got 12345"),
    ("checkout", "size", "xl", "expected one of 's', 'l', got 'xl'"),
    ("checkout", "lines", '[{"sku": "x"}]', "lines[0].qty: missing"),
    ("checkout", "lines", '[{"sku": "x", "qty": 1, "x": 0}]', "lines[0].x: not a field of Line"),
    ("checkout", "lines", '[{"sku": "x", "qty": true}]', "lines[0].qty: expected an integer"),
    ("checkout", "extras", '{"a": "1"}', "extras.a: expected an integer, got '1'"),
    ("checkout", "extras", '{"a": 1, "a": 2}', "expected a JSON object"),
]


def _command_words(command: str, field: str, value: str) -> list[str]:
    if command == "add-items":
        return ["add-items", "cart-1", f"--{field}", value]
    others = {k: v for k, v in GOOD.items() if k != field}
    return ["checkout", "cart-1", *(f"--{k.replace('_', '-')}={v}" for k, v in others.items()),
            f"--{field.replace('_', '-')}", value]  # fmt: skip


@pytest.mark.parametrize(("command", "field", "value", "message"), DEFECTS)
def test_a_bad_value_on_the_command_line_names_its_field(
    escli: Run, shop: str, command: str, field: str, value: str, message: str
) -> None:
    out = escli("dispatch", "shop", *_command_words(command, field, value), "--domains", shop)
    assert out.exit_code == InvalidInput.exit_code, out.stderr
    line = out.stderr.strip()
    assert "\n" not in line and line.startswith("Error: "), out.stderr
    assert f"{command} {field}" in line and message.split("|")[0] in line, line
    assert "Traceback" not in out.stderr
    assert escli("replay", "shop-cart-1", "--domains", shop).exit_code != 0  # nothing written


@pytest.mark.parametrize(("command", "field", "value", "message"), DEFECTS)
def test_a_bad_value_in_a_yaml_script_names_its_field(
    escli: Run, shop: str, tmp_path: Path, command: str, field: str, value: str, message: str
) -> None:
    args = {"cart_id": "cart-1"} if command == "add-items" else {"cart_id": "cart-1", **GOOD}
    # As a person writes it in YAML: a JSON value as YAML flow (a list, a mapping), a word
    # as a word.
    try:
        args[field] = json.loads(value)
    except ValueError:
        args[field] = value
    # A duplicate key is written as it is: YAML refuses it on its own.
    text_value = value if '"a": 1, "a": 2' in value else json.dumps(args[field])
    lines = [f"{k}: {json.dumps(v)}" for k, v in args.items() if k != field]
    script = tmp_path / "script.yaml"
    script.write_text(
        "domain: shop\nsteps:\n  - command: " + command + "\n    args:\n"
        + "".join(f"      {line}\n" for line in lines)
        + f"      {field}: {text_value}\n"
    )  # fmt: skip
    out = escli("run", str(script), "--domains", shop)
    assert out.exit_code != 0
    line = out.stderr.strip()
    assert "\n" not in line and line.startswith("Error: "), out.stderr
    assert "Traceback" not in out.stderr
    if '"a": 1, "a": 2' in value:
        assert "duplicate" in line or "found duplicate key" in line, line
    else:
        assert f"{command} {field}" in line and message.split("|")[-1] in line, line


def test_a_datetime_in_yaml_is_written_as_a_string(escli: Run, shop: str, tmp_path: Path) -> None:
    script = tmp_path / "script.yaml"
    script.write_text(
        "domain: shop\nsteps:\n  - command: checkout\n    args:\n      cart_id: cart-1\n"
        "      total: 12.50\n      at: '2026-01-31T09:30:00Z'\n      due: 2026-02-01\n"
        f"      order_id: {UUID_TEXT}\n      lines: [{{sku: x, qty: 2}}]\n"
    )
    out = escli("run", str(script), "--domains", shop)
    assert out.exit_code == 0, out.stderr
    out = escli("replay", "shop-cart-1", "--json", "--domains", shop)
    assert json.loads(out.stdout)["state"]["info"]["at"] == "2026-01-31T09:30:00+00:00"


UNSTORABLE = [
    ("tags: set[str]", "Bad.tags: escli cannot store fields of type set"),
    ("when: str | datetime", "Bad.when: escli cannot tell the options of str | datetime apart"),
    ("blob: bytes", "Bad.blob: escli cannot store fields of type bytes"),
    ("by_id: dict[int, str]", "Bad.by_id: escli cannot store fields of type dict"),
    ("inner: Inner", "Bad.inner: Inner.f: escli cannot store fields of type frozenset"),
]


@pytest.mark.parametrize(("field", "message"), UNSTORABLE)
def test_a_type_escli_cannot_store_stops_the_domain_loading(
    escli: Run, tmp_path: Path, field: str, message: str
) -> None:
    folder = tmp_path / "domains"
    folder.mkdir()
    text = SHOP.replace(
        "@domain.event\n@dataclass(frozen=True)\nclass ItemsAdded:",
        "@dataclass(frozen=True)\nclass Inner:\n    f: frozenset\n\n\n"
        f"@domain.event\n@dataclass(frozen=True)\nclass Bad:\n    cart_id: str\n    {field}\n\n\n"
        "@domain.event\n@dataclass(frozen=True)\nclass ItemsAdded:",
    )
    (folder / "shop.py").write_text(text)
    out = escli("domains", "--domains", str(folder))
    out = escli("dispatch", "shop", "add-items", "cart-1", "[]", "--domains", str(folder))
    assert out.exit_code != 0
    assert message in out.stderr, out.stderr
    assert escli("replay", "shop-cart-1", "--domains", str(folder)).exit_code != 0


def test_a_state_field_escli_cannot_store_stops_the_domain_loading(
    escli: Run, tmp_path: Path
) -> None:
    # The state class is the one initial_state is annotated to return: checked at load too,
    # so a dispatch never fails showing (or writing) such a state.
    folder = tmp_path / "domains"
    folder.mkdir()
    text = SHOP.replace(
        "    info: dict = field(default_factory=dict)\n",
        "    info: dict = field(default_factory=dict)\n"
        "    seen: set[str] = field(default_factory=set)\n",
    ).replace("def initial_state(self, stream_id):", "def initial_state(self, stream_id) -> Cart:")
    (folder / "shop.py").write_text(text)
    out = escli("dispatch", "shop", "add-items", "cart-1", "[]", "--domains", str(folder))
    assert out.exit_code != 0
    assert "Cart.seen: escli cannot store fields of type set" in out.stderr, out.stderr
    assert escli("streams", "--domains", str(folder)).stdout.count("shop-cart-1") == 0
