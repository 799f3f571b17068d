"""A view's rows are of one event store: a run, a read or a listing of a build made from
another store's events is refused (exit 15) with nothing written, on SQLite and PostgreSQL;
``--rebuild`` builds it from the store read; the store's own views and views kept
elsewhere are told apart whatever the URL's spelling."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from escli import dispatch, load_domain
from escli.app.projections import catch_up
from escli.app.view_status import query_rows, status
from escli.errors import ProjectionStale
from escli.stores.base import Store
from escli.stores.views import Views
from tests.app.test_projections import command, rows
from tests.conftest import open_store

combat = load_domain("combat")
roster = combat.projections["roster"]


@pytest.fixture(params=["sqlite", "postgres"])
def two(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Store, Store]]:
    """Two event stores of one kind, each able to keep views."""
    if request.param == "sqlite":
        yield (
            open_store(f"sqlite:///{tmp_path / 'x.db'}"),
            open_store(f"sqlite:///{tmp_path / 'y.db'}"),
        )
    else:
        new_url = request.getfixturevalue("postgres_schemas")
        yield open_store(new_url()), open_store(new_url())


def attack(store: Store, entity: str, damage: int, times: int) -> None:
    for _ in range(times):
        dispatch(combat, command("attack", entity, damage), store)


def test_views_of_one_store_are_refused_to_another_and_nothing_is_written(
    two: tuple[Store, Store],
) -> None:
    x, y = two
    assert isinstance(y, Views)
    attack(y, "troll", 1, 2)
    catch_up(roster, y, y)  # y's own view of its own events
    attack(x, "ogre", 5, 4)
    before = y.view_builds(roster.full_name), rows(roster, y)
    with pytest.raises(ProjectionStale) as refused:
        catch_up(roster, x, y)
    message = str(refused.value)
    assert f"its rows in {y.log_name} were built from the events of {y.log_name}" in message
    assert f"not of {x.log_name}; nothing was written" in message
    assert "another --views" in message and "escli project combat.roster --rebuild" in message
    assert (y.view_builds(roster.full_name), rows(roster, y)) == before
    for read in (
        lambda: query_rows(roster, x, y),
        lambda: query_rows(roster, x, y, keys=["combat-troll"]),
        lambda: status([roster], x, y),
    ):
        with pytest.raises(ProjectionStale, match="were built from the events of"):
            read()
    assert [s.state for s in status([roster], y, y)] == ["fresh"]  # y reads its own


def test_a_rebuild_builds_the_view_from_the_store_read_and_then_it_is_that_stores(
    two: tuple[Store, Store],
) -> None:
    x, y = two
    assert isinstance(y, Views)
    attack(y, "troll", 1, 2)
    catch_up(roster, y, y)
    attack(x, "ogre", 5, 4)
    rebuilt = catch_up(roster, x, y, rebuild=True)
    assert (rebuilt.rebuilt, rebuilt.events) == (True, 4)
    assert {k: r["blows_taken"] for k, r in rows(roster, y).items()} == {"combat-ogre": 4}
    [build] = y.view_builds(roster.full_name)
    assert build.source == x.log_name
    attack(x, "ogre", 5, 1)
    assert catch_up(roster, x, y).events == 1  # x's view, kept in y, goes on
    assert [r["blows_taken"] for _, r in query_rows(roster, x, y)] == [5]
    with pytest.raises(ProjectionStale, match=re.escape(f"built from the events of {x.log_name}")):
        catch_up(roster, y, y)  # and y's own events are no longer what it holds


def test_views_named_by_another_spelling_of_the_store_are_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    store = open_store("sqlite:///e.db")
    attack(store, "ogre", 5, 2)
    catch_up(roster, store, store)
    same = open_store(f"sqlite:///{tmp_path / 'e.db'}")  # as --views names it
    assert isinstance(same, Views)
    attack(store, "ogre", 5, 1)
    assert catch_up(roster, store, same).events == 1
    assert [b.source for b in same.view_builds(roster.full_name)] == [""]
    read_only = open_store(f"sqlite:///{tmp_path / 'e.db'}?mode=ro")
    assert [s.state for s in status([roster], read_only, same)] == ["fresh"]
