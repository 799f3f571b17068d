"""The real EventStoreDB client against the in-process server (tests.esdb_server).

Runs with whichever client package is installed (esdbclient preferred,
else kurrentdbclient) and is skipped when neither is.
"""

from __future__ import annotations

import itertools
import os

# Before the client imports grpc: quiet grpc's INFO logging (e.g. "Got
# goaway" when a test server stops).
os.environ.setdefault("GRPC_VERBOSITY", "ERROR")

import threading
import time
import uuid
from types import SimpleNamespace

import pytest

try:
    import esdbclient  # noqa: F401
except ImportError:
    pytest.importorskip("kurrentdbclient")

import grpc

from tests import esdb_server
from tests.esdb_server import Fault, start_server

# The one place that knows the two clients' names.
if esdb_server.CLIENT_PACKAGE == "esdbclient":
    from esdbclient import EventStoreDBClient as Client
    from esdbclient import NewEvent, StreamState
    from esdbclient import exceptions as _x

    errors = SimpleNamespace(
        base=_x.EventStoreDBClientException,
        grpc=_x.GrpcError,
        not_found=_x.NotFound,
        wrong_version=_x.WrongCurrentVersion,
        deleted=_x.StreamIsDeleted,
        too_large=_x.MaximumAppendSizeExceededError,
        bad_request=_x.BadRequestError,
        deadline=_x.GrpcDeadlineExceeded,
        unavailable=_x.ServiceUnavailable,
        failed_precondition=_x.FailedPrecondition,
        invalid_position=_x.UnknownError,
    )
else:
    from kurrentdbclient import KurrentDBClient as Client
    from kurrentdbclient import NewEvent, StreamState
    from kurrentdbclient import exceptions as _x

    errors = SimpleNamespace(
        base=_x.KurrentDBClientError,
        grpc=_x.GrpcError,
        not_found=_x.NotFoundError,
        wrong_version=_x.WrongCurrentVersionError,
        deleted=_x.StreamIsDeletedError,
        too_large=_x.MaximumAppendSizeExceededError,
        bad_request=_x.BadRequestError,
        deadline=_x.GrpcDeadlineExceededError,
        unavailable=_x.ServiceUnavailableError,
        failed_precondition=_x.FailedPreconditionError,
        invalid_position=_x.InvalidCommitPositionError,
    )

NO_STREAM, ANY, EXISTS = StreamState.NO_STREAM, StreamState.ANY, StreamState.EXISTS
SUB_TIMEOUT = 10  # seconds: a broken subscription fails the test, never hangs it


@pytest.fixture
def server():
    with start_server() as handle:
        yield handle


@pytest.fixture
def client(server):
    c = Client(server.url)
    yield c
    c.close()


def event(type_="Happened", n=0, **kw):
    return NewEvent(type=type_, data=b'{"n": %d}' % n, **kw)


def stream_name():
    return f"order-{uuid.uuid4()}"


def take(subscription, n):
    out = []
    for recorded in subscription:
        out.append(recorded)
        if len(out) == n:
            break
    return out


def wait_until(predicate, timeout=3.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def append_later(client, name, events, current_version, delay=0.3):
    """Append from another thread once the subscriber is waiting live."""
    t = threading.Timer(
        delay,
        client.append_to_stream,
        args=(name,),
        kwargs={"events": events, "current_version": current_version},
    )
    t.start()
    return t


# ---- appends and expected versions ----------------------------------------


def test_append_with_no_stream_then_explicit_versions(client):
    name = stream_name()
    first = [event(n=0), event("Other", n=1, metadata=b'{"m": 1}')]
    p1 = client.append_to_stream(name, current_version=NO_STREAM, events=first)
    p2 = client.append_to_stream(name, current_version=1, events=[event(n=2)])
    p3 = client.append_to_stream(name, current_version=2, events=[event(n=3), event(n=4)])

    recorded = client.get_stream(name)
    assert [e.stream_position for e in recorded] == [0, 1, 2, 3, 4]
    assert [e.id for e in recorded[:2]] == [e.id for e in first]
    assert recorded[1].type == "Other" and recorded[1].metadata == b'{"m": 1}'
    assert recorded[2].data == b'{"n": 2}' and recorded[0].content_type == "application/json"
    # An append returns the position of its last event; positions grow.
    assert (p1, p2, p3) == (
        recorded[1].commit_position,
        recorded[2].commit_position,
        recorded[4].commit_position,
    )
    assert p1 < p2 < p3
    assert abs(recorded[0].recorded_at.timestamp() - time.time()) < 60
    assert client.get_current_version(name) == 4


def test_wrong_expected_version_raises(client, server):
    name = stream_name()
    client.append_to_stream(name, current_version=NO_STREAM, events=[event(n=0), event(n=1)])

    with pytest.raises(errors.wrong_version):  # BatchAppend: status in the response
        client.append_to_stream(name, current_version=NO_STREAM, events=[event()])
    with pytest.raises(errors.wrong_version):
        client.append_to_stream(name, current_version=5, events=[event()])
    with pytest.raises(errors.wrong_version):
        client.append_to_stream(name, current_version=0, events=[event()])
    with pytest.raises(errors.wrong_version):  # Append: in-band wrong_expected_version
        client.append_to_stream(name, current_version=0, events=event())
    with pytest.raises(errors.wrong_version):
        client.append_to_stream(stream_name(), current_version=EXISTS, events=[event()])
    assert server.calls["Append"] == 1
    assert client.get_current_version(name) == 1


def test_reappending_same_ids_is_idempotent(client, server):
    name = stream_name()
    first, second = [event(n=0), event(n=1)], [event(n=2)]
    p1 = client.append_to_stream(name, current_version=NO_STREAM, events=first)
    p2 = client.append_to_stream(name, current_version=1, events=second)

    # A retry at an old expected version returns the original position.
    assert client.append_to_stream(name, current_version=NO_STREAM, events=first) == p1
    assert client.append_to_stream(name, current_version=1, events=second) == p2
    assert client.append_to_stream(name, current_version=ANY, events=first) == p1
    # Only some of the ids match: a conflict, not a duplicate.
    with pytest.raises(errors.wrong_version):
        client.append_to_stream(name, current_version=NO_STREAM, events=[first[0], event()])
    with pytest.raises(errors.wrong_version):
        client.append_to_stream(name, current_version=ANY, events=[first[0], event()])
    assert len(client.get_stream(name)) == 3

    # After a restart the id cache is empty: explicit versions stay
    # idempotent (checked against the stream), ANY appends duplicate.
    server.store.forget_event_ids()
    assert client.append_to_stream(name, current_version=1, events=second) == p2
    assert len(client.get_stream(name)) == 3
    client.append_to_stream(name, current_version=ANY, events=second)
    assert [e.id for e in client.get_stream(name)][2:] == [second[0].id] * 2


def test_concurrent_appends_at_one_version_have_one_winner(server):
    name, outcomes = stream_name(), []
    clients = [Client(server.url) for _ in range(6)]

    def attempt(c):
        try:
            c.append_to_stream(name, current_version=NO_STREAM, events=[event(), event()])
            outcomes.append("ok")
        except errors.wrong_version:
            outcomes.append("conflict")

    threads = [threading.Thread(target=attempt, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    for c in clients:
        c.close()
    assert sorted(outcomes) == ["conflict"] * 5 + ["ok"]
    assert [e.revision for e in server.store.stream_events(name)] == [0, 1]


# ---- reads ----------------------------------------------------------------


def test_read_stream_forwards_and_backwards_with_limits(client):
    name = stream_name()
    client.append_to_stream(name, current_version=NO_STREAM, events=[event(n=i) for i in range(5)])

    def positions(events):
        return [e.stream_position for e in events]

    assert positions(client.get_stream(name, limit=2)) == [0, 1]
    assert positions(client.get_stream(name, stream_position=2)) == [2, 3, 4]
    assert positions(client.get_stream(name, backwards=True)) == [4, 3, 2, 1, 0]
    assert positions(client.get_stream(name, backwards=True, limit=2)) == [4, 3]
    assert positions(client.get_stream(name, stream_position=3, backwards=True, limit=2)) == [3, 2]
    assert positions(client.get_stream(name, stream_position=9)) == []
    with client.read_stream(name, stream_position=1, limit=3) as events:
        assert [e.data for e in events] == [b'{"n": 1}', b'{"n": 2}', b'{"n": 3}']


def test_missing_stream_is_not_found_and_has_no_version(client):
    name = stream_name()
    with pytest.raises(errors.not_found):
        client.get_stream(name)
    assert client.get_current_version(name) is NO_STREAM


def test_read_all_and_commit_position(client):
    assert client.get_commit_position() == 0
    a, b = stream_name(), stream_name()
    client.append_to_stream(a, current_version=NO_STREAM, events=[event(n=0), event(n=1)])
    client.append_to_stream(b, current_version=NO_STREAM, events=[event(n=2)])
    last = client.append_to_stream(a, current_version=1, events=[event(n=3)])

    everything = list(client.read_all())
    assert [(e.stream_name, e.data) for e in everything] == [
        (a, b'{"n": 0}'),
        (a, b'{"n": 1}'),
        (b, b'{"n": 2}'),
        (a, b'{"n": 3}'),
    ]
    positions = [e.commit_position for e in everything]
    assert all(later - earlier > 1 for earlier, later in itertools.pairwise(positions))
    assert client.get_commit_position() == last == positions[-1]

    # From a position: inclusive forwards, exclusive backwards.
    assert [e.commit_position for e in client.read_all(commit_position=positions[1])] == positions[
        1:
    ]
    assert [
        e.commit_position for e in client.read_all(commit_position=positions[2], backwards=True)
    ] == [positions[1], positions[0]]
    assert [e.commit_position for e in client.read_all(backwards=True, limit=2)] == positions[:1:-1]
    assert [
        e.stream_name for e in client.read_all(filter_include=[b], filter_by_stream_name=True)
    ] == [b]
    # A made-up position is an error on a filtered read.
    with pytest.raises(errors.invalid_position):
        list(client.read_all(commit_position=positions[0] + 1))


def test_default_filter_hides_system_events(client):
    name = stream_name()
    client.append_to_stream(name, current_version=NO_STREAM, events=[event()])
    client.delete_stream(name, current_version=0)  # writes $metadata to $$<name>
    visible = [e.type for e in client.read_all()]
    unfiltered = [(e.type, e.stream_name) for e in client.read_all(filter_exclude=())]
    assert visible == ["Happened"]
    assert unfiltered == [("Happened", name), ("$metadata", "$$" + name)]
    assert client.get_commit_position() < client.get_commit_position(filter_exclude=())


# ---- catch-up subscriptions -------------------------------------------------


def test_subscribe_to_stream_catches_up_then_goes_live(client, server):
    name, other = stream_name(), stream_name()
    client.append_to_stream(name, current_version=NO_STREAM, events=[event(n=0), event(n=1)])
    subscription = client.subscribe_to_stream(name, timeout=SUB_TIMEOUT)
    assert wait_until(lambda: server.active_subscriptions == 1)
    writers = [
        append_later(client, other, [event(n=99)], NO_STREAM, delay=0.2),
        append_later(client, name, [event(n=2), event(n=3)], 1, delay=0.4),
    ]
    received = take(subscription, 4)
    for w in writers:
        w.join()
    assert [(e.stream_position, e.data) for e in received] == [
        (0, b'{"n": 0}'),
        (1, b'{"n": 1}'),
        (2, b'{"n": 2}'),
        (3, b'{"n": 3}'),
    ]

    subscription.stop()
    assert wait_until(lambda: server.active_subscriptions == 0)

    # From a stream position: exclusive, like a real server.
    with client.subscribe_to_stream(name, stream_position=1, timeout=SUB_TIMEOUT) as sub:
        assert [e.stream_position for e in take(sub, 2)] == [2, 3]


def test_subscribe_to_all_catches_up_then_goes_live(client, server):
    a, b = stream_name(), stream_name()
    p0 = client.append_to_stream(a, current_version=NO_STREAM, events=[event(n=0)])
    client.append_to_stream(b, current_version=NO_STREAM, events=[event(n=1)])
    subscription = client.subscribe_to_all(timeout=SUB_TIMEOUT)
    assert wait_until(lambda: server.active_subscriptions == 1)
    writer = append_later(client, a, [event(n=2)], 0)
    received = take(subscription, 3)
    writer.join()
    assert [(e.stream_name, e.data) for e in received] == [
        (a, b'{"n": 0}'),
        (b, b'{"n": 1}'),
        (a, b'{"n": 2}'),
    ]
    subscription.stop()
    assert wait_until(lambda: server.active_subscriptions == 0)

    # From a commit position: exclusive.
    with client.subscribe_to_all(commit_position=p0, timeout=SUB_TIMEOUT) as sub:
        assert [e.data for e in take(sub, 2)] == [b'{"n": 1}', b'{"n": 2}']


def test_filtered_subscription_skips_system_events_and_sends_checkpoints(client, server):
    name = stream_name()
    client.append_to_stream(name, current_version=NO_STREAM, events=[event()])
    client.delete_stream(name, current_version=0)
    client.append_to_stream(name, current_version=NO_STREAM, events=[event(n=1)])
    with client.subscribe_to_all(
        include_checkpoints=True,
        window_size=1,
        checkpoint_interval_multiplier=1,
        timeout=SUB_TIMEOUT,
    ) as sub:
        received = take(sub, 6)
    kinds = [
        (type(e).__name__, e.type if type(e).__name__ == "RecordedEvent" else None)
        for e in received
    ]
    # Each scanned record is followed by a checkpoint (interval 1); the two
    # $metadata records (delete, then re-create) are scanned but not sent.
    assert [k for k in kinds if k[0] == "RecordedEvent"] == [("RecordedEvent", "Happened")] * 2
    assert [k[0] for k in kinds].count("Checkpoint") == 4


# ---- delete and tombstone ---------------------------------------------------


def test_soft_delete_then_append_continues_numbering(client):
    name = stream_name()
    client.append_to_stream(name, current_version=NO_STREAM, events=[event(n=i) for i in range(3)])
    with pytest.raises(errors.wrong_version):
        client.delete_stream(name, current_version=1)
    client.delete_stream(name, current_version=2)

    with pytest.raises(errors.not_found):
        client.get_stream(name)
    assert client.get_current_version(name) is NO_STREAM
    with pytest.raises(errors.deleted):
        client.append_to_stream(name, current_version=EXISTS, events=[event()])
    client.append_to_stream(name, current_version=NO_STREAM, events=[event(n=3)])
    assert [(e.stream_position, e.data) for e in client.get_stream(name)] == [(3, b'{"n": 3}')]
    assert client.get_current_version(name) == 3
    with pytest.raises(errors.not_found):
        client.delete_stream(stream_name(), current_version=ANY)


def test_tombstone_makes_every_call_raise_stream_deleted(client):
    name = stream_name()
    client.append_to_stream(name, current_version=NO_STREAM, events=[event()])
    client.tombstone_stream(name, current_version=0)

    calls = {
        "get_stream": lambda: client.get_stream(name),
        "get_current_version": lambda: client.get_current_version(name),
        "append list": lambda: client.append_to_stream(name, current_version=ANY, events=[event()]),
        "delete": lambda: client.delete_stream(name, current_version=ANY),
        "tombstone": lambda: client.tombstone_stream(name, current_version=ANY),
        "subscribe": lambda: take(client.subscribe_to_stream(name, timeout=SUB_TIMEOUT), 1),
    }
    for label, call in calls.items():
        with pytest.raises(errors.deleted):
            call()
            pytest.fail(label)
    # A single NewEvent takes the Append RPC, whose error is a generic one.
    with pytest.raises(errors.failed_precondition) as info:
        client.append_to_stream(name, current_version=ANY, events=event())
    assert not isinstance(info.value, errors.deleted)


# ---- malformed and oversized appends ---------------------------------------


def test_missing_required_metadata_is_rejected(client, server):
    pb, name = esdb_server.streams_pb2, stream_name()
    shared = esdb_server.shared_pb2
    ident = shared.StreamIdentifier(stream_name=name.encode())
    only_type = {"type": "Happened"}  # no content-type
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        stub = esdb_server.streams_pb2_grpc.StreamsStub(channel)
        options = pb.AppendReq.Options(stream_identifier=ident, any=shared.Empty())
        message = pb.AppendReq.ProposedMessage(
            id=shared.UUID(string=str(uuid.uuid4())), metadata=only_type, data=b"{}"
        )
        with pytest.raises(grpc.RpcError) as info:
            stub.Append(
                iter([pb.AppendReq(options=options), pb.AppendReq(proposed_message=message)])
            )
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert info.value.details() == "Required Metadata Property 'content-type' is missing"

        # BatchAppend answers in-band with a BadRequest status, as the server does.
        batch = pb.BatchAppendReq(
            correlation_id=shared.UUID(string=str(uuid.uuid4())),
            is_final=True,
            options=pb.BatchAppendReq.Options(stream_identifier=ident, any={}),
            proposed_messages=[
                pb.BatchAppendReq.ProposedMessage(
                    id=shared.UUID(string=str(uuid.uuid4())), metadata=only_type, data=b"{}"
                )
            ],
        )
        (response,) = list(stub.BatchAppend(iter([batch])))
        assert response.WhichOneof("result") == "error"
        bad = shared.BadRequest()
        assert response.error.details.Unpack(bad) and "'content-type'" in bad.message

    with pytest.raises(errors.bad_request):  # an empty type, through the client
        client.append_to_stream(name, current_version=ANY, events=[NewEvent(type="", data=b"")])
    assert server.store.stream_events(name) == []


def test_too_large_append_is_rejected(client, server):
    name, limit = stream_name(), esdb_server.MAX_APPEND_SIZE
    # The server counts data + metadata + 2 bytes per character of the type,
    # summed over the whole append.
    room = limit - 2 * len("Big") - len(b"meta")
    at_limit = NewEvent(type="Big", data=b"x" * room, metadata=b"meta")
    one_over = NewEvent(type="Big", data=b"x" * (room + 1), metadata=b"meta")
    halves = [NewEvent(type="Big", data=b"x" * (limit // 2)) for _ in range(2)]

    for events in ([one_over], halves):
        with pytest.raises(errors.too_large):
            client.append_to_stream(name, current_version=NO_STREAM, events=events)
    # The single-event path (Append RPC) gives only a bare gRPC error.
    with pytest.raises(errors.grpc) as info:
        client.append_to_stream(name, current_version=NO_STREAM, events=one_over)
    assert not isinstance(info.value, errors.too_large)
    assert server.store.stream_events(name) == []
    client.append_to_stream(name, current_version=NO_STREAM, events=[at_limit])
    assert len(client.get_stream(name)) == 1


# ---- fault injection and the client's retries --------------------------------


def test_unavailable_after_store_is_retried_and_stored_once(client, server):
    name, events = stream_name(), [event(n=0), event(n=1)]
    server.inject(Fault(grpc.StatusCode.UNAVAILABLE, after_store=True))
    position = client.append_to_stream(name, current_version=NO_STREAM, events=events)

    assert server.faults_fired == 1
    assert server.calls["BatchAppend"] == 2  # the lost acknowledgement, then the retry
    stored = server.store.stream_events(name)
    assert [e.event_id for e in stored] == [str(e.id) for e in events]
    assert position == stored[-1].position


def test_unavailable_after_store_with_any_is_deduplicated_by_the_id_cache(client, server):
    name = stream_name()
    client.append_to_stream(name, current_version=NO_STREAM, events=[event()])
    server.inject(Fault(grpc.StatusCode.UNAVAILABLE, after_store=True))
    client.append_to_stream(name, current_version=ANY, events=[event(n=1)])
    assert server.faults_fired == 1 and len(server.store.stream_events(name)) == 2


def test_deadline_exceeded_before_store_is_retried_and_stored_once(client, server):
    name = stream_name()
    server.inject(Fault(grpc.StatusCode.DEADLINE_EXCEEDED))
    position = client.append_to_stream(name, current_version=NO_STREAM, events=[event()])
    assert server.faults_fired == 1 and server.calls["BatchAppend"] == 2
    assert [e.position for e in server.store.stream_events(name)] == [position]


def test_client_retries_a_deadline_only_once(client, server):
    name = stream_name()
    server.inject(Fault(grpc.StatusCode.DEADLINE_EXCEEDED, times=3))
    with pytest.raises(errors.deadline):
        client.append_to_stream(name, current_version=NO_STREAM, events=[event()])
    assert server.faults_fired == 2 and server.store.stream_events(name) == []


def test_recreating_a_soft_deleted_stream_with_no_stream_is_not_retry_safe(client, server):
    # The retry's first id is checked against revision 0, which holds an old
    # (hidden) event, and the stream is no longer marked soft-deleted.
    name = stream_name()
    client.append_to_stream(name, current_version=NO_STREAM, events=[event()])
    client.delete_stream(name, current_version=0)
    server.inject(Fault(grpc.StatusCode.UNAVAILABLE, after_store=True))
    with pytest.raises(errors.wrong_version):
        client.append_to_stream(name, current_version=NO_STREAM, events=[event(n=1)])
    assert [e.revision for e in server.store.stream_events(name)] == [0, 1]
    # The explicit version (the last one before the delete) is retry-safe.
    server.inject(Fault(grpc.StatusCode.UNAVAILABLE, after_store=True))
    client.append_to_stream(name, current_version=1, events=[event(n=2)])
    assert [e.revision for e in server.store.stream_events(name)] == [0, 1, 2]


# ---- server limits and lifecycle -----------------------------------------------


def test_concurrency_cap_fails_fast_instead_of_hanging():
    with start_server(max_concurrent_rpcs=2) as small:
        c = Client(small.url)
        subs = [c.subscribe_to_all(timeout=SUB_TIMEOUT) for _ in range(2)]
        started = time.monotonic()
        with pytest.raises(errors.grpc):
            c.get_commit_position()
        assert time.monotonic() - started < 3
        for s in subs:
            s.stop()
        assert wait_until(lambda: small.active_subscriptions == 0)
        assert c.get_commit_position() == 0
        c.close()


def test_stopped_server_is_unavailable_and_restart_keeps_data(server):
    c = Client(server.url)
    name = stream_name()
    c.append_to_stream(name, current_version=NO_STREAM, events=[event()])
    server.stop()
    with pytest.raises(errors.unavailable):
        c.get_stream(name)
    c.close()

    with start_server(store=server.store) as restarted:
        c = Client(restarted.url)
        assert [e.data for e in c.get_stream(name)] == [b'{"n": 0}']
        c.close()
