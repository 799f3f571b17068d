"""The projection commands on a small shop domain of the test's own (the README's, with
projections): a row no store can keep is the projection's failure, wherever it is run;
``view`` shows a stale view's rows alike with and without ``--key``, refuses a sort by a
field no row has, and hints at a run only for a view never built; ``--views memory:`` is
refused; ``project --rebuild --stream`` needs a stream the store holds."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import Outcome, Run, open_store

SHOP = '''
from dataclasses import dataclass
from escli import AggregateState, CommandRejected, Domain

domain = Domain("shop", source="events://example/shop", stream_field="cart_id")

@dataclass(frozen=True)
class Cart(AggregateState):
    cart_id: str
    items: int = 0

@domain.command
@dataclass(frozen=True)
class AddItem:
    cart_id: str
    quantity: int

@domain.event(version="1.0")
@dataclass(frozen=True)
class ItemAdded:
    cart_id: str
    quantity: int

@domain.aggregate
class Shop:
    def initial_state(self, stream_id): return Cart(stream_id)
    def handle_command(self, state, command):
        if command.quantity <= 0:
            raise CommandRejected("quantity must be positive")
        return [ItemAdded(command.cart_id, command.quantity)]
    def apply_event(self, state, event):
        return state.evolve(items=state.items + event.quantity)

@domain.projection("carts")
def carts(row, event: ItemAdded, meta):
    """Items per cart; a cart given 99 items is dropped."""
    if event.quantity == 99:
        return None
    return {"items": (row or {"items": 0})["items"] + event.quantity}

@domain.projection("p")
def p(row, event: ItemAdded, meta):
    return {"x": "\\ud800"}

@domain.projection("by_name", key=lambda event, meta: "\\ud800" if event.quantity == 7 else "k")
def by_name(row, event: ItemAdded, meta):
    return {"n": 1}
'''


@pytest.fixture
def shop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The shop domain, found through ESCLI_DOMAINS; its module file is returned."""
    folder = tmp_path / "domains"
    folder.mkdir()
    module = folder / "shop.py"
    module.write_text(SHOP)
    monkeypatch.setenv("ESCLI_DOMAINS", str(folder))
    monkeypatch.setenv("ESCLI_NO_PROJECT", "1")
    return module


def lone_surrogate_refused(out: Outcome, module: Path, name: str) -> None:
    assert out.exit_code == 11, out.stderr
    assert out.stderr.startswith(f"Error: {module}:")
    assert (
        f"projection {name} returned a row whose field at /x contains a lone surrogate U+D800 "
        "at index 0, which UTF-8 cannot encode: '\\ud800'\n" in out.stderr
    )
    assert out.stderr.count("\n") == 1  # one line: no traceback


@pytest.fixture(params=["sqlite", "postgres"])
def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'shop.db'}"
    schemas: Callable[[], str] = request.getfixturevalue("postgres_schemas")
    return schemas()


def test_a_row_no_store_can_keep_is_the_projections_failure_and_writes_nothing(
    escli: Run, shop: Path, any_store: str
) -> None:
    assert escli("dispatch", "shop", "add-item", "c1", "1", "--store", any_store).exit_code == 0
    lone_surrogate_refused(escli("project", "shop.p", "--store", any_store), shop, "p")
    inline = escli(
        "dispatch", "shop", "add-item", "c1", "1", "--project", "shop.p", "--store", any_store
    )
    lone_surrogate_refused(inline, shop, "p")
    store = open_store(any_store)
    assert store.generation("shop-c1") == 1  # the dispatch wrote nothing either
    [build] = store.view_builds("shop.p")  # type: ignore[attr-defined]
    assert (build.position, store.count_rows("shop.p", build.build)) == (0, 0)  # type: ignore[attr-defined]


def test_a_key_no_store_can_keep_is_the_projections_failure(escli: Run, shop: Path) -> None:
    assert escli("dispatch", "shop", "add-item", "c1", "7").exit_code == 0
    out = escli("project", "shop.by_name")
    assert out.exit_code == 11
    assert "projection by_name key gave '\\ud800'" in out.stderr
    assert "a lone surrogate U+D800" in out.stderr
    assert out.stderr.count("\n") == 1


def test_a_scenario_whose_row_no_store_can_keep_fails_without_a_traceback(
    escli: Run, shop: Path, tmp_path: Path
) -> None:
    (tmp_path / "p.yaml").write_text(
        "domain: shop\n"
        "scenarios:\n"
        "  - name: a cart's row\n"
        "    project: p\n"
        "    given:\n"
        "      - stream: shop-c1\n"
        "        type: ItemAdded\n"
        "        data: {cart_id: c1, quantity: 1}\n"
        "    then_rows:\n"
        "      shop-c1: {x: 1}\n"
    )
    lone_surrogate_refused(escli("test", str(tmp_path / "p.yaml")), shop, "p")


def carts(escli: Run, *options: str) -> dict[str, object]:
    out = escli("view", "shop.carts", "--json", *options)
    assert out.exit_code == 0, out.stderr
    return {r["key"]: r["row"] for r in json.loads(out.stdout)}


def test_a_stale_view_is_shown_alike_with_and_without_key(
    escli: Run, shop: Path, store_url: str
) -> None:
    for cart in ("c1", "c2"):
        assert escli("dispatch", "shop", "add-item", cart, "2").exit_code == 0
    assert escli("project", "shop.carts").exit_code == 0
    shop.write_text(SHOP.replace('"items": 0', '"items": 100'))  # the code changed
    assert escli("project", "shop.carts").exit_code == 15
    every = escli("view", "shop.carts")
    one = escli("view", "shop.carts", "--key", "shop-c1")
    assert (one.exit_code, one.stderr) == (every.exit_code, every.stderr) == (0, "")
    assert one.stdout.splitlines() == every.stdout.splitlines()[:2]
    assert carts(escli, "--key", "shop-c1") == {"shop-c1": {"items": 2}}


@pytest.mark.parametrize("command", [["project", "shop.carts"], ["view", "shop.carts"]])
def test_views_in_memory_are_refused_as_a_memory_target_is(
    escli: Run, shop: Path, command: list[str]
) -> None:
    assert escli("dispatch", "shop", "add-item", "c1", "2").exit_code == 0
    out = escli(*command, "--views", "memory:")
    assert (out.exit_code, out.stdout, out.stderr) == (
        4,
        "",
        "Error: memory: cannot be a --views store: it is gone when the command ends (--views)\n",
    )
    assert carts(escli) == {}  # nothing was projected anywhere


def test_views_in_memory_in_the_project_file_are_refused(
    escli: Run, shop: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ESCLI_NO_PROJECT")
    (tmp_path / "escli.toml").write_text('views = "memory:"\n')
    monkeypatch.chdir(tmp_path)
    assert escli("dispatch", "shop", "add-item", "c1", "2").exit_code == 0
    out = escli("project", "shop.carts")
    assert (out.exit_code, out.stderr) == (
        4,
        "Error: memory: cannot be a --views store: it is gone when the command ends "
        f"(the views of {tmp_path / 'escli.toml'}:1)\n",
    )


def test_a_sort_by_a_field_no_row_has_is_a_usage_error_naming_the_fields(
    escli: Run, shop: Path
) -> None:
    for cart, quantity in (("c1", "2"), ("c2", "5")):
        assert escli("dispatch", "shop", "add-item", cart, quantity).exit_code == 0
    assert escli("project", "shop.carts").exit_code == 0
    for sort in ("nosuch", "-nosuch"):
        out = escli("view", "shop.carts", "--sort", sort)
        assert (out.exit_code, out.stdout, out.stderr) == (
            2,
            "",
            f"Error: --sort {sort!r}: no row shown has the field 'nosuch' (their fields: items)\n",
        )
    assert list(carts(escli, "--sort", "-items")) == ["shop-c2", "shop-c1"]
    # No row to sort: nothing to say about their fields.
    assert carts(escli, "--where", "items>9", "--sort", "nosuch") == {}


def test_rebuilding_the_row_of_a_stream_the_store_lacks_is_not_found_as_in_replay(
    escli: Run, shop: Path
) -> None:
    for cart, quantity in (("alice", "2"), ("bob", "99")):  # bob's row is deleted
        assert escli("dispatch", "shop", "add-item", cart, quantity).exit_code == 0
    assert escli("project", "shop.carts").exit_code == 0
    out = escli("project", "shop.carts", "--rebuild", "--stream", "shop-alise")
    assert (out.exit_code, out.stdout, out.stderr) == (
        3,
        "",
        "Error: stream 'shop-alise' is not in the store; did you mean 'shop-alice'?\n",
    )
    assert escli("replay", "shop-alise").stderr == out.stderr
    deleted = escli("project", "shop.carts", "--rebuild", "--stream", "shop-bob")
    assert (deleted.exit_code, deleted.stdout) == (
        0,
        "shop.carts  1 event processed, checkpoint 2\n",
    )
    assert carts(escli) == {"shop-alice": {"items": 2}}


def test_no_rows_hints_at_a_run_only_for_a_view_never_built(escli: Run, shop: Path) -> None:
    assert escli("dispatch", "shop", "add-item", "c1", "99").exit_code == 0  # no row for c1
    never = escli("view", "shop.carts")
    assert (never.exit_code, never.stdout, never.stderr) == (
        0,
        "",
        "shop.carts: no rows (run escli project shop.carts)\n",
    )
    assert escli("view", "shop.carts", "--key", "shop-c1").stderr == never.stderr
    assert escli("project", "shop.carts").exit_code == 0
    built = escli("view", "shop.carts")
    assert (built.exit_code, built.stdout, built.stderr) == (
        0,
        "",
        "shop.carts: no rows (checkpoint 1)\n",
    )
    assert escli("view", "shop.carts", "--where", "items=1").stderr == built.stderr
    assert escli("view", "shop.carts", "--json").stdout == "[]\n"
