"""NATS for the tests: a ``nats-server`` of a test's own (to stop and start again on the same
port and store), unique JetStream places on a server, and a probe that reads back what a
JetStream stream holds through nats-py itself, not through escli."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import nats
import nats.js.errors
from nats.js import api
from nats.js.client import JetStreamContext

NATS_SERVER = Path("/usr/sbin/nats-server")
T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


class Message(NamedTuple):
    subject: str
    headers: dict[str, str]
    data: bytes


class JetStreamProbe:
    """Reads and changes JetStream streams on one server, each call on a fresh connection."""

    def __init__(self, url: str) -> None:
        self.url = url

    def run(self, work: Callable[[JetStreamContext], Awaitable[T]]) -> T:
        async def main() -> T:
            nc = await nats.connect(self.url, allow_reconnect=False, connect_timeout=2)
            try:
                return await work(nc.jetstream(timeout=5))
            finally:
                await nc.close()

        return asyncio.run(main())

    def count(self, stream: str) -> int:
        async def work(js: JetStreamContext) -> int:
            return (await js.stream_info(stream)).state.messages

        return self.run(work)

    def messages(self, stream: str) -> list[Message]:
        """Every message of ``stream``, in stream order."""

        async def work(js: JetStreamContext) -> list[Message]:
            total = (await js.stream_info(stream)).state.messages
            if not total:
                return []
            sub = await js.subscribe(">", stream=stream, ordered_consumer=True)
            found = []
            for _ in range(total):
                msg = await sub.next_msg(timeout=5)
                found.append(Message(msg.subject, dict(msg.headers or {}), msg.data))
            await sub.unsubscribe()
            return found

        return self.run(work)

    def create(self, stream: str, subjects: list[str], **config: Any) -> None:
        async def work(js: JetStreamContext) -> None:
            await js.add_stream(name=stream, subjects=subjects, **config)

        self.run(work)

    def update(self, stream: str, **changes: Any) -> None:
        async def work(js: JetStreamContext) -> None:
            config = (await js.stream_info(stream)).config
            await js.update_stream(config.evolve(**changes))

        self.run(work)

    def config(self, stream: str) -> api.StreamConfig:
        async def work(js: JetStreamContext) -> api.StreamConfig:
            return (await js.stream_info(stream)).config

        return self.run(work)

    def delete(self, stream: str) -> None:
        async def work(js: JetStreamContext) -> None:
            with contextlib.suppress(nats.js.errors.NotFoundError):
                await js.delete_stream(stream)

        self.run(work)


class JetStreamPlace(NamedTuple):
    """A JetStream stream and subject prefix no other test run uses, and the target URL that
    publishes there (creating the stream)."""

    server: str
    stream: str
    prefix: str

    @classmethod
    def unique(cls, server: str) -> JetStreamPlace:
        tag = uuid.uuid4().hex[:10]
        return cls(server, f"ESCLI_T{tag}", f"t{tag}")

    @property
    def target(self) -> str:
        """The target's name: its URL as escli shows it (``create`` is not part of it)."""
        return f"{self.server}?subject={self.prefix}.{{domain}}.{{id}}&stream={self.stream}"

    @property
    def url(self) -> str:
        return f"{self.target}&create=1"

    def subject(self, stream: str) -> str:
        domain, _, stream_id = stream.partition("-")
        return f"{self.prefix}.{domain}.{stream_id}"

    @property
    def probe(self) -> JetStreamProbe:
        return JetStreamProbe(self.server)


class NatsServer:
    """A ``nats-server`` process of a test's own on a free port, with JetStream storing in
    ``store_dir``; stop and start it again on the same port and store."""

    def __init__(self, store_dir: Path, *, jetstream: bool = True) -> None:
        self.port = free_port()
        self.store_dir = store_dir
        self.jetstream = jetstream
        self.process: subprocess.Popen[bytes] | None = None
        self.url = f"nats://127.0.0.1:{self.port}"

    def start(self) -> None:
        assert self.process is None
        command = [str(NATS_SERVER), "-a", "127.0.0.1", "-p", str(self.port)]
        if self.jetstream:
            command += ["-js", "-sd", str(self.store_dir)]
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"nats-server did not start on port {self.port}") from None
                time.sleep(0.02)
        if self.jetstream:
            self._wait_for_jetstream(deadline)

    def _wait_for_jetstream(self, deadline: float) -> None:
        async def work(js: JetStreamContext) -> None:
            await js.account_info()

        while True:
            try:
                JetStreamProbe(self.url).run(work)
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        os.kill(process.pid, sig)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def kill(self) -> None:
        self.stop(signal.SIGKILL)

    def restart(self) -> None:
        self.stop()
        self.start()
