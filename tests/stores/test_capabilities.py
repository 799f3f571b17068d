"""Each store declares exactly the capabilities it offers: the protocols of
``escli.stores.base`` it satisfies (``isinstance``, which is how escli asks), and the two
properties every store declares (``canonical_url``, ``durable_without_close``). Stores are
made here without being used, which connects to nothing and creates no file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from escli.stores.base import (
    BaseStore,
    EventStore,
    HasSchema,
    Outbox,
    Store,
    StreamIds,
    Transactional,
)
from escli.stores.memory import MemoryStore
from escli.stores.namespaced import NamespacedStore
from escli.stores.snapshots import Snapshots
from escli.stores.views import Views
from tests.conftest import needs_esdb_client

PROTOCOLS = (EventStore, Outbox, Transactional, StreamIds, HasSchema, Snapshots, Views)


def _sqlite(tmp_path: Path) -> Store:
    from escli.stores.sqlite import SQLiteStore

    return SQLiteStore(f"sqlite:///{tmp_path / 'events.db'}")


def _postgres(tmp_path: Path) -> Store:
    from escli.stores.postgres import PostgresStore

    return PostgresStore("postgresql://127.0.0.1:5432/test?schema=escli_never_used")


def _eventstoredb(tmp_path: Path) -> Store:
    from escli.stores.eventstoredb import EventStoreDBStore

    return EventStoreDBStore("esdb://127.0.0.1:2113?Tls=false")


@pytest.mark.parametrize(
    ("make", "offered", "durable_without_close", "counts_natively"),
    [
        pytest.param(
            lambda _: MemoryStore(),
            {EventStore, Outbox, Transactional, Snapshots, Views},
            False,
            False,
            id="memory",
        ),
        pytest.param(
            _sqlite,
            {EventStore, Outbox, Transactional, HasSchema, Snapshots, Views},
            True,
            True,
            id="sqlite",
        ),
        pytest.param(
            _postgres,
            {EventStore, Outbox, Transactional, HasSchema, Snapshots, Views},
            False,
            True,
            id="postgres",
        ),
        pytest.param(
            _eventstoredb,
            {EventStore, Outbox, StreamIds, Snapshots},
            False,
            False,
            id="eventstoredb",
            marks=needs_esdb_client,
        ),
        pytest.param(
            lambda _: NamespacedStore(MemoryStore(), "escli-test.t1."),
            {EventStore, Outbox, Snapshots},
            False,
            True,
            id="namespaced",
        ),
    ],
)
def test_each_store_offers_exactly_the_protocols_it_declares(
    make: Callable[[Path], Store],
    offered: set[type],
    durable_without_close: bool,
    counts_natively: bool,
    tmp_path: Path,
) -> None:
    store = make(tmp_path)
    assert {p for p in PROTOCOLS if isinstance(store, p)} == offered
    assert store.durable_without_close is durable_without_close
    # ``version_counts``: a GROUP BY where the store has one (a namespaced view hands it to
    # the store underneath, with its prefix); else BaseStore's count of ``read_all``.
    native = type(store).version_counts is not BaseStore.version_counts
    assert native is counts_natively
    store.close()


def test_a_namespaced_view_keeps_no_views_even_over_a_store_that_does(tmp_path: Path) -> None:
    # Its views would be the whole store's: view names are not prefixed, so one scenario's
    # projections would see and change another's.
    for inner in (MemoryStore(), _sqlite(tmp_path), _postgres(tmp_path)):
        assert isinstance(inner, Views)
        assert not isinstance(NamespacedStore(inner, "escli-test.t1."), Views)
        inner.close()


def test_a_store_is_named_by_its_url_unless_it_knows_a_canonical_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from escli.stores.sqlite import SQLiteStore

    monkeypatch.chdir(tmp_path)
    assert MemoryStore().canonical_url == "memory:"
    assert NamespacedStore(MemoryStore(), "p.").canonical_url == "memory:"
    sqlite = SQLiteStore("sqlite:///events.db")
    assert sqlite.canonical_url == f"sqlite:///{tmp_path / 'events.db'}"
    assert not (tmp_path / "events.db").exists()


def test_base_store_lends_no_capability() -> None:
    # What a class borrows from BaseStore (a file's stream read like a store's, for
    # ``replay --file``) gives it no protocol: a store offers one by defining it.
    assert [p for p in PROTOCOLS if isinstance(BaseStore(), p)] == []
