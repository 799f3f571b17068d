"""The PostgreSQL store: a shared, networked store with the same contract (psycopg 3).

This package is the only importer of ``psycopg``; ``open_store`` imports it only for
``postgresql://`` and ``postgres://`` URLs. A URL is a libpq URI plus one escli option,
``schema`` (default ``escli``): ``postgresql://user:password@host:5432/db?schema=escli_x``.
Other query items go to libpq unchanged; ``connect_timeout`` defaults to 3 s.

Schema. The schema holds two tables, created on first append or by ``init`` (idempotent,
serialised between processes by an advisory lock): ``events`` and ``store``, a one-row table
with the schema version and the last position handed out. A schema that holds something
else, or another version, is refused with a ``StoreError`` and never altered; the one
exception is escli's own version 1, migrated to 2 when first opened (each event's
``metadata jsonb`` and an index on its correlation id, ``escli.stores.metadata``; added
idempotently under the same advisory lock, so racing openers are safe). Reading a
schema that does not exist reads empty and creates nothing, as with SQLite.

Concurrency. ``events`` has PRIMARY KEY (stream, generation): of two writers racing for one
generation, exactly one commit succeeds, whatever process or machine they are in.

Positions. A sequence (BIGSERIAL) would not do: ``nextval`` is taken when a row is
inserted, but transactions commit in another order, so a reader could see position 8
committed while 7 is still in flight, move past 7, and never see it. Instead an append
adds its event count to ``store.last_position`` in its own transaction. That row lock
serialises appends from the update to the commit, so positions are handed out in commit
order: a reader that sees position p sees every smaller one. The price is that appends
commit one at a time, even on different streams (each holds the lock through its commit's
WAL flush). The alternative, concurrent commits with readers that wait for in-flight
transactions (an xid8 column and ``pg_snapshot_xmin``), keeps more throughput but makes
every reader subtler; a workbench favours the simple, exact one.

An append is one statement, sent in one round trip in its own (autocommit) transaction: it
reads the stream's generation, takes the position lock only when the generation is the
expected one, inserts every event (unnest of arrays), and calls ``pg_notify``, which fires on
commit. The generation read before the lock may be stale; the primary key then refuses the
insert and the append reports the conflict, nothing written.

Transactions. ``transaction()`` (the ``Transactional`` capability) pins one connection to
the calling thread and opens a transaction on it; every read, look-up and append of that
thread goes through it, each append a savepoint (``SAVEPOINT``) that undoes only itself.
The first append takes the position lock, so other appends wait until the transaction
commits: an import or a copy is visible whole, or not at all.

Subscribe. LISTEN on a connection of its own first, then catch up with ``read`` or
``read_all`` from the last event seen, then wait for a notification and read again from
there. Events committed during catch-up are in the read or notified after it, and positions
follow commit order, so none is missed or repeated.

Waking. A projection's follower (``waiter``) listens the same way, on the same channel: it
reads the head once listening starts (an event committed before LISTEN held notified no
one), then again on each notification (``escli.stores.postgres.wakeup``).

Times. ``recorded_at`` is a timestamptz, read back as RFC 3339 UTC with microseconds (the
store's own time: the transaction's ``now()``). A time given by copy or import that would
not read back as the same text (another offset, ``Z``, other precision) is kept verbatim in
``recorded_at_given`` and read back exactly.

Data is ``json``, not ``jsonb``: PostgreSQL checks it is JSON and keeps the text as written,
so an event reads back, exports and copies byte for byte as escli wrote it (``jsonb`` would
reorder object keys). escli does not query inside event data, so jsonb's indexing would buy
nothing. ``read_data`` hands the JSON text to the fold to parse, the faster path.

Errors stop here: cannot reach the server (refused, unknown host, timeout, connection lost)
is ``StoreUnavailable``; authentication, a missing database, a foreign or other-version
schema and any other server error are ``StoreError``, each one line. A password in the URL
is never shown: ``store.url`` and every message carry ``***`` in its place.

Layout (one job a module): ``urls`` (the store URL), ``connection`` (the pool of connections,
and psycopg's errors translated), ``schema`` (checking and creating the tables), ``outbox``
(pending deliveries), ``snapshots``, ``views`` (projections' tables and the global log in
pages), ``store`` (reads, appends, transactions, subscriptions), ``wakeup`` (a follower's
``LISTEN``).
"""

from __future__ import annotations

from escli.errors import missing_client

try:
    import psycopg  # noqa: F401 - the package's modules import it freely once this passed
except ImportError as e:
    raise missing_client("PostgreSQL URLs need psycopg", "'escli[postgres]'", e) from e

from escli.stores.postgres.store import PostgresStore
from escli.stores.postgres.urls import parse_url

__all__ = ["PostgresStore", "parse_url"]
