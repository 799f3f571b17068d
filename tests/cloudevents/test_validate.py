"""Tests for escli.cloudevents.validate: one behaviour per test.

Each rule test checks that a valid example passes and that the invalid example gives a problem
of the right severity at the right JSON pointer. Cross-checks against the official CloudEvents
JSON schema run only when ``<repo root>/../shared/spec/cloudevents/cloudevents.json`` exists.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import string
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from escli.cloudevents.validate import (  # noqa: E402
    BATCH_LEVEL,
    Problem,
    validate_batch,
    validate_event,
)
from escli.jsontext import (  # noqa: E402
    DuplicateMemberError,
    NonStandardJSONError,
    loads_json_object_strict,
)

# --------------------------------------------------------------------------------------------
# The official schema, when the shared folder is next to the repository.

SCHEMA_PATH = REPO_ROOT.parent / "shared" / "spec" / "cloudevents" / "cloudevents.json"


def _schema_validator() -> tuple[Any, str]:
    """(Draft7Validator with format checking, "") or (None, reason to skip)."""
    if not SCHEMA_PATH.is_file():
        return None, f"official CloudEvents schema not found at {SCHEMA_PATH}"
    try:
        from jsonschema import Draft7Validator
    except ImportError:
        return None, "jsonschema is not installed"
    checker = Draft7Validator.FORMAT_CHECKER
    missing = {"date-time", "uri", "uri-reference"} - set(checker.checkers)
    if missing:
        return None, (
            f"jsonschema cannot check formats {sorted(missing)}: "
            "pip install rfc3339-validator rfc3986-validator"
        )
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    Draft7Validator.check_schema(schema)
    return Draft7Validator(schema, format_checker=checker), ""


SCHEMA, SCHEMA_SKIP_REASON = _schema_validator()
needs_schema = pytest.mark.skipif(SCHEMA is None, reason=SCHEMA_SKIP_REASON or "n/a")

# --------------------------------------------------------------------------------------------
# Helpers.

VALID: dict[str, Any] = {
    "specversion": "1.0",
    "id": "9f4c2b7e-1d2a-4c1e-8a55-0b6f3e2d1c00",
    "source": "events://escli/samples/combat",
    "type": "dev.escli.combat.EntityAttacked",
    "time": "2026-11-26T12:30:00.123456+00:00",
    "subject": "combat-ogre",
    "datacontenttype": "application/json",
    "typeversion": "1.0",
    "generation": 7,
    "data": {"entity_id": "ogre", "damage": 150},
}


def event(**changes: Any) -> dict[str, Any]:
    """VALID with members replaced; a value of ... removes the member."""
    result = dict(VALID)
    for name, value in changes.items():
        if value is ...:
            result.pop(name, None)
        else:
            result[name] = value
    return result


def found(value: object) -> list[tuple[str, str]]:
    """(pointer, severity) of every problem, in order."""
    return [(p.pointer, p.severity) for p in validate_event(value)]


def assert_valid(value: object) -> None:
    problems = validate_event(value)
    assert problems == [], problems


def assert_only(value: object, pointer: str, severity: str) -> Problem:
    """Exactly one problem, at pointer with severity; returns it."""
    problems = validate_event(value)
    assert [(p.pointer, p.severity) for p in problems] == [(pointer, severity)], problems
    return problems[0]


# --------------------------------------------------------------------------------------------
# Shape and required attributes.


def test_the_typical_event_is_valid() -> None:
    assert_valid(VALID)


def test_typical_event_parsed_from_json_text_is_valid() -> None:
    assert_valid(loads_json_object_strict(json.dumps(VALID)))


@pytest.mark.parametrize("value", [[], 5, "x", None])
def test_an_event_that_is_not_a_json_object_is_an_error(value: object) -> None:
    assert_valid(VALID)
    assert_only(value, "", "error")


@pytest.mark.parametrize("name", ["id", "source", "specversion", "type"])
def test_missing_required_attribute_is_an_error(name: str) -> None:
    assert_valid(VALID)
    problem = assert_only(event(**{name: ...}), f"/{name}", "error")
    assert name in problem.message and "missing" in problem.message


@pytest.mark.parametrize("name", ["id", "source", "specversion", "type"])
def test_null_required_attribute_is_an_error(name: str) -> None:
    assert_valid(VALID)
    assert_only(event(**{name: None}), f"/{name}", "error")


@pytest.mark.parametrize("name", ["id", "source", "type"])
def test_empty_required_attribute_is_an_error(name: str) -> None:
    assert_valid(VALID)
    problem = assert_only(event(**{name: ""}), f"/{name}", "error")
    assert "empty" in problem.message


@pytest.mark.parametrize("name", ["id", "source", "type"])
@pytest.mark.parametrize("value", [5, True, {"x": 1}, ["x"]])
def test_required_attribute_that_is_not_a_string_is_an_error(name: str, value: object) -> None:
    assert_valid(VALID)
    assert_only(event(**{name: value}), f"/{name}", "error")


# --------------------------------------------------------------------------------------------
# specversion.


@pytest.mark.parametrize("value", ["1.0.2", "0.3", "1", " 1.0", "", 1.0, 1])
def test_specversion_other_than_exactly_1_0_is_an_error(value: object) -> None:
    assert_valid(event(specversion="1.0"))
    problem = assert_only(event(specversion=value), "/specversion", "error")
    assert "1.0" in problem.message


# --------------------------------------------------------------------------------------------
# String type: control characters, noncharacters, lone surrogates.

STRING_ATTRIBUTES = ["id", "subject", "typeversion"]  # core required, core optional, extension


@pytest.mark.parametrize("name", STRING_ATTRIBUTES)
@pytest.mark.parametrize("char", ["\x00", "\n", "\x1f", "\x7f", "\x85", "\x9f"])
def test_control_character_in_a_string_attribute_is_an_error(name: str, char: str) -> None:
    assert_valid(event(**{name: "tab\u00a0free caf\u00e9 \u2603"}))
    problem = assert_only(event(**{name: f"ab{char}c"}), f"/{name}", "error")
    assert "control character" in problem.message and f"U+{ord(char):04X}" in problem.message


@pytest.mark.parametrize("name", STRING_ATTRIBUTES)
@pytest.mark.parametrize(
    "char", ["\ufdd0", "\ufdef", "\ufffe", "\uffff", "\U0001fffe", "\U0010ffff"]
)
def test_unicode_noncharacter_in_a_string_attribute_is_an_error(name: str, char: str) -> None:
    assert_valid(event(**{name: "\ufdcf\ufdf0\ufffd\U0001fffd"}))  # neighbours are fine
    problem = assert_only(event(**{name: f"x{char}"}), f"/{name}", "error")
    assert "noncharacter" in problem.message


@pytest.mark.parametrize("name", STRING_ATTRIBUTES)
def test_a_lone_surrogate_in_a_string_attribute_is_an_error(name: str) -> None:
    paired = loads_json_object_strict(
        json.dumps(event(**{name: "x"})).replace('"x"', '"\\ud83d\\ude00"')
    )  # an escaped pair is one character, U+1F600
    assert_valid(paired)
    lone = loads_json_object_strict(json.dumps(event(**{name: "x"})).replace('"x"', '"a\\ud83d"'))
    problem = assert_only(lone, f"/{name}", "error")
    assert "a lone surrogate U+D83D at index 1" in problem.message


def test_problem_messages_truncate_long_values() -> None:
    problem = assert_only(event(subject="\x00" + "x" * 5000), "/subject", "error")
    assert len(problem.message) < 200 and "5001 chars" in problem.message


# --------------------------------------------------------------------------------------------
# source: URI-reference, absolute recommended.


@pytest.mark.parametrize(
    "value",
    [
        "https://github.com/cloudevents",
        "mailto:cncf-wg-serverless@lists.cncf.io",
        "urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66",
        "http://[2001:db8::1]:8080/a?b=c",
        "http://[v7.fe80::a+en1]/",
        "http://user:pw@10.0.0.1:80/%7Euser",
        "x:",
        "events://escli/a",
    ],
)
def test_absolute_uri_source_is_valid(value: str) -> None:
    assert_valid(event(source=value))


@pytest.mark.parametrize(
    "value",
    [
        "has space",
        "http://x/%zz",
        "http://[::1",
        "http://[1:2:3:4:5:6:7:8:9]/",
        "::",
        "1abc:def",
        "http://ex\u00e4mple.com/",
        "a|b",
        "http://x/a#b#c",
        "http://a/{id}",
    ],
)
def test_source_that_is_not_a_uri_reference_is_an_error(value: str) -> None:
    assert_valid(event(source="https://example.com/a"))
    problem = assert_only(event(source=value), "/source", "error")
    assert "URI-reference" in problem.message


@pytest.mark.parametrize(
    "value",
    [
        "cloudevents/spec/pull/123",
        "/sensors/tn-1234567/alerts",
        "1-555-123-4567",
        "//host/p",
        "?q",
        "#frag",
    ],
)
def test_relative_source_is_a_warning(value: str) -> None:
    assert_valid(event(source="https://example.com/a"))
    problem = assert_only(event(source=value), "/source", "warning")
    assert "absolute" in problem.message


def test_source_with_fragment_is_a_warning() -> None:
    assert_valid(event(source="https://example.com/a"))
    assert_only(event(source="https://example.com/a#b"), "/source", "warning")


@settings(max_examples=300, database=None)
@given(st.ip_addresses(v=6))
def test_ipv6_hosts_in_source_are_valid(address: ipaddress.IPv6Address) -> None:
    for text in {address.compressed, address.exploded, str(address)}:
        assert_valid(event(source=f"https://[{text}]:443/x"))
    assert_only(event(source=f"https://[{address.exploded}:1]/x"), "/source", "error")


# --------------------------------------------------------------------------------------------
# dataschema: absolute URI, no fragment.


def test_dataschema_absolute_uri_is_valid() -> None:
    assert_valid(event(dataschema="https://example.com/schemas/attack.json?v=2"))
    assert_valid(event(dataschema="urn:example:schema:attack"))
    assert_valid(event(dataschema=None))


@pytest.mark.parametrize("value", ["schemas/attack.json", "/schemas/attack.json", "//h/x"])
def test_relative_dataschema_is_an_error(value: str) -> None:
    assert_valid(event(dataschema="https://example.com/s.json"))
    problem = assert_only(event(dataschema=value), "/dataschema", "error")
    assert "absolute" in problem.message


def test_dataschema_with_fragment_is_an_error() -> None:
    assert_valid(event(dataschema="https://example.com/s.json"))
    problem = assert_only(
        event(dataschema="https://example.com/s.json#/defs/a"), "/dataschema", "error"
    )
    assert "fragment" in problem.message


@pytest.mark.parametrize("value", ["", "https://exa mple.com/", 5])
def test_empty_or_malformed_dataschema_is_an_error(value: object) -> None:
    assert_valid(event(dataschema="https://example.com/s.json"))
    assert_only(event(dataschema=value), "/dataschema", "error")


# --------------------------------------------------------------------------------------------
# time: RFC 3339 timestamp.


@pytest.mark.parametrize(
    "value",
    [
        "2018-04-05T17:31:00Z",
        "2026-11-26T12:30:00.123456+00:00",
        "2026-11-26T12:30:00-05:30",
        "2024-02-29T00:00:00Z",
        "2000-02-29T23:59:59.9Z",
        "0001-01-01T00:00:00Z",
        "9999-12-31T23:59:59+23:59",
        "2026-11-26t12:30:00z",
    ],
)
def test_rfc3339_timestamps_are_valid(value: str) -> None:
    assert_valid(event(time=value))


def test_time_without_offset_is_an_error() -> None:
    assert_valid(event(time="2026-11-26T12:30:00Z"))
    problem = assert_only(event(time="2026-11-26T12:30:00"), "/time", "error")
    assert "offset" in problem.message and "2026-11-26T12:30:00" in problem.message


def test_date_only_time_is_an_error() -> None:
    assert_valid(event(time="2026-11-26T00:00:00Z"))
    problem = assert_only(event(time="2026-11-26"), "/time", "error")
    assert "date only" in problem.message


def test_time_without_seconds_is_an_error() -> None:
    assert_valid(event(time="2026-11-26T12:30:00Z"))
    problem = assert_only(event(time="2026-11-26T12:30Z"), "/time", "error")
    assert "seconds" in problem.message


def test_time_with_space_instead_of_t_is_an_error() -> None:
    assert_valid(event(time="2026-11-26T12:30:00Z"))
    assert_only(event(time="2026-11-26 12:30:00Z"), "/time", "error")


@pytest.mark.parametrize(
    "value",
    [
        "2026-11-26T12:30:00+0100",
        "2026-11-26T12:30:00+01",
        "26-11-26T12:30:00Z",
        "2026-11-26T12:30:00.Z",
        "2026-11-26T12:30:00,5Z",
        "2026-11-26T12:30:00 Z",
        "now",
        "",
        "2026-11-26T12:30:00Z\n",
        "\uff12026-11-26T12:30:00Z",
    ],
)
def test_malformed_time_is_an_error(value: str) -> None:
    assert_valid(event(time="2026-11-26T12:30:00Z"))
    assert ("/time", "error") in found(event(time=value))
    assert {p for p, _ in found(event(time=value))} == {"/time"}


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ("2026-00-10T12:30:00Z", "month"),
        ("2026-13-10T12:30:00Z", "month"),
        ("2026-11-00T12:30:00Z", "day"),
        ("2026-11-31T12:30:00Z", "day"),
        ("2026-02-29T12:30:00Z", "day"),
        ("1900-02-29T12:30:00Z", "day"),
        ("2026-01-32T12:30:00Z", "day"),
        ("2026-11-26T24:00:00Z", "hour"),
        ("2026-11-26T12:60:00Z", "minute"),
        ("2026-11-26T12:30:61Z", "second"),
        ("2026-11-26T12:30:60Z", "second"),
        ("2026-11-26T12:30:00+24:00", "offset"),
        ("2026-11-26T12:30:00-01:60", "offset"),
    ],
)
def test_time_with_a_field_out_of_range_is_an_error(value: str, field: str) -> None:
    assert_valid(event(time="2026-11-26T12:30:00Z"))
    problem = assert_only(event(time=value), "/time", "error")
    assert field in problem.message


def test_leap_second_is_valid_only_at_the_end_of_a_utc_day() -> None:
    assert_valid(event(time="2016-12-31T23:59:60Z"))
    assert_valid(event(time="2016-12-31T18:59:60-05:00"))
    assert_only(event(time="2016-12-31T23:59:60+01:00"), "/time", "error")


# --------------------------------------------------------------------------------------------
# subject, datacontenttype.


@pytest.mark.parametrize("value", ["", 5, False])
def test_empty_or_non_string_subject_is_an_error(value: object) -> None:
    assert_valid(event(subject="mynewfile.jpg"))
    assert_only(event(subject=value), "/subject", "error")


@pytest.mark.parametrize(
    "value",
    [
        "application/json",
        "text/xml",
        "image/png",
        "multipart/form-data; boundary=xyz",
        'text/plain; charset="utf-8"',
        "application/vnd.api+json;charset=UTF-8",
        'text/plain;a=b ;c="\\"q\\""',
    ],
)
def test_rfc2046_media_types_are_valid_datacontenttype(value: str) -> None:
    assert_valid(event(datacontenttype=value, data="payload" if "json" not in value else {}))


@pytest.mark.parametrize(
    "value",
    [
        "",
        "json",
        "application",
        "application/",
        "/json",
        "application/json;",
        "text/plain; a",
        "text/plain; a=",
        "text/plain; a=b c",
        "text /plain",
        "application/json charset=utf-8",
        'text/plain; a="unterminated',
        "t\u00ebxt/plain",
        5,
    ],
)
def test_malformed_datacontenttype_is_an_error(value: object) -> None:
    assert_valid(event(datacontenttype="application/json"))
    assert_only(event(datacontenttype=value), "/datacontenttype", "error")


# --------------------------------------------------------------------------------------------
# Optional attributes and null.


@pytest.mark.parametrize(
    "name", ["subject", "time", "dataschema", "datacontenttype", "typeversion"]
)
def test_null_optional_attribute_means_unset_and_is_valid(name: str) -> None:
    assert_valid(event(**{name: None}))
    assert_valid(event(**{name: ...}))


def test_null_datacontenttype_means_json() -> None:
    assert_valid(event(datacontenttype=None, data={"a": 1}))
    assert_only(event(datacontenttype="text/plain", data={"a": 1}), "/data", "error")


# --------------------------------------------------------------------------------------------
# Attribute names.


@pytest.mark.parametrize(
    "name", ["Generation", "type_version", "type-version", "caf\u00e9", "a.b", "a b", "ID"]
)
def test_attribute_name_outside_lowercase_a_z_0_9_is_an_error(name: str) -> None:
    assert_valid(event(typeversion2="x"))
    problem = assert_only(event(**{name: "x"}), "/" + name.replace("/", "~1"), "error")
    assert repr(name) in problem.message


def test_empty_attribute_name_is_an_error() -> None:
    assert_valid(event(x="x"))
    assert_only(event(**{"": "x"}), "/", "error")


def test_attribute_name_pointer_escapes_slash_and_tilde() -> None:
    assert_valid(event(ab="x"))
    assert_only(event(**{"a/b~c": "x"}), "/a~1b~0c", "error")


def test_attribute_name_longer_than_20_characters_is_a_warning() -> None:
    assert_valid(event(**{"a" * 20: "x"}))
    problem = assert_only(event(**{"a" * 21: "x"}), "/" + "a" * 21, "warning")
    assert "21" in problem.message


def test_attribute_name_not_starting_with_a_letter_is_a_warning() -> None:
    assert_valid(event(a1="x"))
    assert_only(event(**{"1a": "x"}), "/1a", "warning")


def test_data_and_data_base64_are_members_not_attribute_names() -> None:
    assert_valid(event(data={"a": 1}))
    assert_valid(event(data=..., data_base64="AAEC"))
    assert_only(event(**{"data_base65": "x"}), "/data_base65", "error")


# --------------------------------------------------------------------------------------------
# Extension values.


@pytest.mark.parametrize("value", ["", "text", True, False, 0, -(2**31), 2**31 - 1, None])
def test_string_boolean_int32_and_null_extension_values_are_valid(value: object) -> None:
    assert_valid(event(myext=value))


@pytest.mark.parametrize("value", [2**31, -(2**31) - 1, 10**30])
def test_extension_integer_outside_signed_32_bit_range_is_an_error(value: int) -> None:
    assert_valid(event(myext=2**31 - 1))
    problem = assert_only(event(myext=value), "/myext", "error")
    assert "32-bit" in problem.message


@pytest.mark.parametrize("text", ["1.0", "7.5", "1e3", "-0.0", "1E-2"])
def test_extension_number_with_fraction_or_exponent_is_an_error(text: str) -> None:
    valid = loads_json_object_strict(
        json.dumps(event()).replace('"generation": 7', '"generation": 1')
    )
    assert_valid(valid)
    parsed = loads_json_object_strict(
        json.dumps(event()).replace('"generation": 7', f'"generation": {text}')
    )
    problem = assert_only(parsed, "/generation", "error")
    assert "fraction or exponent" in problem.message


@pytest.mark.parametrize("value", [{"a": 1}, [1, 2], [], {}])
def test_extension_object_or_array_value_is_an_error(value: object) -> None:
    assert_valid(event(myext="x"))
    assert_only(event(myext=value), "/myext", "error")


# --------------------------------------------------------------------------------------------
# data and data_base64.


def test_data_and_data_base64_together_is_an_error() -> None:
    assert_valid(event(data={"a": 1}))
    assert_valid(event(data=..., data_base64="AAEC"))
    assert_only(event(data={"a": 1}, data_base64="AAEC"), "/data_base64", "error")
    assert_only(event(data=None, data_base64="AAEC"), "/data_base64", "error")


def test_null_data_base64_means_unset() -> None:
    assert_valid(event(data={"a": 1}, data_base64=None))


@pytest.mark.parametrize("value", ["", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy", "+/+/"])
def test_rfc4648_base64_data_base64_is_valid(value: str) -> None:
    assert_valid(event(data=..., datacontenttype="application/octet-stream", data_base64=value))


@pytest.mark.parametrize(
    "value",
    [
        "Zm9vYg=",
        "Zm9vYg",
        "Zm9v\nYmFy",
        "Zm9v YmFy",
        "Zm9vYg==Zm9v",
        "Zm9-Yg==",
        "Zm9_Yg==",
        "====",
        "Zg===",
        5,
        ["AA=="],
    ],
)
def test_data_base64_that_is_not_rfc4648_base64_is_an_error(value: object) -> None:
    assert_valid(event(data=..., data_base64="Zm9vYg=="))
    assert_only(event(data=..., data_base64=value), "/data_base64", "error")


def test_data_base64_with_non_zero_padding_bits_is_a_warning() -> None:
    assert_valid(event(data=..., data_base64="Zm9vYg=="))
    assert_only(event(data=..., data_base64="Zm9vYh=="), "/data_base64", "warning")
    assert_only(event(data=..., data_base64="Zm9vYmF="), "/data_base64", "warning")


@pytest.mark.parametrize("data", [{"a": 1}, [1], 5, 1.5, True, None])
def test_non_string_data_with_a_non_json_datacontenttype_is_an_error(data: object) -> None:
    assert_valid(event(datacontenttype="text/xml", data='<much wow="xml"/>'))
    problem = assert_only(event(datacontenttype="text/xml", data=data), "/data", "error")
    assert "text/xml" in problem.message


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "APPLICATION/JSON",
        "text/json",
        "application/cloudevents+json",
        "application/vnd.api+JSON; charset=utf-8",
        'application/json;v="1;2"',
    ],
)
def test_json_datacontenttype_is_detected_case_insensitively_ignoring_parameters(
    content_type: str,
) -> None:
    assert_valid(event(datacontenttype=content_type, data={"a": [1, None]}))


@pytest.mark.parametrize(
    "content_type",
    [
        "application/jsonx",
        "application/json-seq",
        "application/x-json5",
        "json/plain",
        "application/jsonl",
        "application/geo+json-seq",
    ],
)
def test_similar_but_non_json_datacontenttype_requires_string_data(content_type: str) -> None:
    assert_valid(event(datacontenttype=content_type, data="x"))
    assert_only(event(datacontenttype=content_type, data={"a": 1}), "/data", "error")


def test_absent_datacontenttype_is_treated_as_json() -> None:
    assert_valid(event(datacontenttype=..., data={"a": 1}))
    assert_valid(event(datacontenttype=..., data=[1, 2]))


def test_data_string_holding_an_encoded_json_document_is_a_warning() -> None:
    assert_valid(event(data="just a JSON string value"))
    assert_valid(event(data="[not json"))
    assert_only(event(data='{"entity_id": "ogre"}'), "/data", "warning")
    assert_only(event(data=" [1, 2] "), "/data", "warning")


def test_explicit_null_data_is_valid_with_json_datacontenttype() -> None:
    assert_valid(event(data=None))


# --------------------------------------------------------------------------------------------
# type prefix and size.


@pytest.mark.parametrize(
    "value",
    ["com.github.pull_request.opened", "com.example.object.deleted.v2", "io.k8s.x", "dev.escli.a"],
)
def test_type_with_reverse_dns_prefix_is_valid(value: str) -> None:
    assert_valid(event(type=value))


@pytest.mark.parametrize(
    "value",
    [
        "combat.EntityAttacked",
        "EntityAttacked",
        "com.example",
        "1com.example.x",
        ".com.example.x",
        "com..example.x",
    ],
)
def test_type_without_reverse_dns_prefix_is_a_warning(value: str) -> None:
    assert_valid(event(type="com.example.combat.EntityAttacked"))
    problem = assert_only(event(type=value), "/type", "warning")
    assert "reverse-DNS" in problem.message


def test_event_larger_than_64_kib_is_a_warning() -> None:
    overhead = len(json.dumps(event(data=""), separators=(",", ":")).encode())
    assert_valid(event(data="x" * (65536 - overhead)))
    problem = assert_only(event(data="x" * (65537 - overhead)), "", "warning")
    assert "65537 bytes" in problem.message
    # Non-ASCII counts in UTF-8 bytes; 2 bytes per character here.
    assert_only(event(data="\u00e9" * 40000), "", "warning")
    assert_valid(event(data="\u00e9" * 30000))


def test_event_size_given_by_the_caller_is_used_instead_of_reserialising() -> None:
    assert validate_event(VALID, size=65536) == []
    assert [(p.pointer, p.severity) for p in validate_event(VALID, size=65537)] == [("", "warning")]


# --------------------------------------------------------------------------------------------
# loads_json_object_strict.


def test_loads_strict_parses_valid_json() -> None:
    text = json.dumps(VALID)
    assert loads_json_object_strict(text) == VALID
    assert loads_json_object_strict("[1, 2.5, null]") == [1, 2.5, None]


def test_duplicate_top_level_member_is_rejected() -> None:
    with pytest.raises(DuplicateMemberError) as caught:
        loads_json_object_strict('{"id": "1", "source": "/s", "id": "2"}')
    assert isinstance(caught.value, ValueError)
    assert (caught.value.name, caught.value.pointer) == ("id", "/id")


def test_duplicate_member_inside_data_is_rejected_with_its_path() -> None:
    assert loads_json_object_strict('{"data": {"a": 1, "b": {"a": 2}}}')
    with pytest.raises(DuplicateMemberError) as caught:
        loads_json_object_strict('{"data": {"list": [0, {"k": 1, "k": 1}]}}')
    assert caught.value.pointer == "/data/list/1/k"


@pytest.mark.parametrize("text", ['{"a": NaN}', '{"a": Infinity}', "[-Infinity]"])
def test_nan_and_infinity_are_rejected(text: str) -> None:
    assert loads_json_object_strict('{"a": 1e308}') == {"a": 1e308}
    with pytest.raises(NonStandardJSONError):
        loads_json_object_strict(text)


@pytest.mark.parametrize("text", ['{"a": 1', "", "{'a': 1}", '{"a": 1} x', "\ufeff{}"])
def test_malformed_json_raises_value_error(text: str) -> None:
    assert loads_json_object_strict(" {} ") == {}
    with pytest.raises(ValueError):
        loads_json_object_strict(text)


# --------------------------------------------------------------------------------------------
# Batches.


def test_empty_batch_is_valid() -> None:
    assert validate_batch([]) == []


@pytest.mark.parametrize("value", [VALID, "[]", None, 5])
def test_batch_that_is_not_an_array_is_an_error(value: object) -> None:
    assert validate_batch([VALID]) == []
    [(index, problem)] = validate_batch(value)
    assert (index, problem.pointer, problem.severity) == (BATCH_LEVEL, "", "error")


def test_batch_problems_carry_the_event_index() -> None:
    assert validate_batch([VALID, event(id="2")]) == []
    tagged = validate_batch([VALID, event(id="2", time="2026-11-26"), 5])
    assert [(i, p.pointer, p.severity) for i, p in tagged] == [
        (1, "/time", "error"),
        (2, "", "error"),
    ]


def test_batch_events_with_different_specversions_is_an_error() -> None:
    assert validate_batch([VALID, event(id="2")]) == []
    tagged = validate_batch([VALID, event(id="2", specversion="0.3")])
    assert [(i, p.pointer, p.severity) for i, p in tagged] == [
        (1, "/specversion", "error"),
        (1, "/specversion", "error"),
    ]
    assert "differs" in tagged[1][1].message


def test_batch_reusing_source_and_id_for_a_different_event_is_a_warning() -> None:
    assert validate_batch([VALID, dict(VALID)]) == []  # a re-send may repeat an event
    tagged = validate_batch([VALID, event(subject="other")])
    assert [(i, p.pointer, p.severity) for i, p in tagged] == [(1, "/id", "warning")]


# --------------------------------------------------------------------------------------------
# Generated valid events.

_PCHAR = string.ascii_letters + string.digits + "-._~!$&'()*+,;=:@"
_pct = st.integers(0, 255).map(lambda b: f"%{b:02X}")
_segment = st.lists(st.sampled_from(_PCHAR) | _pct, max_size=8).map("".join)
_host = st.one_of(
    st.from_regex(r"[a-z0-9](?:[a-z0-9-]{0,10}[a-z0-9])?(?:\.[a-z]{2,6}){0,3}", fullmatch=True),
    st.ip_addresses(v=4).map(str),
    st.ip_addresses(v=6).map(lambda a: f"[{a}]"),
)
_scheme = st.from_regex(r"[a-z][a-z0-9+.\-]{0,8}", fullmatch=True)
_query = st.lists(st.sampled_from(_PCHAR + "/?") | _pct, max_size=10).map("".join)


@st.composite
def absolute_uris(draw: st.DrawFn) -> str:
    """Absolute URIs (RFC 3986 section 4.3): scheme, hier-part, optional query, no fragment."""
    scheme = draw(_scheme)
    if draw(st.booleans()):
        port = draw(st.one_of(st.just(""), st.integers(0, 65535).map(lambda p: f":{p}")))
        path = "".join("/" + s for s in draw(st.lists(_segment, max_size=4)))
        hier = f"//{draw(_host)}{port}{path}"
    else:  # path-rootless, e.g. urn:uuid:...
        first = draw(_segment.filter(bool))
        hier = first + "".join("/" + s for s in draw(st.lists(_segment, max_size=3)))
    query = draw(st.one_of(st.just(""), _query.map(lambda q: "?" + q)))
    return f"{scheme}:{hier}{query}"


_text = st.text(st.characters(exclude_categories=("Cc", "Cs", "Cn")), max_size=30)
_type = st.builds(
    lambda tld, org, rest: f"{tld}.{org}.{rest}",
    st.from_regex(r"[a-z]{2,6}", fullmatch=True),
    st.from_regex(r"[a-z0-9](?:[a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True),
    st.from_regex(r"[A-Za-z][A-Za-z0-9._]{0,20}", fullmatch=True),
)
_offsets = st.integers(-(23 * 60 + 59), 23 * 60 + 59).map(lambda m: timezone(timedelta(minutes=m)))


@st.composite
def timestamps(draw: st.DrawFn) -> str:
    moment = draw(
        st.datetimes(
            min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=_offsets
        )
    )
    text = moment.isoformat(
        timespec=draw(st.sampled_from(["seconds", "milliseconds", "microseconds"]))
    )
    if moment.utcoffset() == timedelta(0) and draw(st.booleans()):
        text = text[: -len("+00:00")] + "Z"
    return text


_json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | _text
)
_json = st.recursive(
    _json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4),
    max_leaves=12,
)
_json_data = _json.filter(lambda d: not (isinstance(d, str) and d.strip()[:1] in ("{", "[")))
_CORE = {
    "id",
    "source",
    "specversion",
    "type",
    "datacontenttype",
    "dataschema",
    "subject",
    "time",
    "data",
}
_extension_names = st.from_regex(r"[a-z][a-z0-9]{0,19}", fullmatch=True).filter(
    lambda n: n not in _CORE
)
_extension_values = st.one_of(_text, st.booleans(), st.integers(-(2**31), 2**31 - 1), st.none())


@st.composite
def valid_events(draw: st.DrawFn) -> dict[str, Any]:
    result: dict[str, Any] = draw(st.dictionaries(_extension_names, _extension_values, max_size=5))
    result.update(
        specversion="1.0",
        id=draw(_text.filter(bool)),
        source=draw(absolute_uris()),
        type=draw(_type),
    )
    optional = {
        "time": timestamps(),
        "subject": _text.filter(bool),
        "dataschema": absolute_uris(),
    }
    for name, strategy in optional.items():
        choice = draw(st.sampled_from(["absent", "null", "set"]))
        if choice != "absent":
            result[name] = None if choice == "null" else draw(strategy)
    payload = draw(st.sampled_from(["none", "json", "text", "binary"]))
    if payload == "json":
        content_type = draw(
            st.sampled_from(
                [None, "application/json", "text/json", "application/vnd.x+json; charset=utf-8"]
            )
        )
        if content_type is not None:
            result["datacontenttype"] = content_type
        result["data"] = draw(_json_data)
    elif payload == "text":
        result["datacontenttype"] = draw(st.sampled_from(["text/plain", "application/xml"]))
        result["data"] = draw(st.text(max_size=50))
    elif payload == "binary":
        if draw(st.booleans()):
            result["datacontenttype"] = "application/octet-stream"
        result["data_base64"] = base64.b64encode(draw(st.binary(max_size=40))).decode()
    return result


GENERATED = settings(
    max_examples=300, database=None, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@GENERATED
@given(valid_events())
def test_generated_valid_events_pass(value: dict[str, Any]) -> None:
    assert validate_event(value) == []
    assert validate_event(loads_json_object_strict(json.dumps(value))) == []


@settings(GENERATED, max_examples=40)
@given(st.lists(valid_events(), max_size=4, unique_by=lambda e: e["id"]))
def test_generated_valid_batches_pass(events: list[dict[str, Any]]) -> None:
    assert validate_batch(events) == []


@needs_schema
@GENERATED
@given(valid_events())
def test_generated_valid_events_pass_the_official_schema(value: dict[str, Any]) -> None:
    assert validate_event(value) == []
    errors = [e.message for e in SCHEMA.iter_errors(value)]
    assert errors == []


@needs_schema
@GENERATED
@given(
    st.lists(
        st.sampled_from(_PCHAR + "/?#%[]")
        | _pct
        | st.sampled_from(["//", "::", "[::1]", "[v1.x]", "1.2.3.4", " ", "\u00e9"]),
        max_size=12,
    ).map("".join)
)
def test_source_uri_reference_check_agrees_with_the_schema(value: str) -> None:
    ours = ("/source", "error") not in found(event(source=value))
    theirs = not list(SCHEMA.iter_errors(event(source=value)))
    assert ours == theirs


# Events that the validator rejects for a reason the schema can express.
SCHEMA_EXPRESSIBLE_REJECTIONS = [
    pytest.param(event(id=...), "/id", id="missing id"),
    pytest.param(event(source=...), "/source", id="missing source"),
    pytest.param(event(specversion=...), "/specversion", id="missing specversion"),
    pytest.param(event(type=...), "/type", id="missing type"),
    pytest.param(event(id=""), "/id", id="empty id"),
    pytest.param(event(source=""), "/source", id="empty source"),
    pytest.param(event(type=""), "/type", id="empty type"),
    pytest.param(event(specversion=""), "/specversion", id="empty specversion"),
    pytest.param(event(id=None), "/id", id="null id"),
    pytest.param(event(id=42), "/id", id="numeric id"),
    pytest.param(event(source="has space"), "/source", id="source not a uri-reference"),
    pytest.param(event(source="http://x/%zz"), "/source", id="source bad percent-escape"),
    pytest.param(event(time="2026-11-26"), "/time", id="time date only"),
    pytest.param(event(time="2026-11-26T12:30:00"), "/time", id="time without offset"),
    pytest.param(event(time="2026-11-26T12:30Z"), "/time", id="time without seconds"),
    pytest.param(event(time="2026-11-26 12:30:00Z"), "/time", id="time with space"),
    pytest.param(event(time="2026-02-30T12:30:00Z"), "/time", id="time day out of range"),
    pytest.param(event(time="2026-11-26T24:00:00Z"), "/time", id="time hour out of range"),
    pytest.param(event(time=""), "/time", id="empty time"),
    pytest.param(event(time=1700000000), "/time", id="numeric time"),
    pytest.param(event(subject=""), "/subject", id="empty subject"),
    pytest.param(event(subject=5), "/subject", id="numeric subject"),
    pytest.param(event(datacontenttype=""), "/datacontenttype", id="empty datacontenttype"),
    pytest.param(event(dataschema=""), "/dataschema", id="empty dataschema"),
    pytest.param(event(dataschema="schemas/a.json"), "/dataschema", id="relative dataschema"),
    pytest.param(event(data=..., data_base64=5), "/data_base64", id="numeric data_base64"),
    pytest.param([VALID], "", id="array instead of event"),
]


@pytest.mark.parametrize(("value", "pointer"), SCHEMA_EXPRESSIBLE_REJECTIONS)
def test_validator_rejects_schema_expressible_violations(value: object, pointer: str) -> None:
    assert (pointer, "error") in found(value)


@needs_schema
@pytest.mark.parametrize(("value", "pointer"), SCHEMA_EXPRESSIBLE_REJECTIONS)
def test_schema_also_rejects_what_the_validator_rejects_for_schema_reasons(
    value: object,
    pointer: str,
) -> None:
    assert list(SCHEMA.iter_errors(VALID)) == []
    assert (pointer, "error") in found(value)
    assert list(SCHEMA.iter_errors(value)), f"schema accepted {value!r}"


def test_schema_tests_skip_with_a_reason_when_the_schema_is_absent() -> None:
    if SCHEMA_PATH.is_file():
        assert SCHEMA_SKIP_REASON == "" or "jsonschema" in SCHEMA_SKIP_REASON
    else:
        assert str(SCHEMA_PATH) in SCHEMA_SKIP_REASON
