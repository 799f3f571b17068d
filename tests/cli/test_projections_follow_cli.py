"""``escli project NAME --follow`` in a process of its own: each dispatch made from another
process reaches its rows (a run printed, the row changed), on SQLite, PostgreSQL and
EventStoreDB (rows in a ``--views`` store), and Ctrl-C ends it with exit code 0."""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.cli.test_projections_cli import rows
from tests.conftest import ESDB_CLIENT, WITH_SIGINT, Run

DEADLINE_S = 60.0


@pytest.fixture(params=["sqlite", "postgres", "eventstoredb"])
def options(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[list[str], list[str]]:
    """The ``--store`` option of a store of the test's own, and ``--views`` if it needs one."""
    if request.param == "sqlite":
        return ["--store", f"sqlite:///{tmp_path / 'e.db'}"], []
    if request.param == "postgres":
        new_url: Callable[[], str] = request.getfixturevalue("postgres_schemas")
        return ["--store", new_url()], []
    if ESDB_CLIENT is None:
        pytest.skip("needs esdbclient or kurrentdbclient")
    server: Any = request.getfixturevalue("esdb_server")
    return ["--store", server.url], ["--views", f"sqlite:///{tmp_path / 'views.db'}"]


def test_a_follower_in_another_process_shows_each_dispatch_and_stops_on_ctrl_c(
    escli: Run, options: tuple[list[str], list[str]], tmp_path: Path
) -> None:
    store, views = options
    assert escli("dispatch", "combat", "spawn", "wolf", "100", *store).exit_code == 0
    command = [sys.executable, "-m", "escli", "project", "combat.roster", "--follow", "--json"]
    with subprocess.Popen(
        [*WITH_SIGINT, *command, *store, *views],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    ) as follower:
        assert follower.stdout is not None and follower.stderr is not None
        lines: queue.Queue[str] = queue.Queue()
        reader = threading.Thread(
            target=lambda: [lines.put(line) for line in follower.stdout or ()]
        )
        reader.start()
        try:
            first = json.loads(lines.get(timeout=DEADLINE_S))
            assert (first["projection"], first["events"]) == ("combat.roster", 1)
            for blow in (1, 2):
                out = escli("dispatch", "combat", "attack", "wolf", "5", *store)
                assert out.exit_code == 0
                run = json.loads(lines.get(timeout=DEADLINE_S))  # woken, not asked
                assert run["events"] >= 1 and run["checkpoint"] > first["checkpoint"]
                while rows(escli, *store, *views)["combat-wolf"]["blows_taken"] < blow:
                    run = json.loads(lines.get(timeout=DEADLINE_S))  # a run may split
            assert rows(escli, *store, *views)["combat-wolf"]["hitpoints"] == 90
        finally:
            follower.send_signal(signal.SIGINT)
            code = follower.wait(timeout=DEADLINE_S)
            reader.join()
        assert code == 0
        assert "Traceback" not in follower.stderr.read()
