"""Projections keep their promises: incremental catch-up gives the rows a rebuild gives, on
SQLite and PostgreSQL, with writers racing it, and after a catch-up killed with SIGKILL; a
projection's own mistakes are the author's errors and write nothing; keys, deletions and
the classes an annotation selects behave as documented."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from escli import DomainError, dispatch, load_domain
from escli.app.projections import catch_up
from escli.app.view_status import rows_of
from escli.domain.model import Domain
from escli.domain.projection import Projection
from escli.stores.base import Store
from escli.stores.memory import MemoryStore
from escli.stores.views import Views
from tests.conftest import ROOT, open_store

combat = load_domain("combat")
roster = combat.projections["roster"]


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        yield open_store(f"sqlite:///{tmp_path / 'e.db'}")
    else:  # a schema of its own: rows and checkpoints are compared whole
        yield open_store(request.getfixturevalue("postgres_schemas")())


def command(name: str, *args: Any) -> Any:
    return combat.command_spec(name).cls(*args)


def rows(projection: Projection, views: Any) -> dict[str, dict[str, Any]]:
    return {
        k: {f: v for f, v in r.items() if f != "last_seen"} for k, r in rows_of(projection, views)
    }


def rebuilt(projection: Projection, store: Any) -> dict[str, dict[str, Any]]:
    catch_up(projection, store, store, rebuild=True)
    return rows(projection, store)


def test_incremental_catch_up_gives_the_rows_a_rebuild_gives(store: Store) -> None:
    for n in range(5):
        dispatch(combat, command("spawn", f"w{n}", 100), store)
    first = catch_up(roster, store, store)
    assert first.events == 5
    for n in range(5):
        dispatch(combat, command("attack", f"w{n}", 10 * (n + 1)), store)
    second = catch_up(roster, store, store)
    assert (second.events, second.position) == (5, store.head_position())
    incremental = rows(roster, store)
    assert incremental["combat-w4"] == {
        "entity": "w4",
        "hitpoints": 50,
        "alive": True,
        "blows_taken": 1,
        "damage_taken": 50,
    }
    assert rebuilt(roster, store) == incremental


def test_writers_racing_a_catch_up_are_never_skipped(store: Store) -> None:
    """Positions are handed out in commit order: a checkpoint never passes an event that
    commits later. Four writers dispatch while catch-ups run; after a last one, the blows
    counted are the attacks stored."""
    assert isinstance(store, Views)
    entities = [f"r{n}" for n in range(4)]
    for entity in entities:
        dispatch(combat, command("spawn", entity, 10**9), store)
    stop = threading.Event()
    url = store.url

    def write(entity: str) -> None:
        mine = open_store(url)
        while not stop.is_set():
            dispatch(combat, command("attack", entity, 1), mine, retry=20)

    writers = [threading.Thread(target=write, args=(e,)) for e in entities]
    for w in writers:
        w.start()
    try:
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            catch_up(roster, store, store, batch=7)
    finally:
        stop.set()
        for w in writers:
            w.join()
    catch_up(roster, store, store)
    seen = rows(roster, store)
    attacks = sum(store.generation(f"combat-{e}") - 1 for e in entities)
    assert attacks > 0
    assert sum(r["blows_taken"] for r in seen.values()) == attacks
    assert rebuilt(roster, store) == seen


FILL_EVENTS = 100_000
FILL_STREAMS = 2_000


def filled_rows() -> list[tuple[Any, ...]]:
    """100,000 combat events over 2,000 streams, interleaved, as the events table's rows."""
    generations: dict[int, int] = {}
    rows_ = []
    for position in range(1, FILL_EVENTS + 1):
        n = (position * 7919) % FILL_STREAMS
        g = generations[n] = generations.get(n, 0) + 1
        spawn = g == 1
        data = (
            {"entity_id": f"k{n}", "hitpoints": 10**9}
            if spawn
            else {"entity_id": f"k{n}", "damage": 1, "weapon": "axe"}
        )
        rows_.append(
            (
                f"combat-k{n}",
                g,
                position,
                str(uuid.uuid4()),
                "combat.EntitySpawned" if spawn else "combat.EntityAttacked",
                "1.0" if spawn else "2.0",
                "events://escli/samples/combat",
                "2026-01-01T00:00:00Z",
                json.dumps(data),
            )
        )
    return rows_


def fill_sqlite(path: Path) -> str:
    url = f"sqlite:///{path}"
    open_store(url).init()  # type: ignore[attr-defined]
    with contextlib.closing(sqlite3.connect(path)) as conn, conn:
        conn.executemany(
            "INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)", filled_rows()
        )
    return url


def fill_postgres(url: str) -> str:
    import psycopg

    store = open_store(url)
    store.init()  # type: ignore[attr-defined]
    schema = url.partition("schema=")[2]
    columns = "stream, generation, position, event_id, event_type, type_version, source,"
    with psycopg.connect(url.partition("?")[0], autocommit=True) as conn:
        copy = f'COPY "{schema}".events ({columns} recorded_at, data) FROM STDIN'
        with conn.cursor() as cursor, cursor.copy(copy) as copying:
            for row in filled_rows():
                copying.write_row(row)
        conn.execute(f'UPDATE "{schema}".store SET last_position = {FILL_EVENTS}')
    return url


CATCH_UP = textwrap.dedent(
    """
    import sys
    from escli import load_domain, open_store
    from escli.app.projections import catch_up
    store = open_store(sys.argv[1])
    catch_up(load_domain("combat").projections["roster"], store, store, batch=2000)
    """
)


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_a_catch_up_killed_midway_continues_to_the_rows_a_rebuild_gives(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if kind == "sqlite":
        url = fill_sqlite(tmp_path / "e.db")
    else:
        url = fill_postgres(request.getfixturevalue("postgres_schemas")())
    env = {**os.environ, "ESCLI_NO_PROJECT": "1", "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen([sys.executable, "-c", CATCH_UP, url], env=env)
    store = open_store(url)
    assert isinstance(store, Views)
    killed_at = 0
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None:
            builds = store.view_builds("combat.roster")
            if builds and 10_000 <= builds[0].position < FILL_EVENTS - 10_000:
                process.send_signal(signal.SIGKILL)
                killed_at = builds[0].position
                break
            time.sleep(0.01)
    finally:
        process.wait()
    assert killed_at, "the catch-up ended before it could be killed midway"
    [kept] = store.view_builds("combat.roster")
    assert killed_at <= kept.position < FILL_EVENTS  # every batch committed whole, or not at all
    again = catch_up(roster, store, store)
    assert again.events == FILL_EVENTS - kept.position
    continued = rows(roster, store)
    assert len(continued) == FILL_STREAMS
    assert sum(r["blows_taken"] for r in continued.values()) == FILL_EVENTS - FILL_STREAMS
    assert rebuilt(roster, store) == continued


def test_a_catch_up_reads_the_log_in_pages_of_its_batch() -> None:
    store = MemoryStore()
    for n in range(25):
        dispatch(combat, command("spawn", f"p{n}", 10), store)
    pages: list[int] = []
    read_log = store.read_log

    def counted(*args: Any, **kwargs: Any) -> Any:
        page = read_log(*args, **kwargs)
        pages.append(len(page))
        return page

    store.read_log = counted  # type: ignore[method-assign]
    assert catch_up(roster, store, store, batch=10).events == 25
    assert pages == [10, 10, 5]


def domain_with(name: str, source: str, tmp_path: Path) -> Domain:
    """A small domain of the test's own, from source written to its module file."""
    module = tmp_path / f"{name}.py"
    module.write_text(textwrap.dedent(source))
    from escli.domain.discovery import DomainRegistry

    registry = DomainRegistry([str(module)])
    return registry.get(name)


SHOP = """
    from dataclasses import dataclass
    from escli import AggregateState, Domain

    domain = Domain("shop{tag}", source="test", stream_field="cart")

    @domain.command
    @dataclass(frozen=True)
    class Add:
        cart: str
        item: str

    @domain.event
    @dataclass(frozen=True)
    class Added:
        cart: str
        item: str

    @domain.event
    @dataclass(frozen=True)
    class Emptied:
        cart: str

    @dataclass(frozen=True)
    class Cart(AggregateState):
        cart: str

    @domain.aggregate
    class Shop:
        def initial_state(self, stream_id):
            return Cart(stream_id)
        def handle_command(self, state, command):
            if command.item == "-":
                return [Emptied(command.cart)]
            return [Added(command.cart, command.item)]
        def apply_event(self, state, event):
            return state

    @domain.projection("by_item", key=lambda event, meta: event.item)
    def by_item(row: dict | None, event: Added, meta) -> dict | None:
        return {{"carts": (row or {{"carts": 0}})["carts"] + 1}}

    @domain.projection("carts")
    def carts(row, event, meta):
        {body}
{extra}"""


def shop(
    tmp_path: Path,
    body: str = "return None if isinstance(event, Emptied) else {'n': 1}",
    tag: str | None = None,
    extra: str = "",
) -> Domain:
    """A shop domain of its own name (``tag``: the same name again, say with other code;
    ``extra``: more of the module)."""
    tag = tag or uuid.uuid4().hex[:6]
    tmp_path.mkdir(parents=True, exist_ok=True)
    source = SHOP.format(tag=tag, body=body, extra=textwrap.indent(extra, "    "))
    return domain_with(f"shop{tag}", source, tmp_path)


# An event class a shop may learn later (one it could not read before).
GONE = """
@domain.event
@dataclass(frozen=True)
class Gone:
    cart: str
"""


def test_a_key_groups_rows_and_none_deletes_one(tmp_path: Path) -> None:
    domain, store = shop(tmp_path), MemoryStore()
    add = domain.command_spec("add").cls
    for cart, item in (("a", "pen"), ("b", "pen"), ("a", "ink"), ("b", "-")):
        dispatch(domain, add(cart, item), store)
    by_item, carts = domain.projections["by_item"], domain.projections["carts"]
    # Annotated with Added only: the Emptied event moves the checkpoint but is not given.
    caught = catch_up(by_item, store, store)
    assert (caught.events, caught.position) == (3, 4)
    assert dict(rows_of(by_item, store)) == {"ink": {"carts": 1}, "pen": {"carts": 2}}
    # Unannotated: every class; None deleted cart b's row.
    assert catch_up(carts, store, store).events == 4
    assert [k for k, _ in rows_of(carts, store)] == [f"{domain.name}-a"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("return ['not', 'a', 'row']", "returned list"),
        ("return {'when': object()}", "returned a row that is not JSON"),
        # Text no store can keep (UTF-8 cannot encode it): refused before any is written.
        (
            "return {'x': '\\ud800'}",
            "returned a row whose field at /x contains a lone surrogate U+D800 at index 0, "
            "which UTF-8 cannot encode: '\\ud800'",
        ),
        (
            "return {'tags': ['ok', {'\\udfff': 1}]}",
            "returned a row whose field at /tags/1 has a member name that contains a lone "
            "surrogate U+DFFF at index 0, which UTF-8 cannot encode: '\\udfff'",
        ),
        ("raise ValueError('no such cart')", "raised ValueError: no such cart"),
    ],
)
def test_a_projections_mistake_is_the_authors_error_and_writes_nothing(
    tmp_path: Path, body: str, message: str
) -> None:
    domain, store = shop(tmp_path, body), MemoryStore()
    dispatch(domain, domain.command_spec("add").cls("a", "pen"), store)
    carts = domain.projections["carts"]
    with pytest.raises(DomainError) as failed:
        catch_up(carts, store, store)
    assert message in str(failed.value)
    assert str(failed.value).startswith(str(tmp_path))  # the author's file, first
    [build] = store.view_builds(carts.full_name)
    assert (build.position, list(rows_of(carts, store))) == (0, [])


@pytest.mark.parametrize(
    "failure",
    ["return {'x': 1 // 0}", "return ['not', 'a', 'row']", "an event it cannot read"],
)
def test_a_failed_first_run_leaves_a_view_never_built_that_fixed_code_builds(
    tmp_path: Path, failure: str
) -> None:
    from escli.app.view_status import status

    unreadable = failure == "an event it cannot read"
    broken = shop(tmp_path / "broken", "return {'n': 1}" if unreadable else failure)
    store = MemoryStore()
    if unreadable:  # a type the domain has no class for (yet)
        store.append(f"{broken.name}-a", [new_event(f"{broken.name}.Gone")], 0)
    else:
        dispatch(broken, broken.command_spec("add").cls("a", "pen"), store)
    with pytest.raises(DomainError):
        catch_up(broken.projections["carts"], store, store)
    [listed] = status([broken.projections["carts"]], store, store)
    assert (listed.state, listed.position, listed.rows, listed.lag) == ("new", 0, 0, 1)
    tag = broken.name.removeprefix("shop")
    fixed = shop(tmp_path / "fixed", "return {'n': 1}", tag, GONE if unreadable else "")
    carts = fixed.projections["carts"]
    caught = catch_up(carts, store, store)  # not refused as stale: nothing was ever built
    assert (caught.events, caught.position) == (1, 1)
    assert dict(rows_of(carts, store)) == {f"{fixed.name}-a": {"n": 1}}
    assert [s.state for s in status([carts], store, store)] == ["fresh"]


def test_a_build_left_at_position_0_by_a_killed_run_is_started_again(tmp_path: Path) -> None:
    from escli.app.view_status import status

    domain, store = shop(tmp_path), MemoryStore()
    dispatch(domain, domain.command_spec("add").cls("a", "pen"), store)
    carts = domain.projections["carts"]
    # kill -9 right after another version of the code made the build record.
    store.start_build(carts.full_name, "other code", live=True, source="")
    assert [s.state for s in status([carts], store, store)] == ["new"]
    assert catch_up(carts, store, store).events == 1
    [build] = store.view_builds(carts.full_name)
    assert (build.build, build.position, build.fingerprint != "other code") == (2, 1, True)


def new_event(event_type: str, **data: Any) -> Any:
    from escli.stores.base import NewEvent, new_event_id

    return NewEvent(event_type, "1.0", "test", {"cart": "a", **data}, new_event_id())


def test_a_projection_runs_with_the_cycle_collector_as_the_process_has_it(
    tmp_path: Path,
) -> None:
    # The house rule (STYLE.md, 9): no switching the GC, which is the whole process's.
    domain = shop(tmp_path, "return {'collecting': __import__('gc').isenabled()}")
    store = MemoryStore()
    dispatch(domain, domain.command_spec("add").cls("a", "pen"), store)
    carts = domain.projections["carts"]
    catch_up(carts, store, store)
    assert dict(rows_of(carts, store)) == {f"{domain.name}-a": {"collecting": True}}


def test_following_keeps_the_rows_up_as_dispatchers_append(store: Store) -> None:
    from escli.app.projections import follow

    assert isinstance(store, Views)
    dispatch(combat, command("spawn", "f1", 10**6), store)
    catch_up(roster, store, store)
    url, runs = store.url, []
    deadline = time.monotonic() + 30

    def write() -> None:
        mine = open_store(url)
        for _ in range(20):
            dispatch(combat, command("attack", "f1", 1), mine, retry=20)
            time.sleep(0.01)

    writer = threading.Thread(target=write)
    writer.start()
    follow(
        [roster],
        store,
        store,
        stop_every=0.1,
        on_caught=runs.append,
        stop=lambda: (
            rows(roster, store)["combat-f1"]["blows_taken"] == 20 or time.monotonic() > deadline
        ),
    )
    writer.join()
    assert rows(roster, store)["combat-f1"]["blows_taken"] == 20
    assert runs and sum(r.events for r in runs) == 20
