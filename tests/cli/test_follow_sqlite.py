"""``follow`` on SQLite converges on what the file holds: after an idle spell it reads the
tail again on a new connection.

The case found by the adversarial run (a writer killed mid-commit: its WAL frames synced,
the shared WAL index not updated, the event visible only once the connections closed) cannot
be made on demand. What it amounts to for a follower is a connection whose view of the file
lags behind what a new connection reads; an open read transaction on the follower's
connection (a snapshot) gives exactly that view, deterministically.
"""

from __future__ import annotations

import queue
import sqlite3
import threading
from pathlib import Path

import pytest

from escli.follow import Followed, follow
from escli.stores.base import NewEvent, new_event_id
from escli.stores.sqlite import SQLiteStore


def attack() -> NewEvent:
    return NewEvent(
        "combat.EntityAttacked",
        "1.0",
        "events://escli/samples/combat",
        {"entity_id": "ogre", "damage": 1},
        new_event_id(),
    )


def test_follow_reads_on_a_new_connection_after_an_idle_spell_and_sees_what_the_old_missed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'events.db'}"
    writer, follower = SQLiteStore(url), SQLiteStore(url)
    writer.append("combat-ogre", [attack()], 0)
    monkeypatch.setattr(SQLiteStore, "IDLE_REOPEN_S", 3600.0)
    seen: queue.Queue[Followed] = queue.Queue()
    followed = follow(follower, lambda _: None, "combat-ogre", limit=2, poll_interval=0.01)
    thread = threading.Thread(target=lambda: [seen.put(item) for item in followed])
    thread.start()
    try:
        assert seen.get(timeout=5).step.recorded.generation == 1
        [old] = follower._conns.values()
        # The follower's connection keeps its view of the file from here on.
        old.execute("BEGIN")
        assert old.execute("SELECT count(*) FROM events").fetchone() == (1,)
        writer.append("combat-ogre", [attack()], 1)
        assert old.execute("SELECT count(*) FROM events").fetchone() == (1,)
        with pytest.raises(queue.Empty):
            seen.get(timeout=0.5)  # polling on that connection alone never shows it
        monkeypatch.setattr(SQLiteStore, "IDLE_REOPEN_S", 0.2)
        assert seen.get(timeout=5).step.recorded.generation == 2
        with pytest.raises(sqlite3.ProgrammingError, match="closed"):
            old.execute("SELECT 1")
    finally:
        monkeypatch.setattr(SQLiteStore, "IDLE_REOPEN_S", 0.0)  # let a failed run end
        thread.join(timeout=10)
        follower.close()
        writer.close()
    assert not thread.is_alive()


def test_a_subscription_that_keeps_receiving_events_keeps_its_connection(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(SQLiteStore, "IDLE_REOPEN_S", 0.3)
    url = f"sqlite:///{tmp_path / 'events.db'}"
    store = SQLiteStore(url)
    for generation in range(3):
        store.append("combat-ogre", [attack()], generation)
    subscription = store.subscribe("combat-ogre", poll_interval=0.01)
    assert [next(subscription).generation for _ in range(3)] == [1, 2, 3]
    [conn] = store._conns.values()
    store.append("combat-ogre", [attack()], 3)
    assert next(subscription).generation == 4
    assert list(store._conns.values()) == [conn]
    subscription.close()
    store.close()
