"""The ``nats://`` dispatch target: delivered events published to NATS JetStream.

``open_sink`` imports this module only for ``nats://`` URLs (nats-py is ``pip install
'escli[nats]'``). The URL is ``escli.jetstream.urls``'s; the connection
``escli.jetstream.connection``'s.

Each event is published as the structured-mode CloudEvent ``escli export`` writes (the same
bytes, from ``escli.cloudevents.write.to_json``), with headers ``Content-Type:
application/cloudevents+json`` and ``Nats-Msg-Id: <event id>``.

Order. A subject holds a stream's events in generation order, each once. Before the first
delivery of a stream on a connection (and again once half the duplicate window has passed,
or before re-sending events) the target reads what the subject holds: its message count,
and its first and last messages. It then publishes only what comes after the subject's last
event of the stream, and:

- when the subject ends before the events it is given start (a dispatch whose stream's
  earlier events never went there, ``publish --from-generation``), raises ``TargetBehind``:
  ``escli.app.delivery`` sends the missing events from the store first, as it does for a store
  target, so a subject never starts past generation 1 through escli;
- refuses (``StoreError``, saying how to start the subject afresh) what it cannot publish in
  order: a subject of the stream's own that holds other messages, has a hole or is out of
  order (count, first and last disagree), or starts after generations it is asked to send
  (``publish`` of 1..5 where an older escli left 5 alone): JetStream only appends;
- counts what JetStream stored: an ack marked ``duplicate`` (the ``Nats-Msg-Id`` was seen
  within the duplicate window) is delivered, not stored. A duplicate of a message the subject
  does not hold is an error, so the range stays pending: one purged within the window, or
  one on another subject (the events went out under another subject template on the same
  JetStream stream). The ack names the duplicated message's sequence, which says where it is.

Those checks are exact where the subject is the stream's own (the template has ``{stream}``,
or ``{domain}`` and ``{id}``) and the JetStream stream keeps what it takes (limits retention,
no age, count or size limit). A stream that removes messages (such a limit, or interest or
work-queue retention) may have trimmed a subject's head: then only its last message counts, earlier
generations are neither refused nor put back. On a subject shared by several streams (say
``events.{domain}``), only a last message of the stream's own says where it ends; otherwise
escli relies on what ``escli.app.delivery`` guarantees (pending ranges go first, in order) and on
the duplicate window.

Batches. A delivery publishes all its events, then waits for every ack (pipelined: one
round trip per batch, not per event). A refused publish, a missing ack (5 s) or a lost
connection fails the whole delivery, so the store keeps the whole range pending; what did
arrive is dropped as a duplicate when the range is sent again. An ack with ``duplicate``
counts as delivered.

Connections. nats-py is asyncio; each target (and each ``Follower``) owns a private event loop
driven with ``run_until_complete``, so callers stay synchronous, and connects on first use.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import random
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Final, NamedTuple

from escli.cloudevents.mapping import CONTENT_TYPE
from escli.cloudevents.write import to_json
from escli.errors import StoreError, StoreUnavailable, missing_client
from escli.jetstream.connection import DUPLICATE_WINDOW, REQUEST_TIMEOUT, Connection
from escli.jetstream.urls import parse_url, subject_matches
from escli.sinks.base import TargetBehind
from escli.stores.base import RecordedEvent

try:
    import nats.errors
    import nats.js.errors
    from nats.aio.client import Client
    from nats.aio.msg import Msg
    from nats.js import api
except ImportError as e:
    raise missing_client("nats:// URLs need nats-py", "'escli[nats]'", e) from e

if TYPE_CHECKING:
    from nats.js.client import JetStreamContext

__all__ = ["MSG_ID", "NatsTarget"]

# How often the tail of a subject is read before a subject that keeps moving is an error.
_TAIL_READS: Final = 12
MSG_ID: Final = "Nats-Msg-Id"
HEADER_CONTENT_TYPE: Final = "Content-Type"


class _Acks:
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


_NO_STREAM: Final = "no JetStream stream takes this subject"


class _Tail(NamedTuple):
    """What a subject is known to hold of one stream: its generations ``first..last``, in
    order and none missing between them, the last with ``event_id`` at stream ``sequence``.
    ``first = last = 0``: none. ``first`` is 1 where only the last message was read."""

    first: int
    last: int
    event_id: str
    sequence: int


_EMPTY: Final = _Tail(0, 0, "", 0)


class NatsTarget:
    """Publishes delivered events to NATS JetStream as structured-mode CloudEvents, keeping
    each subject in generation order (see the module docstring)."""

    def __init__(self, url: str) -> None:
        self.options = parse_url(url)
        self.url = self.options.url
        self._connection = Connection(self.options)
        self._inbox = ""
        self._token = 0
        self._acks: _Acks | None = None
        self._stream_subjects: list[str] = []
        self._checked_subjects: set[str] = set()
        # Whether the JetStream stream keeps every message it takes (limits retention and no
        # limit set): then a subject that starts late or has a hole was made so, not trimmed.
        self._keeps = False
        # Per escli stream, on this connection: what its subject holds of it (None: unknown,
        # a subject shared with other streams whose last message is not this stream's), and
        # when that was read.
        self._known: dict[str, tuple[_Tail | None, float]] = {}
        self._trust = DUPLICATE_WINDOW / 2

    def subject(self, stream: str) -> str:
        return self.options.subject.render(stream)

    def deliver(self, recorded: Sequence[RecordedEvent]) -> int:
        """Publish what the subject lacks of ``recorded`` (one stream's events, in order),
        wait for every ack, and say how many JetStream stored (duplicates are not counted).

        ``TargetBehind`` when the subject ends before ``recorded`` starts (the sender sends
        the missing events first); ``StoreError`` when ``recorded`` cannot be published in
        generation order."""
        if not recorded:
            return 0
        return self._connection.run(self._deliver(recorded))

    def close(self) -> None:
        self._connection.close()

    # -- inside the loop -----------------------------------------------------------------

    async def _ready(self) -> Client:
        connection = self._connection
        client, new = await connection.connect()
        if new:
            self._known.clear()
            self._checked_subjects.clear()
            try:
                info = await connection.stream_info(client, self.options.create)
                config = info.config
                self._stream_subjects = list(config.subjects or [])
                self._trust = (config.duplicate_window or 0) / 2
                self._keeps = config.retention in (None, api.RetentionPolicy.LIMITS) and all(
                    (limit or 0) <= 0
                    for limit in (
                        config.max_age,
                        config.max_msgs,
                        config.max_bytes,
                        config.max_msgs_per_subject,
                    )
                )
                self._inbox = client.new_inbox() + "."
                await client.subscribe(self._inbox + "*", cb=self._on_ack)
            except BaseException:
                await connection.drop()
                raise
        return client

    async def _deliver(self, recorded: Sequence[RecordedEvent]) -> int:
        stream = recorded[0].stream
        subject = self.subject(stream)
        client = await self._ready()
        if subject not in self._checked_subjects:
            if not any(subject_matches(s, subject) for s in self._stream_subjects):
                raise StoreError(
                    f"JetStream stream {self.options.stream!r} at {self.options.address} does "
                    f"not take subject {subject!r} (its subjects: "
                    f"{', '.join(self._stream_subjects) or 'none'})"
                )
            self._checked_subjects.add(subject)
        try:
            # What is known of the subject is trusted for half the duplicate window: a
            # re-send of what another publisher put there since is then still dropped.
            tail, read_at = self._known.get(stream, (_EMPTY, -math.inf))
            read = time.monotonic() - read_at > self._trust
            if read:
                tail, read_at = await self._tail(client, subject, stream), time.monotonic()
            try:
                todo = self._unsent(subject, recorded, tail)
            except TargetBehind:
                if read:
                    raise
                # Events would be sent again: check that another publisher did not.
                tail, read_at = await self._tail(client, subject, stream), time.monotonic()
                todo = self._unsent(subject, recorded, tail)
            self._known[stream] = tail, read_at
            if not todo:
                return 0
            stored, sequence, duplicate_of = await self._publish(client, subject, todo)
            if stored < len(todo):
                await self._check_duplicates(client, subject, todo, duplicate_of)
        except TargetBehind:
            raise  # what is known of the subject still holds
        except BaseException as e:
            self._known.pop(stream, None)  # what arrived is unknown now: ask next time
            if isinstance(e, StoreUnavailable):
                await self._connection.drop()
            raise
        finally:
            self._connection.last_used = time.monotonic()
        if tail is not None:
            first = tail.first or todo[0].generation
            last = todo[-1]
            self._known[stream] = _Tail(first, last.generation, last.event_id, sequence), read_at
        return stored

    async def _check_duplicates(
        self,
        client: Client,
        subject: str,
        todo: Sequence[RecordedEvent],
        duplicate_of: dict[int, int],
    ) -> None:
        """JetStream dropped some of ``todo`` as duplicates (their ``Nats-Msg-Id`` seen
        within the duplicate window): fine when the messages they duplicate are on
        ``subject`` (another publisher put them there, or an earlier delivery), not when they
        are on another subject (the events went out under another subject template) or were
        removed (a purge) within the window. A duplicate's ack names the sequence of the
        message it duplicates: the first and the last are looked up (a batch goes out under
        one template). On a subject of the stream's own, its tail is read too."""
        last = todo[-1]
        held = [await self._subject_of(client, duplicate_of[i]) for i in _ends(duplicate_of)]
        elsewhere = [h for h in held if h and h != subject]
        if elsewhere:
            dropped = [todo[i] for i in _ends(duplicate_of)]
            count = len(duplicate_of)
            raise StoreError(
                f"JetStream at {self.options.address} dropped {count} event"
                f"{'s' if count != 1 else ''} of {last.stream} (generations "
                f"{dropped[0].generation}..{dropped[-1].generation}) sent to subject "
                f"{subject!r}: the stream's duplicate window ({self._trust * 2:g} s) holds "
                f"their ids (Nats-Msg-Id) from messages on subject {elsewhere[0]!r}, and "
                f"{subject!r} holds none of them. Publish again once that window has passed, "
                "or with the subject template they went out with before"
            )
        if self.options.subject.exclusive:
            tail = await self._tail(client, subject, last.stream)
            gone = (
                tail is None
                or tail.last < last.generation
                or (tail.last == last.generation and tail.event_id != last.event_id)
            )
        else:
            gone = "" in held
        if gone:
            raise StoreError(
                f"JetStream at {self.options.address} dropped events of {last.stream} up to "
                f"generation {last.generation} as duplicates of messages subject {subject!r} "
                f"no longer holds (removed within the stream's duplicate window, "
                f"{self._trust * 2:g} s); publish again once that window has passed"
            )

    async def _subject_of(self, client: Client, sequence: int) -> str | None:
        """The subject of the JetStream stream's message ``sequence``; "" when it is gone,
        None when the sequence is unknown (0: the ack did not say)."""
        if not sequence:
            return None
        try:
            msg = await self._connection.jetstream(client).get_msg(self.options.stream, sequence)
        except nats.js.errors.NotFoundError:
            return ""
        except nats.js.errors.APIError as e:
            raise StoreError(f"JetStream at {self.options.address}: {e.description}") from e
        except (TimeoutError, nats.errors.Error, OSError) as e:
            raise self._connection.unavailable("lost", e) from e
        return msg.subject or ""

    async def _tail(self, client: Client, subject: str, stream: str) -> _Tail | None:
        """What ``subject`` holds of ``stream``, read from JetStream; ``StoreError`` when a
        subject of the stream's own holds what escli cannot continue in order."""
        js = self._connection.jetstream(client)
        name = self.options.stream
        strict = self.options.subject.exclusive and self._keeps
        try:
            count = await self._count(js, subject)
            for attempt in range(_TAIL_READS):
                if not count:
                    return _EMPTY
                last = await js.get_last_msg(name, subject)
                # The same count after reading the last message: none came meanwhile, so
                # the two agree (another publisher may be at work on this subject).
                count, before = await self._count(js, subject), count
                if count == before:
                    break
                # Racing publishers: step aside for a random, growing spell (up to ~0.3 s),
                # so that two readers do not keep colliding in step.
                await asyncio.sleep(random.uniform(0, 0.005 * 2 ** min(attempt, 6)))
            else:
                raise StoreError(
                    f"JetStream at {self.options.address}: subject {subject!r} kept moving "
                    "while escli read where it ends; publish again"
                )
            first = last
            if strict and count > 1:
                first = await js.get_msg(name, seq=1, subject=subject, next=True)
        except nats.js.errors.NotFoundError:
            return _EMPTY
        except nats.js.errors.APIError as e:
            raise StoreError(f"JetStream at {self.options.address}: {e.description}") from e
        except (TimeoutError, nats.errors.Error, OSError) as e:
            raise self._connection.unavailable("lost", e) from e
        last_event, first_event = _event_of(last, stream), _event_of(first, stream)
        if not self.options.subject.exclusive:
            # Shared with other streams: only a last message of this stream's tells anything.
            return None if last_event is None else _Tail(1, *last_event, last.seq or 0)
        if last_event is None or first_event is None:
            raise self._out_of_order(
                stream, subject, f"holds messages that are not events of {stream}"
            )
        if strict and last_event[0] - first_event[0] + 1 != count:
            raise self._out_of_order(
                stream,
                subject,
                f"holds {count} message{'s' if count != 1 else ''} for generations "
                f"{first_event[0]}..{last_event[0]} of {stream}: some are missing or out of order",
            )
        return _Tail(first_event[0] if strict else 1, *last_event, last.seq or 0)

    async def _count(self, js: JetStreamContext, subject: str) -> int:
        info = await js.stream_info(self.options.stream, subjects_filter=subject)
        return (info.state.subjects or {}).get(subject, 0)

    def _out_of_order(self, stream: str, subject: str, what: str) -> StoreError:
        return StoreError(
            f"JetStream at {self.options.address}: subject {subject!r} {what}, and JetStream "
            "only appends, so escli cannot publish it in generation order. To start it afresh: "
            f"nats stream purge {self.options.stream} --subject {subject!r} -f, then after "
            f"the stream's duplicate window ({self._trust * 2:g} s) "
            f"escli publish {stream} --to {self.url!r}"
        )

    def _unsent(
        self, subject: str, recorded: Sequence[RecordedEvent], tail: _Tail | None
    ) -> Sequence[RecordedEvent]:
        """What of ``recorded`` goes after ``tail``, in order; raises when that is not all
        that is missing (``TargetBehind``: earlier events first) or cannot be."""
        if tail is None:
            return recorded  # nothing known: Nats-Msg-Id drops what JetStream saw lately
        stream, first = recorded[0].stream, recorded[0].generation
        if tail.last < first - 1 and (tail.last or self._keeps):
            raise TargetBehind(self.url, stream, tail.last)
        index = tail.last - first
        if 0 <= index < len(recorded) and recorded[index].event_id != tail.event_id:
            raise StoreError(
                f"JetStream at {self.options.address}: subject {subject!r} holds another event "
                f"at generation {tail.last} of {stream} (id {tail.event_id}); the target has "
                "diverged from the store"
            )
        if self._keeps and self.options.subject.exclusive and first < tail.first:
            raise self._out_of_order(
                stream,
                subject,
                f"starts at generation {tail.first} of {stream}, so generations {first}.."
                f"{min(tail.first - 1, recorded[-1].generation)} cannot go before it",
            )
        return recorded[max(index + 1, 0) :]

    async def _publish(
        self,
        client: Client,
        subject: str,
        recorded: Sequence[RecordedEvent],
    ) -> tuple[int, int, dict[int, int]]:
        """Publish every event, then wait for every ack; raise unless all were accepted.
        How many were stored (not duplicates), the stream sequence of the last, and for each
        duplicate (by index) the sequence of the message JetStream dropped it for."""
        acks = self._acks = _Acks(self._token, len(recorded))
        self._token += len(recorded)
        inbox, base = self._inbox, acks.base
        lost = self._connection.lost
        stop = False

        async def send() -> None:
            for index, r in enumerate(recorded):
                if stop:  # nats-py swallows a cancel while it waits for a flush
                    return
                await client.publish(
                    subject,
                    to_json(r).encode(),
                    reply=f"{inbox}{base + index}",
                    headers={HEADER_CONTENT_TYPE: CONTENT_TYPE, MSG_ID: r.event_id},
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
                sending.result()
                left = max(deadline - time.monotonic(), 0.001)
                await asyncio.wait((waiting, gone), timeout=left, return_when=first)
        except nats.errors.MaxPayloadError as e:
            raise StoreError(
                f"{recorded[0].stream}: an event's CloudEvent is larger than the largest "
                f"message NATS at {self.options.address} takes ({e})"
            ) from e
        except (nats.errors.Error, OSError) as e:
            raise self._connection.unavailable("lost the connection to", e) from e
        finally:
            stop = True
            waiting.cancel()
            gone.cancel()
            if not sending.done():
                sending.cancel()
                await asyncio.wait((sending,), timeout=1)
            if sending.done() and not sending.cancelled():
                sending.exception()  # retrieved (raised above when it mattered)
            self._acks = None
        if acks.waiting:
            got = acks.size - acks.waiting
            if lost.is_set():
                raise self._connection.unavailable(
                    f"lost the connection after {got} of {acks.size} acks from"
                )
            raise StoreUnavailable(
                f"JetStream at {self.options.address} acked {got} of {acks.size} events "
                f"within {limit:g} s"
            )
        if acks.refused:
            index = min(acks.refused)
            r = recorded[index]
            raise StoreError(
                f"JetStream at {self.options.address} refused {r.stream} generation "
                f"{r.generation}: {acks.refused[index]}"
            )
        return acks.size - acks.duplicates, acks.last_sequence, acks.duplicate_of

    async def _on_ack(self, msg: Msg) -> None:
        acks = self._acks
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


def _ends(indexes: dict[int, int]) -> list[int]:
    """The smallest and the largest of ``indexes`` (one when they are the same)."""
    return sorted({min(indexes), max(indexes)}) if indexes else []


def _event_of(msg: api.RawStreamMsg, stream: str) -> tuple[int, str] | None:
    """(generation, id) when ``msg`` is an escli event of ``stream`` as escli publishes it."""
    try:
        event = json.loads(msg.data or b"")
        generation, event_id = event["generation"], event["id"]
    except (ValueError, TypeError, KeyError):
        return None
    if (
        event.get("subject") != stream
        or type(generation) is not int
        or (msg.headers or {}).get(MSG_ID) != event_id
    ):
        return None
    return generation, event_id
