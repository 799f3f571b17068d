"""Following projections (``escli.app.projections.follow``): woken by the store rather than
polling it, on SQLite, PostgreSQL and EventStoreDB (its rows in a SQLite store), a follower
with dispatchers racing it ends with the rows a rebuild gives; a follower of a namespace
takes nothing of another; it answers ``stop()`` while the store is idle, and releases its
waiter when it ends."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from escli import dispatch, load_domain
from escli.app.projections import Caught, catch_up, follow
from escli.stores.base import Store
from escli.stores.views import Views
from escli.stores.wakeup import Waiter
from tests.app.test_projections import command, rows
from tests.conftest import ESDB_CLIENT, open_store

combat = load_domain("combat")
roster = combat.projections["roster"]
DEADLINE_S = 60.0


class Place(NamedTuple):
    """Where a follower reads (``url``: writers open their own store there) and writes."""

    url: str
    log: Store
    views: Views


@pytest.fixture(params=["sqlite", "postgres", "eventstoredb"])
def place(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Place]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'e.db'}"
        store = open_store(url)
        assert isinstance(store, Views)
        yield Place(url, store, store)
    elif request.param == "postgres":
        new_url: Callable[[], str] = request.getfixturevalue("postgres_schemas")
        url = new_url()
        store = open_store(url)
        assert isinstance(store, Views)
        yield Place(url, store, store)
    else:
        if ESDB_CLIENT is None:
            pytest.skip("needs esdbclient or kurrentdbclient")
        server = request.getfixturevalue("esdb_server")  # its own: the roster is all of $all
        views = open_store(f"sqlite:///{tmp_path / 'views.db'}")
        assert isinstance(views, Views)
        yield Place(server.url, open_store(server.url), views)


def test_dispatchers_racing_a_follower_end_with_the_rows_a_rebuild_gives(place: Place) -> None:
    entities = [f"r{n}" for n in range(3)]
    for entity in entities:
        dispatch(combat, command("spawn", entity, 10**6), place.log)
    catch_up(roster, place.log, place.views)
    blows = 15

    def write(entity: str) -> None:
        mine = open_store(place.url)  # a connection (a client) of its own
        for _ in range(blows):
            dispatch(combat, command("attack", entity, 1), mine, retry=20)
            time.sleep(0.01)

    def all_seen() -> bool:
        seen = rows(roster, place.views)
        return all(seen[f"combat-{e}"]["blows_taken"] == blows for e in entities)

    writers = [threading.Thread(target=write, args=(e,)) for e in entities]
    for w in writers:
        w.start()
    runs: list[Caught] = []
    deadline = time.monotonic() + DEADLINE_S
    try:
        follow(
            [roster],
            place.log,
            place.views,
            on_caught=runs.append,
            stop=lambda: all_seen() or time.monotonic() > deadline,
        )
    finally:
        for w in writers:
            w.join()
    assert all_seen()
    assert sum(r.events for r in runs) == blows * len(entities)
    followed = rows(roster, place.views)
    catch_up(roster, place.log, place.views, rebuild=True)
    assert rows(roster, place.views) == followed


class Spy(Waiter):
    """A waiter that wakes no one and records its waits and its closing."""

    def __init__(self) -> None:
        self.timeouts: list[float] = []
        self.closed = False

    def wait_beyond(self, position: int, timeout: float) -> int:
        self.timeouts.append(timeout)
        time.sleep(timeout)
        return position

    def close(self) -> None:
        self.closed = True


def test_an_idle_follower_answers_stop_within_half_a_second_and_closes_its_waiter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store: Any = open_store(f"sqlite:///{tmp_path / 'e.db'}")
    dispatch(combat, command("spawn", "idle", 10), store)
    spy = Spy()
    monkeypatch.setattr(store, "waiter", lambda: spy)
    stop_at = time.monotonic() + 0.3
    follow([roster], store, store, stop_every=5, stop=lambda: time.monotonic() > stop_at)
    assert spy.timeouts and max(spy.timeouts) <= 0.5  # stop_every is capped
    assert spy.closed
    assert rows(roster, store)["combat-idle"]["hitpoints"] == 10  # caught up at once


def test_a_follower_closes_its_waiter_when_a_run_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store: Any = open_store(f"sqlite:///{tmp_path / 'e.db'}")
    spy = Spy()
    monkeypatch.setattr(store, "waiter", lambda: spy)

    def failing(*args: Any, **kwargs: Any) -> Caught:
        raise KeyboardInterrupt  # Ctrl-C in the middle of a run

    monkeypatch.setattr("escli.app.projections.catch_up", failing)
    with pytest.raises(KeyboardInterrupt):
        follow([roster], store, store)
    assert spy.closed


def test_a_follower_of_a_namespace_takes_no_event_of_another(
    postgres_url: str, tmp_path: Path
) -> None:
    """Namespaces of one store share its wake-up (one schema, one channel): another
    namespace's appends may wake the follower, and give its projection nothing."""
    from escli.stores.namespaced import NamespacedStore

    shared = open_store(postgres_url)
    prefix = f"n{uuid.uuid4().hex[:8]}."
    mine, other = NamespacedStore(shared, prefix + "a."), NamespacedStore(shared, prefix + "b.")
    views = open_store(f"sqlite:///{tmp_path / 'views.db'}")
    assert isinstance(views, Views)
    runs: list[Caught] = []

    def write() -> None:
        for n in range(5):
            dispatch(combat, command("spawn", f"stranger{n}", 10), other)
        dispatch(combat, command("spawn", "mine", 10), mine)

    writer = threading.Thread(target=write)
    writer.start()
    deadline = time.monotonic() + DEADLINE_S
    try:
        follow(
            [roster],
            mine,
            views,
            on_caught=runs.append,
            stop=lambda: "combat-mine" in rows(roster, views) or time.monotonic() > deadline,
        )
    finally:
        writer.join()
    assert list(rows(roster, views)) == ["combat-mine"]
    assert sum(r.events for r in runs) == 1
