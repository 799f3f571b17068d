"""Fixtures of the shell's tests (test_shell.py, test_shell_prompt.py)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from escli.cli.app import App
from escli.cli.workbench import Workbench


@pytest.fixture
def bench(tmp_path: Path) -> Iterator[Workbench]:
    """A workbench on its own app and a fresh SQLite store, held open as the shell holds it."""
    from escli.domain.discovery import paths_from_env

    app = App()
    app.store_url = f"sqlite:///{tmp_path / 'bench.db'}"
    app.domain_paths = paths_from_env(os.environ.get("ESCLI_DOMAINS"))
    app.keep_store_open = True
    made = Workbench(app)
    yield made
    app.keep_store_open = False
    app.close()
