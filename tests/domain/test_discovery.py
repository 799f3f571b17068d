"""Finding domains: installed entry points and folders."""

from __future__ import annotations

import textwrap
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from escli import Domain, DomainRegistry, load_domain
from escli.domain.discovery import installed_entry_points
from escli.errors import DomainError, InvalidInput, NotFound
from tests.conftest import Run

SHOP = textwrap.dedent(
    """
    from dataclasses import dataclass
    from escli import AggregateState, CommandRejected, Domain

    domain = Domain("shop", source="events://example/shop", stream_field="cart_id",
                    description="A cart.")

    @dataclass(frozen=True)
    class Cart(AggregateState):
        cart_id: str
        items: int = 0

    @domain.command
    @dataclass(frozen=True)
    class AddItem:
        cart_id: str
        quantity: int = 1

    @domain.event
    @dataclass(frozen=True)
    class ItemAdded:
        cart_id: str
        quantity: int

    @domain.aggregate
    class Shop:
        def initial_state(self, stream_id):
            return Cart(stream_id)

        def handle_command(self, state, command):
            if command.quantity > 10:
                raise CommandRejected("at most 10 at a time")
            return [ItemAdded(command.cart_id, command.quantity)]

        def apply_event(self, state, event):
            return state.evolve(items=state.items + event.quantity)
    """
)


def test_the_combat_sample_comes_through_the_entry_point_group() -> None:
    assert installed_entry_points("escli.domains")["combat"] == "escli_combat:domain"
    assert load_domain("combat").name == "combat"


@pytest.mark.parametrize("group", ["escli.domains", "console_scripts"])
def test_the_fast_entry_point_reader_agrees_with_importlib_metadata(group: str) -> None:
    expected: dict[str, str] = {}
    for ep in entry_points(group=group):
        expected.setdefault(ep.name, ep.value)
    assert installed_entry_points(group) == expected


def test_a_folder_of_domain_modules_is_loaded_by_file_name(tmp_path: Path) -> None:
    (tmp_path / "shop.py").write_text(SHOP)
    (tmp_path / "_private.py").write_text("raise SystemExit('must not be imported')")
    registry = DomainRegistry([tmp_path])
    assert registry.names() == ["combat", "shop"]
    shop = registry.get("shop")
    assert isinstance(shop, Domain)
    assert shop.commands["add-item"].cls.__name__ == "AddItem"


def test_a_package_folder_is_a_domain_module(tmp_path: Path) -> None:
    package = tmp_path / "shop"
    package.mkdir()
    (package / "__init__.py").write_text("from .model import domain\n")
    (package / "model.py").write_text(SHOP)
    assert load_domain("shop", [package]).name == "shop"
    assert load_domain("shop", [tmp_path]).name == "shop"


def test_the_repository_domains_folder_loads_combat(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[2]
    domain = load_domain("combat", [root / "domains"])
    assert domain.name == "combat"
    assert set(domain.commands) == {"spawn", "attack", "heal"}


def test_a_module_without_a_domain_is_a_helper_not_a_domain(tmp_path: Path) -> None:
    (tmp_path / "empty.py").write_text("x = 1\n")
    with pytest.raises(NotFound, match=r"empty.py has no `domain` \(a helper module"):
        load_domain("empty", [tmp_path])


def test_a_module_whose_domain_has_another_name_is_the_authors_error(tmp_path: Path) -> None:
    (tmp_path / "market.py").write_text(SHOP)
    with pytest.raises(DomainError, match=r"registered as .market. but its domain is .shop."):
        load_domain("market", [tmp_path])


def test_a_missing_domains_path_is_invalid(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match=r"neither a folder nor a \.py file"):
        DomainRegistry([tmp_path / "nowhere"])


def test_an_unknown_domain_lists_the_known_ones() -> None:
    with pytest.raises(NotFound, match=r"unknown domain 'shop' \(known: combat\)"):
        load_domain("shop")


def test_domains_from_a_folder_work_in_the_cli(escli: Run, tmp_path: Path) -> None:
    folder = tmp_path / "mydomains"
    folder.mkdir()
    (folder / "shop.py").write_text(SHOP)
    out = escli(
        "dispatch", "shop", "add-item", "cart1", "--quantity", "3", "--domains", str(folder)
    )
    assert out.exit_code == 0, out.stderr
    assert "  items    0 → 3\n" in out.stdout
    out = escli("dispatch", "shop", "add-item", "cart1", "11", "--domains", str(folder))
    assert (out.exit_code, out.stderr) == (5, "Error: at most 10 at a time\n")


def test_domains_from_the_environment_variable(
    escli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "envdomains"
    folder.mkdir()
    (folder / "shop.py").write_text(SHOP)
    monkeypatch.setenv("ESCLI_DOMAINS", str(folder))
    out = escli("domains")
    assert "shop    add-item" in out.stdout
    assert escli("dispatch", "shop", "add-item", "c9").exit_code == 0
