"""Stores, chosen by URL. Each store module is the only importer of its client library and
is imported only when a URL of its scheme is used, so the CLI starts without them."""

from __future__ import annotations

from escli.errors import InvalidInput
from escli.stores.base import NewEvent, RecordedEvent, Store, StreamInfo

__all__ = [
    "NewEvent",
    "RecordedEvent",
    "Store",
    "StreamInfo",
    "init_store",
    "mask_url",
    "open_store",
]

DEFAULT_STORE_URL = "sqlite:///.escli/events.db"

# EventStoreDB and its successor KurrentDB speak the same gRPC protocol: one adapter.
EVENTSTOREDB_SCHEMES = frozenset(
    {"esdb", "esdb+discover", "kurrentdb", "kurrentdb+discover", "kdb", "kdb+discover"}
)


def open_store(url: str) -> Store:
    """The store a URL names: ``sqlite:///path`` (or a bare path), ``memory:``,
    ``postgresql://...`` (or ``postgres://...``), ``esdb://host:port?Tls=false`` (also
    ``esdb+discover://``, ``kurrentdb://``, ``kdb://``)."""
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
    if scheme in ("postgresql", "postgres"):
        from escli.stores.postgres import PostgresStore

        return PostgresStore(url)
    raise InvalidInput(
        f"unknown store URL scheme {scheme!r} in {mask_url(url)!r} "
        "(known: sqlite, memory, postgresql, esdb[+discover], kurrentdb[+discover], "
        "kdb[+discover])"
    )


def init_store(store: Store) -> bool | None:
    """Create the store's schema if it has one and it is missing: True when this call created
    it, False when it was there already, None for a store with no schema (``memory:``)."""
    init = getattr(store, "init", None)
    if init is None:
        return None
    created: bool = init()
    return created


def mask_url(url: str) -> str:
    """``url`` with any password (``user:PASSWORD@`` or ``password=`` in the query) shown as
    ``***``, for messages and listings."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    head, mark, query = rest.partition("?")
    if "@" in head:
        userinfo, _, hosts = head.rpartition("@")
        if ":" in userinfo:
            head = userinfo.partition(":")[0] + ":***@" + hosts
    if mark:
        query = "&".join(
            "password=***" if item.partition("=")[0].lower() == "password" else item
            for item in query.split("&")
        )
    return f"{scheme}{sep}{head}{mark}{query}"
