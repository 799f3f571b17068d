"""The embedded store: one SQLite file (standard library), escli's default.

Optimistic concurrency is enforced by the database, not by a read-then-write in Python:
(stream, generation) is unique, so of two writers racing for the same generation exactly one
commit succeeds. Appends run in ``BEGIN IMMEDIATE`` transactions, which take the write
lock up front (other writers wait up to ``BUSY_TIMEOUT_S``), and check the stream's generation
inside the transaction first to report a conflict with the actual generation.

``transaction()`` (the ``Transactional`` capability) is one such transaction around many
appends, each then a savepoint inside it: an import or a copy commits once, or not at all.
It holds the write lock throughout, so other writers wait for it (up to ``BUSY_TIMEOUT_S``).

A new store keeps its events in position order (``position`` is the rowid), so the global
log reads the file in order, with the unique (stream, generation) index beside them for a
stream's replay; a store made before keeps them by (stream, generation) (a WITHOUT ROWID
table), and every query reads both (why: ``connection``). The global ``position`` is
assigned inside the write transaction (max + 1), which the write lock serialises.

Schema version 2 keeps each event's metadata (``escli.stores.metadata``) as JSON text in
``events.metadata`` (NULL: none), with an expression index on its correlation id for
``escli trace``. A version 1 file is migrated when first opened writable, by a read as well
as a write (the column and the index added and ``user_version`` set in one ``BEGIN
IMMEDIATE`` that checks the version again, so racing openers are safe); opened read-only, it
is read through a temporary view that gives every event no metadata.

The file is in WAL mode (readers never block the writer) with ``synchronous=FULL``: a
dispatch that printed its result survives a power cut, at the cost of one fsync per append.

Layout (one job a module): ``urls`` (the store URL), ``connection`` (a connection per thread,
the schema made or checked when the file is opened, sqlite3's errors translated), ``outbox``
(pending deliveries), ``store`` (reads, appends, transactions), ``wakeup`` (a projection
follower's poll of ``PRAGMA data_version``).
"""

from __future__ import annotations

from escli.stores.sqlite.store import SQLiteStore
from escli.stores.sqlite.urls import path_from_url

__all__ = ["SQLiteStore", "path_from_url"]
