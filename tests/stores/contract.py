"""What the store contracts share: events and stream names to test with, and the base of
every contract class.

The contracts, one class per protocol of ``escli.stores.base``, each run on every store that
offers the protocol (memory, SQLite, PostgreSQL, EventStoreDB, the namespaced view):
``contract_event_store.EventStoreContract``, ``contract_outbox.OutboxContract``,
``contract_transactions.TransactionalContract``, ``contract_views.EventLogContract`` and
``ViewsContract``. A store's test class subclasses the
contract of each protocol it offers and gives a ``store`` fixture that yields an empty store
(the stream names here are unique per test run anyway); ``EventStoreContract`` checks that
the store offers exactly the protocols whose contracts its class runs.
"""

from __future__ import annotations

import uuid
from collections import namedtuple
from typing import Any

import pytest

from escli.stores.base import NewEvent, new_event_id
from escli.stores.views import LOG_FIELDS


def new(data: dict[str, Any] | None = None, event_type: str = "combat.EntityAttacked") -> NewEvent:
    return NewEvent(
        event_type,
        "1.0",
        "events://escli/samples/combat",
        data if data is not None else {"entity_id": "ogre", "damage": 1},
        new_event_id(),
    )


def unique_stream() -> str:
    return f"combat-t{uuid.uuid4().hex[:12]}"


def unique_domain() -> str:
    """A domain name no other test's streams use (the stores of a session are shared)."""
    return f"d{uuid.uuid4().hex[:12]}"


class Contract:
    """The base of the contract classes: the ``store`` fixture each store's class provides,
    and what a store documents it does differently."""

    # A store whose database cannot refuse an event id it already holds (EventStoreDB only
    # deduplicates retries within one stream) sets this to False and says so in its docs.
    refuses_duplicate_event_ids = True
    # A store with a unique index of ids finds them in every stream; one without (EventStoreDB)
    # looks only in the streams it is given.
    finds_ids_in_every_stream = True

    @pytest.fixture
    def store(self) -> Any:  # pragma: no cover - each subclass provides it
        raise NotImplementedError

    @pytest.fixture
    def empty_store(self, store: Any) -> Any:
        """A store that holds nothing yet: ``store`` itself, where each test gets its own; a
        class whose store is shared by the session gives a new one here."""
        return store


Row = namedtuple("Row", LOG_FIELDS)  # type: ignore[misc]


def read_log(store: Any, *args: Any, **kwargs: Any) -> list[Any]:
    """``store.read_log(...)``, each row checked to be a ``LogRow`` (a plain tuple of its
    fields, in order) and given their names."""
    rows = store.read_log(*args, **kwargs)
    assert all(isinstance(r, tuple) and len(r) == len(LOG_FIELDS) for r in rows), rows[:1]
    return [Row(*r) for r in rows]
