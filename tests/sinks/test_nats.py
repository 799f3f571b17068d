"""The nats:// target: exactly-once delivery to JetStream, in order, against the
shared NATS server and against servers the tests start, stop and start again."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import pytest
from escli_combat import Attack, Heal

from escli import Domain, dispatch
from escli.app.delivery import Published, deliver, publish, publish_pending
from escli.errors import StoreUnavailable
from escli.sinks import open_sink
from escli.sinks.nats import NatsTarget
from escli.stores.base import NewEvent, RecordedEvent, Store, new_event_id
from escli.stores.memory import MemoryStore
from tests.conftest import Run, open_store, require_nats_server
from tests.nats_server import JetStreamPlace, Message, NatsServer, free_port

# -- the target without a server -------------------------------------------------------------


def test_opening_a_nats_target_does_not_connect() -> None:
    target = open_sink(f"nats://127.0.0.1:{free_port()}?create=1")
    assert isinstance(target, NatsTarget)
    target.close()


def record(stream: str, generation: int) -> RecordedEvent:
    return RecordedEvent(
        stream,
        generation,
        new_event_id(),
        "combat.EntityAttacked",
        "1.0",
        "events://escli/samples/combat",
        {"entity_id": "ogre", "damage": 1},
        "2026-01-01T00:00:00.000000+00:00",
        generation,
    )


def test_an_unreachable_server_fails_fast_naming_host_and_port_only() -> None:
    port = free_port()
    target = NatsTarget(f"nats://alice:s3cret@127.0.0.1:{port}")
    started = time.monotonic()
    with pytest.raises(StoreUnavailable) as caught:
        target.deliver([record("combat-ogre", 1)])
    assert time.monotonic() - started < 3
    assert str(caught.value) == f"cannot reach NATS at 127.0.0.1:{port}: connection refused"
    target.close()


# -- helpers -------------------------------------------------------------------------------


def ids_in(messages: Sequence[Message], subject: str) -> list[str]:
    return [m.headers["Nats-Msg-Id"] for m in messages if m.subject == subject]


def stored_ids(store: Store, stream: str) -> list[str]:
    return [r.event_id for r in store.read(stream)]


def fill(store: Store, stream: str, count: int) -> None:
    """``count`` combat events appended to ``stream``, in appends of 10,000."""
    done = store.generation(stream)
    while done < count:
        size = min(10_000, count - done)
        events = [
            NewEvent(
                "combat.EntityAttacked",
                "1.0",
                "events://escli/samples/combat",
                {"entity_id": "ogre", "damage": done + n + 1},
                new_event_id(),
            )
            for n in range(size)
        ]
        store.append(stream, events, done)
        done += size


# -- against the shared server -------------------------------------------------------------


def test_dispatch_delivers_each_event_once_as_export_writes_it(
    escli: Run, jetstream: JetStreamPlace
) -> None:
    for words in (("spawn", "dragon", "100"), ("attack", "dragon", "30"), ("attack", "ogre", "1")):
        out = escli("dispatch", "combat", *words, "--to", jetstream.url)
        assert out.exit_code == 0, out.stderr
    assert f"  ok  {jetstream.target}  generations 1..1" in out.stdout
    exported = escli("export", "--all").stdout.splitlines()
    messages = jetstream.probe.messages(jetstream.stream)
    assert [m.subject for m in messages] == [
        f"{jetstream.prefix}.combat.dragon",
        f"{jetstream.prefix}.combat.dragon",
        f"{jetstream.prefix}.combat.ogre",
    ]
    by_id = {json.loads(line)["id"]: line for line in exported}
    assert len(by_id) == 3
    for message in messages:
        assert message.headers == {
            "Content-Type": "application/cloudevents+json",
            "Nats-Msg-Id": message.headers["Nats-Msg-Id"],
        }
        assert message.data == by_id[message.headers["Nats-Msg-Id"]].encode()


def test_the_created_stream_takes_the_template_subjects_with_limits_on_file(
    escli: Run, jetstream: JetStreamPlace
) -> None:
    escli("dispatch", "combat", "attack", "ogre", "1", "--to", jetstream.url)
    config = jetstream.probe.config(jetstream.stream)
    assert config.subjects == [f"{jetstream.prefix}.>"]
    assert (config.retention, config.storage, config.duplicate_window) == (
        "limits",
        "file",
        120.0,
    )


def test_publishing_a_range_again_adds_nothing(escli: Run, jetstream: JetStreamPlace) -> None:
    for _ in range(3):
        escli("dispatch", "combat", "attack", "ogre", "1", "--to", jetstream.url)
    assert jetstream.probe.count(jetstream.stream) == 3
    out = escli("publish", "combat-ogre", "--to", jetstream.url)
    assert (out.exit_code, out.stdout) == (
        0,
        f"{jetstream.target}  combat-ogre  generations 1..3  0 events stored (3 already there)\n",
    )
    out = escli("publish", "--all", "--to", jetstream.url)
    assert out.exit_code == 0
    assert jetstream.probe.count(jetstream.stream) == 3


def test_nats_msg_id_drops_resends_within_the_duplicate_window(
    combat: Domain, jetstream: JetStreamPlace
) -> None:
    store = MemoryStore()
    shared = f"{jetstream.url}&subject={jetstream.prefix}.{{domain}}".replace(
        f"subject={jetstream.prefix}.{{domain}}.{{id}}&", ""
    )
    for entity in ("ogre", "goblin", "ogre", "goblin"):
        dispatch(combat, Attack(entity, 1), store)
    target = NatsTarget(shared)
    assert publish(store, target, "combat-ogre") == Published(target.url, "combat-ogre", 1, 2, 2, 2)
    assert publish(store, target, "combat-goblin") == Published(
        target.url, "combat-goblin", 1, 2, 2, 2
    )
    target.close()
    # The subject is shared by every combat stream and its last message is the goblin's:
    # what it holds of the ogre is unknown, so the ogre goes again; JetStream's duplicate
    # window drops it, and those acks (duplicate) count as delivered but not as stored.
    again = NatsTarget(shared)
    assert publish(store, again, "combat-ogre") == Published(again.url, "combat-ogre", 1, 2, 2, 0)
    again.close()
    messages = jetstream.probe.messages(jetstream.stream)
    subject = f"{jetstream.prefix}.combat"
    assert ids_in(messages, subject) == stored_ids(store, "combat-ogre") + stored_ids(
        store, "combat-goblin"
    )


def test_a_missing_stream_is_an_error_unless_creation_is_asked(
    escli: Run, jetstream: JetStreamPlace
) -> None:
    escli("dispatch", "combat", "attack", "ogre", "1")
    out = escli("publish", "--all", "--to", jetstream.target)
    assert (out.exit_code, out.stderr) == (
        7,
        f"Error: JetStream stream {jetstream.stream!r} does not exist at 127.0.0.1:4222; "
        "add create=1 to the URL to create it\n",
    )
    out = escli("publish", "--all", "--to", jetstream.url)
    assert (out.exit_code, out.stdout) == (
        0,
        f"{jetstream.target}  combat-ogre  generations 1..1  1 event stored\n",
    )


def test_a_subject_the_stream_does_not_take_is_refused(
    escli: Run, jetstream: JetStreamPlace
) -> None:
    escli("dispatch", "combat", "attack", "ogre", "1", "--to", jetstream.url)
    elsewhere = f"{jetstream.server}?subject=x{jetstream.prefix}.{{id}}&stream={jetstream.stream}"
    out = escli("publish", "--all", "--to", elsewhere)
    assert (out.exit_code, out.stderr) == (
        7,
        f"Error: JetStream stream {jetstream.stream!r} at 127.0.0.1:4222 does not take subject "
        f"'x{jetstream.prefix}.ogre' (its subjects: {jetstream.prefix}.>)\n",
    )


def test_a_publish_refused_in_the_middle_of_a_batch_leaves_the_whole_batch_pending(
    jetstream: JetStreamPlace,
) -> None:
    jetstream.probe.create(jetstream.stream, [f"{jetstream.prefix}.>"], max_msgs=5, discard="new")
    store, target = MemoryStore(), NatsTarget(jetstream.target)
    fill(store, "combat-ogre", 10)
    delivery = deliver(store, target, list(store.read("combat-ogre")))
    assert not delivery.ok
    assert str(delivery.error) == (
        "JetStream at 127.0.0.1:4222 refused combat-ogre generation 6: maximum messages exceeded"
    )
    assert [(p.from_generation, p.to_generation) for p in store.pending(target.url)] == [(1, 10)]
    assert jetstream.probe.count(jetstream.stream) == 5
    jetstream.probe.update(jetstream.stream, max_msgs=-1)
    assert [(p.from_generation, p.to_generation) for p in publish_pending(store, target)] == [
        (1, 10)
    ]
    target.close()
    messages = jetstream.probe.messages(jetstream.stream)
    assert ids_in(messages, jetstream.subject("combat-ogre")) == stored_ids(store, "combat-ogre")
    assert store.pending() == []


# -- against servers of the tests' own -------------------------------------------------------


def test_a_server_without_jetstream_is_a_clear_error(escli: Run, tmp_path: Path) -> None:
    require_nats_server()
    server = NatsServer(tmp_path, jetstream=False)
    server.start()
    try:
        escli("dispatch", "combat", "attack", "ogre", "1")
        out = escli("publish", "--all", "--to", server.url)
    finally:
        server.stop()
    assert (out.exit_code, out.stderr) == (
        7,
        f"Error: NATS at 127.0.0.1:{server.port} has no JetStream: start nats-server with -js\n",
    )


def test_events_stored_while_nats_is_down_are_pending_until_publish_pending(
    escli: Run, nats_server: NatsServer, sqlite_store: Store
) -> None:
    url = f"{nats_server.url}?create=1"
    target = f"nats://127.0.0.1:{nats_server.port}"
    assert escli("dispatch", "combat", "attack", "ogre", "1", "--to", url).exit_code == 0
    nats_server.stop()
    for _ in range(2):
        started = time.monotonic()
        out = escli("dispatch", "combat", "attack", "ogre", "1", "--to", url)
        assert time.monotonic() - started < 3
        assert out.exit_code == 9
    assert (
        f"  FAILED  {target}  generations 2..3 pending: cannot reach NATS at "
        f"127.0.0.1:{nats_server.port}: connection refused"
    ) in out.stdout
    assert out.stderr.endswith(
        f"pending for {target} (2..3): escli publish --pending --to URL sends them\n"
    )
    assert [(p.from_generation, p.to_generation) for p in sqlite_store.pending(target)] == [(2, 3)]
    nats_server.start()
    out = escli("publish", "--pending", "--to", url)
    assert (out.exit_code, out.stdout) == (
        0,
        f"{target}  combat-ogre  generations 2..3  2 events stored\n",
    )
    messages = nats_server_messages(nats_server)
    assert ids_in(messages, "events.combat.ogre") == stored_ids(sqlite_store, "combat-ogre")
    assert sqlite_store.pending() == []


def nats_server_messages(server: NatsServer) -> list[Message]:
    from tests.nats_server import JetStreamProbe

    return JetStreamProbe(server.url).messages("ESCLI")


def test_a_server_killed_in_the_middle_of_a_batch_gets_each_event_once_when_sent_again(
    nats_server: NatsServer,
) -> None:
    store = MemoryStore()
    fill(store, "combat-ogre", 20_000)
    recorded = list(store.read("combat-ogre"))
    target = NatsTarget(f"{nats_server.url}?create=1")

    def kill_once_some_acks_are_in() -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            acks = target.publisher.acks
            if acks is not None and acks.waiting < acks.size - 500:
                break
            time.sleep(0.0005)
        nats_server.kill()

    killer = threading.Thread(target=kill_once_some_acks_are_in)
    killer.start()
    with pytest.raises(StoreUnavailable, match=f"NATS at 127.0.0.1:{nats_server.port}"):
        target.deliver(recorded)  # one batch of 20,000
    killer.join()
    nats_server.start()
    held = len(nats_server_messages(nats_server))
    assert 500 < held < 20_000
    # The same target object (it connects afresh) and a new one both finish the job.
    assert publish(store, target, "combat-ogre").events == 20_000
    target.close()
    again = NatsTarget(nats_server.url)
    assert publish(store, again, "combat-ogre").events == 20_000
    again.close()
    messages = nats_server_messages(nats_server)
    assert ids_in(messages, "events.combat.ogre") == stored_ids(store, "combat-ogre")


def test_soak_2000_dispatches_while_the_server_restarts_twice(
    combat: Domain, nats_server: NatsServer, tmp_path: Path
) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'soak.db'}")
    target = NatsTarget(f"{nats_server.url}?create=1")
    total, done = 2000, 0
    restarts: list[int] = []
    progress = threading.Condition()

    def restart_twice() -> None:
        for after in (400, 1100):
            with progress:
                progress.wait_for(lambda after=after: done >= after, timeout=60)
            nats_server.stop()
            restarts.append(done)
            time.sleep(0.2)
            nats_server.start()

    restarter = threading.Thread(target=restart_twice)
    restarter.start()
    failed = 0
    try:
        for n in range(total):
            entity = ("ogre", "goblin")[n % 2]
            command = Attack(entity, 1) if n % 4 < 2 else Heal(entity, 1)
            result = dispatch(combat, command, store, sinks=[target])
            failed += not result.deliveries[0].ok
            with progress:
                done = n + 1
                progress.notify_all()
    finally:
        restarter.join()
    assert len(restarts) == 2
    assert failed, "the restarts should have failed some deliveries"
    list(publish_pending(store, target))
    target.close()
    assert store.pending() == []
    messages = nats_server_messages(nats_server)
    for stream in ("combat-ogre", "combat-goblin"):
        ids = stored_ids(store, stream)
        assert len(ids) == total // 2
        assert ids_in(messages, f"events.combat.{stream[7:]}") == ids
    assert len(messages) == total
    store.close()
