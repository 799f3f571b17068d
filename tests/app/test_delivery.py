"""Extra targets get a stream's events in order, and nothing that failed is forgotten."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest
from escli_combat import Attack, EntitySpawned

from escli import Domain, dispatch
from escli.app.delivery import publish, publish_pending
from escli.app.dispatch import new_event
from escli.errors import StoreUnavailable
from escli.stores.base import RecordedEvent
from escli.stores.memory import MemoryStore
from tests.conftest import Run, open_store


class FlakySink:
    """A target that is down while ``down`` is set, and records what it received."""

    def __init__(self) -> None:
        self.url = "flaky:"
        self.down = False
        self.received: list[int] = []

    def deliver(self, recorded: Sequence[RecordedEvent]) -> None:
        if self.down:
            raise StoreUnavailable("flaky: is down")
        self.received.extend(r.generation for r in recorded)


def test_a_failed_delivery_is_recorded_as_pending(combat: Domain) -> None:
    store, sink = MemoryStore(), FlakySink()
    sink.down = True
    result = dispatch(combat, Attack("ogre", 1), store, sinks=[sink])
    [delivery] = result.deliveries
    assert (delivery.ok, delivery.from_generation, delivery.to_generation) == (False, 1, 1)
    assert [(p.stream, p.from_generation, p.to_generation) for p in store.pending("flaky:")] == [
        ("combat-ogre", 1, 1)
    ]


def test_newer_events_queue_behind_pending_ones_and_arrive_in_order(combat: Domain) -> None:
    store, sink = MemoryStore(), FlakySink()
    dispatch(combat, Attack("ogre", 1), store, sinks=[sink])
    sink.down = True
    dispatch(combat, Attack("ogre", 1), store, sinks=[sink])
    dispatch(combat, Attack("ogre", 1), store, sinks=[sink])
    assert [(p.from_generation, p.to_generation) for p in store.pending("flaky:")] == [(2, 3)]
    sink.down = False
    result = dispatch(combat, Attack("ogre", 1), store, sinks=[sink])
    assert [(d.ok, d.from_generation, d.to_generation) for d in result.deliveries] == [(True, 2, 4)]
    assert sink.received == [1, 2, 3, 4]
    assert store.pending("flaky:") == []


def test_publish_pending_sends_exactly_what_is_missing(combat: Domain) -> None:
    store, sink = MemoryStore(), FlakySink()
    dispatch(combat, Attack("goblin", 1), store, sinks=[sink])
    sink.down = True
    dispatch(combat, Attack("goblin", 1), store, sinks=[sink])
    dispatch(combat, Attack("ogre", 1), store, sinks=[sink])
    sink.down = False
    sent = list(publish_pending(store, sink))
    assert [(p.stream, p.from_generation, p.to_generation, p.events) for p in sent] == [
        ("combat-goblin", 2, 2, 1),
        ("combat-ogre", 1, 1, 1),
    ]
    assert sink.received == [1, 2, 1]
    assert store.pending() == []
    assert list(publish_pending(store, sink)) == []


def test_publishing_a_range_resends_it(combat: Domain) -> None:
    store, sink = MemoryStore(), FlakySink()
    for _ in range(4):
        dispatch(combat, Attack("ogre", 1), store)
    assert publish(store, sink, "combat-ogre", 2).events == 3
    assert sink.received == [2, 3, 4]


def test_dispatch_to_a_broken_target_exits_9_and_publish_pending_repairs_it(
    escli: Run, store_url: str, tmp_path: Path
) -> None:
    broken = tmp_path / "mirror.db"
    broken.mkdir()  # a folder where the target's file should be: every write fails
    target = f"sqlite:///{broken}"
    out = escli("dispatch", "combat", "attack", "ogre", "150", "--to", target)
    assert out.exit_code == 9
    assert f"  FAILED  {target}  generations 1..1 pending: store {broken} is a directory" in (
        out.stdout
    )
    assert out.stderr == (
        f"Error: stored in {store_url} at generations 1..1; pending for {target} (1..1): "
        "escli publish --pending --to URL sends them\n"
    )
    out = escli("dispatch", "combat", "attack", "ogre", "150", "--to", target)
    assert out.exit_code == 9
    assert "generations 1..2 pending" in out.stdout
    broken.rmdir()
    out = escli("publish", "--pending", "--to", target)
    assert (out.exit_code, out.stdout) == (
        0,
        f"{target}  combat-ogre  generations 1..2  2 events sent\n",
    )
    assert [r.generation for r in open_store(target).read("combat-ogre")] == [1, 2]
    out = escli("publish", "--pending", "--to", target)
    assert (out.exit_code, out.stdout, out.stderr) == (0, "", f"nothing pending for {target}\n")


def test_publish_needs_exactly_one_way_to_choose_streams(escli: Run) -> None:
    out = escli("publish", "--to", "memory:")
    assert (out.exit_code, out.stderr) == (
        2,
        "Error: name STREAM..., or --all, or --pending (one of them)\n",
    )


def test_publish_all_mirrors_every_stream(escli: Run, tmp_path: Path) -> None:
    escli("dispatch", "combat", "attack", "ogre", "1")
    escli("dispatch", "combat", "attack", "goblin", "1")
    mirror = f"sqlite:///{tmp_path / 'm.db'}"
    out = escli("publish", "--all", "--to", mirror, "--json")
    assert out.exit_code == 0
    assert json.loads(out.stdout) == [
        {
            "target": mirror,
            "stream": stream,
            "from_generation": 1,
            "to_generation": 1,
            "events": 1,
            "stored": None,
        }
        for stream in ("combat-goblin", "combat-ogre")
    ]
    assert [s.stream for s in open_store(mirror).streams()] == ["combat-goblin", "combat-ogre"]
    out = escli("publish", "--all", "--to", mirror)
    assert out.exit_code == 0, "re-publishing to a store target is idempotent"
    assert open_store(mirror).generation("combat-ogre") == 1


def test_a_store_target_that_missed_earlier_events_gets_them_first(
    escli: Run, store_url: str, tmp_path: Path
) -> None:
    mirror = f"sqlite:///{tmp_path / 'mirror.db'}"
    assert escli("dispatch", "combat", "attack", "ogre", "100", "--to", mirror).exit_code == 0
    assert escli("dispatch", "combat", "attack", "ogre", "100").exit_code == 0
    out = escli("dispatch", "combat", "attack", "ogre", "100", "--to", mirror)
    assert out.exit_code == 0, out.stdout + out.stderr
    assert [r._replace(position=0) for r in open_store(mirror).read("combat-ogre")] == [
        r._replace(position=0) for r in open_store(store_url).read("combat-ogre")
    ]
    out = escli("publish", "combat-ogre", "--to", mirror, "--from-generation", "3")
    assert (out.exit_code, out.stdout) == (
        0,
        f"{mirror}  combat-ogre  generations 3..3  1 event sent\n",
    )
    assert open_store(mirror).generation("combat-ogre") == 3


def test_ctrl_c_during_a_delivery_leaves_the_range_pending(combat: Domain) -> None:
    import pytest

    class Interrupted:
        url = "interrupted:"

        def deliver(self, recorded: Sequence[RecordedEvent]) -> None:
            raise KeyboardInterrupt

    store = MemoryStore()
    with pytest.raises(KeyboardInterrupt):
        dispatch(combat, Attack("ogre", 1), store, sinks=[Interrupted()])
    assert store.generation("combat-ogre") == 1
    assert [(p.from_generation, p.to_generation) for p in store.pending("interrupted:")] == [(1, 1)]


def test_memory_cannot_be_a_target(escli: Run, store_url: str) -> None:
    out = escli("dispatch", "combat", "attack", "ogre", "1", "--to", "memory:")
    assert (out.exit_code, out.stderr) == (
        4,
        "Error: memory: cannot be a --to target: it is gone when the command ends\n",
    )
    assert open_store(store_url).generation("combat-ogre") == 0


def test_a_store_target_has_one_name_whatever_its_spelling(
    escli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mirror.db").mkdir()  # broken for now
    assert escli("dispatch", "combat", "attack", "ogre", "1", "--to", "mirror.db").exit_code == 9
    (tmp_path / "mirror.db").rmdir()
    mirror = f"sqlite:///{tmp_path / 'mirror.db'}"
    out = escli("publish", "--pending", "--to", mirror)
    assert (out.exit_code, out.stdout) == (
        0,
        f"{mirror}  combat-ogre  generations 1..1  1 event sent\n",
    )


# A dispatch whose only target kills the process mid-delivery: no exception handler, no
# finally, runs after os._exit.
DIES_DELIVERING = """
import os, sys
from escli import dispatch, load_domain, open_store
from escli_combat import Spawn

class Dying:
    url = sys.argv[2]

    def deliver(self, recorded):
        os._exit(70)

command = Spawn(sys.argv[3], 100)
dispatch(load_domain("combat"), command, open_store(sys.argv[1]), sinks=[Dying()])
"""


@pytest.mark.parametrize("store", ["sqlite", "postgres", "eventstoredb"])
def test_a_process_killed_mid_delivery_leaves_the_events_pending(
    store: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    import subprocess
    import sys
    import uuid

    url = {
        "sqlite": lambda: f"sqlite:///{tmp_path / 'events.db'}",
        "postgres": lambda: request.getfixturevalue("postgres_schemas")(),
        "eventstoredb": lambda: request.getfixturevalue("esdb_url"),
    }[store]()
    target, entity = f"dying:{uuid.uuid4().hex}", f"ogre{uuid.uuid4().hex[:8]}"
    killed = subprocess.run(
        [sys.executable, "-c", DIES_DELIVERING, url, target, entity],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (killed.returncode, killed.stderr) == (70, "")
    survivor = open_store(url)
    stream = f"combat-{entity}"
    assert survivor.generation(stream) == 1
    assert [(p.stream, p.from_generation, p.to_generation) for p in survivor.pending(target)] == [
        (stream, 1, 1)
    ]
    sink = FlakySink()
    sink.url = target
    assert [p.events for p in publish_pending(survivor, sink)] == [1]
    assert (sink.received, survivor.pending(target)) == ([1], [])
    survivor.close()


def test_a_delivery_starts_no_later_than_its_own_events(combat: Domain) -> None:
    from escli.app.delivery import deliver

    store, sink = MemoryStore(), FlakySink()
    ours = store.append(
        "combat-ogre", [new_event(EntitySpawned("ogre", 9))], 0, pending_for=["flaky:"]
    )
    store.append("combat-ogre", [new_event(EntitySpawned("ogre", 9))], 1, pending_for=["flaky:"])
    store.clear_pending("flaky:", "combat-ogre", 1)  # another process delivered generation 1
    sink.down = True
    delivery = deliver(store, sink, ours)
    assert (delivery.from_generation, delivery.to_generation) == (1, 1)
    assert [(p.from_generation, p.to_generation) for p in store.pending("flaky:")] == [(1, 2)]


def test_a_delivery_that_arrived_is_ok_even_if_the_record_cannot_be_cleared(
    combat: Domain,
) -> None:
    class Forgetful(MemoryStore):
        def clear_pending(self, target: str, stream: str, up_to_generation: int) -> None:
            raise StoreUnavailable("the store went away")

    store, sink = Forgetful(), FlakySink()
    result = dispatch(combat, Attack("ogre", 1), store, sinks=[sink])
    assert [d.ok for d in result.deliveries] == [True]
    assert sink.received == [1]
    assert [(p.from_generation, p.to_generation) for p in store.pending("flaky:")] == [(1, 1)]


def test_a_store_target_holding_another_event_under_the_same_id_has_diverged(
    tmp_path: Path,
) -> None:
    """The mirror compares content, not only ids: an event stored under the same id with
    other data is not the one delivered (before the one rule, a store target skipped it)."""
    from escli.sinks.store import StoreTarget
    from escli.stores.mirror import Diverged
    from tests.conftest import snapshot

    store = MemoryStore()
    [recorded] = store.append("combat-ogre", [new_event(EntitySpawned("ogre", 9))], 0)
    target = open_store(f"sqlite:///{tmp_path / 'mirror.db'}")
    other = recorded.as_new()._replace(data={"entity_id": "ogre", "hitpoints": 10})
    target.append("combat-ogre", [other], 0)
    before = snapshot(target)
    with pytest.raises(Diverged) as caught:
        StoreTarget(target).deliver([recorded])
    assert str(caught.value) == (
        f"combat-ogre has diverged in {target.url}: generation 1 is event {recorded.event_id} "
        "there too, but with another data; nothing was written"
    )
    assert snapshot(target) == before
