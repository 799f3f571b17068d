"""The projection commands: ``projections`` lists checkpoint, head, lag, rows and state;
``project`` catches up (and rebuilds, one stream or all, and refuses stale code); ``view``
shows, filters, sorts and limits rows; ``dispatch --project`` updates a view in the
dispatch's own transaction; an EventStoreDB store needs ``--views``."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Run, needs_esdb_client, open_store


def fight(escli: Run, *options: str) -> None:
    for words in (
        ["spawn", "wolf", "100"],
        ["attack", "wolf", "30"],
        ["spawn", "fox", "10"],
        ["attack", "fox", "10"],  # the fox dies: EntityAttacked, EntityDied
        ["attack", "ogre", "5"],  # the bestiary's ogre, never spawned
    ):
        assert escli("dispatch", "combat", *words, *options).exit_code == 0


def rows(escli: Run, *options: str) -> dict[str, dict[str, object]]:
    out = escli("view", "combat.roster", "--json", *options)
    assert out.exit_code == 0, out.stderr
    return {
        r["key"]: {k: v for k, v in r["row"].items() if k != "last_seen"}
        for r in json.loads(out.stdout)
    }


ROSTER = {
    "combat-fox": {
        "entity": "fox",
        "hitpoints": 0,
        "alive": False,
        "blows_taken": 1,
        "damage_taken": 10,
    },
    "combat-ogre": {
        "entity": "ogre",
        "hitpoints": 895,
        "alive": True,
        "blows_taken": 1,
        "damage_taken": 5,
    },
    "combat-wolf": {
        "entity": "wolf",
        "hitpoints": 70,
        "alive": True,
        "blows_taken": 1,
        "damage_taken": 30,
    },
}


def test_project_catches_up_and_says_how_far(escli: Run) -> None:
    fight(escli)
    before = json.loads(escli("projections", "--json").stdout)
    assert [
        (p["projection"], p["checkpoint"], p["head"], p["lag"], p["state"]) for p in before
    ] == [("combat.roster", 0, 6, 6, "new")]
    caught = escli("project", "combat.roster")
    assert (caught.exit_code, caught.stdout) == (
        0,
        "combat.roster  6 events processed, checkpoint 6\n",
    )
    assert rows(escli) == ROSTER
    again = json.loads(escli("project", "combat.roster", "--json").stdout)
    assert again == {
        "projection": "combat.roster",
        "events": 0,
        "scanned": 0,
        "checkpoint": 6,
        "build": 1,
        "rebuilt": False,
    }
    listed = escli("projections").stdout.splitlines()
    assert listed[0].split() == ["projection", "checkpoint", "head", "lag", "rows", "state"]
    assert listed[1].split() == ["combat.roster", "6", "6", "0", "3", "fresh"]


def test_incremental_catch_up_equals_a_rebuild(escli: Run) -> None:
    fight(escli)
    assert escli("project", "--all").exit_code == 0
    assert escli("dispatch", "combat", "heal", "wolf", "20").exit_code == 0
    assert escli("project", "--all").stdout == "combat.roster  1 event processed, checkpoint 7\n"
    incremental = rows(escli)
    rebuilt = escli("project", "combat.roster", "--rebuild", "--json")
    assert json.loads(rebuilt.stdout)["rebuilt"] is True
    assert rows(escli) == incremental
    assert incremental["combat-wolf"]["hitpoints"] == 90


def test_view_filters_sorts_and_limits(escli: Run) -> None:
    fight(escli)
    escli("project", "combat.roster")
    assert list(rows(escli, "--where", "alive=true")) == ["combat-ogre", "combat-wolf"]
    assert list(rows(escli, "--sort", "-damage_taken", "--limit", "2")) == [
        "combat-wolf",
        "combat-fox",
    ]
    assert list(rows(escli, "--where", "hitpoints>=70", "--where", "entity!=ogre")) == [
        "combat-wolf"
    ]
    assert rows(escli, "--key", "combat-fox") == {"combat-fox": ROSTER["combat-fox"]}
    assert rows(escli, "--key", "combat-nobody") == {}
    shown = escli("view", "combat.roster").stdout.splitlines()
    assert shown[0].split() == [
        "key",
        "entity",
        "hitpoints",
        "alive",
        "blows_taken",
        "damage_taken",
        "last_seen",
    ]
    assert shown[1].split()[:6] == ["combat-fox", "fox", "0", "false", "1", "10"]
    bad = escli("view", "combat.roster", "--where", "alive")
    assert bad.exit_code == 2 and "--where 'alive': expected FIELD=VALUE" in bad.stderr


def test_rebuild_one_stream(escli: Run, store_url: str) -> None:
    fight(escli)
    escli("project", "combat.roster")
    # As if a bug had left one row wrong: the row is made again from its stream alone.
    store = open_store(store_url)
    [live] = store.view_builds("combat.roster")  # type: ignore[attr-defined]
    store.write_view(  # type: ignore[attr-defined]
        "combat.roster", live.build, {"combat-wolf": '{"wrong": 1}'}, after=6, position=6, events=0
    )
    out = escli("project", "combat.roster", "--rebuild", "--stream", "combat-wolf")
    assert out.exit_code == 0, out.stderr
    assert rows(escli) == ROSTER
    refused = escli("project", "combat.roster", "--stream", "combat-wolf")
    assert refused.exit_code == 2 and "--stream needs --rebuild" in refused.stderr


def test_stale_code_is_refused_until_rebuilt(escli: Run, store_url: str) -> None:
    fight(escli)
    escli("project", "combat.roster")
    store = open_store(store_url)
    [live] = store.view_builds("combat.roster")  # type: ignore[attr-defined]
    import sqlite3

    # The fingerprint another version of the code would have left.
    with sqlite3.connect(store_url.removeprefix("sqlite:///")) as conn:
        conn.execute("UPDATE views SET fingerprint = 'older code'")
    conn.close()
    listed = escli("projections").stdout.splitlines()[1]
    assert listed.endswith("stale: rebuild")
    refused = escli("project", "combat.roster")
    assert refused.exit_code == 15
    assert "its code changed since its rows were built" in refused.stderr
    assert "escli project combat.roster --rebuild" in refused.stderr
    dispatched = escli("dispatch", "combat", "attack", "wolf", "1", "--project", "combat.roster")
    assert dispatched.exit_code == 15
    assert open_store(store_url).generation("combat-wolf") == 2  # nothing was written
    assert escli("project", "combat.roster", "--rebuild").exit_code == 0
    assert escli("projections").stdout.splitlines()[1].endswith("fresh")
    assert live.build < open_store(store_url).view_builds("combat.roster")[0].build  # type: ignore[attr-defined]


def test_dispatch_updates_a_projection_in_its_own_transaction(escli: Run) -> None:
    fight(escli, "--project", "combat.roster")
    assert rows(escli) == ROSTER
    listed = json.loads(escli("projections", "--json").stdout)
    assert [(p["checkpoint"], p["lag"]) for p in listed] == [(6, 0)]
    verbose = escli("dispatch", "combat", "attack", "wolf", "1", "--project", "combat.roster", "-v")
    assert "combat.roster: 1 event projected, checkpoint 7" in verbose.stderr


def test_a_dispatch_whose_projection_fails_leaves_it_never_built(
    escli: Run, tmp_path: Path, store_url: str
) -> None:
    from tests.app.test_projections import SHOP

    def module(folder: str, body: str) -> tuple[str, str]:
        """The domain's module in a folder of its own: a new import, not the one loaded."""
        path = tmp_path / folder / "shopfail.py"
        path.parent.mkdir()
        path.write_text(textwrap.dedent(SHOP.format(tag="fail", body=body, extra="")))
        return "--domains", str(path)

    shop = module("broken", "return {'x': 1 // 0}")
    failed = escli("dispatch", "shopfail", "add", "a", "pen", "--project", "shopfail.carts", *shop)
    assert failed.exit_code == 11 and "ZeroDivisionError" in failed.stderr
    assert open_store(store_url).view_builds("shopfail.carts") == []  # type: ignore[attr-defined]
    assert escli("dispatch", "shopfail", "add", "a", "pen", *shop).exit_code == 0
    assert escli("project", "shopfail.carts", *shop).exit_code == 11  # its build stays at 0
    listed = json.loads(escli("projections", "--json", *shop).stdout)
    assert [(p["state"], p["rows"]) for p in listed if p["projection"] == "shopfail.carts"] == [
        ("new", 0)
    ]
    shop = module("fixed", "return {'x': 1}")
    fixed = escli("dispatch", "shopfail", "add", "b", "ink", "--project", "shopfail.carts", *shop)
    assert fixed.exit_code == 0, fixed.stderr
    assert escli("project", "shopfail.carts", *shop).stdout == (
        "shopfail.carts  0 events processed, checkpoint 2\n"
    )
    listed = json.loads(escli("projections", "--json", *shop).stdout)
    assert [(p["state"], p["rows"]) for p in listed if p["projection"] == "shopfail.carts"] == [
        ("fresh", 2)
    ]


def test_the_lag_counts_every_domains_events_and_says_so(escli: Run, tmp_path: Path) -> None:
    from tests.app.test_projections import SHOP

    module = tmp_path / "shoplag.py"
    module.write_text(textwrap.dedent(SHOP.format(tag="lag", body="return {'n': 1}", extra="")))
    shop = ("--domains", str(module))
    assert escli("dispatch", "combat", "spawn", "imp", "3", *shop).exit_code == 0
    for cart in "abcd":
        assert escli("dispatch", "shoplag", "add", cart, "pen", *shop).exit_code == 0
    listed = json.loads(escli("projections", "--json", *shop).stdout)
    lags = {p["projection"]: p["lag"] for p in listed}
    assert lags["shoplag.carts"] == 5  # the combat event too
    caught = escli("project", "shoplag.carts", *shop)
    assert caught.stdout == "shoplag.carts  4 events processed, checkpoint 5\n"
    helped = " ".join(escli("projections", "--help").stdout.split())
    assert "The lag counts the store's events after the checkpoint, of every domain" in helped


def test_the_project_file_names_inline_projections_and_views(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, escli: Run
) -> None:
    monkeypatch.delenv("ESCLI_STORE")
    (tmp_path / "escli.toml").write_text(
        'projections = ["combat.roster"]\nviews = "sqlite:///views.db"\n'
    )
    monkeypatch.chdir(tmp_path)
    assert escli("dispatch", "combat", "attack", "ogre", "5").exit_code == 2
    # The views are in another store than the events: a dispatch cannot update them in its
    # own transaction, and says so before writing anything.
    (tmp_path / "escli.toml").write_text('projections = ["combat.roster"]\n')
    assert escli("dispatch", "combat", "attack", "ogre", "5").exit_code == 0
    assert rows(escli)["combat-ogre"]["hitpoints"] == 895
    (tmp_path / "escli.toml").write_text('projections = ["combat.rooster"]\n')
    wrong = escli("dispatch", "combat", "attack", "ogre", "5")
    assert wrong.exit_code == 3 and "did you mean 'combat.roster'" in wrong.stderr


def test_views_in_another_store(escli: Run, tmp_path: Path) -> None:
    fight(escli)
    views = f"sqlite:///{tmp_path / 'views.db'}"
    assert escli("project", "combat.roster", "--views", views).exit_code == 0
    assert rows(escli, "--views", views) == ROSTER
    assert rows(escli) == {}  # the store's own views are untouched


def test_views_of_another_store_are_refused_and_left_as_they_were(
    escli: Run, tmp_path: Path
) -> None:
    y, x = f"sqlite:///{tmp_path / 'y.db'}", f"sqlite:///{tmp_path / 'x.db'}"
    for _ in range(2):
        escli("dispatch", "combat", "attack", "troll", "1", "--store", y)
    assert escli("project", "combat.roster", "--store", y).exit_code == 0
    for _ in range(4):
        escli("dispatch", "combat", "attack", "ogre", "5", "--store", x)
    kept = rows(escli, "--store", y)
    refused = escli("project", "combat.roster", "--store", x, "--views", y)
    assert refused.exit_code == 15 and refused.stdout == ""
    assert refused.stderr == (
        f"Error: combat.roster: its rows in {y} were built from the events of {y}, not of "
        f"{x}; nothing was written (another --views URL keeps {x}'s rows apart, or escli "
        f"project combat.roster --rebuild builds them again from {x})\n"
    )
    for read in (["view", "combat.roster"], ["projections"]):
        out = escli(*read, "--store", x, "--views", y)
        assert out.exit_code == 15 and out.stderr.count("\n") == 1, out.stderr
    assert rows(escli, "--store", y) == kept
    rebuilt = escli("project", "combat.roster", "--store", x, "--views", y, "--rebuild")
    assert rebuilt.stdout == "combat.roster  rebuilt from 4 events, checkpoint 4\n"
    assert [r["blows_taken"] for r in rows(escli, "--store", x, "--views", y).values()] == [4]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["project"], "give a projection NAME or --all"),
        (["project", "combat.roster", "--all"], "not both"),
        (["project", "roster"], "not of the form <domain>.<name>"),
        (["project", "combat.roster", "--follow", "--rebuild"], "rebuild first, then follow"),
        (["view", "combat.nothing"], "has no projection 'nothing'"),
    ],
)
def test_wrong_uses_are_one_line(escli: Run, args: list[str], message: str) -> None:
    out = escli(*args)
    assert out.exit_code in (2, 3) and message in out.stderr
    assert out.stderr.count("\n") == 1


@needs_esdb_client
def test_an_eventstoredb_store_keeps_its_rows_where_views_says(
    escli: Run, esdb_server: Any, tmp_path: Path
) -> None:
    url = str(esdb_server.url)
    fight(escli, "--store", url)
    needs = escli("project", "combat.roster", "--store", url)
    assert needs.exit_code == 2 and "keeps no projection rows" in needs.stderr
    views = f"sqlite:///{tmp_path / 'views.db'}"
    caught = json.loads(
        escli("project", "combat.roster", "--store", url, "--views", views, "--json").stdout
    )
    assert caught["events"] == 6 and caught["checkpoint"] > 0  # a $all commit position
    assert rows(escli, "--store", url, "--views", views) == ROSTER
    assert escli("dispatch", "combat", "heal", "wolf", "5", "--store", url).exit_code == 0
    again = json.loads(
        escli("project", "combat.roster", "--store", url, "--views", views, "--json").stdout
    )
    assert again["events"] == 1 and again["checkpoint"] > caught["checkpoint"]
    assert rows(escli, "--store", url, "--views", views)["combat-wolf"]["hitpoints"] == 75
    listed = json.loads(escli("projections", "--store", url, "--views", views, "--json").stdout)
    assert [(p["lag"], p["state"]) for p in listed] == [(0, "fresh")]
    inline = escli(
        "dispatch", "combat", "heal", "wolf", "5", "--store", url, "--project", "combat.roster"
    )
    assert inline.exit_code == 2 and "cannot update projections" in inline.stderr
    # A SQLite store's own views are not the EventStoreDB store's: refused before reading.
    own = f"sqlite:///{tmp_path / 'own.db'}"
    escli("dispatch", "combat", "spawn", "imp", "3", "--store", own, "--project", "combat.roster")
    mixed = escli("project", "combat.roster", "--store", url, "--views", own)
    assert mixed.exit_code == 15
    assert f"built from the events of {own}, not of {url}; nothing was written" in mixed.stderr
    assert list(rows(escli, "--store", own)) == ["combat-imp"]
