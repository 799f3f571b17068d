"""Two runners of one view at once, in processes of their own, on SQLite and PostgreSQL with
100,000 events: each reads the checkpoint again when the other wrote first, both end without
error, every batch is applied by exactly one of them, and the rows are a rebuild's. So are
``escli project`` and ``escli project --follow`` started a moment apart."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from escli.app.projections import catch_up, live_build
from escli.domain.fingerprint import projection_fingerprint
from escli.stores.views import Views
from tests.app.test_projections import (
    FILL_EVENTS,
    fill_postgres,
    fill_sqlite,
    rebuilt,
    roster,
    rows,
)
from tests.conftest import ROOT, WITH_SIGINT, open_store

RUNNER = textwrap.dedent(
    """
    import json, sys
    from escli import load_domain, open_store
    from escli.app.projections import catch_up
    store = open_store(sys.argv[1])
    roster = load_domain("combat").projections["roster"]
    rebuild = sys.argv[3:] == ["--rebuild"]
    caught = catch_up(roster, store, store, batch=int(sys.argv[2]), rebuild=rebuild)
    print(json.dumps(caught._asdict()))
    """
)
ENV = {**os.environ, "ESCLI_NO_PROJECT": "1", "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}


@pytest.fixture(params=["sqlite", "postgres"])
def filled(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A store of 100,000 combat events over 2,000 streams, no view yet."""
    if request.param == "sqlite":
        return fill_sqlite(tmp_path / "e.db")
    return fill_postgres(request.getfixturevalue("postgres_schemas")())


def run_two(url: str, *options: str) -> list[dict[str, Any]]:
    """Two runners of ``combat.roster`` started at once (batches of two sizes, so that they
    fall out of step); what each did, once both ended without error."""
    runners = [
        subprocess.Popen(
            [sys.executable, "-c", RUNNER, url, str(batch), *options],
            env=ENV,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for batch in (1_000, 1_500)
    ]
    ended = [r.communicate(timeout=300) for r in runners]
    assert [r.returncode for r in runners] == [0, 0], [err for _, err in ended]
    return [json.loads(out) for out, _ in ended]


def test_two_runners_at_once_both_end_and_give_the_rows_a_rebuild_gives(filled: str) -> None:
    store = open_store(filled)
    assert isinstance(store, Views)
    live_build(roster, store, store)  # the build both write to, made before they start
    caught = run_two(filled)
    assert all(c["position"] == FILL_EVENTS for c in caught)
    # Each batch was applied by one runner: the other's write of it was refused, and it
    # read the checkpoint again.
    assert sum(c["events"] for c in caught) == FILL_EVENTS
    assert sum(c["reread"] for c in caught) > 0, caught
    [build] = store.view_builds(roster.full_name)
    assert (build.position, build.events) == (FILL_EVENTS, FILL_EVENTS)
    both = rows(roster, store)
    assert sum(r["blows_taken"] for r in both.values()) == FILL_EVENTS - 2_000
    assert rebuilt(roster, store) == both


def test_two_rebuilds_at_once_both_end_with_one_live_build(filled: str) -> None:
    store = open_store(filled)
    assert isinstance(store, Views)
    catch_up(roster, store, store, batch=50_000)
    before = rows(roster, store)
    store.start_build(roster.full_name, projection_fingerprint(roster), live=False)
    caught = run_two(filled, "--rebuild")
    assert all(c["rebuilt"] and c["position"] == FILL_EVENTS for c in caught)
    assert sum(c["events"] for c in caught) == FILL_EVENTS  # one rebuild, shared
    [build] = store.view_builds(roster.full_name)
    assert (build.live, build.position, build.events) == (True, FILL_EVENTS, FILL_EVENTS)
    assert rows(roster, store) == before


def test_project_and_project_follow_started_a_moment_apart_both_end(filled: str) -> None:
    def escli(*args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [*WITH_SIGINT, str(Path(sys.executable).parent / "escli"), *args, "--store", filled],
            env=ENV,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    store = open_store(filled)
    assert isinstance(store, Views)
    plain = escli("project", "combat.roster")
    time.sleep(0.15)
    follower = escli("project", "combat.roster", "--follow")
    try:
        out, err = plain.communicate(timeout=300)
        assert plain.returncode == 0, err
        # Its note says it caught up and follows from then on: Ctrl-C is how that ends.
        assert follower.stderr is not None
        ready, _, _ = select.select([follower.stderr], [], [], 120)
        note = follower.stderr.readline() if ready else ""
        assert note.startswith("following combat.roster"), (note, follower.poll())
        time.sleep(0.2)
    finally:
        follower.send_signal(signal.SIGINT)
        followed, follow_err = follower.communicate(timeout=60)
    assert follower.returncode == 0, follow_err
    assert followed.startswith("combat.roster  ")  # its catch-up's line
    assert out.endswith(f"checkpoint {FILL_EVENTS:,}\n")
    both = rows(roster, store)
    assert rebuilt(roster, store) == both
    assert catch_up(roster, store, store).events == 0
