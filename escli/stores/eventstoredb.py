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
"""

from __future__ import annotations

import contextlib
import os

# grpc reads this when its core loads; without it grpc may log to stderr, and every escli
# error must be one line. A value the user set wins.
os.environ.setdefault("GRPC_VERBOSITY", "ERROR")

import importlib
import json
import re
import threading
import uuid
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn, TypeVar
from urllib.parse import parse_qsl, unquote, urlencode

from escli.errors import (
    ConcurrencyConflict,
    EscliError,
    InvalidInput,
    StoreError,
    StoreUnavailable,
    missing_client,
    wrote_nothing,
)
from escli.stores.base import (
    BaseStore,
    NewEvent,
    Pending,
    RecordedEvent,
    StreamInfo,
    cleared,
    merge_pending,
    now_rfc3339,
)
from escli.urls import bad_url, check_url, hide_secrets, mask_url, port_problem, valid_port

__all__ = ["EventStoreDBStore"]

T = TypeVar("T")

HEALTH_STREAM = "escli-health-check"
HEALTH_TIMEOUT = 1.0  # seconds; the client retries once after a deadline
OPERATION_TIMEOUT = 10.0  # seconds per append or page, unless the URL sets DefaultDeadline
PAGE = 500  # events per read call
DISCOVERY_DEFAULTS = {"GossipTimeout": "1", "MaxDiscoverAttempts": "2"}
DEFAULT_PORT = "2113"
# Ids that are not UUIDs are sent as uuid5(ID_NAMESPACE, id).
ID_NAMESPACE = uuid.UUID("6f0b4a4e-5c1e-4c59-9a53-6c0f8a3e2d11")

# -------------------------------------------------------------------------------------------
# The two client packages: the only place that knows their names. Both ship the same
# protocol, methods and keywords; kurrentdbclient renamed the classes and added an ``Error``
# suffix to the exceptions. esdbclient is preferred when both are importable (they cannot be
# installed together anyway: disjoint grpcio versions).
# -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClientApi:
    package: str
    schemes: frozenset[str]
    client_class: Any
    new_event: Any
    connection_spec: Any
    no_stream: Any
    error: type[Exception]  # the base of every client exception
    not_found: type[Exception]
    wrong_version: type[Exception]
    deleted: type[Exception]
    too_large: type[Exception]
    unavailable: type[Exception]
    tls_failed: type[Exception]
    deadline: type[Exception]
    discovery_failed: type[Exception]
    not_leader: type[Exception]
    access_denied: tuple[type[Exception], ...]
    bad_position: tuple[type[Exception], ...]


def load_client_api() -> ClientApi:
    """The installed client package's names, or ``ClientMissing`` saying what to install."""
    failed: ImportError | None = None
    for package in ("esdbclient", "kurrentdbclient"):
        try:
            top = importlib.import_module(package)
            break
        except ImportError as e:
            # Keep the first failure that is not "not installed" (a client that is there
            # but does not import): it is the one worth showing.
            if failed is None or isinstance(failed, ModuleNotFoundError):
                failed = e
    else:
        assert failed is not None
        raise missing_client(
            "EventStoreDB URLs need a client package",
            "'escli[esdb]' (esdbclient) or 'escli[kurrentdb]' (kurrentdbclient)",
            failed,
        )
    x = importlib.import_module(f"{package}.exceptions")
    spec = importlib.import_module(f"{package}.connection_spec").ConnectionSpec
    if package == "esdbclient":
        return ClientApi(
            package=package,
            schemes=frozenset({"esdb", "esdb+discover"}),
            client_class=top.EventStoreDBClient,
            new_event=top.NewEvent,
            connection_spec=spec,
            no_stream=top.StreamState.NO_STREAM,
            error=x.EventStoreDBClientException,
            not_found=x.NotFound,
            wrong_version=x.WrongCurrentVersion,
            deleted=x.StreamIsDeleted,
            too_large=x.MaximumAppendSizeExceededError,
            unavailable=x.ServiceUnavailable,
            tls_failed=x.SSLError,
            deadline=x.DeadlineExceeded,
            discovery_failed=x.DiscoveryFailed,
            not_leader=x.NodeIsNotLeader,
            access_denied=(x.AccessDeniedError,),
            # A made-up position on a filtered $all read: only a generic UNKNOWN here.
            bad_position=(x.UnknownError,),
        )
    return ClientApi(
        package=package,
        schemes=frozenset(
            {"esdb", "esdb+discover", "kurrentdb", "kurrentdb+discover", "kdb", "kdb+discover"}
        ),
        client_class=top.KurrentDBClient,
        new_event=top.NewEvent,
        connection_spec=spec,
        no_stream=top.StreamState.NO_STREAM,
        error=x.KurrentDBClientError,
        not_found=x.NotFoundError,
        wrong_version=x.WrongCurrentVersionError,
        deleted=x.StreamIsDeletedError,
        too_large=x.MaximumAppendSizeExceededError,
        unavailable=x.ServiceUnavailableError,
        tls_failed=x.SSLError,
        deadline=x.DeadlineExceededError,
        discovery_failed=x.DiscoveryFailedError,
        not_leader=x.NodeIsNotLeaderError,
        access_denied=(x.AccessDeniedError, x.UnauthenticatedError),
        bad_position=(x.InvalidCommitPositionError,),
    )


# -------------------------------------------------------------------------------------------
# URLs
# -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """A parsed store URL: what the client gets, what messages show, and the deadlines."""

    client_uri: str  # what the client is given (it may hold a password: never print it)
    shown: str  # the URL with any password masked
    where: str  # host:port[,host:port...]
    user: str | None
    password: str | None
    timeout: float


def parse_url(url: str, api: ClientApi) -> Target:
    """Check an EventStoreDB URL and adapt it to the installed client. Raises InvalidInput."""
    check_url(url, "EventStoreDB")
    shown = mask_url(url)
    scheme, sep, rest = url.partition("://")
    scheme = scheme.lower()
    if not sep:
        raise InvalidInput(bad_url("EventStoreDB", url, "it has no '://'"))
    discover = scheme.endswith("+discover")
    if scheme not in api.schemes:
        # kurrentdb:// and kdb:// are the same protocol; esdbclient only knows esdb://.
        scheme = "esdb+discover" if discover else "esdb"
    authority, _, query = rest.partition("?")
    authority = authority.rstrip("/")
    userinfo, at, hosts = authority.rpartition("@")
    user, colon, password = (unquote(part) for part in userinfo.partition(":"))
    if any(c in user + password for c in "/?#@") or ":" in user:
        # The clients read credentials out of the URL without decoding them.
        raise InvalidInput(
            bad_url(
                "EventStoreDB",
                url,
                "the EventStoreDB clients cannot take a user name or password holding '/', "
                "'?', '#' or '@' (nor a user name holding ':')",
            )
        )
    targets = [h.strip() for h in hosts.split(",") if h.strip()]
    if not targets:
        raise InvalidInput(bad_url("EventStoreDB", url, "it names no host (esdb://HOST:PORT)"))
    for target in targets:
        port = _port(target)
        if port is not None and not valid_port(port):
            raise InvalidInput(bad_url("EventStoreDB", url, port_problem(port)))
    where = ",".join(t if ":" in t else f"{t}:{DEFAULT_PORT}" for t in targets)
    options = dict(parse_qsl(query, keep_blank_values=True))
    names = {k.lower(): k for k in options}
    tls = options.get(names.get("tls", ""), "true").lower() == "true"
    if tls and not (user and password):
        raise InvalidInput(
            bad_url(
                "EventStoreDB",
                url,
                "it uses TLS (the default), which needs a user and password "
                "(esdb://USER:PASSWORD@HOST:PORT); for a server started insecure add ?Tls=false",
            )
        )
    for option in ("TlsCaFile", "UserCertFile", "UserKeyFile"):  # the clients open them
        path = options.get(names.get(option.lower(), ""))
        if path is not None and not os.path.isfile(path):
            missing = "" if os.path.exists(path) else " (no such file)"
            raise InvalidInput(
                bad_url("EventStoreDB", url, f"{option} {path!r} is not a file{missing}")
            )
    if discover or len(targets) > 1:
        for key, value in DISCOVERY_DEFAULTS.items():
            if key.lower() not in names:
                options[key] = value
    timeout = OPERATION_TIMEOUT
    deadline = options.get(names.get("defaultdeadline", ""))
    if deadline:
        try:
            timeout = float(deadline)
        except ValueError:
            raise InvalidInput(
                bad_url(
                    "EventStoreDB", url, f"DefaultDeadline {deadline!r} is not a number of seconds"
                )
            ) from None
    credentials = f"{user}{':' if colon else ''}{password}@" if at else ""
    base = f"{scheme}://{credentials}{hosts}"
    client_uri = f"{base}?{urlencode(options)}" if options else base
    try:
        api.connection_spec(client_uri)  # the client's own checks: option names and values
    except ValueError as e:
        message = _mask(str(e), [url, client_uri], password)
        raise InvalidInput(bad_url("EventStoreDB", url, message)) from None
    return Target(
        client_uri, shown, where, user or None, password if at and colon else None, timeout
    )


def _port(target: str) -> str | None:
    """The port written in ``host:port`` or ``[v6]:port``; None when there is none."""
    if target.startswith("["):
        after = target.partition("]")[2]
        return after[1:] if after else None
    return target.rpartition(":")[2] if ":" in target else None


def _mask(text: str, urls: Sequence[str], password: str | None) -> str:
    text = hide_secrets(text, *urls)
    if password:
        text = text.replace(password, "***")
    return text


def _event_uuid(event_id: str) -> tuple[uuid.UUID, bool]:
    """The UUID an event id is stored under, and whether it differs from the id's text."""
    try:
        value = uuid.UUID(event_id)
    except ValueError:
        return uuid.uuid5(ID_NAMESPACE, event_id), True
    if value.int == 0:  # the server refuses the nil UUID
        return uuid.uuid5(ID_NAMESPACE, event_id), True
    return value, str(value) != event_id


# -------------------------------------------------------------------------------------------
# The store
# -------------------------------------------------------------------------------------------


PENDING_STREAM = "escli.pending"
PENDING_TYPE = "escli.PendingDeliveries"
PENDING_RETRIES = 20
PENDING_KEPT = 16  # snapshots of the pending list the server keeps ($maxCount)


def _is_user_stream(name: str) -> bool:
    """Streams escli shows: not the server's ($...) nor its own bookkeeping."""
    return not name.startswith("$") and name != PENDING_STREAM


class EventStoreDBStore(BaseStore):
    """A store on an EventStoreDB or KurrentDB server (see the module docstring)."""

    def __init__(self, url: str) -> None:
        self._api = load_client_api()
        self._target = parse_url(url, self._api)
        self.url = self._target.shown
        self._client: Any = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"EventStoreDBStore({self.url!r})"

    @property
    def client_package(self) -> str:
        """``"esdbclient"`` or ``"kurrentdbclient"``: the package this store talks through."""
        return self._api.package

    # -- connection ----------------------------------------------------------------------

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

    # -- reads ---------------------------------------------------------------------------

    def _record(self, event: Any) -> RecordedEvent:
        """A client event as escli's record; its data must be a JSON object."""
        generation = event.stream_position + 1
        try:
            meta = json.loads(event.metadata) if event.metadata else {}
        except ValueError:
            meta = {}
        if not isinstance(meta, dict):
            meta = {}
        try:
            data = json.loads(event.data)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise StoreError(
                f"{event.stream_name} generation {generation}: event data is not a JSON object"
            )
        recorded_at = meta.get("recorded_at")
        if not isinstance(recorded_at, str):
            created = event.recorded_at
            recorded_at = created.isoformat(timespec="microseconds") if created else ""
        position = event.commit_position
        return RecordedEvent(
            event.stream_name,
            generation,
            str(meta.get("event_id") or event.id),
            event.type,
            str(meta.get("type_version", "")),
            str(meta.get("source", "")),
            data,
            recorded_at,
            position if position is not None else -1,  # servers before 22.10 send none
        )

    def _stream_events(
        self, stream: str, from_generation: int = 1, to_generation: int | None = None
    ) -> Iterator[Any]:
        client = self._connected()
        revision = max(from_generation, 1) - 1
        while True:
            limit = PAGE if to_generation is None else min(PAGE, to_generation - revision)
            if limit <= 0:
                return
            try:
                page = client.get_stream(
                    stream, stream_position=revision, limit=limit, timeout=self._target.timeout
                )
            except self._api.not_found:
                return
            except self._api.error as e:
                self._raise(e, stream)
            yield from page
            if len(page) < limit:
                return
            revision = page[-1].stream_position + 1

    def read(
        self, stream: str, from_generation: int = 1, to_generation: int | None = None
    ) -> Iterator[RecordedEvent]:
        for event in self._stream_events(stream, from_generation, to_generation):
            yield self._record(event)

    def generation(self, stream: str) -> int:
        client = self._connected()
        version = self._call(
            lambda: client.get_current_version(stream, timeout=self._target.timeout), stream
        )
        return 0 if version == self._api.no_stream else int(version) + 1

    def find_ids(
        self, event_ids: Collection[str], streams: Collection[str] = ()
    ) -> dict[str, tuple[str, int]]:
        """The ids among ``event_ids`` held in ``streams`` (see "Event ids and retries" in
        the module docstring: the server has no index of ids, and ``$all`` is never read)."""
        wanted = set(event_ids)
        found: dict[str, tuple[str, int]] = {}
        for stream in dict.fromkeys(streams) if wanted else ():
            for event_id, generation in self.stream_ids(stream):
                if event_id in wanted:
                    found[event_id] = (stream, generation)
        return found

    def stream_ids(self, stream: str) -> Iterator[tuple[str, int]]:
        """Every event id of ``stream`` with its generation (``StreamIds``: an import reads
        them once, rather than ``find_ids`` reading the stream again for each chunk)."""
        for event in self._stream_events(stream):
            yield self._stored_id(event), event.stream_position + 1

    @staticmethod
    def _stored_id(event: Any) -> str:
        """An event's escli id: kept in its metadata when it is not its UUID's text."""
        if event.metadata and b"event_id" in event.metadata:
            try:
                meta = json.loads(event.metadata)
            except ValueError:
                meta = None
            if isinstance(meta, dict) and meta.get("event_id"):
                return str(meta["event_id"])
        return str(event.id)

    def _all_events(self, after_position: int) -> Iterator[Any]:
        """Every event of a non-system stream after ``after_position``, in pages."""
        client = self._connected()
        position = after_position or None
        while True:
            try:
                page = list(
                    client.read_all(
                        commit_position=position, limit=PAGE, timeout=self._target.timeout
                    )
                )
            except self._api.bad_position as e:
                if position is not None and position == after_position:
                    raise InvalidInput(
                        f"{after_position} is not the position of an event in {self.url}"
                    ) from e
                self._raise(e, None)
            except self._api.error as e:
                self._raise(e, None)
            for event in page:
                # From a position, $all includes the event at it: the one seen last.
                if event.commit_position != position and _is_user_stream(event.stream_name):
                    yield event
            if len(page) < PAGE:
                return
            position = page[-1].commit_position

    def read_all(self, after_position: int = 0) -> Iterator[RecordedEvent]:
        for event in self._all_events(after_position):
            yield self._record(event)

    def streams(self) -> Iterator[StreamInfo]:
        found: dict[str, list[int]] = {}
        for event in self._all_events(0):
            entry = found.setdefault(event.stream_name, [0, 0])
            entry[0] = max(entry[0], event.stream_position + 1)
            entry[1] += 1
        for name in sorted(found):
            yield StreamInfo(name, *found[name])

    def subscribe(
        self, stream: str | None = None, after: int = 0, *, poll_interval: float = 0.2
    ) -> Iterator[RecordedEvent]:
        # A catch-up subscription: the server sends what exists, then each new event. Created
        # on the first next(), so an iterator closed unstarted holds no server resources.
        client = self._connected()
        if stream is None:
            subscription = self._call(
                lambda: client.subscribe_to_all(commit_position=after or None)
            )
        else:
            start = after - 1 if after > 0 else None  # exclusive: after revision after - 1
            subscription = self._call(
                lambda: client.subscribe_to_stream(stream, stream_position=start), stream
            )
        try:
            while True:
                try:
                    event = next(subscription)
                except StopIteration:
                    return
                except self._api.error as e:
                    self._raise(e, stream)
                if _is_user_stream(event.stream_name):
                    yield self._record(event)
        finally:
            subscription.stop()

    # -- writes --------------------------------------------------------------------------

    def append(
        self,
        stream: str,
        events: Sequence[NewEvent],
        expected_generation: int,
        *,
        pending_for: Sequence[str] = (),
    ) -> list[RecordedEvent]:
        if not events:
            return self._append_nothing(stream, expected_generation)
        now = now_rfc3339()
        proposed: list[Any] = []
        metas: list[dict[str, str]] = []
        for e in events:
            event_uuid, keep_id = _event_uuid(e.event_id)
            meta = {"source": e.source, "type_version": e.type_version}
            meta["recorded_at"] = e.recorded_at or now
            if keep_id:
                meta["event_id"] = e.event_id
            metas.append(meta)
            proposed.append(
                self._api.new_event(
                    type=e.event_type,
                    data=json.dumps(e.data, separators=(",", ":"), ensure_ascii=False).encode(),
                    metadata=json.dumps(meta, separators=(",", ":")).encode(),
                    content_type="application/json",
                    id=event_uuid,
                )
            )
        client = self._connected()
        version = expected_generation - 1 if expected_generation > 0 else self._api.no_stream
        try:
            position = client.append_to_stream(
                stream, current_version=version, events=proposed, timeout=self._target.timeout
            )
        except self._api.wrong_version as e:
            raise ConcurrencyConflict(
                stream, expected_generation, self._actual_generation(e, stream)
            ) from e
        except self._api.error as e:
            self._raise(e, stream, appending=True)
        if len(events) == 1:
            positions = [position]
        else:
            # An append returns its last event's position only: read the others back. The
            # events are stored by now, so a failed read-back must not report a failed append:
            # those positions are then unknown (-1), the last one is not.
            try:
                stored = {
                    str(r.id): r.commit_position
                    for r in client.get_stream(
                        stream,
                        stream_position=expected_generation,
                        limit=len(events),
                        timeout=self._target.timeout,
                    )
                }
            except self._api.error:
                stored = {str(proposed[-1].id): position}
            positions = [stored.get(str(p.id), -1) for p in proposed]
        self._record_pending(pending_for, stream, expected_generation + 1, len(events))
        return [
            e.recorded(stream, expected_generation + offset, meta["recorded_at"], pos)
            for offset, (e, meta, pos) in enumerate(
                zip(events, metas, positions, strict=True), start=1
            )
        ]

    def _record_pending(self, targets: Sequence[str], stream: str, first: int, count: int) -> None:
        """``append``'s outbox, one snapshot after the events (EventStoreDB writes one
        stream at a time). The events are stored by now, so a failure here must not report a
        failed append: the delivery records the range again if it does not arrive."""
        if targets:
            with contextlib.suppress(EscliError):
                self._add_pending([Pending(t, stream, first, first + count - 1) for t in targets])

    # -- pending deliveries ----------------------------------------------------------------
    # Kept as snapshots in one stream of the store's own (PENDING_STREAM, hidden from reads,
    # listings and subscriptions): its last event is the whole list. Updates append a new
    # snapshot expecting the revision they read, and retry on a conflict.

    def _pending_snapshot(self) -> tuple[list[Pending], Any]:
        """The pending list and the revision it was read at (``no_stream`` when none)."""
        client = self._connected()
        try:
            last = client.get_stream(
                PENDING_STREAM, backwards=True, limit=1, timeout=self._target.timeout
            )
        except self._api.not_found:
            return [], self._api.no_stream
        except self._api.error as e:
            self._raise(e, PENDING_STREAM)
        if not last:
            return [], self._api.no_stream
        items = json.loads(last[0].data)["pending"]
        return [Pending(*item) for item in items], last[0].stream_position

    def _update_pending(self, change: Callable[[dict[tuple[str, str], Pending]], None]) -> None:
        client = self._connected()
        for _ in range(PENDING_RETRIES):
            current, revision = self._pending_snapshot()
            table = {(p.target, p.stream): p for p in current}
            before = dict(table)
            change(table)
            if table == before:
                return  # nothing changes: no snapshot to write
            data = {"pending": [list(p) for _, p in sorted(table.items())]}
            snapshot = self._api.new_event(
                type=PENDING_TYPE,
                data=json.dumps(data, separators=(",", ":")).encode(),
                metadata=b"{}",
                content_type="application/json",
                id=uuid.uuid4(),
            )
            try:
                client.append_to_stream(
                    PENDING_STREAM,
                    current_version=revision,
                    events=[snapshot],
                    timeout=self._target.timeout,
                )
                if revision == self._api.no_stream:
                    self._cap_pending(client)
                return
            except self._api.wrong_version:
                continue  # another writer updated the list: read it again
            except self._api.error as e:
                self._raise(e, PENDING_STREAM, appending=True)
        raise StoreError(f"{self.url}: the pending deliveries kept changing; try again")

    def _cap_pending(self, client: Any) -> None:
        """Let the server keep only the last few snapshots (``$maxCount``): only the last is
        ever read, and every dispatch with targets writes two. Set once, when the stream is
        created; without it the stream only grows, which is no reason to fail a write."""
        with contextlib.suppress(self._api.error):
            client.set_stream_metadata(
                PENDING_STREAM,
                metadata={"$maxCount": PENDING_KEPT},
                timeout=self._target.timeout,
            )

    def pending(self, target: str | None = None, stream: str | None = None) -> list[Pending]:
        current, _ = self._pending_snapshot()
        return sorted(
            p for p in current if target in (None, p.target) and stream in (None, p.stream)
        )

    def set_pending(
        self, target: str, stream: str, from_generation: int, to_generation: int
    ) -> None:
        self._add_pending([Pending(target, stream, from_generation, to_generation)])

    def _add_pending(self, ranges: Sequence[Pending]) -> None:
        """Merge ``ranges`` into the pending list, in one snapshot."""

        def change(table: dict[tuple[str, str], Pending]) -> None:
            for new in ranges:
                key = (new.target, new.stream)
                table[key] = merge_pending(table.get(key), new)

        self._update_pending(change)

    def clear_pending(self, target: str, stream: str, up_to_generation: int) -> None:
        def change(table: dict[tuple[str, str], Pending]) -> None:
            old = table.pop((target, stream), None)
            left = cleared(old, up_to_generation) if old else None
            if left is not None:
                table[target, stream] = left

        self._update_pending(change)

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
