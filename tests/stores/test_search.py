"""Search on every store (``contract_search.SearchContract``, one class a store, kept here
rather than on each store's contract class so that search stands on its own), and stream
globs (``escli.stores.search.parse_glob``): matched as the shell has them, and a bracket
never closed refused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from escli.errors import InvalidInput
from escli.stores.base import Store
from escli.stores.memory import MemoryStore
from escli.stores.namespaced import NamespacedStore
from escli.stores.search import parse_glob
from tests.conftest import needs_esdb_client
from tests.stores.contract_search import SearchContract


class TestMemorySearch(SearchContract):
    @pytest.fixture
    def store(self) -> Store:
        return MemoryStore()


class TestNamespacedSearch(SearchContract):
    @pytest.fixture
    def store(self) -> Store:
        return NamespacedStore(MemoryStore(), "escli-test.t1.")


class TestSQLiteSearch(SearchContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[Store]:
        from escli.stores.sqlite import SQLiteStore

        with SQLiteStore(f"sqlite:///{tmp_path / 'events.db'}") as store:
            yield store


class TestPostgresSearch(SearchContract):
    @pytest.fixture
    def store(self, postgres_url: str) -> Iterator[Store]:
        from escli.stores.postgres import PostgresStore

        with PostgresStore(postgres_url) as store:
            yield store


@needs_esdb_client
class TestEventStoreDBSearch(SearchContract):
    @pytest.fixture
    def store(self, esdb_url: str) -> Iterator[Store]:
        from escli.stores.eventstoredb import EventStoreDBStore

        with EventStoreDBStore(esdb_url) as store:
            yield store


def test_a_bracket_never_closed_is_invalid_input_naming_where() -> None:
    with pytest.raises(InvalidInput, match=r"the \[ at character 8 is never closed"):
        parse_glob("combat-[o")


@pytest.mark.parametrize("pattern", ["b[9-0]", "b[1--]", "b[a-\\]", "b[!z-a]", "b[a-cz-a]"])
def test_a_range_that_runs_backwards_is_invalid_input_not_a_regex_error(pattern: str) -> None:
    with pytest.raises(InvalidInput, match="runs backwards"):
        parse_glob(pattern)


@pytest.mark.parametrize("pattern", ["b[a-c-e]", "b[--0]", "b[a-]", "b[]-a]", "b[-]", "b[!-]"])
def test_a_range_in_order_or_a_literal_dash_is_a_glob(pattern: str) -> None:
    assert not parse_glob(pattern).matches("nothing-like-it")


@pytest.mark.parametrize(
    ("pattern", "name", "matches"),
    [
        ("combat-*", "combat-ogre", True),
        ("combat-*", "combat", False),
        ("*ogre", "combat-ogre", True),
        ("c?mbat-ogre", "combat-ogre", True),
        ("combat-[]x]gre", "combat-]gre", True),
        ("combat-[!a-n]gre", "combat-ogre", True),
        ("combat-[!a-z]gre", "combat-ogre", False),
        ("combat-[*]", "combat-*", True),
        ("combat-[*]", "combat-x", False),
        ("a.b", "aXb", False),  # regex characters are themselves
        ("a%_\\", "a%_\\", True),
    ],
)
def test_globs_match_as_the_shell_has_them(pattern: str, name: str, matches: bool) -> None:
    assert parse_glob(pattern).matches(name) is matches
