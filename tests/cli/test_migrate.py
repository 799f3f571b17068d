"""`escli export --upcast` and `escli copy --upcast`: exact output, exit codes, and what is
left on disk when they refuse."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

import pytest

from tests.conftest import Run, needs_esdb_client, open_store, snapshot
from tests.upcast_domains import TIMES, deposit_v1, deposit_v2, sale_v1, write_domains


@pytest.fixture
def domains(tmp_path: Path) -> str:
    return str(write_domains(tmp_path / "domains"))


@pytest.fixture
def bank(store_url: str) -> str:
    """The test store, holding bank-bo: two 1.0 deposits (no currency) and a 2.0 one."""
    store = open_store(store_url)
    store.append("bank-bo", [deposit_v1("bo", 5, 0), deposit_v1("bo", 7, 1)], 0)
    store.append("bank-bo", [deposit_v2("bo", 1, 2)], 2)
    return store_url


def line(generation: int, version: str, data: str) -> str:
    n = generation - 1
    return (
        f'{{"specversion": "1.0", "id": "bo-{n}", "source": "test://bank", '
        f'"type": "bank.Deposited", "subject": "bank-bo", "time": "{TIMES[n]}", '
        f'"datacontenttype": "application/json", "typeversion": "{version}", '
        f'"generation": {generation}, "data": {data}}}\n'
    )


CURRENT = (
    line(1, "2.0", '{"account": "bo", "amount": 5, "currency": "EUR"}')
    + line(2, "2.0", '{"account": "bo", "amount": 7, "currency": "EUR"}')
    + line(3, "2.0", '{"account": "bo", "amount": 1, "currency": "USD"}')
)


def test_export_upcast_writes_current_versions_with_the_same_ids_generations_and_times(
    escli: Run, bank: str, domains: str
) -> None:
    out = escli("export", "bank-bo", "--upcast", "--domains", domains)
    assert (out.exit_code, out.stdout, out.stderr) == (
        0,
        CURRENT,
        "exported 3 events (JSON Lines), 2 of them upcast\n",
    )
    assert escli("export", "--all", "--upcast", "--domains", domains).stdout == CURRENT


def test_export_without_upcast_writes_the_events_as_stored(
    escli: Run, bank: str, domains: str
) -> None:
    out = escli("export", "bank-bo", "--domains", domains)
    assert (out.exit_code, out.stderr) == (0, "exported 3 events (JSON Lines)\n")
    assert out.stdout == (
        line(1, "1.0", '{"account": "bo", "amount": 5}')
        + line(2, "1.0", '{"account": "bo", "amount": 7}')
        + line(3, "2.0", '{"account": "bo", "amount": 1, "currency": "USD"}')
    )


def test_export_upcast_json_counts_the_upcast_events(
    escli: Run, bank: str, domains: str, tmp_path: Path
) -> None:
    path = tmp_path / "current.jsonl"
    out = escli("export", "--all", "--upcast", "-o", str(path), "--json", "--domains", domains)
    assert (out.exit_code, out.stderr) == (0, "")
    assert json.loads(out.stdout) == {
        "file": str(path),
        "format": "jsonl",
        "events": 3,
        "upcast": 2,
    }
    assert path.read_text(encoding="utf-8") == CURRENT


def test_export_upcast_of_a_stream_of_an_unknown_domain_writes_no_file(
    escli: Run, bank: str, domains: str, tmp_path: Path
) -> None:
    open_store(bank).append("zoo-lion", [deposit_v1("lion", 5, 0)], 0)
    (tmp_path / "out").mkdir()
    path = tmp_path / "out" / "events.jsonl"
    out = escli("export", "--all", "--upcast", "-o", str(path), "--domains", domains)
    assert (out.exit_code, out.stdout, out.stderr) == (
        3,
        "",
        "Error: cannot upcast zoo-lion: unknown domain 'zoo' (known: bank, combat, till)\n",
    )
    assert list((tmp_path / "out").iterdir()) == []  # no file, no temporary one either


def test_export_upcast_of_an_unreadable_event_is_an_error_and_writes_no_file(
    escli: Run, bank: str, domains: str, tmp_path: Path
) -> None:
    """The event comes after more than one chunk was written: the file still does not appear."""
    more = [deposit_v1("bo", 1, 0)._replace(event_id=f"bo-more-{n}") for n in range(2000)]
    odd = deposit_v1("bo", 1, 0)._replace(type_version="0.9", event_id="bo-odd")
    open_store(bank).append("bank-bo", [*more, odd], 3)
    (tmp_path / "out").mkdir()
    path = tmp_path / "out" / "events.jsonl"
    out = escli("export", "bank-bo", "--upcast", "-o", str(path), "--domains", domains)
    assert (out.exit_code, out.stdout) == (11, "")
    assert out.stderr == (
        "Error: bank-bo generation 2004: domain 'bank' has no event type bank.Deposited v0.9 "
        "(it has v2.0): add an upcaster from it (@domain.upcaster) or keep its old class; "
        'see the README\'s "Changing a domain"\n'
    )
    assert list((tmp_path / "out").iterdir()) == []


# -- copy --upcast ---------------------------------------------------------------------------


def test_copy_upcast_reports_what_it_checked_then_copies_nothing_the_second_time(
    escli: Run, bank: str, domains: str, tmp_path: Path
) -> None:
    target = f"sqlite:///{tmp_path / 'target.db'}"
    first = escli("copy", bank, target, "--all", "--upcast", "--domains", domains)
    assert (first.exit_code, first.stdout, first.stderr) == (
        0,
        "stream   copied  already present\nbank-bo       3  0\n",
        f"copied 3 events to {target} (0 were already there)\n"
        "checked 1 stream: each replays to the same state in both stores\n",
    )
    assert escli("export", "--all", "--store", target).stdout == CURRENT
    replayed = escli("replay", "bank-bo", "--store", target, "--json", "--domains", domains)
    assert replayed.stdout == escli("replay", "bank-bo", "--json", "--domains", domains).stdout
    before = snapshot(open_store(target))
    second = escli("copy", bank, target, "--all", "--upcast", "--domains", domains, "--json")
    assert (second.exit_code, second.stderr) == (0, "")
    assert json.loads(second.stdout) == {
        "source": bank,
        "target": target,
        "copied": 0,
        "already_stored": 3,
        "streams": [{"stream": "bank-bo", "copied": 0, "already_stored": 3}],
        "upcast": True,
        "checked": [],
    }
    assert snapshot(open_store(target)) == before


def test_copy_upcast_json_lists_the_streams_checked(
    escli: Run, bank: str, domains: str, tmp_path: Path
) -> None:
    target = f"sqlite:///{tmp_path / 'target.db'}"
    out = escli("copy", bank, target, "bank-bo", "--upcast", "--json", "--domains", domains)
    assert json.loads(out.stdout)["checked"] == [{"stream": "bank-bo", "generation": 3}]


def test_copy_without_upcast_prints_what_it_always_did(
    escli: Run, bank: str, tmp_path: Path
) -> None:
    target = f"sqlite:///{tmp_path / 'target.db'}"
    out = escli("copy", bank, target, "--all", "--json")
    assert "upcast" not in json.loads(out.stdout)
    assert [r.type_version for r in open_store(target).read("bank-bo")] == ["1.0", "1.0", "2.0"]


def test_copy_upcast_with_an_upcaster_that_is_not_pure_names_stream_and_field(
    escli: Run, bank: str, domains: str, tmp_path: Path
) -> None:
    open_store(bank).append("till-one", [sale_v1("one", 5, 0)], 0)
    target = f"sqlite:///{tmp_path / 'target.db'}"
    out = escli("copy", bank, target, "--all", "--upcast", "--domains", domains)
    assert (out.exit_code, out.stdout) == (11, "")
    assert re.fullmatch(
        f"Error: till-one does not fold to the same state in {re.escape(target)} as in "
        f"{re.escape(bank)} through the upcasters \\(at generation 1\\): last.receipt is "
        "'[0-9a-f]{32}' there, '[0-9a-f]{32}' in the source; an upcaster must be a pure "
        "function of the stored data; nothing was written\n",
        out.stderr,
    ), out.stderr
    assert snapshot(open_store(target)) == []


def test_copy_upcast_refuses_a_stream_of_an_unknown_domain(
    escli: Run, bank: str, domains: str, tmp_path: Path
) -> None:
    open_store(bank).append("zoo-lion", [deposit_v1("lion", 5, 0)], 0)
    target = f"sqlite:///{tmp_path / 'target.db'}"
    out = escli("copy", bank, target, "--all", "--upcast", "--domains", domains)
    assert (out.exit_code, out.stdout, out.stderr) == (
        3,
        "",
        "Error: cannot upcast zoo-lion: unknown domain 'zoo' (known: bank, combat, till)\n",
    )
    assert snapshot(open_store(target)) == []
    named = escli("copy", bank, target, "bank-bo", "--upcast", "--domains", domains)
    assert named.exit_code == 0  # naming the streams leaves the unknown one out


@needs_esdb_client
def test_copy_upcast_from_eventstoredb_into_sqlite(
    escli: Run, esdb_url: str, domains: str, tmp_path: Path
) -> None:
    account = f"a{uuid.uuid4().hex[:10]}"
    stream = f"bank-{account}"
    open_store(esdb_url).append(stream, [deposit_v1(account, 5, 0), deposit_v1(account, 7, 1)], 0)
    target = f"sqlite:///{tmp_path / 'target.db'}"
    out = escli("copy", esdb_url, target, stream, "--upcast", "--domains", domains)
    assert (out.exit_code, out.stderr) == (
        0,
        f"copied 2 events to {target} (0 were already there)\n"
        "checked 1 stream: each replays to the same state in both stores\n",
    )
    assert [
        (r.event_id, r.type_version, r.recorded_at) for r in open_store(target).read(stream)
    ] == [
        (f"{account}-0", "2.0", TIMES[0]),
        (f"{account}-1", "2.0", TIMES[1]),
    ]
    again = escli("copy", esdb_url, target, stream, "--upcast", "--domains", domains)
    assert again.stderr == (
        f"nothing to copy: {target} already holds all 2 events\n"
        "no stream was written to, so none was replayed to check it\n"
    )
