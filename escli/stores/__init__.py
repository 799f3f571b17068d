"""Stores, chosen by URL. Each store module is the only importer of its client library and
is imported only when a URL of its scheme is used, so the CLI starts without them."""

from __future__ import annotations

from escli.errors import InvalidInput
from escli.stores.base import NewEvent, RecordedEvent, Store, StreamInfo

__all__ = ["NewEvent", "RecordedEvent", "Store", "StreamInfo", "open_store"]

DEFAULT_STORE_URL = "sqlite:///.escli/events.db"


def open_store(url: str) -> Store:
    """The store a URL names: ``sqlite:///path`` (or a bare path), ``memory:``."""
    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    if scheme == "memory":
        from escli.stores.memory import MemoryStore

        return MemoryStore(url)
    if scheme in ("sqlite", "") or (len(scheme) == 1 and url[1:3] in (":\\", ":/")):
        from escli.stores.sqlite import SQLiteStore

        return SQLiteStore(url)
    raise InvalidInput(f"unknown store URL scheme {scheme!r} in {url!r} (known: sqlite, memory)")
