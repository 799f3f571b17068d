"""``copy --upcast``: current versions copied with their ids, generations and times, the
copied streams replayed in both stores, and every refusal made before anything is written."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from escli import DomainError, DomainRegistry, NotFound, UnreadableEvent
from escli.app.copy import copy_streams, plan_copy
from escli.app.fold import fold
from escli.app.verify import Checked, first_difference
from escli.stores.base import Store
from escli.stores.current import CurrentRecords
from escli.stores.mirror import Diverged
from tests.conftest import needs_esdb_client, open_store, snapshot
from tests.upcast_domains import TIMES, deposit_v1, deposit_v2, sale_v1, write_domains


@pytest.fixture
def registry(tmp_path: Path) -> DomainRegistry:
    return DomainRegistry([write_domains(tmp_path / "domains")])


@pytest.fixture
def account() -> str:
    """An account of the test's own: the EventStoreDB server is shared by the session."""
    return f"a{uuid.uuid4().hex[:10]}"


@pytest.fixture
def target(tmp_path: Path) -> Store:
    return open_store(f"sqlite:///{tmp_path / 'target.db'}")


def sqlite_source(tmp_path: Path, request: pytest.FixtureRequest) -> str:
    return f"sqlite:///{tmp_path / 'source.db'}"


def postgres_source(tmp_path: Path, request: pytest.FixtureRequest) -> str:
    new_url: Callable[[], str] = request.getfixturevalue("postgres_schemas")
    return new_url()


def esdb_source(tmp_path: Path, request: pytest.FixtureRequest) -> str:
    url: str = request.getfixturevalue("esdb_url")
    return url


@pytest.fixture(
    params=[
        pytest.param(sqlite_source, id="sqlite"),
        pytest.param(postgres_source, id="postgresql"),
        pytest.param(esdb_source, id="eventstoredb", marks=needs_esdb_client),
    ]
)
def source(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    """A source store of each kind; ``copy --upcast`` reads from all of them into SQLite."""
    return open_store(request.param(tmp_path, request))


def upcast_copy(
    source: Store, target: Store, registry: DomainRegistry, *streams: str
) -> tuple[dict[str, tuple[int, int]], list[Checked] | None]:
    result = copy_streams(
        source, target, plan_copy(source, streams), current=CurrentRecords(registry)
    )
    return {s.stream: (s.copied, s.present) for s in result.streams}, result.checked


def stored(store: Store, stream: str) -> list[tuple[Any, ...]]:
    return [
        (r.generation, r.event_id, r.event_type, r.type_version, r.source, r.data, r.recorded_at)
        for r in store.read(stream)
    ]


def test_the_target_holds_current_versions_with_the_same_ids_generations_and_times(
    source: Store, target: Store, registry: DomainRegistry, account: str
) -> None:
    stream = f"bank-{account}"
    source.append(
        stream, [deposit_v1(account, 5, 0), deposit_v1(account, 7, 1), deposit_v2(account, 1, 2)], 0
    )
    copied, checked = upcast_copy(source, target, registry, stream)
    assert (copied, checked) == ({stream: (3, 0)}, [Checked(stream, 3)])
    assert stored(target, stream) == [
        (1, f"{account}-0", "bank.Deposited", "2.0", "test://bank",
         {"account": account, "amount": 5, "currency": "EUR"}, TIMES[0]),
        (2, f"{account}-1", "bank.Deposited", "2.0", "test://bank",
         {"account": account, "amount": 7, "currency": "EUR"}, TIMES[1]),
        (3, f"{account}-2", "bank.Deposited", "2.0", "test://bank",
         {"account": account, "amount": 1, "currency": "USD"}, TIMES[2]),
    ]  # fmt: skip
    bank = registry.get("bank")
    replayed = fold(bank, stream, target.read_data(stream))
    assert replayed == fold(bank, stream, source.read_data(stream))
    assert (replayed.balance, replayed.last.currency, replayed.generation) == (13, "USD", 3)
    # The source is as it was: nothing is rewritten where it is stored.
    assert [r.type_version for r in source.read(stream)] == ["1.0", "1.0", "2.0"]


def test_a_second_upcast_copy_copies_nothing_and_has_nothing_to_check(
    source: Store, target: Store, registry: DomainRegistry, account: str
) -> None:
    stream = f"bank-{account}"
    source.append(stream, [deposit_v1(account, 5, 0), deposit_v1(account, 7, 1)], 0)
    upcast_copy(source, target, registry, stream)
    before = snapshot(target)
    assert upcast_copy(source, target, registry, stream) == ({stream: (0, 2)}, [])
    assert snapshot(target) == before


def test_events_added_to_the_source_later_are_copied_and_their_stream_checked_again(
    tmp_path: Path, target: Store, registry: DomainRegistry
) -> None:
    source = open_store(f"sqlite:///{tmp_path / 'source.db'}")
    source.append("bank-bo", [deposit_v1("bo", 5, 0)], 0)
    upcast_copy(source, target, registry, "bank-bo")
    source.append("bank-bo", [deposit_v1("bo", 7, 1)], 1)
    assert upcast_copy(source, target, registry) == ({"bank-bo": (1, 1)}, [Checked("bank-bo", 2)])


def test_an_upcaster_that_is_not_pure_is_a_domain_error_naming_the_stream_and_field(
    tmp_path: Path, target: Store, registry: DomainRegistry
) -> None:
    """``till``'s upcaster makes up a receipt each time it reads a 1.0 sale: the copy holds
    one receipt, the source's replay another. Into SQLite the whole copy is taken back."""
    source = open_store(f"sqlite:///{tmp_path / 'source.db'}")
    source.append("bank-bo", [deposit_v1("bo", 5, 0)], 0)
    source.append("till-one", [sale_v1("one", 5, 0), sale_v1("one", 7, 1)], 0)
    with pytest.raises(DomainError) as caught:
        upcast_copy(source, target, registry)
    assert re.fullmatch(
        f"till-one does not fold to the same state in {re.escape(target.url)} as in "
        f"{re.escape(source.url)} through the upcasters \\(at generation 2\\): last.receipt "
        "is '[0-9a-f]{32}' there, '[0-9a-f]{32}' in the source; an upcaster must be a pure "
        "function of the stored data; nothing was written",
        str(caught.value),
    )
    assert snapshot(target) == []  # bank-bo, copied and checked first, is taken back too


@needs_esdb_client
def test_into_eventstoredb_a_mismatch_says_the_copied_events_stay(
    tmp_path: Path, esdb_url: str, registry: DomainRegistry
) -> None:
    till = f"t{uuid.uuid4().hex[:10]}"
    source = open_store(f"sqlite:///{tmp_path / 'source.db'}")
    source.append(f"till-{till}", [sale_v1(till, 5, 0)], 0)
    target = open_store(esdb_url)
    with pytest.raises(DomainError, match=f"; the copied events stay in {re.escape(esdb_url)}$"):
        upcast_copy(source, target, registry, f"till-{till}")
    assert [r.type_version for r in target.read(f"till-{till}")] == ["2.0"]


def test_a_target_holding_the_old_versions_has_diverged_and_is_not_rewritten(
    tmp_path: Path, target: Store, registry: DomainRegistry
) -> None:
    source = open_store(f"sqlite:///{tmp_path / 'source.db'}")
    source.append("bank-bo", [deposit_v1("bo", 5, 0)], 0)
    copy_streams(source, target, plan_copy(source))  # without --upcast: as stored
    assert [r.type_version for r in target.read("bank-bo")] == ["1.0"]
    with pytest.raises(
        Diverged,
        match=r"^bank-bo has diverged in .*: generation 1 is event bo-0 there too, but with "
        "another typeversion; nothing was written$",
    ):
        upcast_copy(source, target, registry)
    assert [r.type_version for r in target.read("bank-bo")] == ["1.0"]


def test_a_stream_of_an_unknown_domain_is_refused_before_anything_is_copied(
    tmp_path: Path, target: Store, registry: DomainRegistry
) -> None:
    source = open_store(f"sqlite:///{tmp_path / 'source.db'}")
    source.append("bank-bo", [deposit_v1("bo", 5, 0)], 0)
    source.append("zoo-lion", [deposit_v1("lion", 5, 0)], 0)
    with pytest.raises(NotFound) as caught:
        upcast_copy(source, target, registry)
    assert str(caught.value) == (
        "cannot upcast zoo-lion: unknown domain 'zoo' (known: bank, combat, till)"
    )
    assert snapshot(target) == []


def test_an_event_with_neither_class_nor_upcaster_is_unreadable_and_nothing_is_written(
    tmp_path: Path, target: Store, registry: DomainRegistry
) -> None:
    source = open_store(f"sqlite:///{tmp_path / 'source.db'}")
    source.append("bank-bo", [deposit_v1("bo", 5, 0)], 0)
    source.append("bank-cy", [deposit_v1("cy", 5, 0)._replace(type_version="0.9")], 0)
    with pytest.raises(
        UnreadableEvent,
        match=r"^bank-cy generation 1: domain 'bank' has no event type bank.Deposited v0.9 "
        r"\(it has v2.0\): add an upcaster",
    ):
        upcast_copy(source, target, registry)
    assert snapshot(target) == []


def test_an_upcast_whose_data_does_not_fit_names_the_event_it_was_upcasting(
    tmp_path: Path, target: Store, registry: DomainRegistry
) -> None:
    source = open_store(f"sqlite:///{tmp_path / 'source.db'}")
    broken = deposit_v1("bo", 5, 0)._replace(data={"account": "bo", "amount": "five"})
    source.append("bank-bo", [broken], 0)
    with pytest.raises(DomainError, match=r"upcasting bank-bo generation 1, event bo-0"):
        upcast_copy(source, target, registry)
    assert snapshot(target) == []


def test_a_copy_without_upcast_copies_the_old_versions_as_stored(
    tmp_path: Path, target: Store
) -> None:
    source = open_store(f"sqlite:///{tmp_path / 'source.db'}")
    source.append("bank-bo", [deposit_v1("bo", 5, 0)], 0)
    result = copy_streams(source, target, plan_copy(source))
    assert result.checked is None
    assert stored(target, "bank-bo") == stored(source, "bank-bo")


# -- comparing states ------------------------------------------------------------------------


@dataclass(frozen=True)
class Inner:
    name: str
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Outer:
    total: int
    inner: Inner
    by_key: dict[str, int]


def test_equal_states_have_no_difference() -> None:
    state = Outer(1, Inner("a", ("x",)), {"k": 1})
    assert first_difference(state, Outer(1, Inner("a", ("x",)), {"k": 1})) is None


@pytest.mark.parametrize(
    ("theirs", "found"),
    [
        (Outer(2, Inner("a", ("x", "y")), {"k": 1}), ("total", 1, 2)),
        (Outer(1, Inner("b", ("x", "y")), {"k": 1}), ("inner.name", "a", "b")),
        (Outer(1, Inner("a", ("x", "z")), {"k": 1}), ("inner.tags[1]", "y", "z")),
        (Outer(1, Inner("a", ("x",)), {"k": 1}), ("inner.tags", ("x", "y"), ("x",))),
        (Outer(1, Inner("a", ("x", "y")), {"k": 2}), ("by_key['k']", 1, 2)),
    ],
)
def test_the_first_difference_is_named_by_its_path(
    theirs: Outer, found: tuple[str, Any, Any]
) -> None:
    assert first_difference(Outer(1, Inner("a", ("x", "y")), {"k": 1}), theirs) == found
