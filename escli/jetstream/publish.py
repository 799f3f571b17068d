"""Publishing escli events to JetStream, and reading back where a subject ends.

Each event is published as the structured-mode CloudEvent ``escli export`` writes (the same
bytes, from ``escli.cloudevents.write.to_json``), with headers ``Content-Type:
application/cloudevents+json`` and ``Nats-Msg-Id: <event id>``.

Batches. ``Publisher.publish`` publishes all of a batch's events, then waits for every ack
(pipelined: one round trip per batch, not per event). A refused publish, a missing ack (5 s)
or a lost connection fails the whole batch. An ack with ``duplicate`` (the ``Nats-Msg-Id``
was seen within the stream's duplicate window) counts as delivered, not as stored, and names
the sequence of the message it duplicates.

``read_ends`` reads what a subject holds: its message count and its first and last messages
(as escli events of a stream), read again until the count holds still. What to make of them
is the ``nats://`` target's (``escli.sinks.nats``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from collections.abc import Sequence
from typing import Final, NamedTuple

from escli.cloudevents.mapping import CONTENT_TYPE
from escli.cloudevents.write import to_json
from escli.errors import StoreError, StoreUnavailable
from escli.jetstream.connection import REQUEST_TIMEOUT, Connection, Message, Reply
from escli.stores.base import RecordedEvent

__all__ = ["HEADER_CONTENT_TYPE", "MSG_ID", "Acks", "Ends", "Publisher", "event_of", "read_ends"]

MSG_ID: Final = "Nats-Msg-Id"
HEADER_CONTENT_TYPE: Final = "Content-Type"
# How often the ends of a subject are read before a subject that keeps moving is an error.
_TAIL_READS: Final = 12
_NO_STREAM: Final = "no JetStream stream takes this subject"


class Acks:
    """The acks of one batch, counted as they come."""

    def __init__(self, base: int, size: int) -> None:
        self.base = base
        self.size = size
        self.waiting = size
        self.refused: dict[int, str] = {}  # index -> the server's reason
        self.duplicates = 0  # acked as already held (Nats-Msg-Id seen): not stored again
        # index -> the stream sequence of the message a duplicate was dropped for (0: unsaid)
        self.duplicate_of: dict[int, int] = {}
        self.last_sequence = 0  # the stream sequence of the batch's last message
        self.done = asyncio.Event()


class Publisher:
    """Publishes batches of one stream's events on a connection, pipelined; not thread-safe.
    ``listen`` once per new connection, before the first batch."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._inbox = ""
        self._token = 0
        self.acks: Acks | None = None  # the batch in flight

    async def listen(self) -> None:
        """Subscribe to the acks, on an inbox of the connection's own."""
        self._inbox = await self._connection.listen(self._on_ack)

    async def publish(
        self, subject: str, recorded: Sequence[RecordedEvent]
    ) -> tuple[int, int, dict[int, int]]:
        """Publish every event, then wait for every ack; raise unless all were accepted.
        How many were stored (not duplicates), the stream sequence of the last, and for each
        duplicate (by index) the sequence of the message JetStream dropped it for."""
        connection = self._connection
        address = connection.options.address
        acks = self.acks = Acks(self._token, len(recorded))
        self._token += len(recorded)
        inbox, base = self._inbox, acks.base
        lost = connection.lost
        what = f"{recorded[0].stream}: an event's CloudEvent"
        stop = False

        async def send() -> None:
            for index, r in enumerate(recorded):
                if stop:  # nats-py swallows a cancel while it waits for a flush
                    return
                await connection.publish(
                    subject,
                    to_json(r).encode(),
                    reply=f"{inbox}{base + index}",
                    headers={HEADER_CONTENT_TYPE: CONTENT_TYPE, MSG_ID: r.event_id},
                    what=what,
                )

        # A connection that dies while nats-py waits to flush leaves that wait hanging:
        # every wait here also ends when the connection is lost, or at the deadline.
        limit = REQUEST_TIMEOUT + len(recorded) // 10_000
        deadline = time.monotonic() + limit
        sending = asyncio.ensure_future(send())
        waiting = asyncio.ensure_future(acks.done.wait())
        gone = asyncio.ensure_future(lost.wait())
        first = asyncio.FIRST_COMPLETED
        try:
            finished, _ = await asyncio.wait((sending, gone), timeout=limit, return_when=first)
            if sending in finished:
                sending.result()  # the connection's errors, already escli's
                left = max(deadline - time.monotonic(), 0.001)
                await asyncio.wait((waiting, gone), timeout=left, return_when=first)
        finally:
            stop = True
            waiting.cancel()
            gone.cancel()
            if not sending.done():
                sending.cancel()
                await asyncio.wait((sending,), timeout=1)
            if sending.done() and not sending.cancelled():
                sending.exception()  # retrieved (raised above when it mattered)
            self.acks = None
        if acks.waiting:
            got = acks.size - acks.waiting
            if lost.is_set():
                raise connection.unavailable(
                    f"lost the connection after {got} of {acks.size} acks from"
                )
            raise StoreUnavailable(
                f"JetStream at {address} acked {got} of {acks.size} events within {limit:g} s"
            )
        if acks.refused:
            index = min(acks.refused)
            r = recorded[index]
            raise StoreError(
                f"JetStream at {address} refused {r.stream} generation "
                f"{r.generation}: {acks.refused[index]}"
            )
        return acks.size - acks.duplicates, acks.last_sequence, acks.duplicate_of

    async def _on_ack(self, msg: Reply) -> None:
        acks = self.acks
        if acks is None:
            return  # a late ack of a failed batch: that batch is pending anyway
        try:
            index = int(msg.subject[len(self._inbox) :]) - acks.base
        except ValueError:
            return
        if not 0 <= index < acks.size:
            return
        data = msg.data
        if msg.headers and msg.headers.get("Status") == "503":
            acks.refused[index] = _NO_STREAM
        elif b'"error"' in data:
            try:
                error = json.loads(data)["error"]
                acks.refused[index] = str(error.get("description") or error)
            except (ValueError, KeyError, TypeError, AttributeError):
                acks.refused[index] = data.decode(errors="replace")
        else:
            # Parsed only where it counts: the pipelined batch stays cheap.
            if b'"duplicate"' in data and b"true" in data:  # nats-server writes '"duplicate": true'
                acks.duplicates += 1
                with contextlib.suppress(ValueError, TypeError, AttributeError):
                    # A duplicate's ack names the sequence of the message it duplicates.
                    sequence = json.loads(data).get("seq")
                    acks.duplicate_of[index] = sequence if type(sequence) is int else 0
            if index == acks.size - 1:
                with contextlib.suppress(ValueError, TypeError, AttributeError):
                    sequence = json.loads(data).get("seq")
                    acks.last_sequence = sequence if type(sequence) is int else 0
        acks.waiting -= 1
        if not acks.waiting:
            acks.done.set()


class Ends(NamedTuple):
    """What a subject holds, read at one moment: how many messages, and its first and last
    messages as events of one escli stream, ``(generation, id)`` (None: not one), the last
    at stream sequence ``last_sequence``. ``messages`` 0: nothing."""

    messages: int
    first: tuple[int, str] | None
    last: tuple[int, str] | None
    last_sequence: int


_NOTHING: Final = Ends(0, None, None, 0)


async def read_ends(connection: Connection, subject: str, stream: str, *, first: bool) -> Ends:
    """The count and the last message of ``subject`` (and its first, with ``first``; else
    the last stands for it), as events of ``stream``."""
    count = await connection.count(subject)
    for attempt in range(_TAIL_READS):
        if not count:
            return _NOTHING
        last = await connection.last_message(subject)
        if last is None:
            return _NOTHING
        # The same count after reading the last message: none came meanwhile, so
        # the two agree (another publisher may be at work on this subject).
        count, before = await connection.count(subject), count
        if count == before:
            break
        # Racing publishers: step aside for a random, growing spell (up to ~0.3 s),
        # so that two readers do not keep colliding in step.
        await asyncio.sleep(random.uniform(0, 0.005 * 2 ** min(attempt, 6)))
    else:
        raise StoreError(
            f"JetStream at {connection.options.address}: subject {subject!r} kept moving "
            "while escli read where it ends; publish again"
        )
    head = last
    if first and count > 1:
        found = await connection.first_message(subject)
        if found is None:
            return _NOTHING
        head = found
    return Ends(count, event_of(head, stream), event_of(last, stream), last.sequence)


def event_of(msg: Message, stream: str) -> tuple[int, str] | None:
    """(generation, id) when ``msg`` is an escli event of ``stream`` as escli publishes it."""
    try:
        event = json.loads(msg.data or b"")
        generation, event_id = event["generation"], event["id"]
    except (ValueError, TypeError, KeyError):
        return None
    if (
        event.get("subject") != stream
        or type(generation) is not int
        or msg.headers.get(MSG_ID) != event_id
    ):
        return None
    return generation, event_id
