"""`escli import --append`: CloudEvents other producers wrote (made here with the
``cloudevents`` SDK itself), without escli's ``generation`` and ``typeversion``, appended
at the end of their streams; importing a file twice writes nothing the second time.

The combat domain's ``EntityAttacked`` is at 2.0 (``weapon``), with an upcaster from 1.0.
Every test runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent

from escli import load_domain
from escli.cloudevents.foreign import Foreign, dataschema_version
from escli.cloudevents.importing import import_file
from escli.stores.base import NewEvent, Store
from tests.conftest import Run, open_store, snapshot
from tests.stores.contract import new

SOURCE = "https://alerts.example.com/arena"
SCHEMAS = "https://alerts.example.com/schemas/attacked"
COMBAT = load_domain("combat")


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Overrides the SQLite default: each test on both stores ``--append`` works on."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'events.db'}"
    return str(request.getfixturevalue("postgres_schemas")())


def foreign(
    event_id: str, subject: str | None = "combat-ogre", data: dict[str, Any] | None = None,
    **attributes: Any,
) -> dict[str, Any]:  # fmt: skip
    """A CloudEvent as another producer's SDK writes it: no generation, no typeversion."""
    given = {"id": event_id, "source": SOURCE, "type": "combat.EntityAttacked"}
    if subject is not None:
        given["subject"] = subject
    given["time"] = datetime(2026, 1, 1, tzinfo=UTC)  # the SDK's default is now
    given.update(attributes)
    if data is None:
        data = {"entity_id": "ogre", "damage": 3, "weapon": "club"}
    written = JSONFormat().write(CloudEvent(given, data))
    return dict(json.loads(written))


def jsonl(events: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(e) + "\n" for e in events)


def batch(events: list[dict[str, Any]]) -> str:
    return json.dumps(events)


def stored(store_url: str, stream: str = "combat-ogre") -> list[tuple[Any, ...]]:
    return [
        (r.generation, r.event_id, r.event_type, r.type_version, r.data)
        for r in open_store(store_url).read(stream)
    ]


@pytest.mark.parametrize("write", [jsonl, batch], ids=["jsonl", "batch"])
def test_foreign_events_go_at_the_end_of_their_streams_in_file_order(
    escli: Run, tmp_path: Path, store_url: str, write: Any
) -> None:
    escli("dispatch", "combat", "attack", "ogre", "1")
    path = tmp_path / "alerts.json"
    path.write_text(write([foreign("a1"), foreign("a2"), foreign("t1", "combat-troll")]))
    out = escli("import", str(path), "--append")
    assert out.exit_code == 0, out.stderr
    club = {"entity_id": "ogre", "damage": 3, "weapon": "club"}
    assert stored(store_url)[1:] == [
        (2, "a1", "combat.EntityAttacked", "2.0", club),
        (3, "a2", "combat.EntityAttacked", "2.0", club),
    ]
    assert [r[:2] for r in stored(store_url, "combat-troll")] == [(1, "t1")]


@pytest.mark.parametrize("write", [jsonl, batch], ids=["jsonl", "batch"])
def test_importing_the_same_file_twice_writes_nothing_the_second_time(
    escli: Run, tmp_path: Path, store_url: str, write: Any
) -> None:
    path = tmp_path / "alerts.json"
    path.write_text(write([foreign("a1"), foreign("a2")]))
    assert escli("import", str(path), "--append").exit_code == 0
    before = snapshot(open_store(store_url))
    out = escli("import", str(path), "--append", "--json")
    assert out.exit_code == 0, out.stderr
    assert snapshot(open_store(store_url)) == before
    summary = json.loads(out.stdout)
    assert (summary["imported"], summary["already_stored"]) == (0, 2)
    assert summary["streams"][0]["generation"] == {"before": 2, "after": 2}


def test_an_id_stored_with_other_content_is_an_error_naming_it(
    escli: Run, tmp_path: Path, store_url: str
) -> None:
    path = tmp_path / "alerts.jsonl"
    path.write_text(jsonl([foreign("a1"), foreign("a2")]))
    escli("import", str(path), "--append")
    before = snapshot(open_store(store_url))
    edited = {"entity_id": "ogre", "damage": 9, "weapon": "axe"}
    path.write_text(jsonl([foreign("a1", data=edited), foreign("a2")]))
    out = escli("import", str(path), "--append")
    assert (out.exit_code, out.stderr) == (
        4,
        f"Error: {path}:1: event a1 is already stored at combat-ogre generation 1 with another "
        "data\n",
    )
    assert snapshot(open_store(store_url)) == before


def test_a_stream_template_names_the_stream_from_attributes(
    escli: Run, tmp_path: Path, store_url: str
) -> None:
    path = tmp_path / "alerts.jsonl"
    path.write_text(jsonl([foreign("a1", "ogre"), foreign("a2", None)]))
    out = escli("import", str(path), "--append", "--stream", "combat-{subject}")
    assert out.exit_code == 4  # the second event has no subject
    assert out.stderr == (
        f"Error: {path}:2: --stream 'combat-{{subject}}' names attribute 'subject', which "
        "this event has not\n"
    )
    path.write_text(jsonl([foreign("a1", None, arena="ogre"), foreign("a2", None, arena="troll")]))
    out = escli("import", str(path), "--append", "--stream", "combat-{arena}")
    assert out.exit_code == 0, out.stderr
    assert [r[:2] for r in stored(store_url)] == [(1, "a1")]
    assert [r[:2] for r in stored(store_url, "combat-troll")] == [(1, "a2")]


def test_the_type_version_comes_from_the_dataschema_and_old_ones_are_upcast(
    escli: Run, tmp_path: Path, store_url: str
) -> None:
    old = {"entity_id": "ogre", "damage": 4}  # 1.0: no weapon
    path = tmp_path / "alerts.jsonl"
    path.write_text(jsonl([
        foreign("a1", data=old, dataschema=f"{SCHEMAS}/v1.0"),
        foreign("a2", data=old, dataschema=f"{SCHEMAS}/1.0"),
        foreign("a3", data=old, typeversion="1.0", dataschema=f"{SCHEMAS}/v2.0"),
    ]))  # fmt: skip
    out = escli("import", str(path), "--append")
    assert out.exit_code == 0, out.stderr
    assert [r[3] for r in stored(store_url)] == ["1.0", "1.0", "1.0"]  # kept as the file has it
    upcast = escli("export", "combat-ogre", "--upcast")
    assert upcast.exit_code == 0, upcast.stderr
    assert [json.loads(line)["data"]["weapon"] for line in upcast.stdout.splitlines()] == [
        "fists",
        "fists",
        "fists",
    ]  # read through add_weapon


@pytest.mark.parametrize(
    ("uri", "version"),
    [
        (f"{SCHEMAS}/v2.0", "2.0"),
        (f"{SCHEMAS}/2.0", "2.0"),
        (f"{SCHEMAS}/v2", "2.0"),
        (f"{SCHEMAS}/v1.2.3/", "1.2.3"),
        (f"{SCHEMAS}/2", None),  # a bare number could be anything
        (f"{SCHEMAS}/attacked.json", None),
    ],
)
def test_the_dataschema_rule(uri: str, version: str | None) -> None:
    assert dataschema_version(uri) == version


# (attributes of the event, --stream arguments, its stream)
KEPT_AS_METADATA = [
    ("a subject", {"subject": "combat-ogre"}, (), "combat-ogre"),
    ("a template over the extension", {"subject": None}, ("--stream", "combat-{tenant}"),
     "combat-acme"),
    ("a template over the subject", {"subject": "ogre"}, ("--stream", "combat-{subject}"),
     "combat-ogre"),
    ("a template over both", {"subject": "ogre"}, ("--stream", "combat-{subject}-{tenant}"),
     "combat-ogre-acme"),
]  # fmt: skip


@pytest.mark.parametrize("fmt", ["jsonl", "batch", "event"])
@pytest.mark.parametrize(
    ("attributes", "args", "stream"),
    [c[1:] for c in KEPT_AS_METADATA],
    ids=[c[0] for c in KEPT_AS_METADATA],
)
def test_every_extension_attribute_is_kept_as_metadata_whether_a_template_names_it_or_not(
    escli: Run, tmp_path: Path, store_url: str, fmt: str, attributes: dict[str, Any],
    args: tuple[str, ...], stream: str,
) -> None:  # fmt: skip
    event = foreign("te-1", attributes["subject"], tenant="acme")
    path = tmp_path / "te.json"
    path.write_text({"jsonl": jsonl, "batch": batch, "event": json.dumps}[fmt](
        [event] if fmt != "event" else event
    ))  # fmt: skip
    out = escli("import", str(path), "--append", *args)
    assert out.exit_code == 0, out.stderr
    [recorded] = open_store(store_url).read(stream)
    assert recorded.metadata == {"tenant": "acme"}
    shown = json.loads(escli("event", "te-1", "--json").stdout)
    assert shown["metadata"] == {"tenant": "acme"}
    [exported] = [json.loads(line) for line in escli("export", stream).stdout.splitlines()]
    assert exported["tenant"] == "acme"


# Each defect is the second event of the file (jsonl, batch), or the only one (event).
DEFECTS = [
    ("no subject, no --stream", foreign("b", None), (),
     "subject is missing: escli needs it (or --stream TEMPLATE) to name the stream"),
    ("an unknown attribute in the template", foreign("b"), ("--stream", "combat-{tenant}"),
     "--stream 'combat-{tenant}' names attribute 'tenant', which this event has not"),
    ("a template making no <domain>-<id>", foreign("b", "ogre"), ("--stream", "{subject}"),
     "--stream '{subject}' makes 'ogre', not a <domain>-<id> stream"),
    ("a stream of no loaded domain", foreign("b", "arena-ogre"), (),
     "subject 'arena-ogre': unknown domain 'arena' (known: combat); --skip-unknown skips "
     "such events"),
    ("an unknown type", foreign("b", type="combat.EntityTickled"), (),
     "domain 'combat' has no event type 'combat.EntityTickled' (known: combat.EntityAttacked, "
     "combat.EntityDied, combat.EntityHealed, combat.EntitySpawned); --skip-unknown skips "
     "such events"),
    ("data that does not fit", foreign("b", data={"entity_id": "ogre", "damage": "x",
                                                  "weapon": "club"}), (),
     "combat.EntityAttacked v2.0 field damage: expected an integer, got 'x'"),
    ("data of an old version that does not fit", foreign("b", data={"entity_id": "ogre"},
                                                         dataschema=f"{SCHEMAS}/v1.0"), (),
     "combat.EntityAttacked v1.0 upcast by add_weapon (combat.EntityAttacked v1.0 -> v2.0) "
     "field damage: missing"),
]  # fmt: skip


@pytest.mark.parametrize("fmt", ["jsonl", "batch", "event"])
@pytest.mark.parametrize(
    ("event", "args", "message"), [d[1:] for d in DEFECTS], ids=[d[0] for d in DEFECTS]
)
def test_every_defect_is_one_error_and_nothing_is_written(
    escli: Run, tmp_path: Path, store_url: str, fmt: str, event: dict[str, Any],
    args: tuple[str, ...], message: str,
) -> None:  # fmt: skip
    escli("dispatch", "combat", "attack", "troll", "10")
    before = snapshot(open_store(store_url))
    path = tmp_path / "alerts.json"
    good = foreign("a", tenant="t") if "{tenant}" in " ".join(args) else foreign("a")
    where = {"jsonl": ":2", "batch": ": event 2", "event": ""}[fmt]
    path.write_text(
        {"jsonl": jsonl, "batch": batch}[fmt]([good, event])
        if fmt != "event"
        else json.dumps(event)
    )
    out = escli("import", str(path), "--append", *args)
    assert (out.exit_code, out.stdout) == (4, "")
    lines = out.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Error: {path}{where}: "), out.stderr
    assert lines[0] == f"Error: {path}{where}: {message}"
    assert snapshot(open_store(store_url)) == before


@pytest.mark.parametrize("fmt", ["jsonl", "batch", "event"])
def test_an_event_without_a_time_is_recorded_at_the_time_of_the_import(
    escli: Run, tmp_path: Path, store_url: str, fmt: str
) -> None:
    untimed = {k: v for k, v in foreign("m2").items() if k != "time"}
    events = [foreign("m1"), untimed] if fmt != "event" else [untimed]
    path = tmp_path / "more.json"
    path.write_text({"jsonl": jsonl, "batch": batch}[fmt](events) if fmt != "event"
                    else json.dumps(untimed))  # fmt: skip
    before = datetime.now(UTC)
    out = escli("import", str(path), "--append")
    after = datetime.now(UTC)
    assert out.exit_code == 0, out.stderr
    recorded = list(open_store(store_url).read("combat-ogre"))
    assert [r.event_id for r in recorded] == [e["id"] for e in events]
    at = datetime.fromisoformat(recorded[-1].recorded_at)
    assert before - timedelta(seconds=1) <= at <= after + timedelta(seconds=1)
    stored_before = snapshot(open_store(store_url))
    again = escli("import", str(path), "--append", "--json")  # the same events, by their ids
    assert again.exit_code == 0, again.stderr
    assert (json.loads(again.stdout)["already_stored"], snapshot(open_store(store_url))) == (
        len(events),
        stored_before,
    )
    plain = tmp_path / "plain.jsonl"  # escli's own format: every event has its time
    plain.write_text(jsonl([{**untimed, "typeversion": "2.0", "generation": 5}]))
    assert escli("import", str(plain)).stderr == (
        f"Error: {plain}: time is missing: escli keeps the time of every event\n"
    )


ARRAY = (
    "an event must be a JSON object, got a JSON array: a line of JSON Lines, or an element "
    "of a batch, is one event (a JSON object); a batch is a file holding one JSON array of "
    "events"
)
NOT_ESCLIS = (
    "extension attribute 'typeversion' (the event type's version) is missing; for events "
    "escli did not write, use escli import --append"
)
TEXT = {**foreign("b"), "datacontenttype": "text/plain"}
# (the file's text, the import's options, the error line after "Error: FILE")
SAYS_WHAT_TO_DO = [
    ("an array on a line of JSON Lines", jsonl([foreign("a")]) + json.dumps([foreign("b")]),
     ("--append",), f":2: {ARRAY}"),
    ("an array in a batch", batch([foreign("a"), [foreign("b")]]), ("--append",),
     f": event 2: {ARRAY}"),
    ("another producer's JSON Lines without --append", jsonl([foreign("a"), foreign("b")]),
     (), f":1: {NOT_ESCLIS}"),
    ("another producer's batch without --append", batch([foreign("a")]), (),
     f": event 1: {NOT_ESCLIS}"),
    ("another producer's event without --append", json.dumps(foreign("a")), (),
     f": {NOT_ESCLIS}"),
    *((f"text data, {fmt}", write([foreign("a"), TEXT]), ("--append",),
       f"{where}: datacontenttype 'text/plain' is not application/json: escli takes an "
       "event's data as a JSON object in data, with datacontenttype application/json or "
       "none (not text, nor data_base64)")
      for fmt, write, where in (("jsonl", jsonl, ":2"), ("batch", batch, ": event 2"))),
]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "args", "says"), [c[1:] for c in SAYS_WHAT_TO_DO], ids=[c[0] for c in SAYS_WHAT_TO_DO]
)
def test_a_message_says_what_to_do_instead(
    escli: Run, tmp_path: Path, store_url: str, text: str, args: tuple[str, ...], says: str
) -> None:
    path = tmp_path / "alerts.json"
    path.write_text(text)
    out = escli("import", str(path), *args)
    assert (out.exit_code, out.stderr) == (4, f"Error: {path}{says}\n")
    assert snapshot(open_store(store_url)) == []


def test_without_append_a_foreign_event_is_refused_as_before(escli: Run, tmp_path: Path) -> None:
    path = tmp_path / "alerts.jsonl"
    path.write_text(jsonl([foreign("a1")]))
    out = escli("import", str(path))
    assert out.exit_code == 4
    assert "'typeversion'" in out.stderr
    assert escli("import", str(path), "--stream", "combat-{subject}").exit_code == 2


def test_an_id_the_store_holds_in_another_stream_is_an_error(
    escli: Run, tmp_path: Path, store_url: str
) -> None:
    path = tmp_path / "alerts.jsonl"
    path.write_text(jsonl([foreign("a1"), foreign("a2")]))
    escli("import", str(path), "--append")
    before = snapshot(open_store(store_url))
    path.write_text(jsonl([foreign("a3", "combat-troll"), foreign("a1", "combat-troll")]))
    out = escli("import", str(path), "--append")
    assert (out.exit_code, out.stderr) == (
        4,
        f"Error: {path}:2: event id a1 is already stored, at combat-ogre generation 1\n",
    )
    assert snapshot(open_store(store_url)) == before


def test_an_id_the_file_repeats_is_an_error(escli: Run, tmp_path: Path, store_url: str) -> None:
    path = tmp_path / "alerts.jsonl"
    path.write_text(jsonl([foreign("a1"), foreign("a2"), foreign("a1")]))
    out = escli("import", str(path), "--append")
    assert (out.exit_code, out.stderr) == (4, f"Error: {path}:3: event id a1 repeats line 1\n")
    assert snapshot(open_store(store_url)) == []


def test_a_dry_run_says_what_would_be_appended_and_writes_nothing(
    escli: Run, tmp_path: Path, store_url: str
) -> None:
    escli("dispatch", "combat", "attack", "ogre", "1")
    before = snapshot(open_store(store_url))
    path = tmp_path / "alerts.jsonl"
    path.write_text(jsonl([foreign("a1"), foreign("a2")]))
    out = escli("import", str(path), "--append", "--dry-run", "--json")
    assert out.exit_code == 0, out.stderr
    stream = json.loads(out.stdout)["streams"][0]
    assert (stream["generation"], stream["imported"]) == ({"before": 1, "after": 3}, 2)
    assert snapshot(open_store(store_url)) == before


def test_standard_input_is_read_as_a_file(escli: Run, store_url: str) -> None:
    out = escli("import", "-", "--append", input=batch([foreign("a1"), foreign("a2")]))
    assert out.exit_code == 0, out.stderr
    assert [r[:2] for r in stored(store_url)] == [(1, "a1"), (2, "a2")]


class Gated:
    """A store an import is given in a thread of its own: ``checked`` is set when the
    import is about to begin its transaction, its checks done (then it goes on)."""

    def __init__(self, store: Store) -> None:
        self.store, self.url = store, store.url
        self.checked = threading.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    def transaction(self) -> AbstractContextManager[None]:
        self.checked.set()
        return self.store.transaction()  # type: ignore[attr-defined, no-any-return]

    def append_streams(self, appends: Sequence[tuple[str, Sequence[NewEvent], int]]) -> None:
        self.store.append_streams(appends)  # type: ignore[attr-defined]


@pytest.mark.parametrize("write", [jsonl, batch], ids=["jsonl", "batch"])
@pytest.mark.parametrize("same_file", [False, True], ids=["two files", "one file twice"])
def test_concurrent_imports_append_after_each_other_and_lose_nothing(
    escli: Run, tmp_path: Path, store_url: str, write: Any, same_file: bool
) -> None:
    """Both imports check the stream while a third writer holds the store's lock, and wait;
    it then moves the stream's end, and so does whichever import commits first: each import
    looks again and goes after them (events of the same file are found stored: skipped)."""
    escli("dispatch", "combat", "spawn", "conc", "100000")
    files = []
    for tag in ("cA", "cA" if same_file else "cB"):
        path = tmp_path / f"{tag}.json"
        path.write_text(write([foreign(f"{tag}-{n}", "combat-conc") for n in range(300)]))
        files.append(path)
    holder = open_store(store_url)
    imports = [Gated(open_store(store_url)) for _ in files]
    results: list[Any] = [None, None]

    def run(n: int) -> None:
        try:
            results[n] = import_file(str(files[n]), [COMBAT], imports[n], foreign=Foreign())
        except Exception as e:  # the assertion below shows it
            results[n] = e

    threads = [threading.Thread(target=run, args=(n,)) for n in (0, 1)]
    with holder.transaction():  # type: ignore[attr-defined]
        holder.append("combat-conc", [new({"entity_id": "conc", "damage": 1})], 1)
        for thread in threads:
            thread.start()
        for store in imports:
            assert store.checked.wait(30)
    for thread in threads:
        thread.join(60)
    assert [type(r).__name__ for r in results] == ["ImportResult", "ImportResult"], results
    first, second = sorted(results, key=lambda r: r.streams[0].before)
    tags = [Path(first.name).stem] + ([] if same_file else [Path(second.name).stem])
    ids = [r.event_id for r in open_store(store_url).read("combat-conc")]
    assert len(ids) == len(set(ids))  # nothing twice
    assert ids[2:] == [f"{tag}-{n}" for tag in tags for n in range(300)]  # nothing lost
    assert [(s.before, s.after, s.present) for r in (first, second) for s in r.streams] == [
        (2, 302, 0),
        (302, 302, 300) if same_file else (302, 602, 0),
    ]
