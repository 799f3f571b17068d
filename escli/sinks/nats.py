"""NATS JetStream: the ``nats://`` dispatch target, and following a subject.

The only importer of nats-py (``pip install 'escli[nats]'``); ``open_sink`` imports this
module only for ``nats://`` URLs, and ``escli follow`` only when it runs.

URL: ``nats://[user:password@|token@]host[:port][?subject=TEMPLATE&stream=NAME&create=1]``

- ``subject``: where a stream's events go, a template of ``{domain}``, ``{id}`` (the stream
  name's parts around its first ``-``) and ``{stream}``; default ``events.{domain}.{id}``
  (``combat-ogre`` -> ``events.combat.ogre``). Each value is one subject token: the characters
  NATS gives a meaning to or forbids in a token (``.``, ``*``, ``>``, whitespace, control
  characters) and ``%`` itself are percent-encoded as UTF-8 (``a.b c`` -> ``a%2Eb%20c``),
  so distinct streams keep distinct subjects.
- ``stream``: the JetStream stream that must take those subjects (default ``ESCLI``).
- ``create=1``: create that stream if it is missing, taking the template's subjects
  (``events.>`` by default): limits retention, file storage, a 2-minute duplicate window.
  Without it, a missing stream is an error: escli does not make streams unasked.

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
No automatic reconnect: a connection that breaks fails the delivery in hand, and the next
delivery connects afresh (2 s to connect, two attempts), so an unreachable server costs a
dispatch at most ~2.5 s. nats-py's errors stop here: cannot reach or lost the connection is
``StoreUnavailable``; anything the server refuses is ``StoreError``. Messages name
``host:port``, never credentials.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import random
import re
import signal
import socket
import string
import threading
import time
from collections.abc import Coroutine, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Final, NamedTuple, TypeVar
from urllib.parse import parse_qsl, unquote, urlsplit

from escli.cloudevents.mapping import CONTENT_TYPE, EventError
from escli.cloudevents.read import EventParser
from escli.cloudevents.write import to_json
from escli.domain.model import Domain
from escli.errors import EscliError, InvalidInput, StoreError, StoreUnavailable, missing_client
from escli.sinks.base import TargetBehind
from escli.stores.base import RecordedEvent
from escli.urls import bad_url, check_url, hide_secrets, port_problem

# How often the tail of a subject is read before a subject that keeps moving is an error.
_TAIL_READS: Final = 12

try:
    import nats.errors
    import nats.js.errors
    from nats.aio.client import Client
    from nats.aio.msg import Msg
    from nats.aio.subscription import Subscription
    from nats.js import api
except ImportError as e:
    raise missing_client("nats:// URLs need nats-py", "'escli[nats]'", e) from e

if TYPE_CHECKING:
    from collections.abc import Iterable

    from nats.js.client import JetStreamContext

    from escli.domain.discovery import DomainRegistry

__all__ = [
    "DEFAULT_STREAM",
    "DEFAULT_SUBJECT",
    "Followed",
    "Follower",
    "NatsOptions",
    "NatsTarget",
    "SubjectTemplate",
    "parse_url",
    "subject_token",
]

DEFAULT_PORT: Final = 4222
DEFAULT_STREAM: Final = "ESCLI"
DEFAULT_SUBJECT: Final = "events.{domain}.{id}"
DUPLICATE_WINDOW: Final = 120.0  # seconds JetStream remembers a Nats-Msg-Id (created streams)
CONNECT_TIMEOUT: Final = 2  # seconds per connect attempt
REQUEST_TIMEOUT: Final = 5.0  # seconds for a batch's acks, or a JetStream API answer
MSG_ID: Final = "Nats-Msg-Id"
HEADER_CONTENT_TYPE: Final = "Content-Type"
# How long a connection may sit unused before a delivery checks it is still alive (the
# server drops clients that missed its pings while nothing drove the event loop).
IDLE_CHECK: Final = 30.0

T = TypeVar("T")

# -------------------------------------------------------------------------------------------
# Subjects.


def _unsafe(char: str) -> bool:
    return char in "%.*>" or char.isspace() or not char.isprintable()


def subject_token(text: str) -> str:
    """``text`` as one NATS subject token: ``%``, ``.``, ``*``, ``>``, whitespace and control
    characters percent-encoded as UTF-8 bytes (reversible, so distinct values stay distinct)."""
    if text and not any(map(_unsafe, text)):
        return text
    return "".join("".join(f"%{b:02X}" for b in c.encode()) if _unsafe(c) else c for c in text)


def _check_subject(subject: str, *, wildcards: bool, what: str) -> None:
    tokens = subject.split(".")
    for n, token in enumerate(tokens):
        if not token or any(c.isspace() or not c.isprintable() for c in token):
            raise InvalidInput(f"{what} {subject!r} is not a NATS subject (empty token or space)")
        if ("*" in token or ">" in token) and not (
            wildcards and (token == "*" or (token == ">" and n == len(tokens) - 1))
        ):
            raise InvalidInput(
                f"{what} {subject!r}: * and > are wildcards"
                + (", each a whole token (> only last)" if wildcards else ", not allowed here")
            )


def subject_matches(pattern: str, subject: str) -> bool:
    """Whether the NATS subject filter ``pattern`` (``*``, ``>``) takes ``subject``."""
    have = subject.split(".")
    for n, token in enumerate(pattern.split(".")):
        if token == ">":
            return len(have) > n
        if n >= len(have) or (token != "*" and token != have[n]):
            return False
    return len(have) == len(pattern.split("."))


class SubjectTemplate:
    """Where a stream's events are published: ``events.{domain}.{id}`` and the like."""

    FIELDS: Final = ("domain", "id", "stream")

    def __init__(self, text: str) -> None:
        self.text = text
        try:
            parsed = list(string.Formatter().parse(text))
        except ValueError as e:
            raise InvalidInput(f"subject template {text!r}: {e}") from e
        for _, field, spec, conversion in parsed:
            if field is not None and (field not in self.FIELDS or spec or conversion):
                raise InvalidInput(
                    f"subject template {text!r}: unknown field {{{field}}} "
                    "(known: {domain}, {id}, {stream})"
                )
        fields = {field for _, field, _, _ in parsed if field}
        # Whether each stream gets a subject of its own (no two streams render alike): then
        # the subject's first and last messages and its count say exactly what it holds.
        self.exclusive = "stream" in fields or {"domain", "id"} <= fields
        marker = "\x00"
        shape = text.format(domain=marker, id=marker, stream=marker)
        _check_subject(shape.replace(marker, "x"), wildcards=False, what="subject template")
        tokens = shape.split(".")
        # The JetStream subjects the template can produce: its literal head and '>', or a
        # '*' for every token a value goes in when it starts with one.
        head = []
        for token in tokens:
            if marker in token:
                break
            head.append(token)
        if len(head) == len(tokens):
            self.filter = text
        elif head:
            self.filter = ".".join([*head, ">"])
        else:
            self.filter = ".".join("*" if marker in t else t for t in tokens)
        self._cache: dict[str, str] = {}

    def render(self, stream: str) -> str:
        """The subject of ``stream`` (``<domain>-<id>``)."""
        found = self._cache.get(stream)
        if found is None:
            domain = Domain.domain_name_of(stream)
            found = self.text.format(
                domain=subject_token(domain),
                id=subject_token(stream[len(domain) + 1 :]),
                stream=subject_token(stream),
            )
            if len(self._cache) >= 4096:
                self._cache.clear()
            self._cache[stream] = found
        return found


# -------------------------------------------------------------------------------------------
# URLs.

_STREAM_NAME_RE: Final = re.compile(r"[A-Za-z0-9_-]{1,255}")
_TRUE: Final = ("1", "true", "yes", "on")
_FALSE: Final = ("0", "false", "no", "off", "")


class NatsOptions(NamedTuple):
    """What a ``nats://`` URL says."""

    host: str
    port: int
    server: str  # what nats-py connects to, without credentials
    subject: SubjectTemplate
    stream: str
    create: bool
    # The URL's credentials, percent-decoded: never shown.
    user: str | None = None
    password: str | None = None
    token: str | None = None

    @property
    def address(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def url(self) -> str:
        """The target's name (and key of its pending records): scheme, address and where the
        events go; no credentials, defaults left out, ``create`` dropped."""
        query = []
        if self.subject.text != DEFAULT_SUBJECT:
            query.append(f"subject={self.subject.text}")
        if self.stream != DEFAULT_STREAM:
            query.append(f"stream={self.stream}")
        return f"nats://{self.address}" + ("?" + "&".join(query) if query else "")


def parse_url(url: str) -> NatsOptions:
    """Check a ``nats://`` URL; ``InvalidInput`` says what is wrong with it."""
    check_url(url, "NATS")
    try:
        parts = urlsplit(url)
        port = DEFAULT_PORT if parts.port is None else parts.port
    except ValueError as e:
        raise InvalidInput(bad_url("NATS", url, hide_secrets(str(e), url))) from e
    if not 0 < port < 65536:
        raise InvalidInput(bad_url("NATS", url, port_problem(str(port))))
    if parts.scheme.lower() != "nats" or not parts.hostname:
        raise InvalidInput(bad_url("NATS", url, "use nats://host[:port][?options]"))
    if parts.path not in ("", "/") or parts.fragment:
        raise InvalidInput(bad_url("NATS", url, "it takes no path; options go after '?'"))
    options: dict[str, str] = {}
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if name not in ("subject", "stream", "create"):
            raise InvalidInput(f"unknown NATS URL option {name!r} (known: subject, stream, create)")
        if name in options:
            raise InvalidInput(f"NATS URL option {name!r} is given twice")
        options[name] = value
    stream = options.get("stream", DEFAULT_STREAM)
    if not _STREAM_NAME_RE.fullmatch(stream):
        raise InvalidInput(
            f"JetStream stream name {stream!r}: use letters, digits, '_' and '-' only"
        )
    create = options.get("create", "").lower()
    if create not in _TRUE + _FALSE:
        raise InvalidInput(f"NATS URL option create={create!r}: use 1 or 0")
    host = parts.hostname
    return NatsOptions(
        host=host,
        port=port,
        server=f"nats://{parts.netloc.rpartition('@')[2]}",
        # Given to nats-py apart, decoded: it would read them out of the URL undecoded.
        user=None if parts.password is None else unquote(parts.username or ""),
        password=None if parts.password is None else unquote(parts.password),
        token=unquote(parts.username) if parts.username and parts.password is None else None,
        subject=SubjectTemplate(options.get("subject", DEFAULT_SUBJECT)),
        stream=stream,
        create=create in _TRUE,
    )


# -------------------------------------------------------------------------------------------
# The connection: one client on a private event loop.


def _reason(error: BaseException | None) -> str:
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    if isinstance(error, socket.gaierror):
        return "unknown host"
    if isinstance(error, TimeoutError | asyncio.TimeoutError | nats.errors.TimeoutError):
        return f"no answer within {CONNECT_TIMEOUT} s"
    if isinstance(error, OSError):
        return error.strerror or type(error).__name__
    if isinstance(error, nats.errors.ConnectionClosedError | nats.errors.UnexpectedEOF):
        return "the connection closed"
    text = str(error or "").removeprefix("nats: ")
    return text or type(error).__name__


class _Connection:
    """One NATS client on a private event loop, connected on first use; not thread-safe."""

    def __init__(self, options: NatsOptions) -> None:
        self.options = options
        self.loop = asyncio.new_event_loop()
        self.client: Client | None = None
        self.last_error: BaseException | None = None
        self.last_used = 0.0
        self.lost = asyncio.Event()  # set when the client disconnects or closes

    def run(self, work: Coroutine[Any, Any, T] | asyncio.Future[T]) -> T:
        return self.loop.run_until_complete(work)

    def unavailable(self, doing: str, error: BaseException | None = None) -> StoreUnavailable:
        if isinstance(error, nats.errors.NoServersError) or error is None:
            error = self.last_error or error
        return StoreUnavailable(f"{doing} NATS at {self.options.address}: {_reason(error)}")

    async def connect(self) -> tuple[Client, bool]:
        """The connected client, and whether it is new."""
        client = self.client
        if client is not None and client.is_connected:
            if time.monotonic() - self.last_used < IDLE_CHECK:
                return client, False
            try:
                await client.flush(timeout=CONNECT_TIMEOUT)
                return client, False
            except (TimeoutError, nats.errors.Error, OSError):
                pass  # gone stale while unused: connect afresh, nothing was sent yet
        await self.drop()
        client = Client()
        self.last_error = None
        self.lost = asyncio.Event()

        async def on_error(error: Exception) -> None:
            self.last_error = error

        async def on_lost() -> None:
            self.lost.set()

        try:
            await asyncio.wait_for(
                client.connect(
                    servers=[self.options.server],
                    user=self.options.user,
                    password=self.options.password,
                    token=self.options.token,
                    name="escli",
                    connect_timeout=CONNECT_TIMEOUT,
                    allow_reconnect=False,
                    # nats-py tries a server max_reconnect_attempts + 1 times even when it
                    # may not reconnect; 0 would mean forever.
                    max_reconnect_attempts=1,
                    reconnect_time_wait=0,
                    error_cb=on_error,
                    disconnected_cb=on_lost,
                    closed_cb=on_lost,
                ),
                CONNECT_TIMEOUT + 0.5,
            )
        except nats.errors.AuthorizationError as e:
            await self._close(client)
            raise StoreError(f"NATS at {self.options.address} refused the login") from e
        except (TimeoutError, nats.errors.Error, OSError) as e:
            await self._close(client)
            if isinstance(self.last_error, nats.errors.AuthorizationError):
                raise StoreError(f"NATS at {self.options.address} refused the login") from e
            raise self.unavailable("cannot reach", e) from e
        self.client = client
        return client, True

    def jetstream(self, client: Client) -> JetStreamContext:
        return client.jetstream(timeout=REQUEST_TIMEOUT)

    async def stream_info(self, client: Client, create: bool) -> api.StreamInfo:
        """The JetStream stream of the URL, created first when asked and missing."""
        options = self.options
        js = self.jetstream(client)
        try:
            try:
                return await js.stream_info(options.stream)
            except nats.js.errors.NotFoundError:
                if not create:
                    raise StoreError(
                        f"JetStream stream {options.stream!r} does not exist at "
                        f"{options.address}; add create=1 to the URL to create it"
                    ) from None
            config = api.StreamConfig(
                name=options.stream,
                subjects=[options.subject.filter],
                retention=api.RetentionPolicy.LIMITS,
                storage=api.StorageType.FILE,
                duplicate_window=DUPLICATE_WINDOW,
            )
            try:
                return await js.add_stream(config)
            except nats.js.errors.BadRequestError:
                # Another process created it meanwhile, or the subjects overlap another
                # stream's (the server's message says which).
                try:
                    return await js.stream_info(options.stream)
                except nats.js.errors.NotFoundError:
                    raise
        except EscliError:
            raise
        except (nats.js.errors.ServiceUnavailableError, nats.errors.NoRespondersError) as e:
            raise StoreError(
                f"NATS at {options.address} has no JetStream: start nats-server with -js"
            ) from e
        except nats.js.errors.APIError as e:
            raise StoreError(
                f"JetStream at {options.address}, stream {options.stream!r}: {e.description}"
            ) from e
        except (TimeoutError, nats.errors.Error, OSError) as e:
            raise self.unavailable("lost", e) from e

    async def drop(self, *, drain: bool = True) -> None:
        client, self.client = self.client, None
        if client is not None:
            await self._close(client, drain=drain)

    async def _close(self, client: Client, *, drain: bool = True) -> None:
        """Drain (let what is in flight finish), else close; a follower that stops early
        leaves messages it will never read, which a drain would wait for."""
        try:
            if drain and client.is_connected:
                await asyncio.wait_for(client.drain(), CONNECT_TIMEOUT)
        except (TimeoutError, nats.errors.Error, OSError):
            pass
        finally:
            if not client.is_closed:
                with contextlib.suppress(nats.errors.Error, OSError):
                    await client.close()

    def cancel(self, *tasks: asyncio.Task[Any]) -> None:
        """Cancel tasks left running (e.g. by a Ctrl-C in ``run``) and let them finish."""
        pending = [t for t in tasks if not t.done()]
        for task in pending:
            task.cancel()
        if pending:
            self.run(asyncio.wait(pending, timeout=CONNECT_TIMEOUT))
        for task in tasks:
            if task.done() and not task.cancelled():
                task.exception()  # retrieved: nobody is waiting for it any more

    def close(self, *, drain: bool = True) -> None:
        if self.loop.is_closed():
            return
        try:
            self.run(self.drop(drain=drain))
            self.cancel(*asyncio.all_tasks(self.loop))
            self.run(self.loop.shutdown_asyncgens())
        finally:
            self.loop.close()


# -------------------------------------------------------------------------------------------
# The target.


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
        self._connection = _Connection(self.options)
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


# -------------------------------------------------------------------------------------------
# Following a subject.


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
        _check_subject(self.subject, wildcards=True, what="subject")
        self.new = new
        self.address = self.options.address
        self.stream = self.options.stream
        self._parser = EventParser(domains)
        self._connection = _Connection(self.options)
        self._subscription: Subscription | None = None
        self._waiting: asyncio.Task[Msg] | None = None
        self._interrupted = False

    def __enter__(self) -> Follower:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def open(self) -> None:
        if self._subscription is None:
            self._connection.run(self._open())

    async def _open(self) -> None:
        connection = self._connection
        client, _ = await connection.connect()
        await connection.stream_info(client, create=False)
        policy = api.DeliverPolicy.NEW if self.new else api.DeliverPolicy.ALL
        try:
            self._subscription = await connection.jetstream(client).subscribe(
                self.subject,
                stream=self.stream,
                ordered_consumer=True,
                deliver_policy=policy,
            )
        except nats.js.errors.APIError as e:
            raise StoreError(
                f"cannot follow {self.subject!r} in JetStream stream {self.stream!r} at "
                f"{self.address}: {e.description}"
            ) from e
        except (TimeoutError, nats.errors.Error, OSError) as e:
            raise connection.unavailable("lost", e) from e

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

    async def _next(self) -> Msg:
        subscription = self._subscription
        assert subscription is not None
        while True:
            try:
                return await subscription.next_msg(timeout=1.0)
            except nats.errors.TimeoutError:
                continue
            except (nats.errors.Error, OSError) as e:
                raise self._connection.unavailable("lost the connection to", e) from e

    def _decode(self, msg: Msg) -> Followed:
        sequence = msg.metadata.sequence.stream
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
        )

    def close(self) -> None:
        if self._waiting is not None and not self._connection.loop.is_closed():
            self._connection.cancel(self._waiting)
        self._subscription = self._waiting = None
        self._connection.close(drain=False)
