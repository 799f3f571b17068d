"""Shared fixtures: the combat domain, stores, and a CLI runner with fixed width, no colour."""

from __future__ import annotations

import faulthandler
import importlib.util
import os
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from click.testing import CliRunner

from escli import Domain, load_domain
from escli import open_store as escli_open_store
from escli.cli import cli
from escli.stores.base import Store

if TYPE_CHECKING:
    from tests.esdb_server import ServerHandle
    from tests.nats_server import JetStreamPlace, NatsServer


# A process still alive this long after its last test is hung on the way out (a thread that
# interpreter shutdown joins, say): it prints every thread's stack and exits with status 1, so
# the hang is a failure that names its cause instead of a CI job killed with no word.
EXIT_HANG_S = 120


def pytest_sessionfinish() -> None:
    faulthandler.dump_traceback_later(EXIT_HANG_S, exit=True, file=sys.__stderr__)


@pytest.fixture(scope="session")
def combat() -> Domain:
    return load_domain("combat")


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'events.db'}"


_opened: list[Store] = []


def open_store(url: str) -> Store:
    """escli's ``open_store`` for tests: the store is closed when the test ends (by the
    ``close_opened_stores`` fixture), so a test may open one inline to look inside."""
    store = escli_open_store(url)
    _opened.append(store)
    return store


@pytest.fixture(autouse=True)
def close_opened_stores() -> Iterator[None]:
    """Closes every store the test opened with ``open_store``: Python 3.13 warns about a
    SQLite connection left to the garbage collector, and the suite makes warnings errors."""
    yield
    while _opened:
        _opened.pop().close()


@pytest.fixture
def sqlite_store(store_url: str) -> Iterator[Store]:
    with escli_open_store(store_url) as store:
        yield store


@dataclass
class Outcome:
    exit_code: int
    stdout: str
    stderr: str


Run = Callable[..., Outcome]


@pytest.fixture
def escli(store_url: str, monkeypatch: pytest.MonkeyPatch) -> Run:
    """Run the CLI in-process against a fresh store, as a non-terminal with no colour."""
    monkeypatch.setenv("ESCLI_STORE", store_url)
    monkeypatch.delenv("ESCLI_DOMAINS", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "100")
    runner = CliRunner()

    def run(*args: str, input: str | None = None) -> Outcome:
        result = runner.invoke(cli, list(args), input=input, catch_exceptions=False)
        return Outcome(result.exit_code, result.stdout, result.stderr)

    return run


# An event line's short id and time (``replay --steps``, ``follow``): the one part of a
# human view that differs between runs. ``masked`` puts placeholders in their place, so a
# test compares everything else exactly and still fails if either is missing.
# (An event line may hang from a tree's guides, as ``escli trace`` draws them.)
_ID_AND_TIME = re.compile(
    r"(?m)^([\s│├└─]*(?:\S+\s+)?\d+)  (…?[0-9a-fA-F]{7}|\S{1,20})  "
    r"(\d\d:\d\d:\d\d {4}|[A-Z][a-z]{2} \d\d \d\d:\d\d|\d{4}-\d\d-\d\d  )  "
)


def masked(text: str) -> str:
    """``text`` with each event line's short id and time as ``<id>`` and ``<time>``."""
    return _ID_AND_TIME.sub(r"\1  <id>  <time>  ", text)


def snapshot(store: Store) -> list[tuple[object, ...]]:
    """Everything a store holds, to prove a failed command changed nothing."""
    return [tuple(r) for info in store.streams() for r in store.read(info.stream)]


# A shell that started the tests in the background may have left SIGINT ignored: a small
# Python restores it, then becomes the command (exec; the command's first word is an
# absolute path). Not preexec_fn: forking with code to run in the child can deadlock when
# the test process holds gRPC's threads, as it does after the EventStoreDB tests.
WITH_SIGINT = [
    sys.executable,
    "-c",
    "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
    "os.execv(sys.argv[1], sys.argv[1:])",
]


ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
IN_CI = os.environ.get("CI") == "true"


def require_service(name: str, host: str, port: int) -> None:
    """Skip the test unless ``name`` listens at host:port; when ``CI=true``, fail instead,
    so that CI never passes by skipping what it was meant to run."""
    import socket

    try:
        socket.create_connection((host, port), timeout=2).close()
    except OSError as e:
        reason = f"{name} is not reachable at {host}:{port} ({e.strerror or e})"
        if IN_CI:
            pytest.fail(f"{reason}, and CI=true requires it", pytrace=False)
        pytest.skip(reason)


POSTGRES_HOST, POSTGRES_PORT = "127.0.0.1", 5432
POSTGRES_DSN = f"postgresql://postgres@{POSTGRES_HOST}:{POSTGRES_PORT}/test"


@pytest.fixture(scope="session")
def postgres_schemas() -> Iterator[Callable[[], str]]:
    """Makes PostgreSQL store URLs on the local server's ``test`` database, each in a fresh
    schema (``escli_t<random>_<n>``); every one is dropped when the session ends."""
    require_service("PostgreSQL", POSTGRES_HOST, POSTGRES_PORT)
    import uuid

    import psycopg

    prefix = f"escli_t{uuid.uuid4().hex[:10]}"
    made: list[str] = []

    def new_url() -> str:
        schema = f"{prefix}_{len(made)}"
        made.append(schema)
        return f"{POSTGRES_DSN}?schema={schema}"

    yield new_url
    with psycopg.connect(POSTGRES_DSN, autocommit=True) as conn:
        for schema in made:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(scope="session")
def postgres_url(postgres_schemas: Callable[[], str]) -> str:
    """One PostgreSQL store URL (a schema of its own) shared by the whole session."""
    return postgres_schemas()


# -- EventStoreDB -------------------------------------------------------------------------
# The adapter tests run against the in-process gRPC server (tests/esdb_server.py) with the
# real client package, or against a real server when ESCLI_TEST_ESDB_URL names one.

ESDB_CLIENT = next(
    (p for p in ("esdbclient", "kurrentdbclient") if importlib.util.find_spec(p) is not None), None
)
REAL_ESDB_URL = os.environ.get("ESCLI_TEST_ESDB_URL") or None
needs_esdb_client = pytest.mark.skipif(
    ESDB_CLIENT is None,
    reason="needs esdbclient or kurrentdbclient: pip install -e '.[test,esdb]'",
)


@pytest.fixture(scope="session")
def esdb_session_server() -> Iterator[ServerHandle]:
    from tests.esdb_server import start_server

    with start_server(max_concurrent_rpcs=32) as server:
        yield server


@pytest.fixture
def esdb_server() -> Iterator[ServerHandle]:
    """An in-process server of the test's own: for fault injection and inspection."""
    from tests.esdb_server import start_server

    with start_server() as server:
        yield server


@pytest.fixture
def esdb_url(request: pytest.FixtureRequest) -> str:
    """The server the EventStoreDB tests use: $ESCLI_TEST_ESDB_URL, else the in-process one
    (shared by the session: tests use streams of their own)."""
    if REAL_ESDB_URL:
        return REAL_ESDB_URL
    server: ServerHandle = request.getfixturevalue("esdb_session_server")
    return server.url


NATS_HOST, NATS_PORT = "127.0.0.1", 4222


@pytest.fixture
def jetstream() -> Iterator[JetStreamPlace]:
    """A JetStream stream and subjects of this test's own on the shared NATS server
    (127.0.0.1:4222), deleted afterwards."""
    require_service("NATS", NATS_HOST, NATS_PORT)
    from tests.nats_server import JetStreamPlace

    place = JetStreamPlace.unique(f"nats://{NATS_HOST}:{NATS_PORT}")
    yield place
    place.probe.delete(place.stream)


def require_nats_server() -> None:
    """Skip the test unless the nats-server binary is installed; when ``CI=true``, fail."""
    from tests.nats_server import NATS_SERVER

    if not NATS_SERVER.exists():
        reason = f"{NATS_SERVER} is not installed"
        if IN_CI:
            pytest.fail(f"{reason}, and CI=true requires it", pytrace=False)
        pytest.skip(reason)


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[NatsServer]:
    """A nats-server of this test's own, with JetStream, on a free port; the test may stop
    and start it. Skipped when nats-server is not installed, unless CI=true."""
    from tests.nats_server import NatsServer

    require_nats_server()
    server = NatsServer(tmp_path / "nats")
    server.start()
    yield server
    server.stop()
