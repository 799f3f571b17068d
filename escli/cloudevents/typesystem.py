"""The CloudEvents type system's rules: what a String, URI-reference, URI and Timestamp may
hold, and what a media type looks like; with ``Problem`` (one finding) and the helpers that word
findings. Used by ``escli.cloudevents.attributes`` and ``escli.cloudevents.validate``.

Rules come from CloudEvents 1.0.2 ``spec.md`` ("Type System") and the RFCs it names (3986
for URIs, 3339 for timestamps, 2046/2045 for media types). Pure Python, standard library only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal

from escli.text import lone_surrogate

__all__ = [
    "CACHE_KEY_LEN",
    "CACHE_SIZE",
    "MEDIA_TYPE_RE",
    "TIMESTAMP_FAST_RE",
    "TIMESTAMP_RE",
    "URI_REFERENCE_RE",
    "Problem",
    "Severity",
    "error",
    "is_json_subtype",
    "show",
    "string_chars_problem",
    "string_problems",
    "timestamp_range_problem",
    "timestamp_shape_problem",
    "uri_syntax_hint",
    "warning",
]

Severity = Literal["error", "warning"]

CACHE_SIZE: Final = 4096  # entries per memo cache; a full cache is cleared, not evicted
CACHE_KEY_LEN: Final = 256  # longer values are checked every time, never cached


@dataclass(frozen=True, slots=True)
class Problem:
    """One finding. ``pointer`` is a JSON pointer within the event ("" is the whole event)."""

    pointer: str
    message: str
    severity: Severity


# --------------------------------------------------------------------------------------------
# Small helpers for messages and pointers (only used on the error path).


def show(value: object, limit: int = 48) -> str:
    """A short rendering of a JSON value for messages; long strings are truncated."""
    if isinstance(value, str):
        if len(value) > limit:
            return repr(value[:limit]) + f"... ({len(value)} chars)"
        return repr(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int | float):
        text = (
            repr(value)
            if not isinstance(value, int) or -(10**40) < value < 10**40
            else (f"an integer of {value.bit_length()} bits")
        )
        return text if len(text) <= limit else text[:limit] + "..."
    return f"a {_json_type(value)}"


def _json_type(value: object) -> str:
    if isinstance(value, str):
        return "string"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number with a fraction or exponent"
    if isinstance(value, dict):
        return "JSON object"
    if isinstance(value, list | tuple):
        return "JSON array"
    return f"non-JSON Python {type(value).__name__}"


def error(pointer: str, message: str) -> Problem:
    return Problem(pointer, message, "error")


def warning(pointer: str, message: str) -> Problem:
    return Problem(pointer, message, "warning")


# --------------------------------------------------------------------------------------------
# Type system: String.

# Control characters and the 66 Unicode noncharacters; lone surrogates are escli.text's.
_BAD_CHAR_RE: Final = re.compile(
    "[\\x00-\\x1f\\x7f-\\x9f\\ufdd0-\\ufdef"
    + "".join(f"\\U{plane:04x}fffe\\U{plane:04x}ffff" for plane in range(17))
    + "]"
)


def string_chars_problem(pointer: str, label: str, value: str) -> Problem | None:
    """The String-type rule: no control characters, noncharacters or lone surrogates."""
    if value.isprintable():  # fast path: str.isprintable() is False for every bad character
        return None
    surrogate = lone_surrogate(value)
    if surrogate is not None:
        return error(pointer, f"{label} contains {surrogate}: {show(value)}")
    bad = _BAD_CHAR_RE.search(value)
    if bad is None:
        return None
    code = ord(bad.group())
    kind = "control character" if code <= 0x9F else "Unicode noncharacter"
    return error(
        pointer, f"{label} contains {kind} U+{code:04X} at index {bad.start()}: {show(value)}"
    )


def string_problems(pointer: str, label: str, value: object, *, non_empty: bool) -> list[Problem]:
    """Problems of a value that must be a (non-empty) String; [] when it is fine."""
    if not isinstance(value, str):
        return [error(pointer, f"{label} must be a string, got {show(value)}")]
    if non_empty and not value:
        return [error(pointer, f"{label} must not be empty")]
    bad = string_chars_problem(pointer, label, value)
    return [bad] if bad is not None else []


# --------------------------------------------------------------------------------------------
# Type system: URI-reference and URI (RFC 3986 appendix A). Every repetition below is
# unambiguous, so matching is linear in the length of the string.

_PCT: Final = "%[0-9A-Fa-f]{2}"
_UNRESERVED: Final = r"A-Za-z0-9\-._~"
_SUB_DELIMS: Final = r"!$&'()*+,;="
_PCHAR: Final = _UNRESERVED + _SUB_DELIMS + ":@"


def _zero_or_more(chars: str) -> str:
    return f"[{chars}]*(?:{_PCT}[{chars}]*)*"


def _one(chars: str) -> str:
    return f"(?:[{chars}]|{_PCT})"


_H16: Final = "[0-9A-Fa-f]{1,4}"
_DEC_OCTET: Final = "(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
_IPV4: Final = rf"{_DEC_OCTET}(?:\.{_DEC_OCTET}){{3}}"
_LS32: Final = f"(?:{_H16}:{_H16}|{_IPV4})"
_IPV6: Final = (
    "(?:"
    + "|".join(
        [
            f"(?:{_H16}:){{6}}{_LS32}",
            f"::(?:{_H16}:){{5}}{_LS32}",
            f"(?:{_H16})?::(?:{_H16}:){{4}}{_LS32}",
            f"(?:(?:{_H16}:){{0,1}}{_H16})?::(?:{_H16}:){{3}}{_LS32}",
            f"(?:(?:{_H16}:){{0,2}}{_H16})?::(?:{_H16}:){{2}}{_LS32}",
            f"(?:(?:{_H16}:){{0,3}}{_H16})?::{_H16}:{_LS32}",
            f"(?:(?:{_H16}:){{0,4}}{_H16})?::{_LS32}",
            f"(?:(?:{_H16}:){{0,5}}{_H16})?::{_H16}",
            f"(?:(?:{_H16}:){{0,6}}{_H16})?::",
        ]
    )
    + ")"
)
_IPVFUTURE: Final = rf"v[0-9A-Fa-f]+\.[{_UNRESERVED}{_SUB_DELIMS}:]+"
_AUTHORITY: Final = (
    f"(?:{_zero_or_more(_UNRESERVED + _SUB_DELIMS + ':')}@)?"  # userinfo
    rf"(?:\[(?:{_IPV6}|{_IPVFUTURE})\]|{_zero_or_more(_UNRESERVED + _SUB_DELIMS)})"  # host
    "(?::[0-9]*)?"  # port
)
_PATH_ABEMPTY: Final = f"(?:/{_zero_or_more(_PCHAR + '/')})?"
_PATH_ABSOLUTE: Final = f"/(?:{_one(_PCHAR)}{_zero_or_more(_PCHAR + '/')})?"
_PATH_ROOTLESS: Final = f"{_one(_PCHAR)}{_zero_or_more(_PCHAR + '/')}"
_SEGMENT_NZ_NC: Final = _UNRESERVED + _SUB_DELIMS + "@"
_PATH_NOSCHEME: Final = (
    f"{_one(_SEGMENT_NZ_NC)}{_zero_or_more(_SEGMENT_NZ_NC)}(?:/{_zero_or_more(_PCHAR + '/')})?"
)
_QUERY: Final = _zero_or_more(_PCHAR + "/?")

# URI-reference = URI / relative-ref. Group "scheme" is set for a URI, "fragment" if any.
URI_REFERENCE_RE: Final = re.compile(
    "(?:"
    f"(?P<scheme>[A-Za-z][A-Za-z0-9+\\-.]*):(?://{_AUTHORITY}{_PATH_ABEMPTY}"
    f"|{_PATH_ABSOLUTE}|{_PATH_ROOTLESS})?"
    f"|(?://{_AUTHORITY}{_PATH_ABEMPTY}|{_PATH_ABSOLUTE}|{_PATH_NOSCHEME})?"
    ")"
    f"(?:\\?{_QUERY})?(?:#(?P<fragment>{_QUERY}))?"
)
_URI_BAD_CHAR_RE: Final = re.compile(
    rf"[^{_UNRESERVED}{_SUB_DELIMS}:@/?#%\[\]]|%(?![0-9A-Fa-f]{{2}})"
)


def uri_syntax_hint(value: str) -> str:
    bad = _URI_BAD_CHAR_RE.search(value)
    if bad is None:
        return "malformed"
    if bad.group() == "%":
        return f"'%' at index {bad.start()} is not followed by two hex digits"
    return f"character {bad.group()!r} at index {bad.start()} must be percent-encoded"


# --------------------------------------------------------------------------------------------
# Type system: Timestamp (RFC 3339 date-time).

TIMESTAMP_RE: Final = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.[0-9]+)?"
    r"(?:[Zz]|([+-])([0-9]{2}):([0-9]{2}))"
)
# The same with every field range-checked except days 29-31 (group 1 is the day); seconds
# 60 (leap seconds) also take the slow path.
TIMESTAMP_FAST_RE: Final = re.compile(
    r"[0-9]{4}-(?:0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
    r"[Tt](?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
    r"(?:\.[0-9]+)?(?:[Zz]|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])"
)
# Lenient shape used only to explain why a value is not a timestamp.
_TIMESTAMP_DIAGNOSIS_RE: Final = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}(?:(?P<sep>[Tt ])[0-9]{2}:[0-9]{2}(?P<sec>:[0-9]{2})?"
    r"(?:[.,][0-9]+)?)?(?P<offset>[Zz]|[+-][0-9]{2}(?::?[0-9]{2})?)?"
)
_DAYS_IN_MONTH: Final = (0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_TIMESTAMP_EXAMPLE: Final = "e.g. '2026-11-26T12:30:00Z'"


def timestamp_shape_problem(value: str) -> str:
    shape = _TIMESTAMP_DIAGNOSIS_RE.fullmatch(value)
    if shape is None:
        return f"is not an RFC 3339 timestamp ({_TIMESTAMP_EXAMPLE})"
    if shape.group("sep") is None:
        return f"is a date only; a timestamp needs 'T', a time and an offset ({_TIMESTAMP_EXAMPLE})"
    if shape.group("sep") == " ":
        return "separates date and time with a space; use 'T'"
    if shape.group("sec") is None:
        return "has no seconds; use hh:mm:ss"
    if shape.group("offset") is None:
        return "has no UTC offset; append 'Z' or '+hh:mm'"
    return "has a malformed UTC offset; use 'Z' or '+hh:mm'"


def timestamp_range_problem(match: re.Match[str]) -> str | None:
    year, month, day, hour, minute, second = (int(g) for g in match.group(1, 2, 3, 4, 5, 6))
    if not 1 <= month <= 12:
        return f"has month {month:02d}; use 01-12"
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    days = 28 if month == 2 and not leap else _DAYS_IN_MONTH[month]
    if not 1 <= day <= days:
        return f"has day {day:02d}; {year:04d}-{month:02d} has {days} days"
    if hour > 23:
        return f"has hour {hour:02d}; use 00-23"
    if minute > 59:
        return f"has minute {minute:02d}; use 00-59"
    offset_minutes = 0
    if match.group(7) is not None:
        off_hour, off_minute = int(match.group(8)), int(match.group(9))
        if off_hour > 23 or off_minute > 59:
            return f"has offset {match.group(7)}{off_hour:02d}:{off_minute:02d}; use -23:59..+23:59"
        offset_minutes = off_hour * 60 + off_minute
        if match.group(7) == "-":
            offset_minutes = -offset_minutes
    if second == 60:  # a leap second, only possible at the end of a UTC day
        if (hour * 60 + minute - offset_minutes) % 1440 != 1439:
            return "has second 60, which is only valid as a leap second at 23:59:60 UTC"
    elif second > 59:
        return f"has second {second:02d}; use 00-59"
    return None


# --------------------------------------------------------------------------------------------
# Media types (RFC 2046 / RFC 2045 syntax: type "/" subtype *( ";" attribute "=" value )).

_TOKEN: Final = r"[!#$%&'*+\-.0-9A-Z^_`a-z{|}~]+"
_QUOTED_STRING: Final = r'"(?:[\t\x20\x21\x23-\x5b\x5d-\x7e]|\\[\t\x20-\x7e])*"'
MEDIA_TYPE_RE: Final = re.compile(
    rf"(?P<type>{_TOKEN})/(?P<subtype>{_TOKEN})"
    rf"(?:[ \t]*;[ \t]*{_TOKEN}=(?:{_TOKEN}|{_QUOTED_STRING}))*"
)


def is_json_subtype(subtype: str) -> bool:
    """True for ``*/json`` and ``*/*+json`` media types, compared case-insensitively."""
    subtype = subtype.lower()
    return subtype == "json" or subtype.endswith("+json")
