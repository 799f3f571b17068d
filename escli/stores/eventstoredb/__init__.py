"""EventStoreDB and KurrentDB over gRPC, through ``esdbclient`` or ``kurrentdbclient``.

The only importer of either client package, imported only when an ``esdb://``,
``esdb+discover://``, ``kurrentdb://`` or ``kdb://`` URL is used. The two packages differ only
in names (see "The two client packages" below); everything else here is shared.

Mapping
    A stream is an EventStoreDB stream of the same name. escli's generation g is the stream
    revision g - 1, so an append that expects generation g sends expected version g - 1, or
    ``NO_STREAM`` at generation 0: the server decides, atomically, whether the stream moved.
    All of a command's events go in ONE ``append_to_stream`` call with a materialised list (a
    single ``NewEvent`` takes the older Append RPC, whose errors are vaguer; a generator would
    be empty when the client retries it). Each event is ``application/json`` with the event type
    as its EventStoreDB type; its metadata is JSON holding ``source``, ``type_version`` and
    ``recorded_at`` (RFC 3339), so exporting from EventStoreDB loses nothing. ``recorded_at``
    is read back from there; events written by other tools fall back to the server's
    ``created`` time.

Event ids and retries
    The client retries an append once (up to four attempts when the server is unavailable). A
    retry carries the same event ids at the same expected version, which the server answers as
    an idempotent success, so every event is stored exactly once even when only the
    acknowledgement was lost. The ids are the ``NewEvent.event_id`` that escli draws fresh (a
    random UUID) for every event before the write. They are deliberately NOT derived from the
    stream and generation alone: two dispatches racing for the same generation would then
    send identical ids, and the server would report the loser's append as an idempotent
    success of the winner's, a lost update. Random ids make the loser a ``ConcurrencyConflict``.
    An id that is not a UUID (an imported event's) is sent as a UUID derived from it (uuid5)
    and kept verbatim in the metadata, so it reads back unchanged and retries stay idempotent.
    EventStoreDB does not refuse an id already stored in another stream: ``DuplicateEventId``
    is never raised here. Nor does it index ids across streams: no call answers "is this id
    stored" short of reading ``$all``, the whole database. ``find_ids`` therefore reads only
    the streams it is given (those an import or copy is about to write), never ``$all``: an
    id stored in another stream goes unnoticed, as the server itself would take it.

Positions
    An event's position is its commit position in ``$all``: increasing, with gaps. No
    arithmetic is ever done on one; ``read_all`` pages forwards from the last position seen and
    drops that event (a ``$all`` read from a position includes it).

Listing streams
    EventStoreDB keeps no cheap list of streams. ``streams()`` reads all of ``$all`` (server-side
    filter: no ``$`` event types; client-side: no ``$`` streams), collecting each stream's name,
    highest revision and event count. Its cost grows with the whole database: every event is
    sent over the wire, data included. Streams deleted outside escli may still be listed until
    the server scavenges them.

Connecting
    Constructing a client does not connect; the first use makes a health check (a read of the
    stream ``escli-health-check``, which is never written) with a short deadline, so a missing
    server fails within about 2 s (1 s deadline, plus the client's one retry) instead of on
    the first real call. Later calls get a deadline too (``DefaultDeadline`` in the URL, else
    10 s); stream and ``$all`` reads go in pages, each with its own deadline. Cluster discovery
    (``esdb+discover://``, several hosts) defaults to ``GossipTimeout=1&MaxDiscoverAttempts=2``
    for the same reason; given values win.

Errors are translated here and nowhere else: a wrong expected version becomes
``ConcurrencyConflict`` (the actual generation taken from the exception, else read), an
unreachable or silent server ``StoreUnavailable`` naming host and port, a tombstoned stream,
an oversized append, refused credentials or a failed TLS handshake a ``StoreError`` saying
what to fix. No message ever shows a password.

Waking
    A projection's follower (``waiter``) holds a catch-up subscription to ``$all`` from its
    checkpoint, filtered by the server to escli's streams (no ``$`` streams, no pending list,
    no snapshot streams), read by a thread of its own so that each wait has a timeout.

Snapshots
    A hidden stream per stream, ``escli.snapshot.<stream>``, written right after the append
    that takes one (a lost snapshot only costs a longer fold); see ``snapshots``.

Layout (one job a module): ``client`` (the two client packages' names), ``urls`` (the store
URL, checked and adapted to the installed client), ``connection`` (connecting on first use,
and every client exception translated), ``outbox`` (pending deliveries, kept in a stream of
the store's own), ``snapshots`` (a snapshot stream per stream), ``store`` (reads and
appends: the ``EventStore``), ``wakeup`` (a projection follower's ``$all`` subscription).
"""

from __future__ import annotations

import os

# grpc reads this when its core loads; without it grpc may log to stderr, and every escli
# error must be one line. A value the user set wins. Set here, in the package, before any
# of its modules loads a client.
os.environ.setdefault("GRPC_VERBOSITY", "ERROR")

from escli.stores.eventstoredb.client import ClientApi, load_client_api
from escli.stores.eventstoredb.outbox import PENDING_KEPT, PENDING_STREAM
from escli.stores.eventstoredb.store import EventStoreDBStore
from escli.stores.eventstoredb.urls import Target, parse_url

__all__ = [
    "PENDING_KEPT",
    "PENDING_STREAM",
    "ClientApi",
    "EventStoreDBStore",
    "Target",
    "load_client_api",
    "parse_url",
]
