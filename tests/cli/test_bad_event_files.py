"""Every defect of an event is one located error line with exit code 4, and nothing written,
in every file format and for both commands that read files (`import`, `replay --file`).

One table of defects (a function that spoils a valid event, and what the error says) runs
through every writer of every format in ``escli.cloudevents.files.FORMATS`` and through both
commands. A format without a writer, a kept attribute without its rows, or a check in the
parser that no row reaches fails a test here, so neither a new format nor a new check can
miss the table. Files that must be read (a byte-order mark, the edges of the time range,
optional attributes left out) run through the same writers and commands.
"""

from __future__ import annotations

import ast
import copy
import inspect
import json
import re
import textwrap
import traceback
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from escli import load_domain, open_store
from escli.cli import cli
from escli.cloudevents import parser as parser_module
from escli.cloudevents import times
from escli.cloudevents.files import FORMATS
from escli.cloudevents.mapping import KEPT, EventError
from escli.cloudevents.parser import EventParser
from escli.errors import InvalidInput
from escli.stores.base import NewEvent, StreamInfo
from tests.conftest import ROOT

# An attack as the combat sample writes it now (EntityAttacked 2.0, with its weapon): the
# defects below spoil a current event; old versions have their own table
# (tests/cloudevents/test_upcasting_files.py).
TEMPLATE: dict[str, Any] = json.loads(
    (ROOT / "sample_streams" / "combat-troll.jsonl").read_text(encoding="utf-8").splitlines()[0]
)
RANGE = (
    "escli keeps times in years 0001 to 9999, as written and in UTC "
    "(0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999Z)"
)
BOM = "\ufeff"


def valid_events(stream: str, count: int) -> list[dict[str, Any]]:
    """``count`` valid events of ``stream`` (generations 1..count), ids unique to it."""
    entity = stream.removeprefix("combat-")
    return [
        dict(
            TEMPLATE,
            id=f"{entity}-{generation}",
            subject=stream,
            generation=generation,
            data={"entity_id": entity, "damage": 1, "weapon": "axe"},
        )
        for generation in range(1, count + 1)
    ]


# --------------------------------------------------------------------------------------------
# Writers: each writes events in one format, the spoilt one at a place it can name.


@dataclass(frozen=True)
class Writer:
    name: str
    kind: str  # the format escli detects: one of FORMATS
    count: int  # events in the file
    spoilt: int  # the index of the event a defect spoils
    write: Callable[[list[Any]], str]

    def where(self, event: object) -> str:
        """Where an error about the spoilt event is located, after the file's name."""
        if self.kind == "jsonl":
            return f":{self.spoilt + 1}"
        if self.kind == "batch":
            return f": event {self.spoilt + 1}"
        # A one-event file holding what is not an object is read as JSON Lines.
        return "" if isinstance(event, dict) else ":1"


def _lines(events: list[Any]) -> str:
    return "".join(json.dumps(e) + "\n" for e in events)


def _batch(events: list[Any]) -> str:
    return "[\n" + ",\n".join(json.dumps(e) for e in events) + "\n]\n"


WRITERS = [
    Writer("jsonl", "jsonl", 3, 1, _lines),
    # Past the first chunk, where lines as escli writes them take the parser's fast paths.
    Writer("jsonl, 2nd chunk", "jsonl", 520, 515, _lines),
    Writer("batch", "batch", 3, 1, _batch),
    Writer("batch of one", "batch", 1, 0, _batch),
    Writer("event", "event", 1, 0, lambda events: json.dumps(events[0], indent=2) + "\n"),
    Writer("one-line jsonl", "event", 1, 0, _lines),
    Writer("event, no newline", "event", 1, 0, lambda events: json.dumps(events[0])),
]


def test_every_format_has_writers() -> None:
    assert sorted({w.kind for w in WRITERS}) == sorted(FORMATS)


# --------------------------------------------------------------------------------------------
# Commands: how each reads a file (stdin too, where the file is '-').


@dataclass(frozen=True)
class Command:
    name: str
    args: Callable[[str], list[str]]
    imports: bool  # it writes the file's events to the store
    stdin: bool = False


COMMANDS = [
    Command("import", lambda path: ["import", path], imports=True),
    Command("replay --file", lambda path: ["replay", "--file", path], imports=False),
]
STDIN_COMMANDS = [
    Command("import -", lambda path: ["import", "-"], imports=True, stdin=True),
    Command("replay --file -", lambda path: ["replay", "--file", "-"], imports=False, stdin=True),
]


# --------------------------------------------------------------------------------------------
# The defects.

Spoil = Callable[[dict[str, Any]], Any]


def drop(name: str) -> Spoil:
    return lambda event: {k: v for k, v in event.items() if k != name}


def put(name: str, value: Any) -> Spoil:
    return lambda event: dict(event, **{name: value})


def data(**changes: Any) -> Spoil:
    """The event with ``changes`` to its data (a value of ... removes the field)."""

    def spoil(event: dict[str, Any]) -> dict[str, Any]:
        fields = {k: v for k, v in event["data"].items() if changes.get(k) is not ...}
        fields.update({k: v for k, v in changes.items() if v is not ...})
        return dict(event, data=fields)

    return spoil


@dataclass(frozen=True)
class Defect:
    name: str
    spoil: Spoil
    message: str  # what the error line says after the location (a part of it)


# What a message about an attribute other producers' files lack adds: what takes them.
FOREIGN = "; for events escli did not write, use escli import --append"
# What a message about a datacontenttype escli does not take says escli takes.
TAKES_JSON = (
    "is not application/json: escli takes an event's data as a JSON object in data, with "
    "datacontenttype application/json or none (not text, nor data_base64)"
)

# Each kept attribute missing, null, empty and of a wrong type. None: the event is fine.
# A type that is wrong for `generation` must not be an integer, which would be a place.
ATTRIBUTE_DEFECTS: dict[str, dict[str, str | None]] = {
    "specversion": {
        "missing": "required attribute 'specversion' is missing",
        "null": "required attribute 'specversion' must not be null",
        "empty": "specversion '' is not supported; it must be exactly '1.0'",
        "wrong type": "specversion must be the string '1.0', got 7",
    },
    "id": {
        "missing": "required attribute 'id' is missing",
        "null": "required attribute 'id' must not be null",
        "empty": "id must not be empty",
        "wrong type": "id must be a string, got 7",
    },
    "source": {
        "missing": "required attribute 'source' is missing",
        "null": "required attribute 'source' must not be null",
        "empty": "source must not be empty",
        "wrong type": "source must be a string, got 7",
    },
    "type": {
        "missing": "required attribute 'type' is missing",
        "null": "required attribute 'type' must not be null",
        "empty": "type must not be empty",
        "wrong type": "type must be a string, got 7",
    },
    "subject": {
        "missing": "subject is missing: escli needs it to name the stream",
        "null": "subject is missing: escli needs it to name the stream",
        "empty": "subject must not be empty",
        "wrong type": "subject must be a string, got 7",
    },
    "time": {
        "missing": "time is missing: escli keeps the time of every event",
        "null": "time is missing: escli keeps the time of every event",
        "empty": "time must not be empty",
        "wrong type": "time must be a string, got 7",
    },
    "datacontenttype": {
        "missing": None,  # absent: application/json
        "null": None,
        "empty": "datacontenttype must not be empty",
        "wrong type": "datacontenttype must be a string, got 7",
    },
    "typeversion": {
        "missing": "extension attribute 'typeversion' (the event type's version) is missing"
        + FOREIGN,
        "null": "extension attribute 'typeversion' (the event type's version) is missing" + FOREIGN,
        "empty": 'typeversion must be a non-empty string, got ""',
        "wrong type": "typeversion must be a non-empty string, got 7",
    },
    "generation": {
        "missing": "extension attribute 'generation' (the event's place in its stream) is "
        "missing" + FOREIGN,
        "null": "extension attribute 'generation' (the event's place in its stream) is missing"
        + FOREIGN,
        "empty": 'generation must be a positive integer, got ""',
        "wrong type": 'generation must be a positive integer, got "1"',
    },
    "data": {
        "missing": "data is missing: an escli event's data is its fields",
        "null": "data must be a JSON object of the event's fields, got null",
        "empty": 'data must be a JSON object of the event\'s fields, got ""',
        "wrong type": "data must be a JSON object of the event's fields, got 7",
    },
}
SPOILS: dict[str, Callable[[str], Spoil]] = {
    "missing": drop,
    "null": lambda name: put(name, None),
    "empty": lambda name: put(name, ""),
    "wrong type": lambda name: put(name, "1" if name == "generation" else 7),
}


def test_every_kept_attribute_has_its_rows() -> None:
    assert list(ATTRIBUTE_DEFECTS) == list(KEPT)
    assert all(list(rows) == list(SPOILS) for rows in ATTRIBUTE_DEFECTS.values())


def time_out_of_range(time: str) -> Defect:
    return Defect(f"time {time}", put("time", time), f"time {time!r} is out of range: {RANGE}")


DEFECTS = [
    Defect(f"{name} {kind}", SPOILS[kind](name), message)
    for name, rows in ATTRIBUTE_DEFECTS.items()
    for kind, message in rows.items()
    if message is not None
] + [
    # Not an event at all.
    Defect("a number", lambda event: 7, "an event must be a JSON object, got 7"),
    Defect("a string", lambda event: "event", "an event must be a JSON object, got 'event'"),
    Defect("null", lambda event: None, "an event must be a JSON object, got null"),
    # The CloudEvents rules.
    Defect("specversion 0.3", put("specversion", "0.3"), "specversion '0.3' is not supported"),
    Defect(
        "specversion a number",
        put("specversion", 1.0),
        "specversion must be the string '1.0', got 1.0",
    ),
    Defect(
        "id with a control character",
        put("id", "a\u0001b"),
        "id contains control character U+0001 at index 1: 'a\\x01b'",
    ),
    Defect(
        "id with a surrogate",
        put("id", "a\ud800"),
        "id contains a lone surrogate U+D800 at index 1, which UTF-8 cannot encode: 'a\\ud800'",
    ),
    Defect(
        "source not a URI",
        put("source", "not a uri"),
        "source 'not a uri' is not a URI-reference (RFC 3986): character ' ' at index 3 must "
        "be percent-encoded",
    ),
    Defect(
        "time without offset",
        put("time", "2026-11-26T12:52:09"),
        "time '2026-11-26T12:52:09' has no UTC offset; append 'Z' or '+hh:mm'",
    ),
    Defect(
        "time a date only",
        put("time", "2026-11-26"),
        "time '2026-11-26' is a date only; a timestamp needs 'T', a time and an offset",
    ),
    Defect(
        "time on a day that does not exist",
        put("time", "2026-02-29T12:00:00Z"),
        "time '2026-02-29T12:00:00Z' has day 29; 2026-02 has 28 days",
    ),
    Defect(
        "time with an offset past 23:59",
        put("time", "2026-11-26T12:00:00+24:00"),
        "has offset +24:00; use -23:59..+23:59",
    ),
    Defect(  # the CloudEvents rule (data must then be text) in escli's words
        "datacontenttype not JSON",
        put("datacontenttype", "text/plain"),
        f"datacontenttype 'text/plain' {TAKES_JSON}",
    ),
    Defect(
        "datacontenttype not JSON, data text",
        lambda event: dict(event, datacontenttype="text/plain", data="ogre"),
        f"datacontenttype 'text/plain' {TAKES_JSON}",
    ),
    Defect(
        "datacontenttype not a media type",
        put("datacontenttype", "json"),
        "datacontenttype 'json' is not a media type",
    ),
    Defect(
        "data and data_base64",
        put("data_base64", "AAAA"),
        "event has both data and data_base64; keep only one",
    ),
    Defect("data_base64 not base64", put("data_base64", "!!!!"), "data_base64 '!!!!' is not valid"),
    Defect(
        "extension name in upper case",
        put("typeVersion", "1.0"),
        "attribute name 'typeVersion' may only use lower-case a-z and digits 0-9",
    ),
    Defect(
        "extension holding an object",
        put("colour", {"red": 1}),
        "extension 'colour' is a JSON object; extension values must be a string, boolean, "
        "32-bit integer or null",
    ),
    Defect(
        "generation past 32 bits",
        put("generation", 2**31),
        "generation 2147483648 is past the largest generation escli keeps, 2147483647 "
        "(CloudEvents writes a generation as a signed 32-bit integer)",
    ),
    Defect(
        "generation past 64 bits",
        put("generation", 2**63),
        "generation 9223372036854775808 is past the largest generation escli keeps, 2147483647 "
        "(CloudEvents writes a generation as a signed 32-bit integer)",
    ),
    Defect(
        "generation with a fraction",
        put("generation", 1.5),
        "extension 'generation' value 1.5 is a number with a fraction or exponent",
    ),
    # escli's rules.
    Defect(
        "data_base64 only",
        lambda event: dict(drop("data")(event), data_base64="AAAA"),
        "data_base64 (binary data) cannot be imported: an escli event's data is a JSON object",
    ),
    Defect(
        "an attribute escli does not keep",
        put("dataschema", "https://example.com/s.json"),
        "attribute 'dataschema' has no place in an escli store",
    ),
    Defect(
        "an extension that is not a string (metadata values are strings)",
        put("colour", 5),
        "extension attribute 'colour' is not a string: escli keeps extension attributes as "
        "the event's metadata, whose values are strings",
    ),
    # A causation or correlation id is an id, as --causation-id and --correlation-id take
    # one: escli trace finds events by it (the general path and the fast one alike).
    *(
        Defect(
            f"{name} {what}",
            put(name, value),
            f"extension attribute {name!r} {value!r} is not an id: give non-empty printable "
            "text (no control characters, no leading or trailing spaces)",
        )
        for name in ("causationid", "correlationid")
        for what, value in (("empty", ""), ("padded", " order-7"), ("spaces only", "  "))
    ),
    *(
        Defect(
            f"{name} too long",
            put(name, "c" * 501),
            f"extension attribute {name!r} 'cccccccccccccccccccc'... is not an id: it has 501 "
            "characters; an id has at most 500",
        )
        for name in ("causationid", "correlationid")
    ),
    Defect(
        "datacontenttype JSON but not application/json",
        put("datacontenttype", "text/json"),
        f"datacontenttype 'text/json' {TAKES_JSON}",
    ),
    Defect(
        "subject not a stream",
        put("subject", "ogre"),
        "subject 'ogre' does not name an escli stream: <domain>-<id>",
    ),
    Defect(
        "subject of an unknown domain",
        put("subject", "chess-knight"),
        "subject 'chess-knight': unknown domain 'chess'",
    ),
    Defect(
        "unknown type",
        put("type", "combat.EntityFrozen"),
        "domain 'combat' has no event type combat.EntityFrozen v2.0",
    ),
    Defect(
        "unknown type version",
        put("typeversion", "9.0"),
        "domain 'combat' has no event type combat.EntityAttacked v9.0 (it has v2.0): add an "
        "upcaster from it (@domain.upcaster) or keep its old class; see the README's "
        '"Changing a domain"',
    ),
    Defect("generation 0", put("generation", 0), "generation must be a positive integer, got 0"),
    Defect(
        "generation negative",
        put("generation", -1),
        "generation must be a positive integer, got -1",
    ),
    Defect(
        "generation true",
        put("generation", True),
        "generation must be a positive integer, got true",
    ),
    Defect(
        "time past the microsecond",
        put("time", "2026-11-26T12:52:09.1234567Z"),
        "has digits past the microsecond, which escli cannot keep",
    ),
    Defect(
        "time a leap second",
        put("time", "2016-12-31T23:59:60Z"),
        "is a leap second, which escli cannot keep",
    ),
    time_out_of_range("0000-06-01T00:00:00Z"),
    time_out_of_range("0000-12-31T23:00:00-02:00"),
    time_out_of_range("9999-12-31T23:59:59-14:00"),
    time_out_of_range("9999-12-31T23:59:59.999999-00:01"),
    time_out_of_range("0001-01-01T00:00:00+00:01"),
    time_out_of_range("0001-01-01T04:59:59.999999+05:00"),
    # Data that does not decode into the event class.
    Defect("data empty", put("data", {}), "combat.EntityAttacked v2.0 field entity_id: missing"),
    Defect("data a list", put("data", [1]), "data must be a JSON object of the event's fields"),
    Defect(
        "a field missing",
        data(damage=...),
        "combat.EntityAttacked v2.0 field damage: missing",
    ),
    Defect(
        "a field of the wrong type",
        data(damage="x"),
        "combat.EntityAttacked v2.0 field damage: expected an integer, got 'x'",
    ),
    Defect(
        "a boolean for an integer",
        data(damage=True),
        "combat.EntityAttacked v2.0 field damage: expected an integer, got True",
    ),
    Defect(
        "a fraction for an integer",
        data(damage=1.5),
        "combat.EntityAttacked v2.0 field damage: expected an integer, got 1.5",
    ),
    Defect("a field too many", data(colour="red"), "combat.EntityAttacked v2.0 field colour:"),
    # Text no store can keep: a lone surrogate anywhere in data.
    Defect(
        "a surrogate in a field",
        data(entity_id="og\ud800re"),
        "data at /data/entity_id contains a lone surrogate U+D800 at index 2, which UTF-8 "
        "cannot encode: 'og\\ud800re'",
    ),
    Defect(
        "a low surrogate alone",
        data(entity_id="\udc00"),
        "data at /data/entity_id contains a lone surrogate U+DC00 at index 0, which UTF-8 "
        "cannot encode",
    ),
    Defect(
        "two high surrogates",
        data(entity_id="\ud83d\ud83d"),
        "data at /data/entity_id contains a lone surrogate U+D83D at index 0, which UTF-8 "
        "cannot encode",
    ),
    Defect(
        "a surrogate in a member name",
        data(**{"\ud800": 1}),
        "data at /data has a member name that contains a lone surrogate U+D800 at index 0"
        ", which UTF-8 cannot encode: '\\ud800'",
    ),
    Defect(
        "a surrogate nested deep",
        data(extra={"a/b": [1, {"c": ["ok", "\n\udfff"]}]}),
        "data at /data/extra/a~1b/1/c/1 contains a lone surrogate U+DFFF at index 1"
        ", which UTF-8 cannot encode: '\\n\\udfff'",
    ),
    Defect(
        "a surrogate in a nested member name",
        data(extra={"k\udbff": None}),
        "data at /data/extra has a member name that contains a lone surrogate U+DBFF at index 1",
    ),
]


# --------------------------------------------------------------------------------------------
# Running a command against a store that already holds a stream.


@dataclass
class Outcome:
    exit_code: int
    stdout: str
    stderr: str


class Escli:
    """The CLI in-process against one store (shared by the module: each test uses streams
    of its own), as a non-terminal with no colour."""

    def __init__(self, store_url: str) -> None:
        self.store_url = store_url
        self.env = {"ESCLI_STORE": store_url, "NO_COLOR": "1", "COLUMNS": "100"}

    def __call__(self, *args: str, input: str | None = None) -> Outcome:
        result = CliRunner().invoke(
            cli, list(args), input=input, env=self.env, catch_exceptions=False
        )
        return Outcome(result.exit_code, result.stdout, result.stderr)

    def streams(self) -> list[StreamInfo]:
        store = open_store(self.store_url)
        try:
            return list(store.streams())
        finally:
            store.close()

    def data(self, stream: str) -> list[dict[str, Any]]:
        store = open_store(self.store_url)
        try:
            return [r.data for r in store.read(stream)]
        finally:
            store.close()


@pytest.fixture(scope="module")
def escli(tmp_path_factory: pytest.TempPathFactory) -> Escli:
    run = Escli(f"sqlite:///{tmp_path_factory.mktemp('store') / 'events.db'}")
    assert run("dispatch", "combat", "attack", "troll", "10").exit_code == 0
    return run


@pytest.fixture
def stream() -> str:
    return f"combat-{uuid.uuid4().hex[:12]}"


def write_file(
    tmp_path: Path, writer: Writer, events: list[Any], transform: Callable[[str], str] = str
) -> Path:
    path = tmp_path / ("events.jsonl" if writer.kind == "jsonl" else "events.json")
    path.write_text(transform(writer.write(events)), encoding="utf-8")
    return path


def run_on(escli: Escli, command: Command, path: Path) -> tuple[Outcome, str]:
    """The outcome and the name errors give the file."""
    if command.stdin:
        return escli(*command.args("-"), input=path.read_text(encoding="utf-8")), "<stdin>"
    return escli(*command.args(str(path))), str(path)


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c.name)
@pytest.mark.parametrize("writer", WRITERS, ids=lambda w: w.name)
@pytest.mark.parametrize("defect", DEFECTS, ids=lambda d: d.name)
def test_a_defect_is_one_located_error_line_and_nothing_is_written(
    escli: Escli, tmp_path: Path, stream: str, defect: Defect, writer: Writer, command: Command
) -> None:
    events: list[Any] = valid_events(stream, writer.count)
    spoilt = defect.spoil(copy.deepcopy(events[writer.spoilt]))
    events[writer.spoilt] = spoilt
    path = write_file(tmp_path, writer, events)
    before = escli.streams()
    out, name = run_on(escli, command, path)
    assert (out.exit_code, out.stdout) == (4, "")
    (line,) = out.stderr.splitlines()
    prefix = f"Error: {name}{writer.where(spoilt)}: "
    assert line.startswith(prefix)
    assert defect.message in line.removeprefix(prefix)
    assert escli.streams() == before


# --------------------------------------------------------------------------------------------
# What must be read: the same writers and commands, stdin too.


@dataclass(frozen=True)
class Fine:
    name: str
    spoil: Spoil = lambda event: event
    transform: Callable[[str], str] = str  # applied to the file's text


FINE = [
    Fine("as escli writes it"),
    Fine("with a byte-order mark", transform=lambda text: BOM + text),
    Fine("the earliest time", put("time", "0001-01-01T00:00:00Z")),
    Fine("the earliest time with an offset", put("time", "0001-01-01T05:00:00+05:00")),
    Fine("the latest time", put("time", "9999-12-31T23:59:59.999999Z")),
    Fine("the latest time with an offset", put("time", "9999-12-31T10:00:00.999999-13:59")),
    Fine("time in lower case", put("time", "2026-11-26t12:52:09.5z")),
    Fine("datacontenttype with parameters", put("datacontenttype", "application/json; x=y")),
    # json.dumps writes U+1F600 as a pair of escapes, "\ud83d\ude00": one character.
    Fine("a surrogate pair in data", data(entity_id="ogre \U0001f600")),
    Fine("text JSON escapes in data", data(entity_id="\u00e9\u0000\n\\ud800")),
] + [
    Fine(f"{name} {kind}", SPOILS[kind](name))
    for name, rows in ATTRIBUTE_DEFECTS.items()
    for kind, message in rows.items()
    if message is None
]


@pytest.mark.parametrize("command", COMMANDS + STDIN_COMMANDS, ids=lambda c: c.name)
@pytest.mark.parametrize("writer", WRITERS, ids=lambda w: w.name)
@pytest.mark.parametrize("fine", FINE, ids=lambda f: f.name)
def test_a_file_without_defects_is_read(
    escli: Escli, tmp_path: Path, stream: str, fine: Fine, writer: Writer, command: Command
) -> None:
    events = valid_events(stream, writer.count)
    events[writer.spoilt] = fine.spoil(events[writer.spoilt])
    path = write_file(tmp_path, writer, events, fine.transform)
    before = escli.streams()
    out, _ = run_on(escli, command, path)
    assert (out.exit_code, out.stderr) == (0, "")
    if command.imports:
        assert escli.streams() == sorted([*before, StreamInfo(stream, len(events), len(events))])
        assert escli.data(stream) == [e["data"] for e in events]
        again = escli("import", str(path), "--dry-run", "--json")
        assert json.loads(again.stdout)["format"] == writer.kind
    else:
        assert out.stdout.startswith(f"{stream}  generation {len(events)}\n")
        assert escli.streams() == before


# --------------------------------------------------------------------------------------------
# No check of the parser without a row.


def _raise_sites() -> dict[tuple[str, int], str]:
    """The file and line of each ``raise EventError`` in the parser's checks, with its source."""
    sites: dict[tuple[str, int], str] = {}
    for function in (EventParser.check, EventParser._resolve, times.stored_time):
        lines, first = inspect.getsourcelines(function)
        path = inspect.getsourcefile(function)
        tree = ast.parse(textwrap.dedent("".join(lines)))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Raise)
                and isinstance(node.exc, ast.Call)
                and isinstance(node.exc.func, ast.Name)
                and node.exc.func.id == "EventError"
            ):
                sites[path, first + node.lineno - 1] = ast.unparse(node.exc)
    return sites


def _raised_at(event: object) -> Iterator[tuple[str, int]]:
    parser = EventParser([load_domain("combat")])
    try:
        parser.add_object(event, 1, size=0)
    except EventError as e:
        for frame, line in traceback.walk_tb(e.__traceback__):
            if frame.f_code.co_filename in (parser_module.__file__, times.__file__):
                last = frame.f_code.co_filename, line
        yield last


# Raises no event can reach, with the reason.
UNREACHABLE = {
    "not an RFC 3339 timestamp": "stored_time is given only times the validator accepted",
}


def test_every_check_of_the_parser_is_met_by_a_defect() -> None:
    reached = {
        line
        for defect in DEFECTS
        for line in _raised_at(defect.spoil(copy.deepcopy(valid_events("combat-ogre", 1)[0])))
    }
    missed = [
        source
        for line, source in _raise_sites().items()
        if line not in reached and not any(re.search(p, source) for p in UNREACHABLE)
    ]
    assert missed == []


# --------------------------------------------------------------------------------------------
# The time range on a store: PostgreSQL refuses what is outside it, cleanly, from any source.

OUT_OF_RANGE = [
    "0000-06-01T00:00:00.000000+00:00",
    "9999-12-31T23:59:59.000000-14:00",
    "0001-01-01T00:00:00.000000+00:01",
]


def _new_event(stream: str, time: str) -> NewEvent:
    entity = stream.removeprefix("combat-")
    return NewEvent(
        "combat.EntityAttacked",
        "2.0",
        TEMPLATE["source"],
        {"entity_id": entity, "damage": 1, "weapon": "axe"},
        f"{entity}-{uuid.uuid4().hex}",
        time,
    )


@pytest.mark.parametrize("time", OUT_OF_RANGE)
def test_postgres_refuses_a_time_out_of_range_and_writes_nothing(
    postgres_url: str, stream: str, time: str
) -> None:
    store = open_store(postgres_url)
    event = _new_event(stream, time)
    try:
        with pytest.raises(InvalidInput) as refused:
            store.append(stream, [event], 0)
        assert str(refused.value) == (
            f"{stream}: event {event.event_id}: recorded time {time!r} is out of range: {RANGE}"
        )
        assert store.generation(stream) == 0
    finally:
        store.close()


def test_postgres_keeps_the_edges_of_the_range_exactly(postgres_url: str, stream: str) -> None:
    edges = [
        "0001-01-01T00:00:00.000000+00:00",
        "0001-01-01T05:00:00.000000+05:00",
        "9999-12-31T10:00:00.999999-13:59",
        "9999-12-31T23:59:59.999999+00:00",
    ]
    store = open_store(postgres_url)
    try:
        store.append(stream, [_new_event(stream, time) for time in edges], 0)
        assert [r.recorded_at for r in store.read(stream)] == edges
    finally:
        store.close()


@pytest.mark.parametrize("time", OUT_OF_RANGE)
def test_copying_a_time_out_of_range_into_postgres_is_one_error_line(
    escli: Escli, tmp_path: Path, postgres_url: str, stream: str, time: str
) -> None:
    # A SQLite store keeps any text as a time: one written before the range was checked.
    source = f"sqlite:///{tmp_path / 'old.db'}"
    old = open_store(source)
    try:
        old.append(stream, [_new_event(stream, "2026-11-26T12:52:09.000000+00:00")], 0)
        old.append(stream, [_new_event(stream, time)], 1)
    finally:
        old.close()
    out = escli("copy", source, postgres_url, stream)
    assert (out.exit_code, out.stdout) == (4, "")
    (line,) = out.stderr.splitlines()
    assert line.startswith(f"Error: {stream}: event ")
    assert line.endswith(f": recorded time {time!r} is out of range: {RANGE}")
    target = open_store(postgres_url)
    try:
        assert target.generation(stream) == 0
    finally:
        target.close()
