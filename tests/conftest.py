"""Shared fixtures: the combat domain, stores, and a CLI runner with fixed width, no colour."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from click.testing import CliRunner

from escli import Domain, load_domain, open_store
from escli.cli import cli
from escli.stores.base import Store

if TYPE_CHECKING:
    from tests.esdb_server import ServerHandle


@pytest.fixture(scope="session")
def combat() -> Domain:
    return load_domain("combat")


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'events.db'}"


@pytest.fixture
def sqlite_store(store_url: str) -> Store:
    store = open_store(store_url)
    yield store
    store.close()


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


def snapshot(store: Store) -> list[tuple[object, ...]]:
    """Everything a store holds, to prove a failed command changed nothing."""
    return [tuple(r) for info in store.streams() for r in store.read(info.stream)]


ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
IN_CI = os.environ.get("CI") == "true"


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
