"""The EventStoreDB store: the contract, plus what only EventStoreDB can get wrong.

Runs the real client package (esdbclient or kurrentdbclient, whichever is installed) against
the in-process gRPC server (tests/esdb_server.py), or against a real server named by
ESCLI_TEST_ESDB_URL. Tests that inject faults, need an empty database or a server that
misbehaves start an in-process server of their own either way.
"""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from collections.abc import Iterator
from concurrent import futures
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest

from escli import ConcurrencyConflict, StoreError, StoreUnavailable
from escli.errors import InvalidInput
from escli.stores.eventstoredb import EventStoreDBStore, load_client_api, parse_url
from tests.conftest import ESDB_CLIENT, needs_esdb_client, open_store
from tests.stores.contract import new, read_log, unique_domain, unique_stream
from tests.stores.contract_event_store import EventStoreContract
from tests.stores.contract_outbox import OutboxContract
from tests.stores.contract_snapshots import SnapshotsContract
from tests.stores.contract_views import EventLogContract
from tests.stores.race import race

if TYPE_CHECKING:
    from tests.esdb_server import ServerHandle

pytestmark = needs_esdb_client

FAST = 3.0  # seconds within which a missing or silent server must be reported


class TestEventStoreDBStore(
    EventStoreContract, OutboxContract, EventLogContract, SnapshotsContract
):
    # EventStoreDB deduplicates retried appends within a stream but does not refuse an id
    # that another stream already holds (see escli/stores/eventstoredb/).
    refuses_duplicate_event_ids = False
    # No index of ids across streams (nor transactions over several streams).
    finds_ids_in_every_stream = False

    @pytest.fixture
    def store(self, esdb_url: str) -> Iterator[EventStoreDBStore]:
        store = EventStoreDBStore(esdb_url)
        # The server is shared by the session: the contract's streams may come after more
        # events than completion's scan reads (its bound has a test of its own, below).
        store.NAMES_SCANNED = 10**9
        yield store
        store.close()

    @pytest.fixture
    def empty_store(self, esdb_server: ServerHandle) -> Iterator[EventStoreDBStore]:
        store = EventStoreDBStore(esdb_server.url)  # a server of its own: the session's is shared
        yield store
        store.close()


@pytest.fixture
def store(esdb_url: str) -> Iterator[EventStoreDBStore]:
    store = EventStoreDBStore(esdb_url)
    yield store
    store.close()


@pytest.fixture
def raw(esdb_url: str) -> Iterator[Any]:
    """The client package's own client, to look behind the adapter or write as another tool."""
    client = load_client_api().client_class(esdb_url)
    yield client
    client.close()


def test_the_expected_client_package_is_in_use(store: EventStoreDBStore) -> None:
    # The kurrentdbclient run (tests/test_esdb_clients.py) sets this to prove which ran.
    expected = os.environ.get("ESCLI_TEST_EXPECT_ESDB_CLIENT", ESDB_CLIENT)
    assert store.client_package == expected


# -- how events are stored ------------------------------------------------------------------


def test_events_are_json_typed_with_escli_metadata_at_revision_generation_minus_one(
    store: EventStoreDBStore, raw: Any
) -> None:
    stream = unique_stream()
    events = [new({"entity_id": "ogre", "damage": n}) for n in (1, 2)]
    store.append(stream, events[:1], 0)
    recorded = store.append(stream, events[1:], 1)
    stored = raw.get_stream(stream)
    assert [e.stream_position for e in stored] == [0, 1]
    assert raw.get_current_version(stream) == 1
    assert [str(e.id) for e in stored] == [e.event_id for e in events]
    assert {(e.type, e.content_type) for e in stored} == {
        ("combat.EntityAttacked", "application/json")
    }
    assert json.loads(stored[1].data) == {"entity_id": "ogre", "damage": 2}
    assert json.loads(stored[1].metadata) == {
        "source": "events://escli/samples/combat",
        "type_version": "1.0",
        "recorded_at": recorded[0].recorded_at,
    }
    assert [r.position for r in store.read(stream)] == [e.commit_position for e in stored]


def test_a_multi_event_append_reports_each_events_own_position(store: EventStoreDBStore) -> None:
    stream = unique_stream()
    recorded = store.append(stream, [new(), new(), new()], 0)
    assert recorded == list(store.read(stream))
    assert len({r.position for r in recorded}) == 3


def test_an_event_id_that_is_not_a_uuid_reads_back_unchanged(
    store: EventStoreDBStore, raw: Any
) -> None:
    stream = unique_stream()
    imported = [
        new()._replace(event_id="import-42"),
        new()._replace(event_id=str(uuid.UUID(int=0))),
    ]
    store.append(stream, imported, 0)
    assert [r.event_id for r in store.read(stream)] == ["import-42", str(uuid.UUID(int=0))]
    stored_ids = [e.id for e in raw.get_stream(stream)]
    assert all(i.version == 5 for i in stored_ids)
    # The same ids again at the same expected generation: an idempotent retry.
    assert [r.event_id for r in store.append(stream, imported, 0)] == [
        "import-42",
        imported[1].event_id,
    ]
    assert store.generation(stream) == 2


def test_events_written_by_other_tools_read_with_the_server_time(
    store: EventStoreDBStore, raw: Any
) -> None:
    stream = unique_stream()
    api = load_client_api()
    raw.append_to_stream(
        stream,
        current_version=api.no_stream,
        events=[api.new_event(type="shop.ItemAdded", data=b'{"sku": "x"}')],
    )
    [recorded] = store.read(stream)
    assert (recorded.event_type, recorded.type_version, recorded.source, recorded.data) == (
        "shop.ItemAdded",
        "",
        "",
        {"sku": "x"},
    )
    when = datetime.fromisoformat(recorded.recorded_at)
    assert abs((datetime.now(UTC) - when).total_seconds()) < 60


def test_data_that_is_not_a_json_object_is_a_store_error(esdb_server: Any) -> None:
    # A server of its own: such an event would break every later read of a shared $all.
    stream = unique_stream()
    api = load_client_api()
    raw = api.client_class(esdb_server.url)
    raw.append_to_stream(
        stream, current_version=api.no_stream, events=[api.new_event(type="t", data=b"[1]")]
    )
    raw.close()
    store = EventStoreDBStore(esdb_server.url)
    for read in (store.read(stream), store.read_all()):
        with pytest.raises(StoreError, match=f"^{stream} generation 1: event data is not a JSON"):
            list(read)
    store.close()


def test_reads_go_in_pages(store: EventStoreDBStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("escli.stores.eventstoredb.store.PAGE", 2)
    stream = unique_stream()
    start = max((r.position for r in store.read_all()), default=0)
    store.append(stream, [new({"entity_id": "ogre", "damage": n}) for n in range(1, 6)], 0)
    assert [r.data["damage"] for r in store.read(stream)] == [1, 2, 3, 4, 5]
    assert [r.generation for r in store.read(stream, 2, 4)] == [2, 3, 4]
    assert [r.generation for r in store.read_all(start) if r.stream == stream] == [1, 2, 3, 4, 5]
    assert {s.stream: (s.generation, s.events) for s in store.streams()}[stream] == (5, 5)


def test_system_streams_are_neither_listed_nor_read(store: EventStoreDBStore, raw: Any) -> None:
    deleted = unique_stream()
    start = max((r.position for r in store.read_all()), default=0)
    store.append(deleted, [new()], 0)
    raw.delete_stream(deleted, current_version=0)  # writes $metadata to $$<stream>
    assert f"$${deleted}" not in {s.stream for s in store.streams()}
    assert not [r for r in store.read_all(start) if r.stream.startswith("$")]


def test_a_position_that_is_no_event_is_invalid_input(store: EventStoreDBStore) -> None:
    [recorded] = store.append(unique_stream(), [new()], 0)
    made_up = recorded.position + 1  # never done outside this test: positions are opaque
    with pytest.raises(InvalidInput, match=f"^{made_up} is not the position of an event"):
        list(store.read_all(made_up))


# -- errors at the edge ---------------------------------------------------------------------


def test_a_tombstoned_stream_is_a_store_error(store: EventStoreDBStore, raw: Any) -> None:
    stream = unique_stream()
    store.append(stream, [new()], 0)
    raw.tombstone_stream(stream, current_version=0)
    for attempt in (
        lambda: list(store.read(stream)),
        lambda: store.generation(stream),
        lambda: store.append(stream, [new()], 1),
        lambda: next(iter(store.subscribe(stream))),
    ):
        with pytest.raises(StoreError, match=f"^stream {stream} was deleted$"):
            attempt()


def test_an_append_over_the_size_limit_names_the_limit_and_writes_nothing() -> None:
    from tests.esdb_server import start_server

    with start_server(max_append_size=1000) as server:
        store = EventStoreDBStore(server.url)
        stream = unique_stream()
        with pytest.raises(StoreError) as caught:
            store.append(stream, [new({"blob": "x" * 1000})], 0)
        assert str(caught.value) == (
            f"the events for {stream} are larger than EventStoreDB at 127.0.0.1:{server.port} "
            "accepts in one append (1,000 bytes); nothing was written"
        )
        assert not isinstance(caught.value, StoreUnavailable)
        assert store.generation(stream) == 0
        store.close()


def test_a_conflict_reports_the_actual_generation(store: EventStoreDBStore) -> None:
    stream = unique_stream()
    store.append(stream, [new(), new(), new()], 0)
    for expected in (0, 1, 5):
        with pytest.raises(ConcurrencyConflict) as caught:
            store.append(stream, [new()], expected)
        assert (caught.value.stream, caught.value.expected, caught.value.actual) == (
            stream,
            expected,
            3,
        )


def timed_failure(url: str) -> tuple[StoreError, float]:
    store = EventStoreDBStore(url)
    started = time.monotonic()
    with pytest.raises(StoreError) as caught:
        store.generation("combat-ogre")
    elapsed = time.monotonic() - started
    store.close()
    return caught.value, elapsed


def test_a_missing_server_is_unavailable_within_three_seconds() -> None:
    error, elapsed = timed_failure("esdb://127.0.0.1:1?Tls=false")
    assert isinstance(error, StoreUnavailable)
    assert str(error) == "EventStoreDB at 127.0.0.1:1 is unavailable (connection refused)"
    assert elapsed < FAST


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never answers: a hung or firewalled server."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield listener.getsockname()[1]


def test_a_server_that_never_answers_is_unavailable_within_three_seconds(silent_port: int) -> None:
    error, elapsed = timed_failure(f"esdb://127.0.0.1:{silent_port}?Tls=false")
    assert isinstance(error, StoreUnavailable)
    assert str(error) == f"EventStoreDB at 127.0.0.1:{silent_port} did not answer in time"
    assert elapsed < FAST


def test_discovering_a_missing_cluster_is_unavailable_within_three_seconds(
    silent_port: int,
) -> None:
    for port, reason in ((1, "connection refused"), (silent_port, "no answer in time")):
        error, elapsed = timed_failure(f"esdb+discover://127.0.0.1:{port}?Tls=false")
        assert isinstance(error, StoreUnavailable)
        assert (
            str(error) == f"cannot discover an EventStoreDB cluster at 127.0.0.1:{port} ({reason})"
        )
        assert elapsed < FAST


def test_tls_against_a_server_without_tls_is_a_clear_error(esdb_server: Any) -> None:
    error, elapsed = timed_failure(f"esdb://admin:s3cret@127.0.0.1:{esdb_server.port}")
    assert isinstance(error, StoreUnavailable)
    assert str(error) == (
        f"TLS handshake with EventStoreDB at 127.0.0.1:{esdb_server.port} failed: the server may "
        "run without TLS (add ?Tls=false) or its certificate is not trusted (add TlsCaFile=PATH)"
    )
    assert elapsed < FAST


@pytest.fixture
def refusing_server() -> Iterator[Any]:
    """A gRPC server that refuses every call with the status code it is given."""
    import grpc

    class Refuse(grpc.GenericRpcHandler):
        code = grpc.StatusCode.UNAUTHENTICATED
        details = "Bad credentials"
        trailers: tuple[tuple[str, str], ...] = ()

        def service(self, handler_call_details: Any) -> Any:
            def refuse(request: Any, context: Any) -> Any:
                context.set_trailing_metadata(self.trailers)
                context.abort(self.code, self.details)

            return grpc.unary_stream_rpc_method_handler(refuse)

    handler = Refuse()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    server.add_generic_rpc_handlers([handler])
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield handler, port
    server.stop(0).wait()


@pytest.mark.parametrize("code", ["UNAUTHENTICATED", "PERMISSION_DENIED"])
def test_refused_credentials_are_a_store_error_without_the_password(
    refusing_server: Any, code: str
) -> None:
    import grpc

    handler, port = refusing_server
    handler.code = getattr(grpc.StatusCode, code)
    error, _ = timed_failure(f"esdb://admin:s3cret@127.0.0.1:{port}?Tls=false")
    assert type(error) is StoreError
    assert str(error) == (
        f"EventStoreDB at 127.0.0.1:{port} refused access to user 'admin': check the user and "
        "password in the store URL"
    )


def test_a_node_that_is_not_the_leader_says_where_the_leader_is(refusing_server: Any) -> None:
    import grpc

    handler, port = refusing_server
    handler.code, handler.details = grpc.StatusCode.NOT_FOUND, "Leader info available"
    handler.trailers = (("leader-endpoint-host", "node2.example"), ("leader-endpoint-port", "2113"))
    error, _ = timed_failure(f"esdb://127.0.0.1:{port}?Tls=false")
    assert type(error) is StoreError
    assert str(error) == (
        f"EventStoreDB at 127.0.0.1:{port} is not the cluster's leader (the leader is "
        "node2.example:2113): use esdb+discover:// or the leader's address"
    )


# -- URLs -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "esdb://db.example:2113",
            "bad EventStoreDB URL 'esdb://db.example:2113': it uses TLS (the default), which needs "
            "a user and password (esdb://USER:PASSWORD@HOST:PORT); for a server started insecure "
            "add ?Tls=false",
        ),
        (
            "esdb://?Tls=false",
            "bad EventStoreDB URL 'esdb://?Tls=false': it names no host (esdb://HOST:PORT)",
        ),
        (
            "esdb://admin:s3cret@db:2113?Tls=false&Bogus=1",
            "bad EventStoreDB URL 'esdb://admin:***@db:2113?Tls=false&Bogus=1': Unknown field in "
            "connection query string: BOGUS",
        ),
        (
            "esdb://db:2113?Tls=maybe",
            "bad EventStoreDB URL 'esdb://db:2113?Tls=maybe': 'maybe' not one of: true, false",
        ),
        (
            "esdb://db?Tls=false&DefaultDeadline=soon",
            "bad EventStoreDB URL 'esdb://db?Tls=false&DefaultDeadline=soon': DefaultDeadline "
            "'soon' is not a number of seconds",
        ),
    ],
)
def test_bad_urls_are_invalid_input_without_the_password(url: str, message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        open_store(url)
    assert str(caught.value) == message


def test_the_store_url_never_shows_the_password() -> None:
    store = open_store("esdb://admin:s3cret@db.example:2113")
    assert store.url == "esdb://admin:***@db.example:2113"
    assert "s3cret" not in repr(store)


@pytest.mark.parametrize(
    ("url", "scheme", "where"),
    [
        ("kurrentdb://db:2113?Tls=false", "kurrentdb", "db:2113"),
        ("kdb://db?Tls=false", "kdb", "db:2113"),
        ("esdb+discover://cluster.example?Tls=false", "esdb+discover", "cluster.example:2113"),
        ("kdb+discover://cluster.example?Tls=false", "kdb+discover", "cluster.example:2113"),
        ("esdb://a:1,b:2?Tls=false", "esdb", "a:1,b:2"),
    ],
)
def test_every_scheme_reaches_the_client_in_a_form_it_accepts(
    url: str, scheme: str, where: str
) -> None:
    api = load_client_api()
    target = parse_url(url, api)
    client_scheme = target.client_uri.partition("://")[0]
    assert client_scheme == (scheme if scheme in api.schemes else client_scheme)
    assert client_scheme in api.schemes
    assert target.where == where
    discovers = "discover" in scheme or "," in url
    assert ("GossipTimeout=1" in target.client_uri) is discovers
    assert ("MaxDiscoverAttempts=2" in target.client_uri) is discovers


def test_given_discovery_and_deadline_options_win() -> None:
    url = "esdb+discover://c?Tls=false&gossiptimeout=3&DefaultDeadline=2"
    target = parse_url(url, load_client_api())
    assert "gossiptimeout=3" in target.client_uri
    assert "GossipTimeout" not in target.client_uri
    assert target.timeout == 2


# -- the client's retries, through fault injection ----------------------------------------


def fault(code: str, times: int, after_store: bool) -> Any:
    import grpc

    from tests.esdb_server import Fault

    return Fault(getattr(grpc.StatusCode, code), times=times, after_store=after_store)


@pytest.mark.parametrize(
    ("code", "times", "after_store"),
    [
        ("UNAVAILABLE", 1, False),
        ("UNAVAILABLE", 1, True),
        ("UNAVAILABLE", 3, True),  # the client tries up to four times when unavailable
        ("DEADLINE_EXCEEDED", 1, False),
        ("DEADLINE_EXCEEDED", 1, True),
    ],
)
def test_a_retried_append_stores_every_event_exactly_once(
    esdb_server: Any, code: str, times: int, after_store: bool
) -> None:
    store = EventStoreDBStore(esdb_server.url)
    stream = unique_stream()
    store.append(stream, [new()], 0)
    events = [new(), new()]
    esdb_server.inject(fault(code, times, after_store))
    recorded = store.append(stream, events, 1)

    assert esdb_server.faults_fired == times
    assert esdb_server.calls["BatchAppend"] == 1 + times + 1
    stored = esdb_server.store.stream_events(stream)
    assert [e.event_id for e in stored[1:]] == [e.event_id for e in events]
    assert [(r.generation, r.position) for r in recorded] == [
        (e.revision + 1, e.position) for e in stored[1:]
    ]
    assert store.generation(stream) == 3
    store.close()


@pytest.mark.parametrize(
    ("code", "times", "after_store", "message"),
    [
        ("UNAVAILABLE", 4, False, "is unavailable (Injected fault)"),
        ("DEADLINE_EXCEEDED", 2, False, "did not answer in time"),
        ("DEADLINE_EXCEEDED", 2, True, "did not answer in time"),
    ],
)
def test_an_append_whose_retries_fail_is_unavailable_and_never_duplicated(
    esdb_server: Any, code: str, times: int, after_store: bool, message: str
) -> None:
    store = EventStoreDBStore(esdb_server.url)
    stream = unique_stream()
    store.generation(stream)  # connected: the failure is the append's
    esdb_server.inject(fault(code, times, after_store))
    with pytest.raises(StoreUnavailable) as caught:
        store.append(stream, [new()], 0)
    assert str(caught.value) == (
        f"EventStoreDB at 127.0.0.1:{esdb_server.port} {message}; the events may or may not be "
        f"stored: check with `escli replay {stream}`"
    )
    assert esdb_server.faults_fired == times
    assert len(esdb_server.store.stream_events(stream)) == (1 if after_store else 0)
    store.close()


# -- two processes racing for one stream ----------------------------------------------------


def test_two_processes_racing_on_one_stream_lose_no_generation(esdb_url: str) -> None:
    entity = f"titan{uuid.uuid4().hex[:8]}"
    successes, conflicts = race(esdb_url, [entity], processes=2, attacks=200)
    assert successes[entity] + conflicts == 400
    stream = f"combat-{entity}"
    store = open_store(esdb_url)
    records = list(store.read(stream))
    assert [r.generation for r in records] == list(range(1, successes[entity] + 2))
    assert len({r.event_id for r in records}) == len(records)
    assert store.generation(stream) == 1 + successes[entity]
    store.close()


def test_the_pending_list_keeps_few_snapshots_and_writes_none_for_no_change(
    esdb_server: Any,
) -> None:
    # A server of its own: the pending stream must not exist yet.
    from escli.stores.eventstoredb import PENDING_KEPT, PENDING_STREAM

    store = EventStoreDBStore(esdb_server.url)
    raw = load_client_api().client_class(esdb_server.url)
    store.set_pending("test:a", "combat-x", 1, 2)
    metadata, _ = raw.get_stream_metadata(PENDING_STREAM)
    assert metadata == {"$maxCount": PENDING_KEPT}
    store.clear_pending("test:other", "combat-x", 9)  # nothing pending there: no snapshot
    store.set_pending("test:a", "combat-x", 2, 2)  # already covered: no snapshot
    assert len(list(raw.get_stream(PENDING_STREAM))) == 1
    store.clear_pending("test:a", "combat-x", 2)
    assert len(list(raw.get_stream(PENDING_STREAM))) == 2
    assert store.pending() == []
    raw.close()
    store.close()


def test_stream_names_read_a_bounded_part_of_all(store: EventStoreDBStore) -> None:
    # No index of names: the scan stops after NAMES_SCANNED events of $all, so a Tab on a
    # big server answers; names met in that part are offered, sorted.
    domain = unique_domain()
    for name in ("c", "a", "b"):
        store.append(f"{domain}-{name}", [new()], 0)
    store.NAMES_SCANNED = 10**9
    assert store.stream_names(f"{domain}-") == [f"{domain}-a", f"{domain}-b", f"{domain}-c"]
    assert store.stream_names(f"{domain}-", limit=2) == [f"{domain}-a", f"{domain}-c"]
    scanned = []
    events = store._all_events

    def counted(after: int):  # type: ignore[no-untyped-def]
        for event in events(after):
            scanned.append(event)
            yield event

    store._all_events = counted  # type: ignore[method-assign]
    store.NAMES_SCANNED = 3
    store.stream_names("no-such-prefix-")
    assert len(scanned) == 3


def test_snapshot_streams_are_hidden_from_every_listing(esdb_server: ServerHandle) -> None:
    from escli.stores.snapshots import Snapshot

    store = EventStoreDBStore(esdb_server.url)
    try:
        [recorded] = store.append("combat-wolf", [new()], 0)
        store.save_snapshot(
            Snapshot("combat-wolf", 1, recorded.event_id, "fp", "{}", "2026-12-03T10:00:00Z")
        )
        assert store.snapshot("combat-wolf") is not None
        assert [s.stream for s in store.streams()] == ["combat-wolf"]
        assert [r.stream for r in store.read_all()] == ["combat-wolf"]
        assert store.stream_names("") == ["combat-wolf"]
        assert [r.stream for r in read_log(store, 0, 10)] == ["combat-wolf"]
        subscription = store.subscribe(None, 0)
        assert next(subscription).stream == "combat-wolf"
        subscription.close()
        assert [s.stream for s in store.list_snapshots()] == ["combat-wolf"]
        assert store.drop_snapshots() == 1 and store.list_snapshots() == []
    finally:
        store.close()


def test_a_dispatch_folds_from_the_snapshot_it_wrote_after_its_append(
    esdb_server: ServerHandle,
) -> None:
    from escli import dispatch, load_domain
    from escli.app.snapshots import SnapshotPolicy, fold_stream

    combat = load_domain("combat")
    store = EventStoreDBStore(esdb_server.url)
    every_2 = SnapshotPolicy(every=2)
    try:
        dispatch(combat, combat.command_spec("spawn").cls("wolf", 100), store, snapshots=every_2)
        for _ in range(4):
            dispatch(combat, combat.command_spec("attack").cls("wolf", 3), store, snapshots=every_2)
        folded = fold_stream(combat, store, "combat-wolf", policy=every_2)
        assert folded.snapshot is not None and folded.read < 2
        full = fold_stream(combat, store, "combat-wolf", policy=SnapshotPolicy(use=False))
        assert folded.state == full.state and full.state.hitpoints == 88
    finally:
        store.close()
