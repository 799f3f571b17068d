"""CloudEvents files holding old versions of an event (issue 13): import checks them through
the domain's upcasters and stores them as they are; replay ``--file`` and ``from_cloudevent``
read them as the current event.

The ledger domain is written to a domains folder of the test's own: its ``Deposited`` is at
2.0 (a ``currency`` added), with an upcaster from 1.0 and a rename (``Credited`` 1.0, whose
``sum`` is ``Deposited`` 1.0's ``amount``); ``Noted``'s upcaster is broken (it returns the
text, not a dict), to show what a broken upcaster does to a file.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from escli import Domain, DomainError, DomainRegistry, InvalidInput
from tests.conftest import Run, masked, needs_esdb_client, open_store, snapshot

LEDGER = """\
from dataclasses import dataclass

from escli import AggregateState, Domain

domain = Domain("ledger", source="test://ledger", stream_field="account")


@dataclass(frozen=True)
class Account(AggregateState):
    account: str
    balance: int = 0
    currencies: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


@domain.event(version="2.0")
@dataclass(frozen=True)
class Deposited:
    account: str
    amount: int
    currency: str


@domain.event(version="2.0")
@dataclass(frozen=True)
class Noted:
    account: str
    text: str


@domain.upcaster("Deposited", "1.0", to="2.0")
def add_currency(data):
    return {**data, "currency": "EUR"}


@domain.upcaster("Credited", "1.0", to=("Deposited", "1.0"))
def credited_is_deposited(data):
    return {"account": data["account"], "amount": data["sum"]}  # raises: KeyError


@domain.upcaster("Noted", "1.0", to="2.0")
def noted_text(data):  # returns a str, not a dict
    return data["text"]


@domain.aggregate
class Ledger:
    def initial_state(self, stream_id):
        return Account(stream_id)

    def handle_command(self, state, command):
        return []

    def apply_event(self, state, event):
        if isinstance(event, Noted):
            return state.evolve(notes=(*state.notes, event.text))
        return state.evolve(
            balance=state.balance + event.amount,
            currencies=(*state.currencies, event.currency),
        )
"""


@pytest.fixture
def domains(tmp_path: Path) -> Path:
    folder = tmp_path / "domains"
    folder.mkdir()
    (folder / "ledger.py").write_text(LEDGER)
    return folder


@pytest.fixture
def ledger(domains: Path) -> Domain:
    return DomainRegistry([domains]).get("ledger")


def event(
    generation: int,
    data: dict[str, Any],
    *,
    type: str = "Deposited",
    version: str = "1.0",
    account: str = "a1",
) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": f"{account}-e{generation}",
        "source": "test://ledger",
        "type": f"ledger.{type}",
        "subject": f"ledger-{account}",
        "time": f"2026-01-01T00:00:0{generation}Z",
        "datacontenttype": "application/json",
        "typeversion": version,
        "generation": generation,
        "data": data,
    }


def history(account: str = "a1") -> list[dict[str, Any]]:
    """An account's events at three versions: 1.0, a renamed 1.0, and the current 2.0."""
    return [
        event(1, {"account": account, "amount": 10}, account=account),
        event(2, {"account": account, "sum": 5}, type="Credited", account=account),
        event(3, {"account": account, "amount": 7, "currency": "USD"}, version="2.0",
              account=account),
    ]  # fmt: skip


def jsonl(events: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(e) + "\n" for e in events)


def batch(events: list[dict[str, Any]]) -> str:
    return "[\n" + ",\n".join(json.dumps(e) for e in events) + "\n]\n"


def one(events: list[dict[str, Any]]) -> str:
    """An ``event`` file: one event, over several lines."""
    (only,) = events
    return json.dumps(only, indent=2) + "\n"


FORMATS: dict[str, Callable[[list[dict[str, Any]]], str]] = {
    "jsonl": jsonl,
    "batch": batch,
    "event": one,
}


def state_text(account: str) -> str:
    return (
        f"ledger-{account}  generation 3\n"
        f"  account     {account}\n"
        "  balance     22\n"
        '  currencies  ["EUR", "EUR", "USD"]\n'
        "  notes       []\n"
    )


# -- import: stored as the file has it, replayed as the current version -------------------


def assert_imports_as_written(escli: Run, domains: Path, tmp_path: Path, url: str) -> None:
    account = f"a{uuid.uuid4().hex[:8]}"
    events = history(account)
    path = tmp_path / "old.jsonl"
    path.write_text(jsonl(events))
    out = escli("import", str(path), "--store", url, "--domains", str(domains))
    assert (out.exit_code, out.stderr) == (0, "")
    assert out.stdout == (
        f"imported 3 events into 1 stream from {path}\n  ledger-{account}  generation 0 → 3\n"
    )
    stored = list(open_store(url).read(f"ledger-{account}"))
    assert [(r.event_type, r.type_version, r.data, r.event_id) for r in stored] == [
        (e["type"], e["typeversion"], e["data"], e["id"]) for e in events
    ]
    out = escli("replay", f"ledger-{account}", "--store", url, "--domains", str(domains))
    assert (out.exit_code, out.stderr) == (0, "")
    assert out.stdout == state_text(account)


def test_an_old_version_imports_into_sqlite_as_it_is_and_replays_as_the_current(
    escli: Run, domains: Path, tmp_path: Path, store_url: str
) -> None:
    assert_imports_as_written(escli, domains, tmp_path, store_url)


def test_an_old_version_imports_into_postgresql_as_it_is_and_replays_as_the_current(
    escli: Run, domains: Path, tmp_path: Path, postgres_schemas: Callable[[], str]
) -> None:
    assert_imports_as_written(escli, domains, tmp_path, postgres_schemas())


@needs_esdb_client
def test_an_old_version_imports_into_eventstoredb_as_it_is_and_replays_as_the_current(
    escli: Run, domains: Path, tmp_path: Path, esdb_url: str
) -> None:
    assert_imports_as_written(escli, domains, tmp_path, esdb_url)


def test_an_upcaster_that_changes_its_argument_changes_nothing_imported(
    escli: Run, tmp_path: Path, store_url: str
) -> None:
    """The check upcasts a copy: what is stored is the file's data, even from an upcaster
    that is not pure."""
    folder = tmp_path / "domains"
    folder.mkdir()
    impure = "    data['currency'] = 'EUR'\n    data['amount'] = 0\n    return data\n"
    text = LEDGER.replace('    return {**data, "currency": "EUR"}\n', impure)
    assert impure in text
    (folder / "ledger.py").write_text(text)
    path = tmp_path / "old.jsonl"
    path.write_text(jsonl([history()[0], event(2, {"account": "a1", "amount": 3})]))
    out = escli("import", str(path), "--domains", str(folder))
    assert out.exit_code == 0, out.stderr
    stored = [r.data for r in open_store(store_url).read("ledger-a1")]
    assert stored == [{"account": "a1", "amount": 10}, {"account": "a1", "amount": 3}]


# -- bad old-version events: refused, one line, nothing written ---------------------------


class Bad(NamedTuple):
    name: str
    event: dict[str, Any]  # put at generation 2, after a good 1.0 event
    code: int
    message: str  # after the location


BAD = [
    Bad(
        "upcaster raises",
        event(2, {"account": "a1", "amount": 5}, type="Credited"),
        11,
        "{domains}/ledger.py:{raises}: domain 'ledger': credited_is_deposited raised "
        "KeyError: 'sum' (upcaster credited_is_deposited (ledger.Credited v1.0 -> "
        "ledger.Deposited v1.0), upcasting ledger-a1 generation 2, event a1-e2) "
        "(decoding the event at {where})",
    ),
    Bad(
        "upcaster returns a non-dict",
        event(2, {"account": "a1", "text": "hi"}, type="Noted"),
        11,
        "{domains}/ledger.py:{returns}: domain 'ledger': upcaster noted_text (ledger.Noted v1.0 -> "
        "v2.0) returned 'hi' (a str), not a dict: an upcaster takes one event's data to one "
        "event's data, upcasting ledger-a1 generation 2, event a1-e2 "
        "(decoding the event at {where})",
    ),
    Bad(
        "upcast data misses a field",
        event(2, {"account": "a1"}),
        4,
        "{where}: ledger.Deposited v1.0 upcast by add_currency (ledger.Deposited v1.0 -> "
        "v2.0) field amount: missing",
    ),
    Bad(
        "upcast data of the wrong type",
        event(2, {"account": "a1", "amount": "5"}),
        4,
        "{where}: ledger.Deposited v1.0 upcast by add_currency (ledger.Deposited v1.0 -> "
        "v2.0) field amount: expected an integer, got '5'",
    ),
    Bad(
        "unknown version, no upcaster",
        event(2, {"account": "a1", "amount": 5}, version="0.9"),
        4,
        "{where}: domain 'ledger' has no event type ledger.Deposited v0.9 (it has v2.0): add "
        "an upcaster from it (@domain.upcaster) or keep its old class; see the README's "
        '"Changing a domain"; --skip-unknown skips such events',
    ),
    Bad(
        "unknown type, no upcaster",
        event(2, {"account": "a1"}, type="Frozen"),
        4,
        "{where}: domain 'ledger' has no event type ledger.Frozen v1.0: add an upcaster from "
        'it (@domain.upcaster) or keep its old class; see the README\'s "Changing a domain" '
        "(known: ledger.Deposited v2.0, ledger.Noted v2.0); --skip-unknown skips such events",
    ),
]


def line_of(text: str) -> int:
    return next(n for n, line in enumerate(LEDGER.splitlines(), 1) if text in line)


def where(fmt: str, path: Path) -> str:
    return {"jsonl": f"{path}:2", "batch": f"{path}: event 2", "event": str(path)}[fmt]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("bad", BAD, ids=lambda b: b.name)
@pytest.mark.parametrize("command", ["import", "import --dry-run", "replay --file"])
def test_an_old_version_the_upcasters_cannot_read_is_refused_and_nothing_written(
    escli: Run, domains: Path, tmp_path: Path, store_url: str, fmt: str, bad: Bad, command: str
) -> None:
    """The event is the file's second (an event file's only one, at generation 1, after a
    good 1.0 event has been imported): the good events before it are not written either."""
    good = event(1, {"account": "a1", "amount": 10})
    if fmt == "event":
        seeded = tmp_path / "good.jsonl"
        seeded.write_text(jsonl([good]))
        assert escli("import", str(seeded), "--domains", str(domains)).exit_code == 0
        events = [{**bad.event, "id": "a1-e2"}]
    else:
        events = [good, bad.event]
    before = snapshot(open_store(store_url)) if fmt == "event" else []
    path = tmp_path / f"bad.{fmt}"
    path.write_text(FORMATS[fmt](events))
    out = escli(*command.split(), str(path), "--domains", str(domains))
    at = {"raises": line_of("# raises"), "returns": line_of('upcaster("Noted"')}
    message = bad.message.format(domains=domains, where=where(fmt, path), **at)
    stderr = out.stderr.splitlines()
    assert (out.exit_code, out.stdout, stderr[0]) == (bad.code, "", f"Error: {message}")
    if bad.name == "upcaster raises":  # then the author's frames: the upcaster's only
        assert stderr[1:4] == [
            "Traceback (most recent call last):",
            f'  File "{domains}/ledger.py", line {line_of("# raises")}, in credited_is_deposited',
            '    return {"account": data["account"], "amount": data["sum"]}  # raises: KeyError',
        ]  # then the carets under data["sum"] (their form is the Python version's)
        assert stderr[-1] == "KeyError: 'sum'"
        assert [x for x in stderr if x.lstrip().startswith("File ")] == [stderr[2]]
    else:
        assert len(stderr) == 1, out.stderr
    assert snapshot(open_store(store_url)) == before


def test_a_bad_old_version_in_a_long_file_is_found_past_the_fast_path(
    escli: Run, domains: Path, tmp_path: Path, store_url: str
) -> None:
    """Lines as export writes them take the parser's fast path a chunk at a time; a chunk
    whose upcast data does not fit goes back to the general path, which locates it."""
    from escli.cloudevents.write import to_json
    from escli.stores.base import RecordedEvent

    def line(account: str, generation: int, amount: Any = 1) -> str:
        time = f"2026-01-01T00:00:00.{generation:06d}+00:00"
        data = {"account": account, "amount": amount}
        record = RecordedEvent(
            f"ledger-{account}", generation, f"{account}-e{generation}", "ledger.Deposited",
            "1.0", "test://ledger", data, time, 0,
        )  # fmt: skip
        return to_json(record) + "\n"

    good = [line("a1", g) for g in range(1, 2001)]
    path = tmp_path / "long.jsonl"
    path.write_text("".join(good))
    out = escli("import", str(path), "--domains", str(domains))
    assert (out.exit_code, out.stderr) == (0, "")
    stored = list(open_store(store_url).read("ledger-a1"))
    assert (len(stored), {r.type_version for r in stored}) == (2000, {"1.0"})
    assert {json.dumps(r.data) for r in stored} == {'{"account": "a1", "amount": 1}'}
    lines = [line("a2", g, True if g == 1501 else 1) for g in range(1, 2001)]
    path.write_text("".join(lines))
    out = escli("import", str(path), "--domains", str(domains))
    assert (out.exit_code, out.stderr) == (
        4,
        f"Error: {path}:1501: ledger.Deposited v1.0 upcast by add_currency (ledger.Deposited "
        "v1.0 -> v2.0) field amount: expected an integer, got True\n",
    )
    assert list(open_store(store_url).read("ledger-a2")) == []


# -- replay --file --------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["jsonl", "batch"])
def test_replay_file_reads_old_versions_through_the_upcasters(
    escli: Run, domains: Path, tmp_path: Path, fmt: str
) -> None:
    path = tmp_path / f"old.{fmt}"
    path.write_text(FORMATS[fmt](history()))
    out = escli("replay", "--file", str(path), "--domains", str(domains))
    assert (out.exit_code, out.stderr, out.stdout) == (0, "", state_text("a1"))


def test_replay_file_steps_and_to_generation_read_old_versions(
    escli: Run, domains: Path, tmp_path: Path
) -> None:
    """The steps show each event as the file holds it, and the state it made, upcast."""
    path = tmp_path / "old.jsonl"
    path.write_text(jsonl(history()))
    args = ["replay", "--file", str(path), "--domains", str(domains)]
    out = escli(*args, "--to-generation", "2", "--steps")
    assert (out.exit_code, out.stderr) == (0, "")
    assert masked(out.stdout) == (
        "ledger-a1  from generation 0\n"
        '    1  <id>  <time>  ledger.Deposited v1.0  {"account": "a1", "amount": 10}\n'
        '       → read as v2.0  {"account": "a1", "amount": 10, "currency": "EUR"}\n'
        "       balance     0 → 10\n"
        '       currencies  [] → ["EUR"]\n'
        '    2  <id>  <time>  ledger.Credited v1.0  {"account": "a1", "sum": 5}\n'
        "       → read as ledger.Deposited v2.0  "
        '{"account": "a1", "amount": 5, "currency": "EUR"}\n'
        "       balance     10 → 15\n"
        '       currencies  ["EUR"] → ["EUR", "EUR"]\n'
        "ledger-a1  generation 2\n"
        "  account     a1\n"
        "  balance     15\n"
        '  currencies  ["EUR", "EUR"]\n'
        "  notes       []\n"
    )
    out = escli(*args, "--steps", "--json")
    assert out.exit_code == 0, out.stderr
    replayed = json.loads(out.stdout)
    assert replayed["state"] == {
        "generation": 3,
        "account": "a1",
        "balance": 22,
        "currencies": ["EUR", "EUR", "USD"],
        "notes": [],
    }
    assert [(s["event"]["type"], s["event"]["version"]) for s in replayed["steps"]] == [
        ("ledger.Deposited", "1.0"),
        ("ledger.Credited", "1.0"),
        ("ledger.Deposited", "2.0"),
    ]
    assert [s["changed"]["balance"] for s in replayed["steps"]] == [[0, 10], [10, 15], [15, 22]]
    assert [s["event"].get("upcast", {}).get("version") for s in replayed["steps"]] == [
        "2.0",
        "2.0",
        None,  # current: read as stored
    ]


# -- from_cloudevent ------------------------------------------------------------------------


def cloudevent(record: dict[str, Any]) -> Any:
    from cloudevents.core.v1.event import CloudEvent

    attributes = {k: v for k, v in record.items() if k not in ("data", "time")}
    return CloudEvent(attributes, record["data"])


def test_from_cloudevent_gives_an_old_version_as_the_current_event(ledger: Domain) -> None:
    from escli.cloudevents.sdk import from_cloudevent

    deposited = ledger.events["ledger.Deposited", "2.0"]
    old, renamed, current = history()
    ce = cloudevent(old)
    assert from_cloudevent(ce, [ledger]) == deposited("a1", 10, "EUR")
    assert ce.get_data() == {"account": "a1", "amount": 10}  # left as it was
    assert from_cloudevent(cloudevent(renamed), [ledger]) == deposited("a1", 5, "EUR")
    assert from_cloudevent(cloudevent(current), [ledger]) == deposited("a1", 7, "USD")


@pytest.mark.parametrize(
    ("record", "error", "message"),
    [
        (event(1, {"account": "a1"}), InvalidInput, "CloudEvent a1-e1: ledger.Deposited v1.0 "
         "upcast by add_currency (ledger.Deposited v1.0 -> v2.0) field amount: missing"),
        (event(1, {"account": "a1"}, version="0.9"), InvalidInput, "CloudEvent a1-e1: domain "
         "'ledger' has no event type ledger.Deposited v0.9 (it has v2.0): add an upcaster"),
        (event(1, {"account": "a1", "amount": 1}, type="Credited"), DomainError,
         "credited_is_deposited raised KeyError: 'sum' (upcaster credited_is_deposited "
         "(ledger.Credited v1.0 -> ledger.Deposited v1.0), upcasting ledger-a1 generation 1, "
         "event a1-e1)"),
        (event(1, {"account": "a1", "text": "x"}, type="Noted"), DomainError,
         "upcaster noted_text (ledger.Noted v1.0 -> v2.0) returned 'x' (a str), not a dict"),
    ],
)  # fmt: skip
def test_from_cloudevent_refuses_an_old_version_the_upcasters_cannot_read(
    ledger: Domain, record: dict[str, Any], error: type[Exception], message: str
) -> None:
    from escli.cloudevents.sdk import from_cloudevent

    with pytest.raises(error) as caught:
        from_cloudevent(cloudevent(record), [ledger])
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_parsed_old_version_is_kept_as_it_is_and_decodes_as_the_current_event(
    ledger: Domain,
) -> None:
    """What a JetStream follow does with each message: check it, keep it, decode it."""
    from escli.cloudevents.parser import EventParser

    renamed = history()[1]
    generation, new, resolved = EventParser([ledger]).check(renamed)
    assert new is not None
    assert (generation, new.event_type, new.type_version, new.data) == (
        2,
        "ledger.Credited",
        "1.0",
        {"account": "a1", "sum": 5},
    )
    deposited = ledger.events["ledger.Deposited", "2.0"]
    assert resolved.decode(new.data) == deposited("a1", 5, "EUR")
    assert new.data == {"account": "a1", "sum": 5}
