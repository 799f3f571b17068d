"""One NATS client on a private event loop, connected on first use: the only importer of
nats-py (``pip install 'escli[nats]'``), whose types and errors stop here.

nats-py is asyncio; each target (and each ``Follower``) owns a private event loop driven with
``run_until_complete``, so callers stay synchronous, and connects on first use. No automatic
reconnect: a connection that breaks fails the delivery in hand, and the next delivery connects
afresh (2 s to connect, two attempts), so an unreachable server costs a dispatch at most
~2.5 s. nats-py's errors stop here: cannot reach or lost the connection is
``StoreUnavailable``; anything the server refuses is ``StoreError``. Messages name
``host:port``, never credentials.

What escli asks of JetStream is a method here: the URL's stream (created when asked), publish
one message, the replies to an inbox, a subject's message count, first and last messages, a
message by its sequence, and an ordered consumer to follow a subject. Messages read come back
as ``Message``; replies are read through the ``Reply`` protocol (nats-py's own message, so the
ack of every published event costs no copy).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from typing import TYPE_CHECKING, Any, Final, NamedTuple, Protocol, TypeVar

from escli.errors import EscliError, StoreError, StoreUnavailable, missing_client
from escli.jetstream.urls import NatsOptions

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
    from nats.js.client import JetStreamContext

__all__ = [
    "CONNECT_TIMEOUT",
    "DUPLICATE_WINDOW",
    "IDLE_CHECK",
    "REQUEST_TIMEOUT",
    "Connection",
    "Message",
    "Reply",
    "StreamFacts",
]

DUPLICATE_WINDOW: Final = 120.0  # seconds JetStream remembers a Nats-Msg-Id (created streams)
CONNECT_TIMEOUT: Final = 2  # seconds per connect attempt
REQUEST_TIMEOUT: Final = 5.0  # seconds for a batch's acks, or a JetStream API answer
# How long a connection may sit unused before a delivery checks it is still alive (the
# server drops clients that missed its pings while nothing drove the event loop).
IDLE_CHECK: Final = 30.0

T = TypeVar("T")


class Message(NamedTuple):
    """A message read from JetStream, without nats-py's types."""

    subject: str
    sequence: int  # its sequence in the JetStream stream (0: not said)
    data: bytes
    headers: dict[str, str]


class Reply(Protocol):
    """A message a subscription hands to its callback (nats-py's ``Msg``, read as is)."""

    @property
    def subject(self) -> str: ...

    @property
    def data(self) -> bytes: ...

    @property
    def headers(self) -> dict[str, str] | None: ...


class StreamFacts(NamedTuple):
    """What escli needs to know of the URL's JetStream stream."""

    subjects: list[str]
    duplicate_window: float  # seconds it remembers a Nats-Msg-Id
    # Limits retention and no age, count or size limit: it keeps every message it takes.
    keeps: bool


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


class Connection:
    """One NATS client on a private event loop, connected on first use; not thread-safe."""

    def __init__(self, options: NatsOptions) -> None:
        self.options = options
        self.loop = asyncio.new_event_loop()
        self.client: Client | None = None
        self.last_error: BaseException | None = None
        self.last_used = 0.0
        self.lost = asyncio.Event()  # set when the client disconnects or closes
        self._followed: Subscription | None = None

    def run(self, work: Coroutine[Any, Any, T] | asyncio.Future[T]) -> T:
        return self.loop.run_until_complete(work)

    def unavailable(self, doing: str, error: BaseException | None = None) -> StoreUnavailable:
        if isinstance(error, nats.errors.NoServersError) or error is None:
            error = self.last_error or error
        return StoreUnavailable(f"{doing} NATS at {self.options.address}: {_reason(error)}")

    async def connect(self) -> bool:
        """Connect unless connected; whether the connection is new."""
        client = self.client
        if client is not None and client.is_connected:
            if time.monotonic() - self.last_used < IDLE_CHECK:
                return False
            try:
                await client.flush(timeout=CONNECT_TIMEOUT)
                return False
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
        return True

    def _client(self) -> Client:
        if self.client is None:
            raise self.unavailable("lost the connection to")
        return self.client

    def _jetstream(self) -> JetStreamContext:
        return self._client().jetstream(timeout=REQUEST_TIMEOUT)

    @contextlib.contextmanager
    def _asking(self) -> Iterator[None]:
        """A JetStream API call's errors as escli's: refused, or the connection lost."""
        try:
            yield
        except nats.js.errors.APIError as e:
            raise StoreError(f"JetStream at {self.options.address}: {e.description}") from e
        except (TimeoutError, nats.errors.Error, OSError) as e:
            raise self.unavailable("lost", e) from e

    async def stream(self, create: bool) -> StreamFacts:
        """The JetStream stream of the URL, created first when asked and missing."""
        info = await self._stream_info(create)
        config = info.config
        keeps = config.retention in (None, api.RetentionPolicy.LIMITS) and all(
            (limit or 0) <= 0
            for limit in (
                config.max_age,
                config.max_msgs,
                config.max_bytes,
                config.max_msgs_per_subject,
            )
        )
        return StreamFacts(list(config.subjects or []), config.duplicate_window or 0, keeps)

    async def _stream_info(self, create: bool) -> api.StreamInfo:
        options = self.options
        js = self._jetstream()
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

    # -- publishing ----------------------------------------------------------------------

    async def listen(self, callback: Callable[[Reply], Awaitable[None]]) -> str:
        """Subscribe ``callback`` to a new inbox; the inbox's prefix (``<inbox>.``): a reply
        subject is the prefix and a token."""
        client = self._client()
        inbox = client.new_inbox() + "."
        try:
            await client.subscribe(inbox + "*", cb=callback)
        except (TimeoutError, nats.errors.Error, OSError) as e:
            raise self.unavailable("lost", e) from e
        return inbox

    async def publish(
        self, subject: str, payload: bytes, *, reply: str, headers: dict[str, str], what: str
    ) -> None:
        """Publish one message (its ack comes to ``reply``); ``what`` names it in an error."""
        try:
            await self._client().publish(subject, payload, reply=reply, headers=headers)
        except nats.errors.MaxPayloadError as e:
            raise StoreError(
                f"{what} is larger than the largest message NATS at {self.options.address} "
                f"takes ({e})"
            ) from e
        except (nats.errors.Error, OSError) as e:
            raise self.unavailable("lost the connection to", e) from e

    # -- reading what a subject holds ----------------------------------------------------

    async def count(self, subject: str) -> int:
        """How many messages the URL's JetStream stream holds on ``subject``."""
        with self._asking():
            try:
                info = await self._jetstream().stream_info(
                    self.options.stream, subjects_filter=subject
                )
            except nats.js.errors.NotFoundError:
                return 0
        return (info.state.subjects or {}).get(subject, 0)

    async def last_message(self, subject: str) -> Message | None:
        """The last message on ``subject``; None when there is none."""
        with self._asking():
            try:
                raw = await self._jetstream().get_last_msg(self.options.stream, subject)
            except nats.js.errors.NotFoundError:
                return None
        return _message(raw)

    async def first_message(self, subject: str) -> Message | None:
        """The first message on ``subject``; None when there is none."""
        with self._asking():
            try:
                raw = await self._jetstream().get_msg(
                    self.options.stream, seq=1, subject=subject, next=True
                )
            except nats.js.errors.NotFoundError:
                return None
        return _message(raw)

    async def message(self, sequence: int) -> Message | None:
        """The stream's message ``sequence``; None when it is gone."""
        with self._asking():
            try:
                raw = await self._jetstream().get_msg(self.options.stream, sequence)
            except nats.js.errors.NotFoundError:
                return None
        return _message(raw)

    # -- following -----------------------------------------------------------------------

    @property
    def following(self) -> bool:
        return self._followed is not None

    async def follow(self, subject: str, *, new: bool) -> None:
        """Subscribe an ephemeral, ordered consumer to ``subject``: what the stream holds,
        then new messages as they come (``new``: only new ones)."""
        policy = api.DeliverPolicy.NEW if new else api.DeliverPolicy.ALL
        try:
            self._followed = await self._jetstream().subscribe(
                subject,
                stream=self.options.stream,
                ordered_consumer=True,
                deliver_policy=policy,
            )
        except nats.js.errors.APIError as e:
            raise StoreError(
                f"cannot follow {subject!r} in JetStream stream {self.options.stream!r} at "
                f"{self.options.address}: {e.description}"
            ) from e
        except (TimeoutError, nats.errors.Error, OSError) as e:
            raise self.unavailable("lost", e) from e

    async def next_followed(self) -> Message:
        """The next message of the subject ``follow`` subscribed to; waits for it."""
        subscription = self._followed
        assert subscription is not None
        while True:
            try:
                msg: Msg = await subscription.next_msg(timeout=1.0)
            except nats.errors.TimeoutError:
                continue
            except (nats.errors.Error, OSError) as e:
                raise self.unavailable("lost the connection to", e) from e
            return Message(msg.subject, msg.metadata.sequence.stream, msg.data, msg.headers or {})

    # -- closing -------------------------------------------------------------------------

    async def drop(self, *, drain: bool = True) -> None:
        self._followed = None
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


def _message(raw: api.RawStreamMsg) -> Message:
    return Message(raw.subject or "", raw.seq or 0, raw.data or b"", raw.headers or {})
