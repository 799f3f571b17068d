"""The connection to the server, made on first use with a health check, and the one place
where the client's exceptions become escli's (see "Errors" in the package docstring)."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

from escli.errors import StoreError, StoreUnavailable, wrote_nothing
from escli.stores.base import BaseStore
from escli.stores.eventstoredb.client import ClientApi
from escli.stores.eventstoredb.urls import Target, _mask

__all__ = ["Connection"]

T = TypeVar("T")

HEALTH_STREAM = "escli-health-check"
HEALTH_TIMEOUT = 1.0  # seconds; the client retries once after a deadline


class Connection(BaseStore):
    """The client of an EventStoreDB store, and the translation of its errors."""

    url: str
    _api: ClientApi
    _target: Target
    _client: Any
    _lock: threading.Lock

    def _connected(self) -> Any:
        client = self._client
        if client is not None:
            return client
        with self._lock:
            if self._client is None:
                # Discovery (esdb+discover://) already talks to the cluster here.
                client = self._call(lambda: self._api.client_class(self._target.client_uri))
                try:
                    self._call(
                        lambda: client.get_current_version(HEALTH_STREAM, timeout=HEALTH_TIMEOUT)
                    )
                except BaseException:
                    client.close()
                    raise
                self._client = client
            return self._client

    def _call(self, call: Callable[[], T], stream: str | None = None, appending: bool = False) -> T:
        try:
            return call()
        except self._api.error as e:
            self._raise(e, stream, appending)

    def _raise(self, e: Exception, stream: str | None, appending: bool = False) -> NoReturn:
        api, where = self._api, self._target.where
        detail = _mask(" ".join(str(e).split()), [], self._target.password)
        unsure = (
            f"; the events may or may not be stored: check with `escli replay {stream}`"
            if appending
            else ""
        )
        if isinstance(e, api.tls_failed):
            raise StoreUnavailable(
                f"TLS handshake with EventStoreDB at {where} failed: the server may run without "
                "TLS (add ?Tls=false) or its certificate is not trusted (add TlsCaFile=PATH)"
            ) from e
        if isinstance(e, api.unavailable):
            raise StoreUnavailable(
                f"EventStoreDB at {where} is unavailable ({_reason(detail)}){unsure}"
            ) from e
        if isinstance(e, api.deadline):
            raise StoreUnavailable(f"EventStoreDB at {where} did not answer in time{unsure}") from e
        if isinstance(e, api.discovery_failed):
            raise StoreUnavailable(
                f"cannot discover an EventStoreDB cluster at {where} ({_reason(detail)})"
            ) from e
        if isinstance(e, api.not_leader):
            # esdbclient names the leader as one target, kurrentdbclient as host and port.
            leader = getattr(e, "leader_grpc_target", None)
            if leader is None and getattr(e, "host", None):
                leader = f"{e.host}:{e.port}"  # type: ignore[attr-defined]
            raise StoreError(
                f"EventStoreDB at {where} is not the cluster's leader"
                + (f" (the leader is {leader})" if leader else "")
                + ": use esdb+discover:// or the leader's address"
            ) from e
        if isinstance(e, api.deleted):
            raise StoreError(f"stream {stream or 'a stream'} was deleted") from e
        if isinstance(e, api.too_large):
            limit = re.search(r"\d+", detail)
            size = f"{int(limit.group()):,} bytes" if limit else "its maximum append size"
            raise wrote_nothing(
                StoreError(),
                f"the events for {stream} are larger than EventStoreDB at {where} accepts in "
                f"one append ({size})",
            ) from e
        code = _status_code(e)
        if isinstance(e, api.access_denied) or code in ("UNAUTHENTICATED", "PERMISSION_DENIED"):
            who = f"user {self._target.user!r}" if self._target.user else "an anonymous user"
            raise StoreError(
                f"EventStoreDB at {where} refused access to {who}: check the user and password "
                "in the store URL"
            ) from e
        raise StoreError(f"EventStoreDB at {where}: {type(e).__name__}: {detail}") from e

    def _actual_generation(self, e: Exception, stream: str) -> int:
        """The stream's generation as a wrong-version error reports it, else as read now."""
        actual = getattr(e, "actual_version", None)  # kurrentdbclient
        if isinstance(actual, int):
            return actual + 1
        if actual == self._api.no_stream:
            return 0
        text = str(e)  # esdbclient: "Stream position of last event is N not M"
        found = re.search(r"last event is (\d+)", text)
        if found:
            return int(found.group(1)) + 1
        if "does not exist" in text:
            return 0
        return self.generation(stream)

    def close(self) -> None:
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()


def _reason(detail: str) -> str:
    """A few words on why a connection failed, from a gRPC error text."""
    lowered = detail.lower()
    if "connection refused" in lowered:
        return "connection refused"
    if "dns" in lowered or "name or service not known" in lowered or "resolve" in lowered:
        return "cannot resolve the host name"
    if "deadline" in lowered or "timed out" in lowered or "timeout" in lowered:
        return "no answer in time"
    if "unimplemented" in lowered:
        return "the server does not answer gossip requests"
    # What the server or gRPC said (e.g. "Server Is Not Ready"), kept to one short line.
    return detail if len(detail) <= 120 else detail[:117] + "..."


def _status_code(e: BaseException) -> str | None:
    """The gRPC status code name carried by a client exception, if any."""
    seen: set[int] = set()
    todo: list[Any] = [e]
    while todo:
        item = todo.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        code = getattr(item, "code", None)
        if callable(code):
            try:
                value = code()
            except Exception:
                value = None
            name = getattr(value, "name", None)
            if isinstance(name, str):
                return name
        if isinstance(item, BaseException):
            todo.extend(a for a in item.args if not isinstance(a, (str, int, bytes)))
            todo.extend(x for x in (item.__cause__, item.__context__) if x is not None)
    return None
