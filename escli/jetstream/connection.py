"""One NATS client on a private event loop, connected on first use.

nats-py is asyncio; each target (and each ``Follower``) owns a private event loop driven with
``run_until_complete``, so callers stay synchronous, and connects on first use. No automatic
reconnect: a connection that breaks fails the delivery in hand, and the next delivery connects
afresh (2 s to connect, two attempts), so an unreachable server costs a dispatch at most
~2.5 s. nats-py's errors stop here: cannot reach or lost the connection is
``StoreUnavailable``; anything the server refuses is ``StoreError``. Messages name
``host:port``, never credentials.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, Final, TypeVar

from escli.errors import EscliError, StoreError, StoreUnavailable, missing_client
from escli.jetstream.urls import NatsOptions

try:
    import nats.errors
    import nats.js.errors
    from nats.aio.client import Client
    from nats.js import api
except ImportError as e:
    raise missing_client("nats:// URLs need nats-py", "'escli[nats]'", e) from e

if TYPE_CHECKING:
    from nats.js.client import JetStreamContext

__all__ = ["CONNECT_TIMEOUT", "DUPLICATE_WINDOW", "IDLE_CHECK", "REQUEST_TIMEOUT", "Connection"]

DUPLICATE_WINDOW: Final = 120.0  # seconds JetStream remembers a Nats-Msg-Id (created streams)
CONNECT_TIMEOUT: Final = 2  # seconds per connect attempt
REQUEST_TIMEOUT: Final = 5.0  # seconds for a batch's acks, or a JetStream API answer
# How long a connection may sit unused before a delivery checks it is still alive (the
# server drops clients that missed its pings while nothing drove the event loop).
IDLE_CHECK: Final = 30.0

T = TypeVar("T")


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
