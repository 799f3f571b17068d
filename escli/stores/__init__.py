"""Stores, chosen by URL. Each store module (or package: ``sqlite``, ``postgres``,
``eventstoredb``) is the only importer of its client library and is imported only when a URL
of its scheme is used, so the CLI starts without them. What a store offers is declared in
``escli.stores.base`` (``EventStore``, ``Outbox``, and the optional protocols)."""

from __future__ import annotations

from escli.errors import InvalidInput
from escli.stores.base import EventStore, HasSchema, NewEvent, RecordedEvent, Store, StreamInfo
from escli.urls import check_url, mask_url, secrets_hidden

__all__ = [
    "NewEvent",
    "RecordedEvent",
    "Store",
    "StreamInfo",
    "init_store",
    "mask_url",
    "open_lasting_store",
    "open_store",
    "store_kind",
]

DEFAULT_STORE_URL = "sqlite:///.escli/events.db"

# EventStoreDB and its successor KurrentDB speak the same gRPC protocol: one adapter.
EVENTSTOREDB_SCHEMES = frozenset(
    {"esdb", "esdb+discover", "kurrentdb", "kurrentdb+discover", "kdb", "kdb+discover"}
)


def open_store(url: str, role: str = "store") -> Store:
    """The store a URL names: ``sqlite:///path`` (or a bare path), ``memory:``,
    ``postgresql://...`` (or ``postgres://...``), ``esdb://host:port?Tls=false`` (also
    ``esdb+discover://``, ``kurrentdb://``, ``kdb://``).

    An empty URL is refused (SQLite would make it a database that is gone when the command
    ends), and so are credentials that are not percent-encoded (``escli.urls``). A store
    whose client library is not installed is ``ClientMissing``, naming the extra. No error
    raised here shows a password, whatever the client put in its message. ``role`` names the
    URL in messages: "store", "copy source"."""
    with secrets_hidden(url):
        return _open_store(url, role)


def _open_store(url: str, role: str) -> Store:
    if not url.strip():
        raise InvalidInput(
            f"the {role} URL is empty: name a store (sqlite:///PATH, postgresql://..., "
            "esdb://...; memory: for one that is gone when the command ends)"
        )
    kind = store_kind(url)
    if kind == "memory":
        from escli.stores.memory import MemoryStore

        check_url(url, "memory: store", credentials=False)
        return MemoryStore(url)
    if kind == "eventstoredb":
        from escli.stores.eventstoredb import EventStoreDBStore

        return EventStoreDBStore(url)
    if kind == "sqlite":
        from escli.stores.sqlite import SQLiteStore

        check_url(url, "SQLite store", credentials=False, query=url.lower().startswith("sqlite:"))
        return SQLiteStore(url)
    if kind == "postgresql":
        from escli.stores.postgres import PostgresStore

        return PostgresStore(url)
    scheme = url.split(":", 1)[0].lower()
    raise InvalidInput(
        f"unknown store URL scheme {scheme!r} in {mask_url(url)!r} "
        "(known: sqlite, memory, postgresql, esdb[+discover], kurrentdb[+discover], "
        "kdb[+discover])"
    )


def store_kind(url: str) -> str | None:
    """The kind of store a URL names, by its scheme alone, with nothing opened or imported:
    ``"sqlite"`` (``sqlite:``, a bare path, a Windows drive's path), ``"memory"``,
    ``"postgresql"`` or ``"eventstoredb"``; None for a scheme escli does not know. What
    ``open_store`` opens, and what a project file's ``views`` is checked against when read."""
    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    if scheme == "memory":
        return "memory"
    if scheme in EVENTSTOREDB_SCHEMES:
        return "eventstoredb"
    if scheme in ("sqlite", "") or (len(scheme) == 1 and url[1:3] in (":\\", ":/")):
        return "sqlite"
    if scheme in ("postgresql", "postgres"):
        return "postgresql"
    return None


def open_lasting_store(url: str, role: str) -> Store:
    """The store ``url`` names, refusing ``memory:`` (and an empty URL), which would be gone
    when the command ends: for a store that receives events, ``role`` ("copy target")."""
    if ":" in url and url.split(":", 1)[0].lower() == "memory":
        raise InvalidInput(f"memory: cannot be a {role}: it is gone when the command ends")
    return open_store(url, role)


def init_store(store: EventStore) -> bool | None:
    """Create the store's schema if it has one and it is missing: True when this call created
    it, False when it was there already, None for a store with no schema (``memory:``)."""
    if not isinstance(store, HasSchema):
        return None
    return store.init()
