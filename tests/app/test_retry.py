"""dispatch --retry: a command whose stream moved is read and handled again, up to N times;
a rejection never is; and 8 writers racing on a long stream all get in."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Sequence
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from escli import CommandRejected, ConcurrencyConflict, dispatch, load_domain
from escli.stores.base import NewEvent, RecordedEvent
from escli.stores.memory import MemoryStore
from tests.conftest import open_store


class MovingStore(MemoryStore):
    """A store whose stream moves under the first ``moves`` appends: another writer's event
    goes in just before each."""

    def __init__(self, moves: int) -> None:
        super().__init__()
        self.moves = moves
        self.appends = 0

    def append(
        self,
        stream: str,
        events: Sequence[NewEvent],
        expected_generation: int,
        *,
        pending_for: Sequence[str] = (),
    ) -> list[RecordedEvent]:
        self.appends += 1
        if self.moves:
            self.moves -= 1
            other = NewEvent(
                "combat.EntityAttacked",
                "2.0",
                "events://escli/samples/combat",
                {"entity_id": "ogre", "damage": 1, "weapon": "club"},
                str(uuid.uuid4()),
            )
            super().append(stream, [other], self.generation(stream))
        return super().append(stream, events, expected_generation, pending_for=pending_for)


def test_a_moved_stream_is_read_and_the_command_handled_again() -> None:
    combat = load_domain("combat")
    store = MovingStore(moves=3)
    result = dispatch(combat, combat.command_spec("attack").cls("ogre", 100), store, retry=5)
    assert result.retries == 3
    assert store.appends == 4
    # Handled against what the stream held by then: three other blows of 1 went in first.
    assert result.before.hitpoints == 900 - 3 and result.after.hitpoints == 797
    assert store.generation("combat-ogre") == 4


def test_retries_run_out() -> None:
    combat = load_domain("combat")
    store = MovingStore(moves=3)
    with pytest.raises(ConcurrencyConflict):
        dispatch(combat, combat.command_spec("attack").cls("ogre", 100), store, retry=2)
    assert store.appends == 3


def test_a_rejection_is_never_retried() -> None:
    combat = load_domain("combat")
    store = MovingStore(moves=0)
    with pytest.raises(CommandRejected):
        dispatch(combat, combat.command_spec("attack").cls("ghost", 1), store, retry=9)
    assert store.appends == 0


def _long_sqlite(tmp_path: Path, events: int) -> str:
    url = f"sqlite:///{tmp_path / 'long.db'}"
    combat = load_domain("combat")
    store = open_store(url)
    dispatch(combat, combat.command_spec("spawn").cls("wolf", 10**12), store)
    store.close()
    hit = json.dumps({"entity_id": "wolf", "damage": 1, "weapon": "fists"})
    # closing(): a sqlite3 connection's own ``with`` commits but does not close it, and
    # Python 3.13 warns about one left to the garbage collector.
    with closing(sqlite3.connect(tmp_path / "long.db")) as conn, conn:
        conn.executemany(
            "INSERT INTO events VALUES ('combat-wolf', ?, ?, ?, 'combat.EntityAttacked', '2.0',"
            " 'events://escli/samples/combat', '2026-01-01T00:00:00Z', ?, NULL)",
            ((g, g, str(uuid.uuid4()), hit) for g in range(2, events + 1)),
        )
    return url


def _long_postgres(url: str, events: int) -> str:
    import psycopg

    combat = load_domain("combat")
    store = open_store(url)
    dispatch(combat, combat.command_spec("spawn").cls("wolf", 10**12), store)
    schema = url.partition("schema=")[2]
    with psycopg.connect(url.partition("?")[0], autocommit=True) as conn:
        conn.execute(
            f'INSERT INTO "{schema}".events (stream, generation, position, event_id, event_type,'
            " type_version, source, recorded_at, data) SELECT 'combat-wolf', g, g,"
            " md5(random()::text || g::text), 'combat.EntityAttacked', '2.0',"
            " 'events://escli/samples/combat', now(),"
            """ '{"entity_id": "wolf", "damage": 1, "weapon": "fists"}'"""
            f" FROM generate_series(2, {events}) AS g"
        )
        conn.execute(f'UPDATE "{schema}".store SET last_position = {events}')
    return url


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_eight_writers_with_retry_on_a_long_stream_all_get_in(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    events = 100_000
    if kind == "sqlite":
        url = _long_sqlite(tmp_path, events)
    else:
        # A schema of its own: the stream's positions are written from 2 on, by hand.
        url = _long_postgres(request.getfixturevalue("postgres_schemas")(), events)
    env = {**os.environ, "ESCLI_STORE": url, "ESCLI_NO_PROJECT": "1"}
    attack = [sys.executable, "-m", "escli", "dispatch", "combat", "attack", "wolf", "1"]
    # The first dispatch folds the whole stream and takes its snapshot.
    subprocess.run([*attack, "--retry", "10"], env=env, check=True, capture_output=True)
    writers = [
        subprocess.Popen(
            [*attack, "--retry", "10"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        for _ in range(8)
    ]
    errors: list[Any] = [w.communicate(timeout=120)[1] for w in writers]
    assert [w.returncode for w in writers] == [0] * 8, errors
    assert open_store(url).generation("combat-wolf") == events + 1 + 8
