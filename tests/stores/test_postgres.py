"""The PostgreSQL store against the local server: the contract, and what only a shared,
networked database can get wrong (schemas, connections, racing processes, LISTEN/NOTIFY)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator

import psycopg
import pytest

from escli import ConcurrencyConflict, StoreError, StoreUnavailable
from escli.errors import InvalidInput
from escli.stores import mask_url
from escli.stores.base import DuplicateEventId
from escli.stores.postgres import PostgresStore, parse_url
from tests.conftest import POSTGRES_DSN, Run, open_store
from tests.stores.contract import new, unique_stream
from tests.stores.contract_event_store import EventStoreContract
from tests.stores.contract_outbox import OutboxContract
from tests.stores.contract_snapshots import TransactionalSnapshotsContract
from tests.stores.contract_transactions import TransactionalContract
from tests.stores.contract_views import EventLogContract, ViewsContract
from tests.stores.race import race


class TestPostgresStore(
    EventStoreContract,
    OutboxContract,
    TransactionalContract,
    TransactionalSnapshotsContract,
    EventLogContract,
    ViewsContract,
):
    @pytest.fixture
    def store(self, postgres_url: str) -> Iterator[PostgresStore]:
        store = PostgresStore(postgres_url)
        yield store
        store.close()

    @pytest.fixture
    def empty_store(self, postgres_schemas: Callable[[], str]) -> Iterator[PostgresStore]:
        store = PostgresStore(postgres_schemas())  # the session's schema is shared
        yield store
        store.close()


def sql(query: str, *params: object) -> list[tuple[object, ...]]:
    """Run one statement on the test database, outside escli."""
    with psycopg.connect(POSTGRES_DSN, autocommit=True) as conn:
        cursor = conn.execute(query, params or None)
        return cursor.fetchall() if cursor.description else []


def schema_of(url: str) -> str:
    return parse_url(url)[1]


# -- URLs --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "conninfo", "schema"),
    [
        ("postgresql://u@h/db", "postgresql://u@h/db", "escli"),
        ("postgresql://u@h/db?schema=escli_x", "postgresql://u@h/db", "escli_x"),
        (
            "postgres://h:5433/db?sslmode=disable&schema=a1&connect_timeout=9",
            "postgres://h:5433/db?sslmode=disable&connect_timeout=9",
            "a1",
        ),
    ],
)
def test_the_schema_option_is_taken_out_of_the_url(url: str, conninfo: str, schema: str) -> None:
    assert parse_url(url) == (conninfo, schema)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("postgresql://h/db?schema=Bad-Name", "schema must be a lowercase name"),
        ("postgresql://h/db?schema=", "schema must be a lowercase name"),
        ("postgresql://h/db?schema=" + "a" * 49, "at most 48 characters"),
        ("postgresql://u:pw1234@h/db?bogus=1", 'invalid URI query parameter: "bogus"'),
    ],
)
def test_bad_postgres_urls_are_invalid_input_before_connecting(url: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message) as caught:
        open_store(url)
    assert "pw1234" not in str(caught.value)


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("sslmode=bogus", 'invalid sslmode value: "bogus"'),
        ("port=abc", 'invalid integer value "abc" for connection option "port"'),
        ("target_session_attrs=x", 'invalid target_session_attrs value: "x"'),
    ],
)
def test_a_bad_option_value_is_invalid_input_naming_it(
    escli: Run, postgres_url: str, option: str, message: str
) -> None:
    url = f"{postgres_url.replace('postgres@', 'postgres:pw1234@')}&{option}"
    out = escli("streams", "--store", url)
    assert out.exit_code == 4
    assert out.stderr.startswith("Error: bad PostgreSQL store URL 'postgresql://postgres:***@")
    assert out.stderr.endswith(f": {message}\n")


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("postgresql://u:secret@h:5432/db", "postgresql://u:***@h:5432/db"),
        ("postgres://u:p%40ss@h/db?schema=x", "postgres://u:***@h/db?schema=x"),
        ("postgresql://u@h/db?password=secret&x=1", "postgresql://u@h/db?password=***&x=1"),
        ("postgresql://h/db", "postgresql://h/db"),
        ("sqlite:///events.db", "sqlite:///events.db"),
    ],
)
def test_passwords_in_urls_are_masked(url: str, masked: str) -> None:
    assert mask_url(url) == masked


def test_both_schemes_open_a_postgres_store_that_shows_no_password() -> None:
    for scheme in ("postgresql", "postgres"):
        store = open_store(f"{scheme}://postgres:hunter22@127.0.0.1:5432/test?schema=escli_x")
        assert isinstance(store, PostgresStore)
        assert store.url == f"{scheme}://postgres:***@127.0.0.1:5432/test?schema=escli_x"
        assert "hunter22" not in repr(store)


# -- reaching the server -------------------------------------------------------------------


def test_a_refused_connection_is_unavailable_at_once_and_hides_the_password() -> None:
    store = open_store("postgresql://postgres:hunter22@127.0.0.1:1/test")
    start = time.monotonic()
    with pytest.raises(StoreUnavailable) as caught:
        store.generation("combat-ogre")
    assert time.monotonic() - start < 2
    message = str(caught.value)
    assert message == "cannot reach PostgreSQL at 127.0.0.1:1: Connection refused"
    assert "hunter22" not in message
    assert caught.value.exit_code == 8


def test_an_unknown_host_is_unavailable() -> None:
    store = open_store("postgresql://u:hunter22@no-such-host.invalid/test")
    with pytest.raises(StoreUnavailable) as caught:
        list(store.read("combat-ogre"))
    assert str(caught.value) == "cannot reach PostgreSQL at no-such-host.invalid:5432: unknown host"


def test_a_server_that_never_answers_times_out() -> None:
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # accepts the TCP handshake, never speaks
    port = silent.getsockname()[1]
    try:
        store = open_store(f"postgresql://u:hunter22@127.0.0.1:{port}/test?connect_timeout=2")
        start = time.monotonic()
        with pytest.raises(StoreUnavailable) as caught:
            store.append("combat-ogre", [new()], 0)
        assert time.monotonic() - start < 5
    finally:
        silent.close()
    assert str(caught.value) == (
        f"cannot reach PostgreSQL at 127.0.0.1:{port}: no answer within 2 s (connect_timeout)"
    )


def test_the_default_connect_timeout_is_short() -> None:
    assert PostgresStore("postgresql://h/db").connect_timeout == "3"
    assert PostgresStore("postgresql://h/db?connect_timeout=10").connect_timeout == "10"


def test_a_missing_database_is_a_store_error_naming_it(postgres_url: str) -> None:
    store = open_store("postgresql://postgres:hunter22@127.0.0.1:5432/escli_no_such_db")
    with pytest.raises(StoreError) as caught:
        store.generation("combat-ogre")
    assert not isinstance(caught.value, StoreUnavailable)
    assert str(caught.value) == "PostgreSQL at 127.0.0.1:5432 has no database 'escli_no_such_db'"


def test_an_unknown_user_is_a_store_error_naming_them(postgres_url: str) -> None:
    store = open_store("postgresql://escli_no_such_user:hunter22@127.0.0.1:5432/test")
    with pytest.raises(StoreError) as caught:
        list(store.streams())
    assert not isinstance(caught.value, StoreUnavailable)
    assert str(caught.value) == "PostgreSQL at 127.0.0.1:5432 has no user 'escli_no_such_user'"


def test_a_lost_connection_is_unavailable_and_the_next_call_reconnects(postgres_url: str) -> None:
    store = PostgresStore(postgres_url + "&application_name=escli_lost")
    stream = unique_stream()
    store.append(stream, [new()], 0)
    killed = sql(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        " WHERE application_name = 'escli_lost'"
    )
    assert killed == [(True,)]
    with pytest.raises(
        StoreUnavailable, match=r"lost the connection to PostgreSQL at 127\.0\.0\.1"
    ):
        store.generation(stream)
    assert store.generation(stream) == 1
    store.close()


# -- the schema ----------------------------------------------------------------------------


def schema_exists(name: str) -> bool:
    return bool(sql("SELECT 1 FROM pg_namespace WHERE nspname = %s", name))


def test_reading_a_schema_that_does_not_exist_creates_nothing(
    postgres_schemas: Callable[[], str],
) -> None:
    url = postgres_schemas()
    store = open_store(url)
    assert list(store.read("combat-ogre")) == []
    assert list(store.read_all()) == []
    assert list(store.streams()) == []
    assert store.generation("combat-ogre") == 0
    assert not schema_exists(schema_of(url))


def test_the_first_append_creates_the_schema(postgres_schemas: Callable[[], str]) -> None:
    url = postgres_schemas()
    store = open_store(url)
    store.append("combat-ogre", [new()], 0)
    store.close()
    tables = sql("SELECT tablename FROM pg_tables WHERE schemaname = %s ORDER BY 1", schema_of(url))
    assert tables == [("events",), ("pending",), ("store",)]


def test_init_creates_the_schema_once_even_when_processes_race(
    postgres_schemas: Callable[[], str],
) -> None:
    url = postgres_schemas()
    barrier = threading.Barrier(4)
    results: list[bool] = []

    def init() -> None:
        store = PostgresStore(url)  # a store (and connection) of its own, like a process
        barrier.wait()
        results.append(store.init())
        store.close()

    threads = [threading.Thread(target=init) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False, False, False, True]
    assert PostgresStore(url).init() is False


def test_an_empty_schema_made_beforehand_is_filled(postgres_schemas: Callable[[], str]) -> None:
    url = postgres_schemas()
    sql(f'CREATE SCHEMA "{schema_of(url)}"')
    assert PostgresStore(url).init() is True
    assert open_store(url).append("combat-ogre", [new()], 0)[0].position == 1


def test_a_schema_of_another_application_is_refused_and_left_alone(
    postgres_schemas: Callable[[], str],
) -> None:
    url = postgres_schemas()
    schema = schema_of(url)
    sql(f'CREATE SCHEMA "{schema}"')
    sql(f'CREATE TABLE "{schema}".customers (name text)')
    store = open_store(url)
    with pytest.raises(StoreError, match=f"schema '{schema}' .* is not an escli store"):
        store.append("combat-ogre", [new()], 0)
    with pytest.raises(StoreError) as caught:
        list(store.read("combat-ogre"))
    assert str(caught.value) == (
        f"schema '{schema}' in PostgreSQL at 127.0.0.1:5432/test is not an escli store"
        " (it holds customers); choose another with ?schema=NAME"
    )
    assert sql("SELECT tablename FROM pg_tables WHERE schemaname = %s", schema) == [("customers",)]


def test_an_events_table_of_another_shape_is_refused(postgres_schemas: Callable[[], str]) -> None:
    url = postgres_schemas()
    schema = schema_of(url)
    sql(f'CREATE SCHEMA "{schema}"')
    sql(f'CREATE TABLE "{schema}".events (id serial, body text)')
    with pytest.raises(StoreError) as caught:
        open_store(url).generation("combat-ogre")
    assert str(caught.value) == (
        f"schema '{schema}' in PostgreSQL at 127.0.0.1:5432/test: table events is not an "
        "escli events table (id integer, body text)"
    )


def test_another_schema_version_is_refused(postgres_schemas: Callable[[], str]) -> None:
    url = postgres_schemas()
    open_store(url).append("combat-ogre", [new()], 0)
    sql(f'UPDATE "{schema_of(url)}".store SET schema_version = 99')
    store = open_store(url)
    with pytest.raises(StoreError, match="has escli schema version 99; this escli reads 2"):
        store.append("combat-ogre", [new()], 1)
    sql(f'UPDATE "{schema_of(url)}".store SET schema_version = 2')
    assert store.generation("combat-ogre") == 1


def test_a_schema_dropped_behind_the_stores_back_is_an_error_then_recreated(
    postgres_schemas: Callable[[], str],
) -> None:
    url = postgres_schemas()
    store = open_store(url)
    store.append("combat-ogre", [new()], 0)
    sql(f'DROP SCHEMA "{schema_of(url)}" CASCADE')
    with pytest.raises(StoreError, match=r"the escli tables of schema .* are gone"):
        store.generation("combat-ogre")
    assert store.append("combat-ogre", [new()], 0)[0].position == 1
    store.close()


def test_the_database_itself_refuses_a_second_event_at_a_generation(postgres_url: str) -> None:
    store = open_store(postgres_url)
    stream = unique_stream()
    store.append(stream, [new()], 0)
    with pytest.raises(psycopg.errors.UniqueViolation, match="events_pkey"):
        sql(
            f'INSERT INTO "{schema_of(postgres_url)}".events VALUES'
            " (%s, 1, -1, 'x', 't', '1.0', 's', now(), NULL, '{}')",
            stream,
        )


# -- what is stored ------------------------------------------------------------------------


def test_a_given_time_in_another_form_is_kept_verbatim_at_the_right_instant(
    postgres_url: str,
) -> None:
    store = open_store(postgres_url)
    stream = unique_stream()
    given = ["2020-01-02T05:04:05.5+02:00", "2020-01-02T03:04:05Z"]
    store.append(stream, [new()._replace(recorded_at=t) for t in given], 0)
    assert [r.recorded_at for r in store.read(stream)] == given
    instants = sql(
        f"SELECT recorded_at = '2020-01-02T03:04:05.5Z', recorded_at = '2020-01-02T03:04:05Z'"
        f' FROM "{schema_of(postgres_url)}".events WHERE stream = %s ORDER BY generation',
        stream,
    )
    assert instants == [(True, False), (False, True)]


def test_a_time_that_is_not_rfc3339_is_invalid_and_writes_nothing(postgres_url: str) -> None:
    store = open_store(postgres_url)
    stream = unique_stream()
    for bad in ("yesterday", "2020-01-02T03:04:05"):
        with pytest.raises(InvalidInput, match="is not an RFC 3339 time with an offset"):
            store.append(stream, [new(), new()._replace(recorded_at=bad)], 0)
    assert store.generation(stream) == 0


def test_data_is_kept_as_written_even_what_jsonb_would_refuse(postgres_url: str) -> None:
    store = open_store(postgres_url)
    stream = unique_stream()
    store.append(stream, [new({"name": "nul \x00 byte", "b": 1, "a": 2})], 0)
    [(_, _, _, text)] = list(store.read_data(stream))
    assert text == '{"name":"nul \\u0000 byte","b":1,"a":2}'
    assert [r.data for r in store.read(stream)] == [{"name": "nul \x00 byte", "b": 1, "a": 2}]


def test_a_read_goes_through_a_server_side_cursor(postgres_url: str) -> None:
    store = PostgresStore(postgres_url + "&application_name=escli_cursor")
    stream = unique_stream()
    store.append(stream, [new() for _ in range(5000)], 0)
    rows = store.read(stream)
    next(rows)
    activity = sql(
        "SELECT state, query FROM pg_stat_activity WHERE application_name = 'escli_cursor'"
    )
    rows.close()
    assert [(state, query.split('"')[0]) for state, query in activity] == [  # type: ignore[union-attr]
        ("idle in transaction", "FETCH FORWARD 2000 FROM ")
    ]
    store.close()


def test_an_append_during_a_suspended_read_commits_at_once(postgres_url: str) -> None:
    store = open_store(postgres_url)
    stream = unique_stream()
    store.append(stream, [new(), new()], 0)
    reading = store.read(stream)
    assert next(reading).generation == 1
    store.append(stream, [new()], 2)
    assert open_store(postgres_url).generation(stream) == 3  # another session sees it
    assert [r.generation for r in reading] == [2]  # the read keeps its snapshot
    reading.close()


def test_positions_have_no_gaps_even_after_conflicts(postgres_schemas: Callable[[], str]) -> None:
    store = open_store(postgres_schemas())
    stream = unique_stream()
    store.append(stream, [new(), new()], 0)
    with pytest.raises(ConcurrencyConflict):
        store.append(stream, [new()], 1)
    first = next(store.read(stream))
    with pytest.raises(DuplicateEventId):
        store.append(stream, [new()._replace(event_id=first.event_id)], 2)
    store.append(stream, [new()], 2)
    assert [r.position for r in store.read_all()] == [1, 2, 3]


# -- LISTEN/NOTIFY -------------------------------------------------------------------------


def test_a_subscription_is_woken_by_notify_not_by_polling(postgres_url: str) -> None:
    store = open_store(postgres_url)
    stream = unique_stream()
    store.append(stream, [new()], 0)
    appended_at: list[float] = []

    def later() -> None:
        appended_at.append(time.monotonic())
        store.append(stream, [new()], 1)

    writer = threading.Timer(0.3, later)
    writer.start()
    subscription = store.subscribe(stream, after=0, poll_interval=60)
    assert next(subscription).generation == 1
    assert next(subscription).generation == 2
    arrived = time.monotonic()
    subscription.close()  # type: ignore[attr-defined]
    writer.join()
    assert arrived - appended_at[0] < 2


def test_a_stream_subscription_sleeps_through_other_streams_appends(postgres_url: str) -> None:
    store = PostgresStore(postgres_url)
    mine, other = unique_stream(), unique_stream()
    listener = store._connect()
    listener.execute(f'LISTEN "escli.{store.schema}"')
    store.append(other, [new()], 0)
    start = time.monotonic()
    store._wait(listener, mine, 0.5)
    assert time.monotonic() - start >= 0.5  # the other stream's notification did not wake it
    store.append(mine, [new()], 0)
    start = time.monotonic()
    store._wait(listener, mine, 5)
    assert time.monotonic() - start < 1
    listener.close()
    store.close()


# -- racing processes --------------------------------------------------------------------


def test_two_processes_racing_on_one_stream_lose_no_generation(
    postgres_schemas: Callable[[], str],
) -> None:
    url = postgres_schemas()
    successes, conflicts = race(url, ["titan"], processes=2, attacks=200)
    assert successes["titan"] + conflicts == 400
    store = open_store(url)
    generations = [r.generation for r in store.read("combat-titan")]
    assert generations == list(range(1, successes["titan"] + 2))


def test_eight_processes_on_four_streams_leave_exact_generations_and_positions(
    postgres_schemas: Callable[[], str],
) -> None:
    url = postgres_schemas()
    entities = ["titan0", "titan1", "titan2", "titan3"]
    total_events = 0
    seen: list[int] = []
    watcher_store = open_store(url)
    watcher_store.init()  # type: ignore[attr-defined]

    def watch() -> None:
        for recorded in watcher_store.subscribe(None, after=0):
            seen.append(recorded.position)
            if recorded.stream == "combat-stop":
                return

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    start = time.monotonic()
    successes, conflicts = race(url, entities, processes=8, attacks=250)
    elapsed = time.monotonic() - start
    store = open_store(url)
    store.append("combat-stop", [new()], 0)
    watcher.join(timeout=30)
    assert sum(successes.values()) + conflicts == 8 * 250
    for entity in entities:
        generations = [r.generation for r in store.read(f"combat-{entity}")]
        assert generations == list(range(1, successes[entity] + 2)), entity
        total_events += len(generations)
    positions = [r.position for r in store.read_all()]
    assert positions == list(range(1, total_events + 2))  # + the stop event: no gap, no repeat
    assert seen == positions  # the live subscriber saw every event once, in order
    assert elapsed < 60


@pytest.mark.parametrize("generation", [32_767, 2**31 - 1])
def test_appends_go_on_past_the_small_integer_types(postgres_url: str, generation: int) -> None:
    # psycopg sends a small int as smallint (a larger one as integer): arithmetic on the
    # expected generation must not overflow those, in the events or the pending rows.
    store = PostgresStore(postgres_url)
    stream, target = unique_stream(), f"test:{generation}"
    store.append(stream, [new()], 0)
    with psycopg.connect(POSTGRES_DSN, autocommit=True) as conn:
        conn.execute(
            f'UPDATE "{store.schema}".events SET generation = %s WHERE stream = %s',
            (generation, stream),
        )
    recorded = store.append(stream, [new(), new()], generation, pending_for=[target])
    assert [r.generation for r in recorded] == [generation + 1, generation + 2]
    store.clear_pending(target, stream, generation)  # nothing of the range: it stays
    assert [(p.from_generation, p.to_generation) for p in store.pending(target)] == [
        (generation + 1, generation + 2)
    ]
    store.close()


def test_generations_at_the_bigint_limit_are_no_overflow(postgres_url: str) -> None:
    store = PostgresStore(postgres_url)
    stream, target = unique_stream(), "test:bigint"
    store.append(stream, [new()], 0)
    with pytest.raises(ConcurrencyConflict):
        store.append(stream, [new()], 2**63, pending_for=[target])
    store.set_pending(target, stream, 1, 1)
    store.clear_pending(target, stream, 2**63 - 1)
    assert store.pending(target) == []
    store.close()


def test_a_snapshot_table_first_made_in_a_rolled_back_transaction_is_made_again(
    postgres_schemas: Callable[[], str],
) -> None:
    from escli.stores.snapshots import Snapshot

    taken = Snapshot("combat-ogre", 1, "id-1", "fp", "{}", "2026-12-03T10:00:00Z")
    store = PostgresStore(postgres_schemas())
    try:
        with store.transaction(rollback=True):
            store.save_snapshot(taken)  # makes the table, which goes with the transaction
        store.save_snapshot(taken)
        assert store.snapshot("combat-ogre") == taken
    finally:
        store.close()
