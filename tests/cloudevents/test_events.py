"""escli.cloudevents (mapping, times, write, read, sdk): the mapping, the fast JSON path against
the SDK's own writer, strict reading (fast path against the general one), and the spec's JSON
schema on every export."""

from __future__ import annotations

import ast
import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import escli
from escli import Domain
from escli.cloudevents import write
from escli.cloudevents.mapping import EventError
from escli.cloudevents.parser import EventParser
from escli.cloudevents.sdk import from_cloudevent, sdk_json, to_cloudevent
from escli.cloudevents.times import sdk_time, stored_time
from escli.cloudevents.validate import validate_event
from escli.cloudevents.write import to_json
from escli.errors import InvalidInput, StoreError
from escli.jsontext import data_values
from escli.stores.base import NewEvent, RecordedEvent
from escli.stores.metadata import RESERVED
from tests.test_startup import probe

SCHEMA_PATH = (
    Path(__file__).resolve().parents[2].parent
    / "shared"
    / "spec"
    / "cloudevents"
    / "cloudevents.json"
)


def _schema_validator() -> tuple[Any, str]:
    """(Draft7Validator with format checking, "") or (None, why the check is skipped)."""
    if not SCHEMA_PATH.is_file():
        return None, f"the CloudEvents JSON schema is not at {SCHEMA_PATH}"
    from jsonschema import Draft7Validator

    checker = Draft7Validator.FORMAT_CHECKER
    missing = {"date-time", "uri", "uri-reference"} - set(checker.checkers)
    if missing:
        return None, f"jsonschema cannot check formats {sorted(missing)}"
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return Draft7Validator(schema, format_checker=checker), ""


SCHEMA, SCHEMA_SKIP_REASON = _schema_validator()


def assert_spec_valid(line: str, *, schema: bool) -> None:
    """The JSON text of one event passes the validator's rules and, if asked, the schema."""
    event = json.loads(line)
    errors = [p for p in validate_event(event) if p.severity == "error"]
    assert errors == [], (line, errors)
    if schema:
        assert SCHEMA is not None
        assert list(SCHEMA.iter_errors(event)) == [], line


RECORD = RecordedEvent(
    stream="combat-ogre",
    generation=3,
    event_id="9f4c2b7e-1d2a-4c1e-8a55-0b6f3e2d1c00",
    event_type="combat.EntityAttacked",
    type_version="1.0",
    source="events://escli/samples/combat",
    data={"entity_id": "ogre", "damage": 150},
    recorded_at="2026-11-26T12:30:00.123456+00:00",
    position=17,
)


# --------------------------------------------------------------------------------------------
# The mapping.


def test_a_recorded_event_maps_to_these_attributes_in_this_order() -> None:
    assert to_json(RECORD) == (
        '{"specversion": "1.0", "id": "9f4c2b7e-1d2a-4c1e-8a55-0b6f3e2d1c00", '
        '"source": "events://escli/samples/combat", "type": "combat.EntityAttacked", '
        '"subject": "combat-ogre", "time": "2026-11-26T12:30:00.123456Z", '
        '"datacontenttype": "application/json", "typeversion": "1.0", "generation": 3, '
        '"data": {"entity_id": "ogre", "damage": 150}}'
    )


def test_exporting_twice_gives_the_same_text() -> None:
    assert to_json(RECORD) == to_json(RecordedEvent(*RECORD))


def test_to_cloudevent_returns_the_sdks_event_with_the_mapped_attributes() -> None:
    from cloudevents.core.v1.event import CloudEvent

    ce = to_cloudevent(RECORD)
    assert isinstance(ce, CloudEvent)
    assert (ce.get_id(), ce.get_source(), ce.get_type(), ce.get_subject()) == (
        RECORD.event_id,
        RECORD.source,
        RECORD.event_type,
        "combat-ogre",
    )
    assert ce.get_time() is not None and ce.get_time().isoformat() == RECORD.recorded_at
    assert ce.get_datacontenttype() == "application/json"
    assert ce.get_dataschema() is None
    assert (ce.get_extension("typeversion"), ce.get_extension("generation")) == ("1.0", 3)
    assert ce.get_data() == RECORD.data


def test_from_cloudevent_decodes_the_domain_event_from_the_sdks_parse(combat: Domain) -> None:
    from cloudevents.core.formats.json import JSONFormat

    ce = JSONFormat().read(None, to_json(RECORD))
    event = from_cloudevent(ce, [combat])
    # RECORD is an attack stored at 1.0: it comes back as the current event, upcast.
    assert event == combat.events["combat.EntityAttacked", "2.0"]("ogre", 150, "fists")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"typeversion": "9.9"},
            r"^CloudEvent e1: domain 'combat' has no event type "
            r"combat.EntityAttacked v9.9 \(it has v[^)]*\): add an upcaster from it "
            r"\(@domain.upcaster\) or keep its old class; see the README's \"Changing a domain\"$",
        ),
        ({"subject": "chess-knight"}, "no loaded domain has event type combat.EntityAttacked v1.0"),
        ({"subject": "ogre"}, "stream name 'ogre' is not of the form <domain>-<id>"),
        (
            {"data": {"entity_id": "ogre"}},
            r"^CloudEvent e1: combat.EntityAttacked v1.0 upcast by add_weapon "
            r"\(combat.EntityAttacked v1.0 -> v2.0\) field damage: missing$",
        ),
        (
            {"typeversion": "2.0", "data": {"entity_id": "ogre", "damage": 1}},
            "^CloudEvent e1: combat.EntityAttacked field weapon: missing$",
        ),
    ],
)
def test_from_cloudevent_refuses_what_is_not_an_escli_event(
    combat: Domain, change: dict[str, Any], message: str
) -> None:
    from cloudevents.core.v1.event import CloudEvent

    attributes = {"id": "e1", "source": "x:y", "type": "combat.EntityAttacked"}
    attributes |= {"subject": "combat-ogre", "typeversion": "1.0"}
    data = change.pop("data", {"entity_id": "ogre", "damage": 1})
    with pytest.raises(InvalidInput, match=message):
        from_cloudevent(CloudEvent(attributes | change, data), [combat])


@pytest.mark.parametrize(
    ("recorded_at", "time"),
    [
        ("2026-11-26T12:30:00.123456+00:00", "2026-11-26T12:30:00.123456Z"),
        ("2026-11-26T12:30:00.000000+00:00", "2026-11-26T12:30:00Z"),
        ("2026-11-26T12:30:00.120000+02:00", "2026-11-26T12:30:00.120000+02:00"),
        ("2026-11-26T12:30:00.000000-05:30", "2026-11-26T12:30:00-05:30"),
        ("2026-11-26T12:30:00Z", "2026-11-26T12:30:00Z"),
        ("2026-11-26T12:30:00.5-00:00", "2026-11-26T12:30:00.500000Z"),
    ],
)
def test_time_is_what_the_sdk_writes_for_the_recorded_datetime(recorded_at: str, time: str) -> None:
    record = RECORD._replace(recorded_at=recorded_at)
    assert sdk_time(recorded_at) == time
    assert to_json(record) == sdk_json(record)


@pytest.mark.parametrize(
    ("time", "stored"),
    [
        ("2026-11-26T12:30:00.123456Z", "2026-11-26T12:30:00.123456+00:00"),
        ("2026-11-26T12:30:00Z", "2026-11-26T12:30:00.000000+00:00"),
        ("2026-11-26t12:30:00.5z", "2026-11-26T12:30:00.500000+00:00"),
        ("2026-11-26T12:30:00.123456000+02:00", "2026-11-26T12:30:00.123456+02:00"),
        ("2026-11-26T12:30:00-00:00", "2026-11-26T12:30:00.000000+00:00"),
    ],
)
def test_imported_times_are_stored_as_escli_stores_its_own(time: str, stored: str) -> None:
    assert stored_time(time) == stored


@pytest.mark.parametrize(
    ("time", "message"),
    [
        ("2026-11-26T12:30:00.1234567Z", "digits past the microsecond"),
        ("2026-12-31T23:59:60Z", "leap second"),
    ],
)
def test_times_escli_cannot_keep_exactly_are_refused(time: str, message: str) -> None:
    with pytest.raises(EventError, match=message):
        stored_time(time)


def test_a_stored_value_that_cannot_be_a_cloudevent_is_not_exported() -> None:
    with pytest.raises(StoreError, match="cannot be exported as CloudEvents: source"):
        to_json(RECORD._replace(source="not a uri"))
    with pytest.raises(StoreError, match="generation 2147483648 is past the largest generation"):
        to_json(RECORD._replace(generation=2**31))


# --------------------------------------------------------------------------------------------
# The fast path writes what the SDK writes, byte for byte.

# JSON-ready text of every kind: quotes, backslashes, control characters, non-ASCII, astral.
texts = st.text(st.characters(exclude_categories=["Cs"]), max_size=12)
printable = st.text(st.characters(categories=["L", "N", "P", "S"]), min_size=1, max_size=12)
combat_data = st.one_of(
    st.fixed_dictionaries({"entity_id": texts, "damage": st.integers()}),
    st.fixed_dictionaries({"entity_id": texts, "amount": st.integers(-(2**70), 2**70)}),
    st.fixed_dictionaries({"entity_id": texts}),
)
KINDS = {
    "damage": "combat.EntityAttacked",
    "amount": "combat.EntityHealed",
    "hitpoints": "combat.EntitySpawned",
}
instants = st.datetimes(
    min_value=datetime(1970, 1, 1),
    timezones=st.sampled_from(
        [UTC, timezone(timedelta(hours=2)), timezone(-timedelta(hours=5, minutes=30))]
    ),
)


# Metadata names as ``--meta`` takes them (and the three escli writes).
metadata_names = st.from_regex("[a-z0-9]{1,20}", fullmatch=True).filter(
    lambda name: name not in RESERVED - {"causationid", "correlationid", "command"}
)


@st.composite
def records(draw: st.DrawFn) -> RecordedEvent:
    data = draw(combat_data)
    kind = next((KINDS[k] for k in data if k in KINDS), "combat.EntityDied")
    return RecordedEvent(
        stream="combat-" + draw(printable),
        generation=draw(st.integers(1, 2**31 - 1)),
        event_id=draw(printable),
        event_type=kind,
        type_version="1.0",
        source=draw(st.sampled_from(["events://escli/samples/combat", "urn:x:y", "/a/b"])),
        data=data,
        recorded_at=draw(instants).isoformat(timespec="microseconds"),
        position=1,
        metadata=draw(st.none() | st.dictionaries(metadata_names, printable, max_size=4)),
    )


@settings(max_examples=300, database=None)
@given(records())
def test_the_fast_path_writes_the_sdks_bytes(record: RecordedEvent) -> None:
    assert to_json(record) == sdk_json(record)


def finite(value: object) -> bool:
    """Whether a JSON value holds no NaN or infinity (which the SDK's JSON is not asked for)."""
    if isinstance(value, float):
        return value == value and value not in (float("inf"), float("-inf"))
    if isinstance(value, dict):
        return all(map(finite, value.values()))
    if isinstance(value, list):
        return all(map(finite, value))
    return True


# Any JSON value: the data writer builds flat objects member by member, the rest whole.
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(),
    texts,
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=8,
)
json_objects = st.dictionaries(texts, json_values, max_size=5)


@settings(max_examples=500, database=None)
@given(json_objects)
def test_the_data_writer_writes_what_the_json_encoder_writes(data: dict[str, Any]) -> None:
    assert write._encode_data(data) == json.dumps(data)


@settings(max_examples=200, database=None)
@given(records(), st.dictionaries(texts, json_values, max_size=5).filter(finite))
def test_the_fast_path_writes_the_sdks_bytes_for_any_json_data(
    record: RecordedEvent, data: dict[str, Any]
) -> None:
    record = record._replace(data=data)
    assert to_json(record) == sdk_json(record)


@pytest.mark.skipif(SCHEMA is None, reason=SCHEMA_SKIP_REASON or "n/a")
@settings(max_examples=100, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(records())
def test_every_exported_event_validates_against_the_specs_schema(record: RecordedEvent) -> None:
    assert_spec_valid(to_json(record), schema=True)


@settings(max_examples=200, database=None)
@given(records())
def test_every_exported_event_passes_the_validators_rules(record: RecordedEvent) -> None:
    assert_spec_valid(to_json(record), schema=False)


# --------------------------------------------------------------------------------------------
# Reading: the fast path gives what the general path gives, or leaves the line to it.


def outcome(parser: EventParser, before: int = 0) -> tuple[Any, ...]:
    """What a parser took in after its first ``before`` events: ("ok", stream, event...)."""
    ((stream, generation, location, event),) = zip(
        parser.stream_names[before:],
        parser.generations[before:],
        parser.locations[before:],
        parser.events[before:],
        strict=True,
    )
    return ("ok", stream, generation, location, event)


def read_general(combat: Domain, text: str) -> tuple[Any, ...]:
    """The general path alone: strict JSON, the validator, escli's rules."""
    from escli.jsontext import loads_json_object_strict

    parser = EventParser([combat])
    try:
        event = loads_json_object_strict(text)
        parser.add_object(event, 1)
    except (EventError, ValueError):
        return ("error",)
    return outcome(parser)


def read_fast(combat: Domain, warm_up: str, text: str) -> tuple[Any, ...]:
    """``text`` read by ``add_line`` after ``warm_up`` filled the fast path's cache."""
    parser = EventParser([combat])
    parser.add_line(warm_up, 0)
    try:
        parser.add_line(text, 1)
    except EventError:
        return ("error",)
    return outcome(parser, 1)


def read_chunk(combat: Domain, warm_up: str, text: str) -> tuple[Any, ...]:
    """``text`` read by the chunk path (``add_lines``), or by ``add_line`` when it declines."""
    parser = EventParser([combat])
    parser.add_line(warm_up, 0)
    if not parser.add_lines([text.removesuffix("\n")], 1):
        assert (len(parser.events), parser.count) == (1, 1), "declined, and added nothing"
        try:
            parser.add_line(text, 1)
        except EventError:
            return ("error",)
    return outcome(parser, 1)


@settings(max_examples=300, database=None)
@given(records())
def test_reading_a_written_line_gives_back_the_record(record: RecordedEvent) -> None:
    from escli_combat import domain as combat

    line = to_json(record)
    fast = read_fast(combat, line, line)
    assert fast == read_general(combat, line) == read_chunk(combat, line, line)
    assert fast[0] == "ok", line
    _, _, generation, _, event = fast
    assert (generation, event.event_id, event.data) == (
        record.generation,
        record.event_id,
        record.data,
    )
    assert sdk_time(event.recorded_at) == sdk_time(record.recorded_at)
    assert dict(event.metadata or {}) == dict(record.metadata or {})


@settings(max_examples=500, database=None)
@given(records(), st.data())
def test_a_damaged_line_reads_the_same_on_both_paths(record: RecordedEvent, data: Any) -> None:
    from escli_combat import domain as combat

    line = to_json(record)
    start = data.draw(st.integers(0, len(line)))
    end = data.draw(st.integers(start, min(len(line), start + 4)))
    insert = data.draw(st.text(alphabet='{}[]":, 0123456789Zaz.-T\\"', max_size=4))
    damaged = line[:start] + insert + line[end:]
    general = read_general(combat, damaged)
    assert read_fast(combat, line, damaged) == general
    assert read_chunk(combat, line, damaged) == general


def test_the_fast_paths_are_taken_for_exported_lines(combat: Domain, monkeypatch: Any) -> None:
    parser = EventParser([combat])
    parser.add_line(to_json(RECORD), 1)
    monkeypatch.setattr(parser, "check", None)  # the general path would fail now
    parser.add_line(to_json(RECORD._replace(generation=4, event_id="e2")), 2)
    chunk = [to_json(RECORD._replace(generation=g, event_id=f"e{g}")) for g in (5, 6, 7)]
    assert parser.add_lines(chunk, 3)
    assert parser.generations == [3, 4, 5, 6, 7]
    assert parser.locations == [1, 2, 3, 4, 5]
    assert [e.event_id for e in parser.events] == [RECORD.event_id, "e2", "e5", "e6", "e7"]


def test_the_fast_paths_read_lines_with_metadata(combat: Domain, monkeypatch: Any) -> None:
    why = {"causationid": "c-1", "correlationid": "o-7", "command": "Attack", "user": "ann"}
    with_why = RECORD._replace(metadata=why)
    parser = EventParser([combat])
    parser.add_line(to_json(with_why), 1)
    monkeypatch.setattr(parser, "check", None)  # the general path would fail now
    parser.add_line(to_json(with_why._replace(generation=4, event_id="e2")), 2)
    chunk = [to_json(with_why._replace(generation=g, event_id=f"e{g}")) for g in (5, 6)]
    chunk.append(to_json(RECORD._replace(generation=7, event_id="e7")))
    assert parser.add_lines(chunk, 3)
    assert [e.metadata for e in parser.events] == [why, why, why, why, None]


GOOD = to_json(RECORD._replace(event_id="e2"))


@pytest.mark.parametrize(
    "odd",
    [
        GOOD.replace('"generation": 3', '"generation": 2147483648'),  # ten digits
        to_json(RECORD._replace(event_id="e3", event_type="combat.EntityHealed")),  # unseen
        GOOD.replace('"damage": 150', '"damage": "x"'),  # does not fit its class
        GOOD.replace('"damage": 150', '"damage": 150, "damage": 1'),  # duplicate member
        GOOD.replace("2026-11-26", "2026-02-30"),  # no such day
        GOOD.replace('"data": {', '"data": {"x": {}, '),  # a nested object, not a field
        GOOD.replace('"id": "e2"', '"id": "e\\u0032"'),  # an escape
    ],
)
def test_a_chunk_with_any_doubt_is_declined_whole(combat: Domain, odd: str) -> None:
    parser = EventParser([combat])
    parser.add_line(to_json(RECORD), 1)
    assert not parser.add_lines([GOOD, odd], 2)
    assert (len(parser.events), parser.count) == (1, 1)


def test_a_chunk_of_several_streams_and_types_is_read_whole(combat: Domain) -> None:
    records = [
        RECORD._replace(stream=f"combat-e{n % 3}", generation=n // 3 + 1, event_id=f"i{n}")
        for n in range(30)
    ]
    records += [
        RECORD._replace(event_type="combat.EntityDied", data={"entity_id": "x"}, event_id=f"d{n}")
        for n in range(3)
    ]
    parser = EventParser([combat])
    for n, record in enumerate(records[:3] + records[-1:]):
        parser.add_line(to_json(record), n)
    assert parser.add_lines([to_json(r) for r in records], 100)
    assert parser.events[4:] == [
        NewEvent(
            r.event_type, "1.0", r.source, r.data, r.event_id, stored_time(sdk_time(r.recorded_at))
        )
        for r in records
    ]
    assert parser.stream_names[4:] == [r.stream for r in records]
    assert parser.by_stream()["combat-e1"][:3] == [1, 5, 8]


@pytest.mark.parametrize("year", [0, 4, 100, 400, 1900, 1996, 2000, 2023, 2024, 2100, 2400])
def test_the_fast_paths_know_which_days_exist_as_the_validator_does(
    combat: Domain, year: int
) -> None:
    for month in range(1, 13):
        for day in range(28, 33):
            line = GOOD.replace("2026-11-26", f"{year:04d}-{month:02d}-{day:02d}")
            general = read_general(combat, line)
            assert read_fast(combat, GOOD, line) == general, line
            assert read_chunk(combat, GOOD, line) == general, line
            leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
            days = [0, 31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month]
            kept = day <= days and year != 0  # year 0000 exists, but is outside escli's range
            assert (general[0] == "ok") == kept, line
            parser = EventParser([combat])
            parser.add_line(GOOD, 1)
            assert parser.add_lines([line], 2) == kept, "the chunk path takes real days"


def strict_reading(text: str) -> str:
    """``text`` as Python's json reads it refusing duplicates, written with its types."""
    from escli.jsontext import loads_json_object_strict

    try:
        return repr(loads_json_object_strict(text))
    except ValueError:
        return "refused"


def chunk_reading(texts: list[str]) -> list[str] | str:
    try:
        return [repr(value) for value in data_values(texts)]
    except ValueError:
        return "refused"


JSON_MEMBERS = st.lists(
    st.tuples(
        st.sampled_from(["a", "b", "a:b", "\\u0061"]),
        st.one_of(
            st.integers(-(2**70), 2**70).map(str),
            st.floats(allow_nan=False, allow_infinity=False).map(repr),
            # decimals that are not a float's shortest form: both parsers must round alike
            st.builds("{}e{}".format, st.integers(-(10**18), 10**18), st.integers(-340, 310)),
            st.builds("0.{:018d}".format, st.integers(0, 10**18 - 1)),
            st.sampled_from(
                ['"x:y"', '"\\ud800"', "[1, 2]", "[123456789012345678901]", '{"c": 1}']
            ),
            st.sampled_from(
                ["true", "null", "1E400", "-0", "1.5e3", '"é"', "0.1000000000000000055511"]
            ),
        ),
    ),
    max_size=4,
)


@settings(max_examples=1000, database=None)
@given(st.lists(JSON_MEMBERS, min_size=1, max_size=4))
def test_the_chunk_data_parser_reads_as_the_strict_parser_or_refuses(
    objects: list[list[tuple[str, str]]],
) -> None:
    texts = [
        "{" + ", ".join(f'"{name}": {value}' for name, value in members) + "}"
        for members in objects
    ]
    strict = [strict_reading(text) for text in texts]
    chunk = chunk_reading(texts)
    if chunk == "refused":
        # orjson refuses some text json takes: numbers past the float range (json reads
        # inf) and lone surrogates. The general path then reads those lines, so refusing
        # them is safe; nothing else may be refused.
        assert any(r == "refused" or "inf" in r or "\\ud800" in r for r in strict), texts
    else:
        assert chunk == strict


@pytest.mark.parametrize(
    "text",
    [
        '{"a": 1, "a": 2}',  # a duplicate: orjson would keep the last
        '{"a": 1.5, "b": 123456789012345678901}',  # past 64 bits: orjson reads a float
        '{"a": [123456789012345678901]}',
        '{"a": "x:y", "a": 2}',
        '{"a": {"b": 1, "b": 2}}',
    ],
)
def test_the_chunk_data_parser_reads_what_orjson_would_misread_strictly(text: str) -> None:
    strict = strict_reading(text)
    expected = "refused" if strict == "refused" else [strict, "{'ok': 1}"]
    assert chunk_reading([text, '{"ok": 1}']) == expected


def test_the_chunk_data_parser_leaves_deep_nesting_to_the_strict_parser(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # orjson reads 1,020 nested arrays; how deep Python's parser reads depends on the
    # interpreter (3.11 gives up before 1,000 levels, 3.13 reads 5,000), so such text is read
    # by the strict parser, whatever it makes of it on this Python.
    import escli.jsontext
    from escli.jsontext import loads_json_object_strict

    deep = '{"a": ' + "[" * 1020 + "]" * 1020 + "}"
    handed_over: list[str] = []

    def strict(text: str) -> Any:
        handed_over.append(text)
        return loads_json_object_strict(text)

    def reading(texts: list[str], read: Any) -> str:
        # Not the value's repr: a repr or a comparison of it would recurse as deep.
        try:
            read(texts)
        except RecursionError:
            return "RecursionError"
        return "read"

    expected = reading([deep, '{"ok": 1}'], lambda ts: [loads_json_object_strict(t) for t in ts])
    monkeypatch.setattr(escli.jsontext, "loads_json_object_strict", strict)
    assert reading([deep, '{"ok": 1}'], data_values) == expected
    assert handed_over == [deep]
    monkeypatch.undo()
    shallow = '{"a": ' + "[" * 60 + "]" * 60 + "}"
    assert chunk_reading([shallow]) == [strict_reading(shallow)]


def test_a_value_json_cannot_start_is_not_json_on_the_fast_path_too(combat: Domain) -> None:
    line = GOOD.replace('"damage": 150', '"damage": +5')
    assert read_fast(combat, GOOD, line) == read_general(combat, line) == ("error",)
    parser = EventParser([combat])
    parser.add_line(GOOD, 1)
    with pytest.raises(EventError, match="not JSON"):
        parser.add_line(line, 2)


def test_a_skipped_unknown_event_must_still_be_json(combat: Domain) -> None:
    unknown = to_json(RECORD._replace(event_type="combat.Unheard", event_id="u1"))
    parser = EventParser([combat], skip_unknown=True)
    parser.add_line(unknown, 1)
    parser.add_line(unknown.replace('"u1"', '"u2"'), 2)
    assert (parser.skipped, parser.events) == (2, [])
    with pytest.raises(EventError, match="not JSON"):
        parser.add_line(unknown.replace('"damage": 150', '"damage": '), 3)


# --------------------------------------------------------------------------------------------
# The SDK stays out of the commands that do not build SDK objects.


def test_export_import_replay_file_and_the_sink_never_import_the_sdk(tmp_path: Path) -> None:
    runs = [
        ["dispatch", "combat", "attack", "ogre", "150", "--to", "cloudevents:out.jsonl"],
        ["export", "--all", "-o", "all.jsonl"],
        ["import", "all.jsonl", "--store", "sqlite:///copy.db"],
        ["replay", "--file", "out.jsonl"],
    ]
    for args in runs:
        assert probe(*args, cwd=tmp_path) == {"code": 0, "heavy": []}, args


def test_only_the_sdk_bridge_imports_the_cloudevents_sdk() -> None:
    package = Path(escli.__file__).parent
    importers = []
    for path in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom) and node.level == 0
                else []
            )
            if any(n == "cloudevents" or n.startswith("cloudevents.") for n in names):
                importers.append(path.relative_to(package.parent).as_posix())
                break
    assert importers == ["escli/cloudevents/sdk.py"]
