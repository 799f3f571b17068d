"""The ``nats://`` dispatch target: delivered events published to NATS JetStream.

``open_sink`` imports this module only for ``nats://`` URLs (nats-py is ``pip install
'escli[nats]'``). The URL is ``escli.jetstream.urls``'s, the connection
``escli.jetstream.connection``'s; publishing a batch and reading where a subject ends are
``escli.jetstream.publish``'s (each event is the CloudEvent ``escli export`` writes, with
``Nats-Msg-Id: <event id>``). This module decides what to publish.

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

Batches. A delivery is one batch (``escli.jetstream.publish.Publisher``): a refused publish,
a missing ack (5 s) or a lost connection fails the whole delivery, so the store keeps the
whole range pending; what did arrive is dropped as a duplicate when the range is sent again.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Final, NamedTuple

from escli.errors import StoreError, StoreUnavailable
from escli.jetstream.connection import DUPLICATE_WINDOW, Connection
from escli.jetstream.publish import Publisher, read_ends
from escli.jetstream.urls import parse_url, subject_matches
from escli.sinks.base import TargetBehind
from escli.stores.base import RecordedEvent

__all__ = ["NatsTarget"]


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
        self.publisher = Publisher(self._connection)
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

    async def _ready(self) -> None:
        connection = self._connection
        if await connection.connect():
            self._known.clear()
            self._checked_subjects.clear()
            try:
                facts = await connection.stream(self.options.create)
                self._stream_subjects = facts.subjects
                self._trust = facts.duplicate_window / 2
                self._keeps = facts.keeps
                await self.publisher.listen()
            except BaseException:
                await connection.drop()
                raise

    async def _deliver(self, recorded: Sequence[RecordedEvent]) -> int:
        stream = recorded[0].stream
        subject = self.subject(stream)
        await self._ready()
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
                tail, read_at = await self._tail(subject, stream), time.monotonic()
            try:
                todo = self._unsent(subject, recorded, tail)
            except TargetBehind:
                if read:
                    raise
                # Events would be sent again: check that another publisher did not.
                tail, read_at = await self._tail(subject, stream), time.monotonic()
                todo = self._unsent(subject, recorded, tail)
            self._known[stream] = tail, read_at
            if not todo:
                return 0
            stored, sequence, duplicate_of = await self.publisher.publish(subject, todo)
            if stored < len(todo):
                await self._check_duplicates(subject, todo, duplicate_of)
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
        held = [await self._subject_of(duplicate_of[i]) for i in _ends(duplicate_of)]
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
            tail = await self._tail(subject, last.stream)
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

    async def _subject_of(self, sequence: int) -> str | None:
        """The subject of the JetStream stream's message ``sequence``; "" when it is gone,
        None when the sequence is unknown (0: the ack did not say)."""
        if not sequence:
            return None
        msg = await self._connection.message(sequence)
        return "" if msg is None else msg.subject

    async def _tail(self, subject: str, stream: str) -> _Tail | None:
        """What ``subject`` holds of ``stream``, read from JetStream; ``StoreError`` when a
        subject of the stream's own holds what escli cannot continue in order."""
        strict = self.options.subject.exclusive and self._keeps
        ends = await read_ends(self._connection, subject, stream, first=strict)
        if not ends.messages:
            return _EMPTY
        count, first_event, last_event = ends.messages, ends.first, ends.last
        if not self.options.subject.exclusive:
            # Shared with other streams: only a last message of this stream's tells anything.
            return None if last_event is None else _Tail(1, *last_event, ends.last_sequence)
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
        return _Tail(first_event[0] if strict else 1, *last_event, ends.last_sequence)

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


def _ends(indexes: dict[int, int]) -> list[int]:
    """The smallest and the largest of ``indexes`` (one when they are the same)."""
    return sorted({min(indexes), max(indexes)}) if indexes else []
