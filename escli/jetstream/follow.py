"""Following a subject: the escli events a JetStream subject holds and receives, read through
an ephemeral, ordered consumer and decoded through the loaded domains (``Follower``)."""

from __future__ import annotations

import asyncio
import json
import signal
import threading
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from escli.cloudevents.mapping import EventError
from escli.cloudevents.parser import EventParser
from escli.domain.model import Domain
from escli.errors import InvalidInput
from escli.jetstream.connection import Connection, Message
from escli.jetstream.urls import check_subject, parse_url

if TYPE_CHECKING:
    from collections.abc import Iterable

    from escli.domain.discovery import DomainRegistry

__all__ = ["Followed", "Follower"]


class Followed(NamedTuple):
    """One escli event read from JetStream, decoded through the loaded domains."""

    subject: str  # the NATS subject
    sequence: int  # its sequence in the JetStream stream
    stream: str  # the escli stream (the CloudEvent's subject)
    generation: int
    event_type: str
    type_version: str
    event_id: str
    time: str  # as stored: RFC 3339 with microseconds
    data: dict[str, Any]
    event: Any  # the domain event
    cloud_event: dict[str, Any]  # the CloudEvent as published
    metadata: Mapping[str, str] | None = None  # its extension attributes (why it happened)


class Follower:
    """Reads the escli events on a subject through an ephemeral, ordered JetStream consumer:
    everything the stream holds, then new events as they come (``new``: only new ones).

    ``open()`` subscribes (errors surface there); iterating yields ``Followed`` events until
    the caller stops. Use it as a context manager, or ``close()`` it."""

    def __init__(
        self,
        url: str,
        domains: DomainRegistry | Iterable[Domain],
        *,
        subject: str | None = None,
        new: bool = False,
    ) -> None:
        self.options = parse_url(url)
        self.subject = subject or self.options.subject.filter
        check_subject(self.subject, wildcards=True, what="subject")
        self.new = new
        self.address = self.options.address
        self.stream = self.options.stream
        self._parser = EventParser(domains)
        self._connection = Connection(self.options)
        self._waiting: asyncio.Task[Message] | None = None
        self._interrupted = False

    def __enter__(self) -> Follower:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def open(self) -> None:
        if not self._connection.following:
            self._connection.run(self._open())

    async def _open(self) -> None:
        connection = self._connection
        await connection.connect()
        await connection.stream(create=False)
        await connection.follow(self.subject, new=self.new)

    def __iter__(self) -> Iterator[Followed]:
        """The events, as they come; Ctrl-C raises ``KeyboardInterrupt`` here, between two
        events, never inside nats-py (which an interrupt there can leave half done)."""
        self.open()
        connection = self._connection
        interruptible = self._catch_interrupts()
        try:
            while True:
                self._waiting = connection.loop.create_task(self._next())
                try:
                    msg = connection.run(self._waiting)
                except asyncio.CancelledError:
                    if self._interrupted:
                        raise KeyboardInterrupt from None
                    raise
                yield self._decode(msg)
        finally:
            if interruptible and not connection.loop.is_closed():
                connection.loop.remove_signal_handler(signal.SIGINT)

    def _catch_interrupts(self) -> bool:
        """Turn SIGINT into a cancel of the wait for the next message (main thread only)."""
        if threading.current_thread() is not threading.main_thread():
            return False

        def interrupt() -> None:
            self._interrupted = True
            if self._waiting is not None:
                self._waiting.cancel()

        try:
            self._connection.loop.add_signal_handler(signal.SIGINT, interrupt)
        except (NotImplementedError, RuntimeError, ValueError):
            return False  # no signal handlers on this platform or thread: a plain Ctrl-C
        return True

    async def _next(self) -> Message:
        return await self._connection.next_followed()

    def _decode(self, msg: Message) -> Followed:
        sequence = msg.sequence
        where = f"{msg.subject} (stream sequence {sequence})"
        try:
            document = json.loads(msg.data)
            generation, new, resolved = self._parser.check(document, size=len(msg.data))
        except ValueError as e:
            if isinstance(e, EventError):
                raise InvalidInput(f"{where}: not an escli event: {e}") from e
            raise InvalidInput(f"{where}: not a JSON CloudEvent: {e}") from e
        assert new is not None and new.recorded_at is not None
        return Followed(
            msg.subject,
            sequence,
            resolved.stream,
            generation,
            new.event_type,
            new.type_version,
            new.event_id,
            new.recorded_at,
            new.data,
            resolved.decode(new.data),
            document,
            new.metadata,
        )

    def close(self) -> None:
        if self._waiting is not None and not self._connection.loop.is_closed():
            self._connection.cancel(self._waiting)
        self._waiting = None
        self._connection.close(drain=False)
