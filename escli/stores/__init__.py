"""Stores, chosen by URL. Each store module is the only importer of its client library and
is imported only when a URL of its scheme is used, so the CLI starts without them."""

from __future__ import annotations

from escli.errors import InvalidInput
from escli.stores.base import NewEvent, RecordedEvent, Store, StreamInfo

__all__ = ["NewEvent", "RecordedEvent", "Store", "StreamInfo", "display_url", "open_store"]

DEFAULT_STORE_URL = "sqlite:///.escli/events.db"

# EventStoreDB and its successor KurrentDB speak the same gRPC protocol: one adapter.
EVENTSTOREDB_SCHEMES = frozenset(
    {"esdb", "esdb+discover", "kurrentdb", "kurrentdb+discover", "kdb", "kdb+discover"}
)


def display_url(url: str) -> str:
    """``url`` fit to print: a password in it is replaced by ``***``
    (``esdb://admin:***@host:2113``). Messages and ``Store.url`` only ever show this form."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    end = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    userinfo, at, hosts = rest[:end].rpartition("@")
    if not at or ":" not in userinfo:
        return url
    user = userinfo.partition(":")[0]
    return f"{scheme}://{user}:***@{hosts}{rest[end:]}"


def open_store(url: str) -> Store:
    """The store a URL names: ``sqlite:///path`` (or a bare path), ``memory:``,
    ``esdb://host:port?Tls=false`` (also ``esdb+discover://``, ``kurrentdb://``, ``kdb://``)."""
    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    if scheme == "memory":
        from escli.stores.memory import MemoryStore

        return MemoryStore(url)
    if scheme in EVENTSTOREDB_SCHEMES:
        from escli.stores.eventstoredb import EventStoreDBStore

        return EventStoreDBStore(url)
    if scheme in ("sqlite", "") or (len(scheme) == 1 and url[1:3] in (":\\", ":/")):
        from escli.stores.sqlite import SQLiteStore

        return SQLiteStore(url)
    raise InvalidInput(
        f"unknown store URL scheme {scheme!r} in {display_url(url)!r} "
        "(known: sqlite, memory, esdb[+discover], kurrentdb[+discover], kdb[+discover])"
    )
