"""Shared fixtures: the combat domain, stores, and a CLI runner with fixed width, no colour."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from escli import Domain, load_domain, open_store
from escli.cli import cli
from escli.stores.base import Store


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
