"""A subject holds a stream's events in generation order, whatever was published before, and
``publish`` counts what JetStream stored: against the shared NATS server."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
from escli_combat import Attack, Spawn
from nats.js.client import JetStreamContext

from escli import ConcurrencyConflict, Domain, dispatch, open_store
from escli.app.delivery import Published, publish
from escli.cloudevents.write import to_json
from escli.errors import StoreError
from escli.sinks.base import TargetBehind
from escli.sinks.nats import NatsTarget
from escli.stores.base import RecordedEvent, Store
from escli.stores.memory import MemoryStore
from tests.conftest import Run
from tests.nats_server import JetStreamPlace


def generations(place: JetStreamPlace, stream: str = "combat-ogre") -> list[int]:
    """The generations the stream's subject holds, in subject order."""
    subject = place.subject(stream)
    return [
        json.loads(m.data)["generation"]
        for m in place.probe.messages(place.stream)
        if m.subject == subject
    ]


def publish_raw(place: JetStreamPlace, records: list[RecordedEvent]) -> None:
    """Publish as escli does, but without its checks: what an older escli, or another tool,
    may have left on a subject."""

    async def work(js: JetStreamContext) -> None:
        for r in records:
            await js.publish(
                place.subject(r.stream), to_json(r).encode(), headers={"Nats-Msg-Id": r.event_id}
            )

    place.probe.run(work)


def attacks(combat: Domain, store: Store, count: int, entity: str = "ogre") -> None:
    for _ in range(count):
        dispatch(combat, Attack(entity, 1), store)


def refusal(place: JetStreamPlace, what: str, window: float = 120) -> str:
    subject = place.subject("combat-ogre")
    return (
        f"JetStream at 127.0.0.1:4222: subject {subject!r} {what}, and JetStream only appends, "
        f"so escli cannot publish it in generation order. To start it afresh: nats stream "
        f"purge {place.stream} --subject {subject!r} -f, then after the stream's duplicate "
        f"window ({window:g} s) escli publish combat-ogre --to {place.target!r}"
    )


def test_a_dispatch_whose_earlier_events_never_went_to_the_subject_sends_them_first(
    escli: Run, jetstream: JetStreamPlace
) -> None:
    for _ in range(4):
        escli("dispatch", "combat", "attack", "ogre", "1")
    out = escli("dispatch", "combat", "attack", "ogre", "1", "--to", jetstream.url)
    assert out.exit_code == 0, out.stderr
    assert f"  ok  {jetstream.target}  generations 1..5" in out.stdout
    out = escli("publish", "combat-ogre", "--to", jetstream.url)
    assert (out.exit_code, out.stdout) == (
        0,
        f"{jetstream.target}  combat-ogre  generations 1..5  0 events stored (5 already there)\n",
    )
    assert generations(jetstream) == [1, 2, 3, 4, 5]


def test_publish_from_a_later_generation_sends_what_the_subject_lacks_before_it(
    escli: Run, jetstream: JetStreamPlace
) -> None:
    for _ in range(5):
        escli("dispatch", "combat", "attack", "ogre", "1")
    out = escli("publish", "combat-ogre", "--to", jetstream.url, "--from-generation", "4")
    assert (out.exit_code, out.stdout) == (
        0,
        f"{jetstream.target}  combat-ogre  generations 1..5  5 events stored\n",
    )
    out = escli("publish", "combat-ogre", "--to", jetstream.url, "--from-generation", "2")
    assert out.stdout == (
        f"{jetstream.target}  combat-ogre  generations 2..5  0 events stored (4 already there)\n"
    )
    assert generations(jetstream) == [1, 2, 3, 4, 5]


def test_a_subject_that_starts_past_generation_1_refuses_the_generations_before_it(
    escli: Run, jetstream: JetStreamPlace, sqlite_store: Store
) -> None:
    for _ in range(5):
        escli("dispatch", "combat", "attack", "ogre", "1")
    jetstream.probe.create(jetstream.stream, [f"{jetstream.prefix}.>"], duplicate_window=1)
    publish_raw(jetstream, list(sqlite_store.read("combat-ogre", 5)))  # the 5, alone
    out = escli("publish", "combat-ogre", "--to", jetstream.target)
    assert (out.exit_code, out.stderr) == (
        7,
        "Error: "
        + refusal(
            jetstream,
            "starts at generation 5 of combat-ogre, so generations 1..4 cannot go before it",
            window=1,
        )
        + "\n",
    )
    assert generations(jetstream) == [5]
    # What comes after it still goes in order.
    out = escli("dispatch", "combat", "attack", "ogre", "1", "--to", jetstream.target)
    assert out.exit_code == 0, out.stdout
    assert generations(jetstream) == [5, 6]

    async def purge(js: JetStreamContext) -> None:
        await js.purge_stream(jetstream.stream, subject=jetstream.subject("combat-ogre"))

    # Purged, the subject is filled again, but not within the duplicate window: JetStream
    # still drops 5 and 6 by their ids then, which escli notices and reports.
    jetstream.probe.run(purge)
    out = escli("publish", "combat-ogre", "--to", jetstream.target)
    assert (out.exit_code, out.stderr) == (
        7,
        f"Error: JetStream at 127.0.0.1:4222 dropped events of combat-ogre up to generation 6 "
        f"as duplicates of messages subject {jetstream.subject('combat-ogre')!r} no longer "
        "holds (removed within the stream's duplicate window, 1 s); publish again once that "
        "window has passed\n",
    )
    assert generations(jetstream) == [1, 2, 3, 4]
    time.sleep(1.1)
    out = escli("publish", "combat-ogre", "--to", jetstream.target)
    assert out.stdout == (
        f"{jetstream.target}  combat-ogre  generations 1..6  2 events stored (4 already there)\n"
    )
    assert generations(jetstream) == [1, 2, 3, 4, 5, 6]


@pytest.mark.parametrize(
    ("held", "what"),
    [
        (
            [1, 3],
            "holds 2 messages for generations 1..3 of combat-ogre: some are missing or out "
            "of order",
        ),
        (
            [2, 1],
            "holds 2 messages for generations 2..1 of combat-ogre: some are missing or out "
            "of order",
        ),
        ([0], "holds messages that are not events of combat-ogre"),
    ],
)
def test_a_subject_with_a_hole_or_out_of_order_refuses_delivery_and_keeps_it_pending(
    combat: Domain, jetstream: JetStreamPlace, held: list[int], what: str
) -> None:
    store = MemoryStore()
    attacks(combat, store, 3)
    attacks(combat, store, 1, "goblin")
    recorded = list(store.read("combat-ogre"))
    jetstream.probe.create(jetstream.stream, [f"{jetstream.prefix}.>"])
    if held == [0]:
        goblin = next(store.read("combat-goblin"))

        async def on_the_ogres_subject(js: JetStreamContext) -> None:
            await js.publish(jetstream.subject("combat-ogre"), to_json(goblin).encode())

        jetstream.probe.run(on_the_ogres_subject)
    else:
        publish_raw(jetstream, [recorded[g - 1] for g in held])
    before = jetstream.probe.count(jetstream.stream)
    target = NatsTarget(jetstream.target)
    with pytest.raises(StoreError) as caught:
        target.deliver(recorded)
    assert str(caught.value) == refusal(jetstream, what)
    [new] = dispatch(combat, Attack("ogre", 1), store, sinks=[target]).deliveries
    target.close()
    assert str(new.error) == refusal(jetstream, what)
    assert [(p.from_generation, p.to_generation) for p in store.pending(target.url)] == [(4, 4)]
    assert jetstream.probe.count(jetstream.stream) == before


def test_publish_counts_what_jetstream_stored_not_what_it_sent(
    combat: Domain, jetstream: JetStreamPlace
) -> None:
    store = MemoryStore()
    attacks(combat, store, 3)
    target = NatsTarget(jetstream.url)
    assert publish(store, target, "combat-ogre", 1, 2) == Published(
        target.url, "combat-ogre", 1, 2, 2, 2
    )
    assert publish(store, target, "combat-ogre") == Published(target.url, "combat-ogre", 1, 3, 3, 1)
    assert target.deliver(list(store.read("combat-ogre"))) == 0
    target.close()
    assert generations(jetstream) == [1, 2, 3]


def test_a_subject_another_publisher_moved_is_read_again_before_events_are_filled_in(
    combat: Domain, jetstream: JetStreamPlace
) -> None:
    store = MemoryStore()
    attacks(combat, store, 4)
    recorded = list(store.read("combat-ogre"))
    mine, other = NatsTarget(jetstream.url), NatsTarget(jetstream.url)
    assert mine.deliver(recorded[:1]) == 1
    assert other.deliver(recorded[1:3]) == 2
    # ``mine`` last saw the subject end at 1: it reads it again rather than send 2..3 after
    # the duplicate window, and sends only 4.
    assert mine.deliver(recorded[3:]) == 1
    other.close()
    mine.close()
    assert generations(jetstream) == [1, 2, 3, 4]


def test_a_target_behind_the_events_it_is_given_says_where_the_subject_ends(
    combat: Domain, jetstream: JetStreamPlace
) -> None:
    store = MemoryStore()
    attacks(combat, store, 3)
    target = NatsTarget(jetstream.url)
    with pytest.raises(TargetBehind) as caught:
        target.deliver(list(store.read("combat-ogre", 3)))
    target.close()
    assert caught.value.generation == 0
    assert jetstream.probe.count(jetstream.stream) == 0


def test_a_subject_trimmed_by_the_streams_limits_goes_on_after_its_last_message(
    combat: Domain, jetstream: JetStreamPlace
) -> None:
    jetstream.probe.create(
        jetstream.stream, [f"{jetstream.prefix}.>"], max_msgs_per_subject=2, duplicate_window=120
    )
    store = MemoryStore()
    target = NatsTarget(jetstream.target)
    for _ in range(4):
        assert dispatch(combat, Attack("ogre", 1), store, sinks=[target]).deliveries[0].ok
    assert generations(jetstream) == [3, 4]
    # The limits removed 1..2: not a hole escli made, and not put back after 4.
    assert publish(store, target, "combat-ogre") == Published(target.url, "combat-ogre", 1, 4, 4, 0)
    assert dispatch(combat, Attack("ogre", 1), store, sinks=[target]).deliveries[0].ok
    target.close()
    assert generations(jetstream) == [4, 5]


def test_dispatchers_racing_on_one_stream_keep_its_subject_in_order(
    combat: Domain, jetstream: JetStreamPlace, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'events.db'}"
    setup = open_store(url)
    dispatch(combat, Spawn("titan", 10**6), setup)
    failures: list[BaseException] = []

    def dispatcher() -> None:
        store, target = open_store(url), NatsTarget(jetstream.url)
        try:
            done = 0
            while done < 10:
                try:
                    result = dispatch(combat, Attack("titan", 1), store, sinks=[target])
                except ConcurrencyConflict:
                    continue
                assert result.deliveries[0].ok, result.deliveries[0].error
                done += 1
        except BaseException as e:
            failures.append(e)
        finally:
            target.close()
            store.close()

    threads = [threading.Thread(target=dispatcher) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    # The spawn never went to NATS: the first delivery sent it first.
    assert generations(jetstream, "combat-titan") == list(range(1, 42))
    held = [m.headers["Nats-Msg-Id"] for m in jetstream.probe.messages(jetstream.stream)]
    assert held == [r.event_id for r in setup.read("combat-titan")]
    assert setup.pending() == []
    setup.close()


@pytest.mark.parametrize("template", ["{prefix}.{{domain}}", "{prefix}.x.{{stream}}"])
def test_a_republish_under_another_subject_template_says_the_duplicate_window_dropped_it(
    escli: Run, jetstream: JetStreamPlace, template: str
) -> None:
    """The issue's run: events out under one template, then again under another on the same
    JetStream stream. JetStream drops them by Nats-Msg-Id although the new subject holds none:
    that is no "already there"."""
    assert escli("dispatch", "combat", "attack", "troll", "1", "--to", jetstream.url).exit_code == 0
    other = template.format(prefix=jetstream.prefix)
    subject = other.replace("{domain}", "combat").replace("{stream}", "combat-troll")
    url = f"{jetstream.server}?stream={jetstream.stream}&subject={other}"
    out = escli("publish", "--all", "--to", url)
    assert (out.exit_code, out.stdout, out.stderr) == (
        7,
        "",
        f"Error: JetStream at 127.0.0.1:4222 dropped 1 event of combat-troll (generations 1..1) "
        f"sent to subject {subject!r}: the stream's duplicate window (120 s) holds their ids "
        f"(Nats-Msg-Id) from messages on subject {jetstream.subject('combat-troll')!r}, and "
        f"{subject!r} holds none of them. Publish again once that window has passed, or with "
        "the subject template they went out with before\n",
    )
    assert [m.subject for m in jetstream.probe.messages(jetstream.stream)] == [
        jetstream.subject("combat-troll")
    ]
    # A dispatch to it fails the same way and keeps the range pending.
    out = escli("dispatch", "combat", "attack", "troll", "1", "--to", url)
    assert out.exit_code == 9
    assert f"pending for {escli_url(url)} (2..2)" in out.stderr


def escli_url(url: str) -> str:
    """A NATS target's name as escli shows it: subject before stream."""
    server, _, query = url.partition("?")
    stream, subject = (item.partition("=")[2] for item in query.split("&"))
    return f"{server}?subject={subject}&stream={stream}"


def test_a_republish_on_a_shared_subject_that_holds_the_events_is_already_there(
    escli: Run, jetstream: JetStreamPlace
) -> None:
    url = f"{jetstream.server}?stream={jetstream.stream}&subject={jetstream.prefix}.{{domain}}"
    jetstream.probe.create(jetstream.stream, [f"{jetstream.prefix}.>"])
    for entity in ("orc", "gob"):  # the subject's last message is gob's, not orc's
        out = escli("dispatch", "combat", "spawn", entity, "10", "--to", url)
        assert out.exit_code == 0, out.stdout
    out = escli("publish", "combat-orc", "--to", url)
    assert (out.exit_code, out.stdout) == (
        0,
        f"{escli_url(url)}  combat-orc  generations 1..1  0 events stored (1 already there)\n",
    )
