"""In-process EventStoreDB/KurrentDB gRPC server for testing escli's adapter.

No EventStoreDB server can be installed where escli is tested, so this module
serves the ``event_store.client.streams.Streams`` gRPC service from Python,
built on the protocol modules that the installed client package ships
(``esdbclient.protos.Grpc`` or ``kurrentdbclient.protos.v1``). The real client
talks to it over a real loopback socket, so the adapter is exercised through
the client's own request building, error mapping and retry logic.

Implemented: Append, BatchAppend, Read (stream and $all reads, catch-up
subscriptions on a stream and on $all), Delete (soft) and Tombstone.
Not implemented: persistent subscriptions, projections, gossip, users, ACLs,
TLS, stream metadata semantics ($maxAge, $maxCount, a user-written $tb).

Start and stop::

    from tests.esdb_server import start_server
    with start_server() as server:          # 127.0.0.1, ephemeral port
        client = EventStoreDBClient(server.url)   # esdb://127.0.0.1:PORT?Tls=false
        ...
        server.store                        # the InProcessEventStore behind it
    # or: server = start_server(); ...; server.stop()

Fault injection (appends only: the Append and BatchAppend RPCs)::

    server.inject(Fault(grpc.StatusCode.UNAVAILABLE, after_store=True))
    server.inject(Fault(grpc.StatusCode.DEADLINE_EXCEEDED, times=2))
    start_server(fault=Fault(...))          # armed from the start

``Fault(code, times=1, after_store=False, details=...)`` makes the next
``times`` append RPCs end with gRPC status ``code``. With ``after_store=False``
the call fails before anything is written; with ``after_store=True`` the write
is done first and only the acknowledgement is lost, so the client's automatic
retry must be answered idempotently. A new ``inject`` replaces the pending
fault. ``server.faults_fired`` counts faults delivered, ``server.calls`` counts
RPCs by method name, ``server.active_subscriptions`` counts open subscriptions.

Restart: ``start_server(port=old.port, store=old.store)`` after ``old.stop()``
keeps the data; ``store.forget_event_ids()`` empties the idempotency cache as a
real restart does.

Which client is installed: ``CLIENT_PACKAGE`` is ``"esdbclient"`` (preferred
when both are importable) or ``"kurrentdbclient"``.
"""

from __future__ import annotations

import os

# grpcio reads this when its core is first loaded; without it, stopping the
# server logs "Got goaway" at INFO level on every test.
os.environ.setdefault("GRPC_VERBOSITY", "ERROR")

import bisect
import collections
import dataclasses
import importlib
import importlib.util
import json
import re
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent import futures

import grpc
from google.protobuf import any_pb2, timestamp_pb2

# --------------------------------------------------------------------------
# Compatibility: the only place that knows which client package is present.
# Both packages ship the same protocol (package event_store.client.*); the
# kurrentdbclient copy has extra fields on ReadResp.CaughtUp / Checkpoint.
# --------------------------------------------------------------------------
if importlib.util.find_spec("esdbclient") is not None:
    CLIENT_PACKAGE = "esdbclient"
    _PROTOS = "esdbclient.protos.Grpc"
elif importlib.util.find_spec("kurrentdbclient") is not None:
    CLIENT_PACKAGE = "kurrentdbclient"
    _PROTOS = "kurrentdbclient.protos.v1"
else:  # pragma: no cover - the test module skips before importing us
    raise ImportError("esdb_server needs esdbclient or kurrentdbclient installed")

shared_pb2 = importlib.import_module(_PROTOS + ".shared_pb2")
status_pb2 = importlib.import_module(_PROTOS + ".status_pb2")
streams_pb2 = importlib.import_module(_PROTOS + ".streams_pb2")
streams_pb2_grpc = importlib.import_module(_PROTOS + ".streams_pb2_grpc")


def _field_names(message_class) -> frozenset:
    return frozenset(f.name for f in message_class.DESCRIPTOR.fields)


_CAUGHT_UP_FIELDS = _field_names(streams_pb2.ReadResp.CaughtUp)
_CHECKPOINT_FIELDS = _field_names(streams_pb2.ReadResp.Checkpoint)

# --------------------------------------------------------------------------
# Constants, using the server's own internal numbers so that error texts read
# like a real server's ("Expected version: -2").
# --------------------------------------------------------------------------
ANY = -2  # AnyStreamRevision.Any
NO_STREAM = -1  # AnyStreamRevision.NoStream
STREAM_EXISTS = -4  # AnyStreamRevision.StreamExists
DELETED_STREAM = 2**63 - 1  # EventNumber.DeletedStream: a tombstone's revision
MAX_APPEND_SIZE = 1_048_576  # server default
ID_CACHE_SIZE = 100_000  # a real server keeps ~8 MiB of recent event ids
_FIRST_POSITION = 4096  # a real log never starts user events at 0
_RECORD_OVERHEAD = 96  # makes positions gappy, roughly like log record sizes
_WAIT = 0.2  # seconds a subscription sleeps before re-checking its call


@dataclasses.dataclass(frozen=True)
class Proposed:
    """An event as proposed by a client, validated."""

    event_id: str
    type: str
    is_json: bool
    data: bytes
    metadata: bytes

    @property
    def size(self) -> int:
        # Event.SizeOnDisk on the server: what the max append size counts.
        return len(self.data) + len(self.metadata) + 2 * len(self.type)


@dataclasses.dataclass(frozen=True)
class Recorded:
    """An event as stored: in its stream and in the global ($all) log."""

    stream: str
    revision: int
    event_id: str
    type: str
    is_json: bool
    data: bytes
    metadata: bytes
    position: int  # commit position == prepare position
    created: int  # 100 ns ticks since the Unix epoch


@dataclasses.dataclass(frozen=True)
class AppendResult:
    last_revision: int  # -1: the stream has no events
    position: int  # commit position of the last event; -1: nothing written


class WrongExpectedVersion(Exception):
    def __init__(self, stream: str, expected: int, current: int):
        super().__init__(f"{stream}: expected {expected}, current {current}")
        self.stream, self.expected, self.current = stream, expected, current


class StreamDeleted(Exception):
    def __init__(self, stream: str):
        super().__init__(f"Event stream '{stream}' is deleted.")
        self.stream = stream


class StreamNotFound(Exception):
    pass


class _Stream:
    def __init__(self) -> None:
        self.events: list[Recorded] = []  # index == revision
        self.tombstoned = False
        self.soft_deleted = False  # deleted, not yet re-created
        self.truncate_before = 0  # revisions below are hidden (old soft deletes)

    @property
    def last(self) -> int:
        return len(self.events) - 1


class InProcessEventStore:
    """Streams, the global log and the idempotency cache, behind one lock."""

    def __init__(self, *, id_cache_size: int = ID_CACHE_SIZE):
        self._cond = threading.Condition(threading.RLock())
        self._streams: dict[str, _Stream] = {}
        self._log: list[Recorded] = []
        self._positions: list[int] = []  # parallel to _log, for bisect
        self._next_position = _FIRST_POSITION
        self._ids: collections.OrderedDict[str, tuple[str, int]] = collections.OrderedDict()
        self._id_cache_size = id_cache_size
        self.closed = False

    # ---- writes ---------------------------------------------------------
    def append(self, stream: str, expected: int, events: Sequence[Proposed]) -> AppendResult:
        with self._cond:
            s = self._streams.get(stream)
            idempotent = self._check_commit(stream, s, expected, [e.event_id for e in events])
            if idempotent is not None:
                assert s is not None
                return AppendResult(idempotent, s.events[idempotent].position)
            if s is None:
                s = self._streams[stream] = _Stream()
            if s.soft_deleted:
                # Re-creating a soft-deleted stream: like the server, rewrite
                # $tb so the old events stay hidden; numbering continues.
                s.soft_deleted = False
                s.truncate_before = len(s.events)
                self._write_metadata(stream, {"$tb": s.truncate_before})
            for event in events:
                self._write(stream, s, event, len(s.events))
            self._cond.notify_all()
            return AppendResult(s.last, s.events[-1].position if events else -1)

    def delete(self, stream: str, expected: int, *, hard: bool) -> int:
        """Soft delete (hard=False) or tombstone; returns the log position."""
        with self._cond:
            s = self._streams.get(stream)
            if s is not None and s.tombstoned:
                raise StreamDeleted(stream)
            if not hard and (s is None or s.last < 0):
                # Soft-deleting a stream that never existed: the client maps
                # "Actual version: -1" to not-found.
                raise WrongExpectedVersion(stream, expected, -1)
            # A fresh event id: only the version rules can apply.
            self._check_commit(stream, s, expected, [str(uuid.uuid4())])
            if s is None:
                s = self._streams[stream] = _Stream()
            if hard:
                tomb = Proposed(str(uuid.uuid4()), "$streamDeleted", True, b"", b"")
                record = self._write(stream, s, tomb, DELETED_STREAM)
                s.tombstoned = True
            else:
                s.soft_deleted = True
                record = self._write_metadata(stream, {"$tb": DELETED_STREAM})
            self._cond.notify_all()
            return record.position

    def _check_commit(
        self, name: str, s: _Stream | None, expected: int, ids: Sequence[str]
    ) -> int | None:
        """The server's expected-version decision (IndexWriter.CheckCommit).

        Returns None to write, or the last revision of an idempotent
        re-append; raises StreamDeleted or WrongExpectedVersion.
        """
        cur = s.last if s is not None else -1
        soft = s is not None and s.soft_deleted
        if s is not None and s.tombstoned:
            raise StreamDeleted(name)
        if expected == STREAM_EXISTS:
            if soft:
                raise StreamDeleted(name)
            meta = self._streams.get("$$" + name)
            if cur < 0 and (meta is None or meta.last < 0):
                raise WrongExpectedVersion(name, expected, cur)
        if expected in (ANY, STREAM_EXISTS):
            # Only the bounded event-id cache can make these idempotent.
            known = [self._ids.get(i) for i in ids]
            if not known or known[0] is None or known[0][0] != name:
                return None
            if any(k is None or k[0] != name for k in known):
                raise WrongExpectedVersion(name, expected, cur)  # partly known
            return known[-1][1]
        if expected < cur:
            # Idempotent if the ids are the events right after `expected`;
            # checked against the stream itself, so it never expires.
            for offset, event_id in enumerate(ids):
                rev = expected + 1 + offset
                if rev <= cur and s is not None and s.events[rev].event_id == event_id:
                    continue
                if offset == 0 and expected == NO_STREAM and soft:
                    return None  # re-creating a soft-deleted stream
                raise WrongExpectedVersion(name, expected, cur)
            if not ids:
                raise WrongExpectedVersion(name, expected, cur)
            return expected + len(ids)
        if expected > cur:
            raise WrongExpectedVersion(name, expected, cur)
        return None

    def _write(self, name: str, s: _Stream, event: Proposed, revision: int) -> Recorded:
        record = Recorded(
            name,
            revision,
            event.event_id,
            event.type,
            event.is_json,
            event.data,
            event.metadata,
            self._next_position,
            time.time_ns() // 100,
        )
        self._next_position += _RECORD_OVERHEAD + len(name.encode()) + event.size
        if revision != DELETED_STREAM:
            s.events.append(record)
        self._log.append(record)
        self._positions.append(record.position)
        self._ids[event.event_id] = (name, revision)
        self._ids.move_to_end(event.event_id)
        while len(self._ids) > self._id_cache_size:
            self._ids.popitem(last=False)
        return record

    def _write_metadata(self, name: str, metadata: dict) -> Recorded:
        meta_name = "$$" + name
        meta = self._streams.setdefault(meta_name, _Stream())
        event = Proposed(str(uuid.uuid4()), "$metadata", True, json.dumps(metadata).encode(), b"")
        return self._write(meta_name, meta, event, len(meta.events))

    # ---- reads ----------------------------------------------------------
    def read_stream(
        self,
        stream: str,
        *,
        revision: int | None = None,
        backwards: bool = False,
        limit: int = sys.maxsize,
    ) -> list[Recorded]:
        """Forwards from `revision` (default 0) or backwards from it (default
        the end), both inclusive. Raises StreamDeleted or StreamNotFound."""
        with self._cond:
            s = self._streams.get(stream)
            if s is not None and s.tombstoned:
                raise StreamDeleted(stream)
            if s is None or s.soft_deleted or s.last < s.truncate_before:
                raise StreamNotFound(stream)
            lo = s.truncate_before
            if backwards:
                hi = s.last if revision is None else min(revision, s.last)
                return s.events[lo : hi + 1][::-1][:limit]
            return s.events[max(lo, revision or 0) :][:limit]

    def read_all(
        self,
        *,
        position: int | None = None,
        backwards: bool = False,
        limit: int = sys.maxsize,
        accept: Callable[[Recorded], bool] | None = None,
    ) -> list[Recorded]:
        """Forwards from `position` inclusive, backwards from it exclusive."""
        with self._cond:
            if backwards:
                end = (
                    len(self._log)
                    if position is None
                    else bisect.bisect_left(self._positions, position)
                )
                candidates = reversed(self._log[:end])
            else:
                start = bisect.bisect_left(self._positions, position or 0)
                candidates = iter(self._log[start:])
        out = []
        for record in candidates:
            if len(out) >= limit:
                break
            if accept is None or accept(record):
                out.append(record)
        return out

    def is_valid_position(self, position: int) -> bool:
        """0, the head, or the position of a record in the log."""
        with self._cond:
            i = bisect.bisect_left(self._positions, position)
            return position in (0, self._next_position) or (
                i < len(self._positions) and self._positions[i] == position
            )

    # ---- subscriptions --------------------------------------------------
    def subscribe_stream(self, stream: str, after: int | None):
        """For a stream subscription starting after revision `after` (None:
        from the start, -2: from the end): the catch-up events, the log
        index where live tailing begins and the first revision to send."""
        with self._cond:
            s = self._streams.get(stream)
            if s is not None and s.tombstoned:
                raise StreamDeleted(stream)
            last = s.last if s is not None else -1
            first = last + 1 if after == -2 else (0 if after is None else after + 1)
            events: list[Recorded] = []
            if s is not None and not s.soft_deleted:
                events = s.events[max(first, s.truncate_before) :]
            return events, len(self._log), first

    def log_index_after(self, position: int | None, from_end: bool) -> int:
        """Log index of the first record a $all subscription sends (the start
        position itself is excluded, like a real server)."""
        with self._cond:
            if from_end:
                return len(self._log)
            if position is None:
                return 0
            return bisect.bisect_right(self._positions, position)

    def log_from(self, index: int) -> list[Recorded]:
        with self._cond:
            return self._log[index:]

    def wait_log(self, index: int, timeout: float) -> list[Recorded]:
        """Records from `index` on, waiting up to `timeout` for some."""
        with self._cond:
            if len(self._log) <= index and not self.closed:
                self._cond.wait(timeout)
            return self._log[index:]

    def wake(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()

    # ---- inspection for tests -------------------------------------------
    def stream_events(self, stream: str) -> list[Recorded]:
        """Every stored event of a stream, hidden (soft-deleted) ones too."""
        with self._cond:
            s = self._streams.get(stream)
            return list(s.events) if s is not None else []

    def all_events(self) -> list[Recorded]:
        with self._cond:
            return list(self._log)

    def forget_event_ids(self) -> None:
        """Empty the idempotency cache, as a real server restart does."""
        with self._cond:
            self._ids.clear()


# --------------------------------------------------------------------------
# Fault injection
# --------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Fault:
    code: grpc.StatusCode = grpc.StatusCode.UNAVAILABLE
    times: int = 1
    after_store: bool = False
    details: str = "Injected fault"


class _Faults:
    def __init__(self, fault: Fault | None):
        self._lock = threading.Lock()
        self._fault: Fault | None = None
        self._left = 0
        self.fired = 0
        if fault is not None:
            self.arm(fault)

    def arm(self, fault: Fault) -> None:
        with self._lock:
            self._fault, self._left = fault, fault.times

    def take(self) -> Fault | None:
        with self._lock:
            if self._fault is None or self._left <= 0:
                return None
            self._left -= 1
            self.fired += 1
            return self._fault


# --------------------------------------------------------------------------
# Protocol helpers
# --------------------------------------------------------------------------
class _BadEvent(Exception):
    """A proposed message the server's Event constructor would reject."""


def _code(code: grpc.StatusCode) -> int:
    return code.value[0]


def _abort(context, code: grpc.StatusCode, details: str, **trailers: str):
    # The server sends its error facts as trailing metadata too.
    if trailers:
        context.set_trailing_metadata(tuple((k.replace("_", "-"), v) for k, v in trailers.items()))
    context.abort(code, details)


def _stream_name(identifier) -> str:
    return identifier.stream_name.decode("utf8")


def _expected(options, oneof: str, revision_field: str) -> int:
    kind = options.WhichOneof(oneof)
    if kind == revision_field:
        return getattr(options, revision_field)
    return {"any": ANY, "no_stream": NO_STREAM, "stream_exists": STREAM_EXISTS}[kind]


def _to_proposed(message) -> Proposed:
    """Convert in the server's order: id, type key, content-type key, then
    the Event constructor's checks. Raises _BadEvent."""
    try:
        # Both clients send ids as UUID strings (structured ids: unsupported).
        event_id = str(uuid.UUID(message.id.string))
    except ValueError as e:
        raise _BadEvent(f"Invalid event id: {e}") from None
    for key in ("type", "content-type"):
        if key not in message.metadata:  # .NET's KeyNotFoundException text
            raise _BadEvent(f"The given key '{key}' was not present in the dictionary.")
    if event_id == str(uuid.UUID(int=0)):
        raise _BadEvent("Empty eventId provided. (Parameter 'eventId')")
    if not message.metadata["type"]:
        raise _BadEvent("Empty eventType provided. (Parameter 'eventType')")
    return Proposed(
        event_id,
        message.metadata["type"],
        message.metadata["content-type"] == "application/json",
        message.data,
        message.custom_metadata,
    )


def _status(code: grpc.StatusCode, message: str, detail) -> status_pb2.Status:
    packed = any_pb2.Any()
    packed.Pack(detail)
    return status_pb2.Status(code=_code(code), message=message, details=packed)


def _wrong_version(message, current: int, expected: int, current_field: str, expected_field: str):
    """Fill either shape of WrongExpectedVersion (AppendResp's or shared's)."""
    if current < 0:
        message.current_no_stream.SetInParent()
    else:
        setattr(message, current_field, current)
    special = {
        ANY: "expected_any",
        STREAM_EXISTS: "expected_stream_exists",
        NO_STREAM: "expected_no_stream",
    }
    if expected in special:
        getattr(message, special[expected]).SetInParent()
    else:
        setattr(message, expected_field, expected)
    return message


def _success(success, outcome: AppendResult):
    """Fill AppendResp.Success or BatchAppendResp.Success."""
    if outcome.last_revision < 0:
        success.no_stream.SetInParent()
    else:
        success.current_revision = outcome.last_revision
    if outcome.position < 0:
        success.no_position.SetInParent()
    else:
        success.position.commit_position = outcome.position
        success.position.prepare_position = outcome.position
    return success


def _event_message(record: Recorded):
    recorded = streams_pb2.ReadResp.ReadEvent.RecordedEvent(
        id=shared_pb2.UUID(string=record.event_id),  # clients ask for strings
        stream_identifier=shared_pb2.StreamIdentifier(stream_name=record.stream.encode("utf8")),
        stream_revision=record.revision,
        prepare_position=record.position,
        commit_position=record.position,
        metadata={
            "type": record.type,
            # The server only remembers "is JSON"; anything else reads back
            # as application/octet-stream.
            "content-type": "application/json" if record.is_json else "application/octet-stream",
            "created": str(record.created),
        },
        custom_metadata=record.metadata,
        data=record.data,
    )
    return streams_pb2.ReadResp(
        event=streams_pb2.ReadResp.ReadEvent(event=recorded, commit_position=record.position)
    )


def _now_timestamp():
    stamp = timestamp_pb2.Timestamp()
    stamp.GetCurrentTime()
    return stamp


def _caught_up_message(revision: int | None, position: int | None):
    # Newer protos (kurrentdbclient) carry where the subscription caught up.
    extra = {}
    if "timestamp" in _CAUGHT_UP_FIELDS:
        extra["timestamp"] = _now_timestamp()
    if "stream_revision" in _CAUGHT_UP_FIELDS and revision is not None:
        extra["stream_revision"] = revision
    if "position" in _CAUGHT_UP_FIELDS and position is not None:
        extra["position"] = streams_pb2.ReadResp.Position(
            commit_position=position, prepare_position=position
        )
    return streams_pb2.ReadResp(caught_up=streams_pb2.ReadResp.CaughtUp(**extra))


def _checkpoint_message(position: int):
    extra = {"timestamp": _now_timestamp()} if "timestamp" in _CHECKPOINT_FIELDS else {}
    return streams_pb2.ReadResp(
        checkpoint=streams_pb2.ReadResp.Checkpoint(
            commit_position=position, prepare_position=position, **extra
        )
    )


def _make_filter(options):
    """(accept, checkpoint interval) for a $all read; accept None: no filter."""
    if options.WhichOneof("filter_option") != "filter":
        return None, 0
    f = options.filter
    by_stream = f.WhichOneof("filter") == "stream_identifier"
    expression = f.stream_identifier if by_stream else f.event_type
    prefixes = tuple(expression.prefix)
    regex = re.compile(expression.regex) if expression.regex else None

    def accept(record: Recorded) -> bool:
        value = record.stream if by_stream else record.type
        if prefixes:
            return value.startswith(prefixes)
        return regex is None or regex.search(value) is not None

    window = f.max if f.WhichOneof("window") == "max" else 1
    return accept, max(1, window) * max(1, f.checkpointIntervalMultiplier)


# --------------------------------------------------------------------------
# The Streams service
# --------------------------------------------------------------------------
class _StreamsServicer(streams_pb2_grpc.StreamsServicer):
    def __init__(self, store: InProcessEventStore, faults: _Faults, max_append_size: int):
        self.store = store
        self.faults = faults
        self.max_append_size = max_append_size
        self.calls: collections.Counter[str] = collections.Counter()
        self._subs_lock = threading.Lock()  # guards calls and the count below
        self.active_subscriptions = 0

    def _count(self, method: str) -> None:
        with self._subs_lock:
            self.calls[method] += 1

    # ---- appends ----------------------------------------------------------
    def _store_append(self, context, stream: str, expected: int, events: list):
        """Write through the fault plan; returns AppendResult or the error."""
        fault = self.faults.take()
        if fault is not None and not fault.after_store:
            context.abort(fault.code, fault.details)
        try:
            outcome = self.store.append(stream, expected, events)
        except (WrongExpectedVersion, StreamDeleted) as e:
            outcome = e
        if fault is not None:  # written, but the acknowledgement is "lost"
            context.abort(fault.code, fault.details)
        return outcome

    def Append(self, request_iterator, context):
        self._count("Append")
        requests = iter(request_iterator)
        first = next(requests, None)
        if first is None or first.WhichOneof("content") != "options":
            # The server throws InvalidOperationException here.
            context.abort(grpc.StatusCode.UNKNOWN, "Exception was thrown by handler.")
        stream = _stream_name(first.options.stream_identifier)
        expected = _expected(first.options, "expected_stream_revision", "revision")
        events, size = [], 0
        for request in requests:
            if request.WhichOneof("content") != "proposed_message":
                context.abort(grpc.StatusCode.UNKNOWN, "Exception was thrown by handler.")
            message = request.proposed_message
            for key in ("type", "content-type"):
                if key not in message.metadata:
                    _abort(
                        context,
                        grpc.StatusCode.INVALID_ARGUMENT,
                        f"Required Metadata Property '{key}' is missing",
                        exception="missing-required-metadata-property",
                        required_metadata_properties="type,content-type",
                    )
            size += (
                len(message.data) + len(message.custom_metadata) + 2 * len(message.metadata["type"])
            )
            if size > self.max_append_size:
                _abort(
                    context,
                    grpc.StatusCode.INVALID_ARGUMENT,
                    f"Maximum Append Size of {self.max_append_size} Exceeded.",
                    exception="maximum-append-size-exceeded",
                    maximum_append_size=str(self.max_append_size),
                )
            try:
                events.append(_to_proposed(message))
            except _BadEvent:
                context.abort(grpc.StatusCode.UNKNOWN, "Exception was thrown by handler.")

        outcome = self._store_append(context, stream, expected, events)
        if isinstance(outcome, StreamDeleted):
            _abort(
                context,
                grpc.StatusCode.FAILED_PRECONDITION,
                str(outcome),
                exception="stream-deleted",
                stream_name=stream,
            )
        if isinstance(outcome, WrongExpectedVersion):  # in-band, not a gRPC error
            return streams_pb2.AppendResp(
                wrong_expected_version=_wrong_version(
                    streams_pb2.AppendResp.WrongExpectedVersion(),
                    outcome.current,
                    expected,
                    "current_revision",
                    "expected_revision",
                )
            )
        return streams_pb2.AppendResp(success=_success(streams_pb2.AppendResp.Success(), outcome))

    def BatchAppend(self, request_iterator, context):
        """Bidi: requests sharing a correlation id form one atomic write that
        ends with is_final; every outcome, errors included, is a response."""
        self._count("BatchAppend")
        pending: dict[bytes, dict] = {}
        for request in request_iterator:
            key = request.correlation_id.SerializeToString()

            # Called only within this iteration, so the loop variables are the current ones.
            def reply(**result):
                return streams_pb2.BatchAppendResp(
                    correlation_id=request.correlation_id,  # noqa: B023
                    stream_identifier=pending_write["identifier"],  # noqa: B023
                    **result,
                )

            if request.HasField("options"):
                options = request.options
                pending[key] = {
                    "identifier": options.stream_identifier,
                    "expected": _expected(options, "expected_stream_position", "stream_position"),
                    "events": [],
                    "size": 0,
                }
            pending_write = pending.get(key)
            if pending_write is None:
                continue
            try:
                for message in request.proposed_messages:
                    event = _to_proposed(message)
                    pending_write["events"].append(event)
                    pending_write["size"] += event.size
            except _BadEvent as e:
                pending.pop(key)
                yield reply(
                    error=_status(
                        grpc.StatusCode.INVALID_ARGUMENT,
                        "BadRequest",
                        shared_pb2.BadRequest(message=str(e)),
                    )
                )
                continue
            if pending_write["size"] > self.max_append_size:
                pending.pop(key)
                yield reply(
                    error=_status(
                        grpc.StatusCode.INVALID_ARGUMENT,
                        "MaximumAppendSizeExceeded",
                        shared_pb2.MaximumAppendSizeExceeded(maxAppendSize=self.max_append_size),
                    )
                )
                continue
            if not request.is_final:
                continue
            pending.pop(key)
            stream = _stream_name(pending_write["identifier"])
            expected = pending_write["expected"]
            outcome = self._store_append(context, stream, expected, pending_write["events"])
            if isinstance(outcome, StreamDeleted):
                yield reply(
                    error=_status(
                        grpc.StatusCode.NOT_FOUND,
                        "StreamDeleted",
                        shared_pb2.StreamDeleted(stream_identifier=pending_write["identifier"]),
                    )
                )
            elif isinstance(outcome, WrongExpectedVersion):
                yield reply(
                    error=_status(
                        grpc.StatusCode.ALREADY_EXISTS,
                        "WrongExpectedVersion",
                        _wrong_version(
                            shared_pb2.WrongExpectedVersion(),
                            outcome.current,
                            expected,
                            "current_stream_revision",
                            "expected_stream_position",
                        ),
                    )
                )
            else:
                yield reply(success=_success(streams_pb2.BatchAppendResp.Success(), outcome))

    # ---- deletes ----------------------------------------------------------
    def _delete(self, request, context, hard: bool):
        options = request.options
        stream = _stream_name(options.stream_identifier)
        expected = _expected(options, "expected_stream_revision", "revision")
        try:
            return self.store.delete(stream, expected, hard=hard)
        except StreamDeleted as e:
            _abort(
                context,
                grpc.StatusCode.FAILED_PRECONDITION,
                str(e),
                exception="stream-deleted",
                stream_name=stream,
            )
        except WrongExpectedVersion as e:
            # The client parses this text; the server says "Delete" for both.
            _abort(
                context,
                grpc.StatusCode.FAILED_PRECONDITION,
                f"Delete failed due to WrongExpectedVersion. Stream: {stream}, "
                f"Expected version: {expected}, Actual version: {e.current}",
                exception="wrong-expected-version",
                stream_name=stream,
                expected_version=str(expected),
                actual_version=str(e.current),
            )

    def Delete(self, request, context):
        self._count("Delete")
        position = self._delete(request, context, hard=False)
        return streams_pb2.DeleteResp(
            position=streams_pb2.DeleteResp.Position(
                commit_position=position, prepare_position=position
            )
        )

    def Tombstone(self, request, context):
        self._count("Tombstone")
        position = self._delete(request, context, hard=True)
        return streams_pb2.TombstoneResp(
            position=streams_pb2.TombstoneResp.Position(
                commit_position=position, prepare_position=position
            )
        )

    # ---- reads and subscriptions -------------------------------------------
    def Read(self, request, context):
        self._count("Read")
        options = request.options
        subscribe = options.WhichOneof("count_option") == "subscription"
        backwards = options.read_direction == streams_pb2.ReadReq.Options.Backwards
        if options.WhichOneof("stream_option") == "stream":
            stream_options = options.stream
            stream = _stream_name(stream_options.stream_identifier)
            kind = stream_options.WhichOneof("revision_option")
            revision = stream_options.revision if kind == "revision" else None
            if subscribe:
                after = -2 if kind == "end" else revision
                yield from self._subscribe_stream(context, stream, after)
                return
            if kind == "start":
                revision = 0
            elif kind == "end" and not backwards:
                revision = sys.maxsize  # forwards from the end: nothing
            try:
                records = self.store.read_stream(
                    stream, revision=revision, backwards=backwards, limit=options.count
                )
            except StreamDeleted as e:
                _abort(
                    context,
                    grpc.StatusCode.FAILED_PRECONDITION,
                    str(e),
                    exception="stream-deleted",
                    stream_name=stream,
                )
            except StreamNotFound:
                yield streams_pb2.ReadResp(
                    stream_not_found=streams_pb2.ReadResp.StreamNotFound(
                        stream_identifier=stream_options.stream_identifier
                    )
                )
                return
            for record in records:
                yield _event_message(record)
            return

        all_options = options.all
        kind = all_options.WhichOneof("all_option")
        position = all_options.position.commit_position if kind == "position" else None
        accept, interval = _make_filter(options)
        if subscribe:
            yield from self._subscribe_all(context, position, kind == "end", accept, interval)
            return
        if (
            accept is not None
            and position is not None
            and not self.store.is_valid_position(position)
        ):
            # A made-up position on a filtered read (kurrentdbclient maps this
            # text to InvalidCommitPositionError).
            context.abort(
                grpc.StatusCode.UNKNOWN, "Unexpected FilteredReadAllResult: InvalidPosition"
            )
        if (kind == "end" and not backwards) or (kind == "start" and backwards):
            return
        for record in self.store.read_all(
            position=position, backwards=backwards, limit=options.count, accept=accept
        ):
            yield _event_message(record)

    def _track_subscription(self, context) -> None:
        # Counted until the call ends for any reason (client stop, server
        # stop); the callback also wakes the waiting loop at once.
        def ended():
            with self._subs_lock:
                self.active_subscriptions -= 1
            self.store.wake()

        with self._subs_lock:
            self.active_subscriptions += 1
        if not context.add_callback(ended):
            ended()

    def _live(self, context, index: int) -> Iterator[Recorded]:
        while context.is_active() and not self.store.closed:
            batch = self.store.wait_log(index, _WAIT)
            index += len(batch)
            yield from batch

    def _confirmation(self):
        return streams_pb2.ReadResp(
            confirmation=streams_pb2.ReadResp.SubscriptionConfirmation(
                subscription_id=str(uuid.uuid4())
            )
        )

    def _subscribe_stream(self, context, stream: str, after: int | None):
        self._track_subscription(context)
        yield self._confirmation()  # always first, even for a deleted stream
        try:
            catch_up, index, first = self.store.subscribe_stream(stream, after)
        except StreamDeleted as e:
            _abort(
                context,
                grpc.StatusCode.FAILED_PRECONDITION,
                str(e),
                exception="stream-deleted",
                stream_name=stream,
            )
        last = first - 1  # highest revision sent, or before the start
        for record in catch_up:
            last = record.revision
            yield _event_message(record)
        yield _caught_up_message(last if last >= 0 else None, None)
        for record in self._live(context, index):
            if record.stream != stream:
                continue
            if record.revision == DELETED_STREAM:
                _abort(
                    context,
                    grpc.StatusCode.FAILED_PRECONDITION,
                    f"Event stream '{stream}' is deleted.",
                    exception="stream-deleted",
                    stream_name=stream,
                )
            if record.revision > last:
                last = record.revision
                yield _event_message(record)

    def _subscribe_all(self, context, position: int | None, from_end: bool, accept, interval: int):
        self._track_subscription(context)
        yield self._confirmation()
        index = self.store.log_index_after(position, from_end)
        scanned = 0
        last_position = position

        def deliver(record: Recorded):
            # Filtered subscriptions report progress every `interval`
            # records looked at, so a consumer can checkpoint while the
            # filter hides everything.
            nonlocal scanned, last_position
            last_position = record.position
            if accept is None or accept(record):
                yield _event_message(record)
            if accept is not None:
                scanned += 1
                if scanned % interval == 0:
                    yield _checkpoint_message(record.position)

        catch_up = self.store.log_from(index)
        for record in catch_up:
            yield from deliver(record)
        yield _caught_up_message(None, last_position)
        for record in self._live(context, index + len(catch_up)):
            yield from deliver(record)


# --------------------------------------------------------------------------
# Server lifecycle
# --------------------------------------------------------------------------
class ServerHandle:
    """A running server: `.url`, `.port`, `.store`, `.stop()`; a context manager."""

    def __init__(
        self,
        server: grpc.Server,
        port: int,
        store: InProcessEventStore,
        servicer: _StreamsServicer,
        faults: _Faults,
    ):
        self._server, self.port, self.store = server, port, store
        self._servicer, self._faults = servicer, faults
        self.url = f"esdb://127.0.0.1:{port}?Tls=false"

    def inject(self, fault: Fault) -> None:
        """Make the next `fault.times` append RPCs fail (see module doc)."""
        self._faults.arm(fault)

    @property
    def faults_fired(self) -> int:
        return self._faults.fired

    @property
    def calls(self) -> collections.Counter:
        return self._servicer.calls

    @property
    def active_subscriptions(self) -> int:
        return self._servicer.active_subscriptions

    def stop(self, grace: float = 0.5) -> None:
        # Wake subscription loops first so their worker threads return.
        self.store.close()
        self._server.stop(grace).wait()

    def __enter__(self) -> ServerHandle:
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()


def start_server(
    *,
    port: int = 0,
    fault: Fault | None = None,
    store: InProcessEventStore | None = None,
    max_append_size: int = MAX_APPEND_SIZE,
    max_concurrent_rpcs: int = 16,
) -> ServerHandle:
    """Serve the Streams service on 127.0.0.1 (insecure; port 0: ephemeral)."""
    store = store if store is not None else InProcessEventStore()
    store.closed = False  # a store may be reused to simulate a restart
    faults = _Faults(fault)
    servicer = _StreamsServicer(store, faults, max_append_size)
    # A synchronous server holds a worker thread per open subscription. The
    # cap makes an overflowing call fail fast with RESOURCE_EXHAUSTED instead
    # of queueing forever behind subscriptions that never end.
    server = grpc.server(
        futures.ThreadPoolExecutor(
            max_workers=max_concurrent_rpcs + 4, thread_name_prefix="esdb-server"
        ),
        maximum_concurrent_rpcs=max_concurrent_rpcs,
        options=[
            ("grpc.so_reuseport", 0),
            # Accept bodies larger than the append limit so the server, not
            # gRPC, rejects them, as a real server does.
            ("grpc.max_receive_message_length", 4 * max_append_size + (1 << 20)),
        ],
    )
    streams_pb2_grpc.add_StreamsServicer_to_server(servicer, server)
    bound = server.add_insecure_port(f"127.0.0.1:{port}")
    if bound == 0:
        raise RuntimeError(f"could not bind 127.0.0.1:{port}")
    server.start()
    return ServerHandle(server, bound, store, servicer, faults)
