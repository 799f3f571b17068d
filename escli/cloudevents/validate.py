"""Strict validation of CloudEvents 1.0 events in the JSON event format (structured mode).

The ``cloudevents`` SDK parser is lenient (it invents ids and times), so escli validates every
imported event here before writing anything. Pure Python, standard library only.

Rules come from CloudEvents 1.0.2 ``spec.md`` and ``formats/json-format.md`` (plus the few
1.0.3-wip additions noted below). MUST-level rules give ``"error"`` problems, SHOULD-level
rules give ``"warning"`` problems.

Public API:

- :class:`Problem`: one finding, with a JSON pointer into the event.
- :func:`validate_event`: all problems of one structured-mode event (a parsed JSON object).
- :func:`validate_batch`: problems of a batch (a JSON array of events), tagged with the index.

Events are parsed by ``escli.jsontext.loads_json_object_strict`` (duplicate member names and
``NaN``/``Infinity`` refused) before they are validated here.

Speed: the common case (a well-formed event with the usual attributes) costs one dict lookup
per attribute plus a few precompiled regex matches. Results for low-cardinality values
(``specversion``, ``source``, ``type``, ``datacontenttype``, ``dataschema``, extension names)
are memoised in small bounded caches; the problems they hold are immutable.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Literal

from escli.text import lone_surrogate

__all__ = [
    "BATCH_LEVEL",
    "MAX_EVENT_SIZE",
    "Problem",
    "validate_batch",
    "validate_event",
]

Severity = Literal["error", "warning"]

#: Events above this many bytes (compact UTF-8 JSON) may be dropped by intermediaries (SHOULD).
MAX_EVENT_SIZE: Final = 64 * 1024
#: Index used by :func:`validate_batch` for problems of the batch itself, not of one event.
BATCH_LEVEL: Final = -1

_INT32_MIN: Final = -(2**31)
_INT32_MAX: Final = 2**31 - 1
_REQUIRED: Final = ("id", "source", "specversion", "type")
_CACHE_SIZE: Final = 4096  # entries per memo cache; a full cache is cleared, not evicted
_CACHE_KEY_LEN: Final = 256  # longer values are checked every time, never cached


@dataclass(frozen=True, slots=True)
class Problem:
    """One finding. ``pointer`` is a JSON pointer within the event ("" is the whole event)."""

    pointer: str
    message: str
    severity: Severity


# --------------------------------------------------------------------------------------------
# Small helpers for messages and pointers (only used on the error path).


def _pointer(name: str) -> str:
    """JSON pointer (RFC 6901) of a top-level member."""
    return "/" + name.replace("~", "~0").replace("/", "~1")


def _show(value: object, limit: int = 48) -> str:
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


def _error(pointer: str, message: str) -> Problem:
    return Problem(pointer, message, "error")


def _warning(pointer: str, message: str) -> Problem:
    return Problem(pointer, message, "warning")


# --------------------------------------------------------------------------------------------
# Type system: String.

# Control characters and the 66 Unicode noncharacters; lone surrogates are escli.text's.
_BAD_CHAR_RE: Final = re.compile(
    "[\\x00-\\x1f\\x7f-\\x9f\\ufdd0-\\ufdef"
    + "".join(f"\\U{plane:04x}fffe\\U{plane:04x}ffff" for plane in range(17))
    + "]"
)


def _string_chars_problem(pointer: str, label: str, value: str) -> Problem | None:
    """The String-type rule: no control characters, noncharacters or lone surrogates."""
    if value.isprintable():  # fast path: str.isprintable() is False for every bad character
        return None
    surrogate = lone_surrogate(value)
    if surrogate is not None:
        return _error(pointer, f"{label} contains {surrogate}: {_show(value)}")
    bad = _BAD_CHAR_RE.search(value)
    if bad is None:
        return None
    code = ord(bad.group())
    kind = "control character" if code <= 0x9F else "Unicode noncharacter"
    return _error(
        pointer, f"{label} contains {kind} U+{code:04X} at index {bad.start()}: {_show(value)}"
    )


def _string_problems(pointer: str, label: str, value: object, *, non_empty: bool) -> list[Problem]:
    """Problems of a value that must be a (non-empty) String; [] when it is fine."""
    if not isinstance(value, str):
        return [_error(pointer, f"{label} must be a string, got {_show(value)}")]
    if non_empty and not value:
        return [_error(pointer, f"{label} must not be empty")]
    bad = _string_chars_problem(pointer, label, value)
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
_URI_REFERENCE_RE: Final = re.compile(
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


def _uri_syntax_hint(value: str) -> str:
    bad = _URI_BAD_CHAR_RE.search(value)
    if bad is None:
        return "malformed"
    if bad.group() == "%":
        return f"'%' at index {bad.start()} is not followed by two hex digits"
    return f"character {bad.group()!r} at index {bad.start()} must be percent-encoded"


# --------------------------------------------------------------------------------------------
# Type system: Timestamp (RFC 3339 date-time).

_TIMESTAMP_RE: Final = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.[0-9]+)?"
    r"(?:[Zz]|([+-])([0-9]{2}):([0-9]{2}))"
)
# The same with every field range-checked except days 29-31 (group 1 is the day); seconds
# 60 (leap seconds) also take the slow path.
_TIMESTAMP_FAST_RE: Final = re.compile(
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


def _timestamp_shape_problem(value: str) -> str:
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


def _timestamp_range_problem(match: re.Match[str]) -> str | None:
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
_MEDIA_TYPE_RE: Final = re.compile(
    rf"(?P<type>{_TOKEN})/(?P<subtype>{_TOKEN})"
    rf"(?:[ \t]*;[ \t]*{_TOKEN}=(?:{_TOKEN}|{_QUOTED_STRING}))*"
)


def _is_json_subtype(subtype: str) -> bool:
    """True for ``*/json`` and ``*/*+json`` media types, compared case-insensitively."""
    subtype = subtype.lower()
    return subtype == "json" or subtype.endswith("+json")


# --------------------------------------------------------------------------------------------
# Memoisation of checks on low-cardinality string values.

_Check = Callable[[object, list[Problem]], None]


def _memoised(compute: Callable[[object], tuple[Problem, ...]]) -> _Check:
    """Wrap ``compute(value) -> problems`` with a bounded cache keyed by short strings."""
    cache: dict[str, tuple[Problem, ...]] = {}

    def check(value: object, problems: list[Problem]) -> None:
        if type(value) is str:
            found = cache.get(value)
            if found is None:
                found = compute(value)
                if len(value) <= _CACHE_KEY_LEN:
                    if len(cache) >= _CACHE_SIZE:
                        cache.clear()
                    cache[value] = found
        else:
            found = compute(value)
        if found:
            problems.extend(found)

    return check


# --------------------------------------------------------------------------------------------
# One named rule per core attribute. Each gets a non-null value and appends its problems.


def _specversion_problems(value: object) -> tuple[Problem, ...]:
    if value == "1.0" and type(value) is str:
        return ()
    if isinstance(value, str):
        found = _string_problems("/specversion", "specversion", value, non_empty=False)
        return (
            *found,
            _error(
                "/specversion",
                f"specversion {_show(value)} is not supported; it must be exactly '1.0'",
            ),
        )
    return (_error("/specversion", f"specversion must be the string '1.0', got {_show(value)}"),)


def _check_id(value: object, problems: list[Problem]) -> None:
    if type(value) is str and value and value.isprintable():
        return
    problems.extend(_string_problems("/id", "id", value, non_empty=True))


def _source_problems(value: object) -> tuple[Problem, ...]:
    found = _string_problems("/source", "source", value, non_empty=True)
    if found:
        return tuple(found)
    assert isinstance(value, str)
    match = _URI_REFERENCE_RE.fullmatch(value)
    if match is None:
        return (
            _error(
                "/source",
                f"source {_show(value)} is not a URI-reference (RFC 3986): "
                f"{_uri_syntax_hint(value)}",
            ),
        )
    if match.group("scheme") is None:
        return (
            _warning(
                "/source",
                f"source {_show(value)} is a relative reference; an absolute "
                "URI such as 'https://example.com/app' is recommended",
            ),
        )
    if match.group("fragment") is not None:
        return (
            _warning(
                "/source",
                f"source {_show(value)} has a '#fragment'; an absolute URI "
                "without one is recommended",
            ),
        )
    return ()


def _type_problems(value: object) -> tuple[Problem, ...]:
    found = _string_problems("/type", "type", value, non_empty=True)
    if found:
        return tuple(found)
    assert isinstance(value, str)
    if _REVERSE_DNS_PREFIX_RE.match(value) is None:
        example = "com.example." + value.lstrip(".")[:32]
        return (
            _warning(
                "/type",
                f"type {_show(value)} should start with a reverse-DNS prefix "
                f"naming its owner, e.g. {example!r}",
            ),
        )
    return ()


# Two or more DNS labels, the first (the TLD) starting with a letter, then '.' and more text.
_LABEL: Final = "[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_REVERSE_DNS_PREFIX_RE: Final = re.compile(
    rf"[A-Za-z](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.{_LABEL})+\.[^.]"
)


def _datacontenttype_problems(value: object) -> tuple[Problem, ...]:
    found = _string_problems("/datacontenttype", "datacontenttype", value, non_empty=True)
    if found:
        return tuple(found)
    assert isinstance(value, str)
    if _MEDIA_TYPE_RE.fullmatch(value) is None:
        return (
            _error(
                "/datacontenttype",
                f"datacontenttype {_show(value)} is not a media type; "
                "use 'type/subtype[; name=value]', "
                "e.g. 'application/json'",
            ),
        )
    return ()


def _dataschema_problems(value: object) -> tuple[Problem, ...]:
    found = _string_problems("/dataschema", "dataschema", value, non_empty=True)
    if found:
        return tuple(found)
    assert isinstance(value, str)
    match = _URI_REFERENCE_RE.fullmatch(value)
    if match is None:
        return (
            _error(
                "/dataschema",
                f"dataschema {_show(value)} is not a URI (RFC 3986): {_uri_syntax_hint(value)}",
            ),
        )
    if match.group("scheme") is None:
        return (
            _error(
                "/dataschema",
                f"dataschema {_show(value)} must be an absolute URI with "
                "a scheme, e.g. 'https://example.com/schema.json'",
            ),
        )
    if match.group("fragment") is not None:
        return (_error("/dataschema", f"dataschema {_show(value)} must not have a '#fragment'"),)
    return ()


def _check_subject(value: object, problems: list[Problem]) -> None:
    if type(value) is str and value and value.isprintable():
        return
    problems.extend(_string_problems("/subject", "subject", value, non_empty=True))


def _check_time(value: object, problems: list[Problem]) -> None:
    if type(value) is str and value.isprintable():
        fast = _TIMESTAMP_FAST_RE.fullmatch(value)
        if fast is not None and fast.group(1) <= "28":
            return  # common case: every field is in range and the day exists in any month
    found = _string_problems("/time", "time", value, non_empty=True)
    if found:
        problems.extend(found)
        return
    assert isinstance(value, str)
    match = _TIMESTAMP_RE.fullmatch(value)
    reason = _timestamp_shape_problem(value) if match is None else _timestamp_range_problem(match)
    if reason is not None:
        problems.append(_error("/time", f"time {_show(value)} {reason}"))


_ATTRIBUTE_CHECKS: Final[dict[str, _Check]] = {
    "specversion": _memoised(_specversion_problems),
    "id": _check_id,
    "source": _memoised(_source_problems),
    "type": _memoised(_type_problems),
    "datacontenttype": _memoised(_datacontenttype_problems),
    "dataschema": _memoised(_dataschema_problems),
    "subject": _check_subject,
    "time": _check_time,
}


# --------------------------------------------------------------------------------------------
# Extension attributes: naming rule and value types.

_NAME_RE: Final = re.compile("[a-z0-9]+")
_FINE_EXTENSION_NAMES: set[str] = set()  # names already seen with no naming problem


def _attribute_name_problems(name: str) -> list[Problem]:
    pointer = _pointer(name)
    if not name:
        return [_error(pointer, "attribute name is empty; use 1-20 characters a-z, 0-9")]
    if _NAME_RE.fullmatch(name) is None:
        return [
            _error(
                pointer, f"attribute name {_show(name)} may only use lower-case a-z and digits 0-9"
            )
        ]
    found = []
    if len(name) > 20:
        found.append(
            _warning(
                pointer,
                f"attribute name {_show(name)} has {len(name)} "
                "characters; at most 20 is recommended",
            )
        )
    if not name[0].isalpha():
        found.append(_warning(pointer, f"attribute name {_show(name)} should start with a letter"))
    return found


def _check_extension(name: str, value: object, problems: list[Problem]) -> None:
    if name not in _FINE_EXTENSION_NAMES:
        if not isinstance(name, str):  # only possible for a dict built in Python
            problems.append(_error("", f"attribute name {_show(name)} must be a string"))
            return
        found = _attribute_name_problems(name)
        if found:
            problems.extend(found)
        elif len(name) <= _CACHE_KEY_LEN:
            if len(_FINE_EXTENSION_NAMES) >= _CACHE_SIZE:
                _FINE_EXTENSION_NAMES.clear()
            _FINE_EXTENSION_NAMES.add(name)
    if type(value) is str:
        if not value.isprintable():
            bad = _string_chars_problem(_pointer(name), f"extension {name!r}", value)
            if bad is not None:
                problems.append(bad)
    elif type(value) is int:
        if not _INT32_MIN <= value <= _INT32_MAX:
            problems.append(
                _error(
                    _pointer(name),
                    f"extension {name!r} value {_show(value)} is "
                    "outside the signed 32-bit integer range",
                )
            )
    elif type(value) is not bool and value is not None:
        _check_unusual_extension_value(name, value, problems)


def _check_unusual_extension_value(name: str, value: object, problems: list[Problem]) -> None:
    """Slow path for values whose type is not exactly str, int, bool or None."""
    if isinstance(value, bool):
        return
    if isinstance(value, str):
        bad = _string_chars_problem(_pointer(name), f"extension {name!r}", value)
        if bad is not None:
            problems.append(bad)
        return
    if isinstance(value, int):
        if not _INT32_MIN <= value <= _INT32_MAX:
            problems.append(
                _error(
                    _pointer(name),
                    f"extension {name!r} value {_show(value)} is "
                    "outside the signed 32-bit integer range",
                )
            )
        return
    if isinstance(value, float):
        message = (
            f"extension {name!r} value {_show(value)} is a number with a fraction or "
            "exponent; CloudEvents integers are whole numbers (write 7, not 7.0)"
        )
    else:
        message = (
            f"extension {name!r} is {_show(value)}; extension values must be a string, "
            "boolean, 32-bit integer or null"
        )
    problems.append(_error(_pointer(name), message))


# --------------------------------------------------------------------------------------------
# data and data_base64.

# RFC 4648 section 4 alphabet, padded, no whitespace or line breaks. The two groups are the
# last quantum's final character, whose unused low bits must be zero in canonical encoding.
_BASE64_RE: Final = re.compile(
    r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/](?P<two>[A-Za-z0-9+/])==|"
    r"[A-Za-z0-9+/]{2}(?P<three>[A-Za-z0-9+/])=)?"
)
_BASE64_ZERO_LOW_4_BITS: Final = frozenset("AQgw")
_BASE64_ZERO_LOW_2_BITS: Final = frozenset("AEIMQUYcgkosw048")


def _check_data_base64(value: object, problems: list[Problem]) -> None:
    if not isinstance(value, str):
        problems.append(
            _error("/data_base64", f"data_base64 must be a base64 string, got {_show(value)}")
        )
        return
    match = _BASE64_RE.fullmatch(value)
    if match is None:
        if len(value) % 4:
            reason = f"its length {len(value)} is not a multiple of 4 (missing '=' padding?)"
        else:
            bad = re.search(r"[^A-Za-z0-9+/=]|=(?=[^=])", value)
            reason = (
                f"character {bad.group()!r} at index {bad.start()} is not in the base64 alphabet"
                if bad is not None and bad.group() != "="
                else "'=' padding may only end the string"
            )
        problems.append(
            _error(
                "/data_base64",
                f"data_base64 {_show(value)} is not valid base64 (RFC 4648): {reason}",
            )
        )
        return
    two, three = match.group("two"), match.group("three")
    if (two is not None and two not in _BASE64_ZERO_LOW_4_BITS) or (
        three is not None and three not in _BASE64_ZERO_LOW_2_BITS
    ):
        problems.append(
            _warning(
                "/data_base64",
                "data_base64 has non-zero padding bits; it is "
                "not the canonical encoding of its bytes",
            )
        )


_media_type_json_cache: dict[str, bool | None] = {}


def _content_type_is_json(content_type: object) -> bool | None:
    """True/False for a valid media type, None when it is not one (reported elsewhere)."""
    if content_type is None:
        return True  # absent: treat as application/json
    if type(content_type) is not str:
        return None
    found = _media_type_json_cache.get(content_type, ...)
    if found is not ...:
        return found
    match = _MEDIA_TYPE_RE.fullmatch(content_type)
    result = None if match is None else _is_json_subtype(match["subtype"])
    if len(content_type) <= _CACHE_KEY_LEN:
        if len(_media_type_json_cache) >= _CACHE_SIZE:
            _media_type_json_cache.clear()
        _media_type_json_cache[content_type] = result
    return result


def _check_data(data: object, content_type: object, problems: list[Problem]) -> None:
    is_json = _content_type_is_json(content_type)
    if is_json is False and not isinstance(data, str):
        problems.append(
            _error(
                "/data",
                f"data is {_show(data)} but datacontenttype "
                f"{_show(content_type)} is not JSON; encode the payload "
                "as a string, or use data_base64 for binary",
            )
        )
    elif is_json and isinstance(data, str) and _looks_like_encoded_json(data):
        problems.append(
            _warning(
                "/data",
                "data is a string holding an encoded JSON document; "
                "with a JSON datacontenttype put the value itself "
                "in data",
            )
        )


def _looks_like_encoded_json(text: str) -> bool:
    stripped = text.strip()
    if stripped[:1] not in ("{", "[") or stripped[-1:] not in ("}", "]"):
        return False
    try:
        return isinstance(json.loads(stripped), dict | list)
    except (ValueError, RecursionError):
        return False


# --------------------------------------------------------------------------------------------
# Size.

_COMPACT_ENCODER: Final = json.JSONEncoder(
    ensure_ascii=False, separators=(",", ":"), allow_nan=False
)


def _size_bound(value: object) -> int:
    """A cheap upper bound of the compact UTF-8 JSON size of a parsed JSON value.

    Every character of a string takes at most 6 bytes (an escape like \\u001f), a number
    at most 24; anything else returns a bound over the limit so the caller measures exactly.
    """
    kind = type(value)
    if kind is str:
        return 6 * len(value) + 2  # type: ignore[arg-type]
    if kind is dict:
        total = 2
        for name, item in value.items():  # type: ignore[attr-defined]
            if type(name) is not str:
                return MAX_EVENT_SIZE + 1
            total += 6 * len(name) + 4
            total += 6 * len(item) + 2 if type(item) is str else _size_bound(item)
        return total
    if kind is list:
        total = 2
        for item in value:  # type: ignore[attr-defined]
            total += 1 + _size_bound(item)
        return total
    if value is None or kind is bool or kind is float:
        return 24
    if kind is int and -(10**20) < value < 10**20:  # type: ignore[operator]
        return 24
    return MAX_EVENT_SIZE + 1


def _serialised_size_if_over_limit(event: dict[str, object]) -> int | None:
    """The event's size as compact UTF-8 JSON if it exceeds MAX_EVENT_SIZE, else None."""
    if _size_bound(event) <= MAX_EVENT_SIZE:
        return None
    text = _COMPACT_ENCODER.encode(event)
    if len(text) * 4 <= MAX_EVENT_SIZE:
        return None  # even 4 bytes per character stays within the limit
    size = len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))
    return size if size > MAX_EVENT_SIZE else None


# --------------------------------------------------------------------------------------------
# Public entry points.


def validate_event(event: object, *, size: int | None = None) -> list[Problem]:
    """Return every problem of one structured-mode CloudEvent; [] means fully valid.

    ``event`` is the parsed JSON value (see ``escli.jsontext.loads_json_object_strict``).
    ``size`` is its serialised size in bytes when the caller knows it (e.g. the byte length
    of the JSON line); when omitted it is computed by re-serialising the event compactly.
    """
    if type(event) is not dict:
        if isinstance(event, dict):
            event = dict(event)
        else:
            hint = " (a batch? use validate_batch)" if isinstance(event, list) else ""
            return [_error("", f"an event must be a JSON object, got {_show(event)}{hint}")]
    problems: list[Problem] = []
    for name in _REQUIRED:
        if name not in event:
            problems.append(_error(_pointer(name), f"required attribute {name!r} is missing"))
    checks = _ATTRIBUTE_CHECKS
    for name, value in event.items():
        check = checks.get(name)
        if check is not None:
            if value is not None:
                check(value, problems)
            elif name in _REQUIRED:
                problems.append(
                    _error(_pointer(name), f"required attribute {name!r} must not be null")
                )
            # null on an optional attribute means "unset"
        elif name != "data" and name != "data_base64":
            _check_extension(name, value, problems)

    data_base64 = event.get("data_base64")
    if data_base64 is not None:  # null means unset, like any optional member
        _check_data_base64(data_base64, problems)
        if "data" in event:
            problems.append(
                _error("/data_base64", "event has both data and data_base64; keep only one")
            )
    elif "data" in event:
        _check_data(event["data"], event.get("datacontenttype"), problems)

    if size is None:
        try:
            size = _serialised_size_if_over_limit(event)
        except (TypeError, ValueError, RecursionError) as exc:
            problems.append(_error("", f"event cannot be serialised as JSON: {exc}"))
    if size is not None and size > MAX_EVENT_SIZE:
        problems.append(
            _warning(
                "",
                f"event is {size} bytes serialised, over the 64 KiB "
                f"({MAX_EVENT_SIZE} bytes) that intermediaries must "
                "forward; it may be dropped",
            )
        )
    return problems


def validate_batch(value: object) -> list[tuple[int, Problem]]:
    """Problems of an ``application/cloudevents-batch+json`` value, tagged with event indexes.

    A batch is a JSON array of events (``[]`` is valid). Problems of the batch as a whole use
    index :data:`BATCH_LEVEL` (-1) and pointer "".
    """
    if not isinstance(value, list):
        return [(BATCH_LEVEL, _error("", f"a batch must be a JSON array, got {_show(value)}"))]
    found: list[tuple[int, Problem]] = []
    first_version: object = None
    first_version_index = -1
    seen_ids: dict[tuple[str, str], int] = {}
    for index, event in enumerate(value):
        found.extend((index, problem) for problem in validate_event(event))
        if not isinstance(event, dict):
            continue
        version = event.get("specversion")
        if isinstance(version, str):
            if first_version_index < 0:
                first_version, first_version_index = version, index
            elif version != first_version:
                found.append(
                    (
                        index,
                        _error(
                            "/specversion",
                            (
                                f"specversion {_show(version)} differs from "
                                f"{_show(first_version)} of event {first_version_index}; "
                                "all events in a batch must share one specversion"
                            ),
                        ),
                    )
                )
        source, id_ = event.get("source"), event.get("id")
        if isinstance(source, str) and isinstance(id_, str):
            earlier = seen_ids.setdefault((source, id_), index)
            if earlier != index and value[earlier] != event:
                found.append(
                    (
                        index,
                        _warning(
                            "/id",
                            (
                                f"source {_show(source)} and id {_show(id_)} repeat event "
                                f"{earlier} with different content; source + id should "
                                "identify one distinct event"
                            ),
                        ),
                    )
                )
    return found
