"""The rules of CloudEvents context attributes: one named rule per core attribute
(``specversion``, ``id``, ``source``, ``type``, ``datacontenttype``, ``dataschema``,
``subject``, ``time``), and the naming rule and value types of extension attributes.

Speed: the common case (a well-formed event with the usual attributes) costs one dict lookup
per attribute plus a few precompiled regex matches. Results for low-cardinality values
(``specversion``, ``source``, ``type``, ``datacontenttype``, ``dataschema``, extension names)
are memoised in small bounded caches; the problems they hold are immutable.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final

from escli.cloudevents.typesystem import (
    CACHE_KEY_LEN,
    CACHE_SIZE,
    MEDIA_TYPE_RE,
    TIMESTAMP_FAST_RE,
    TIMESTAMP_RE,
    URI_REFERENCE_RE,
    Problem,
    error,
    show,
    string_chars_problem,
    string_problems,
    timestamp_range_problem,
    timestamp_shape_problem,
    uri_syntax_hint,
    warning,
)
from escli.jsontext import member_pointer

__all__ = ["ATTRIBUTE_CHECKS", "REQUIRED", "check_extension"]

_INT32_MIN: Final = -(2**31)
_INT32_MAX: Final = 2**31 - 1
REQUIRED: Final = ("id", "source", "specversion", "type")

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
                if len(value) <= CACHE_KEY_LEN:
                    if len(cache) >= CACHE_SIZE:
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
        found = string_problems("/specversion", "specversion", value, non_empty=False)
        return (
            *found,
            error(
                "/specversion",
                f"specversion {show(value)} is not supported; it must be exactly '1.0'",
            ),
        )
    return (error("/specversion", f"specversion must be the string '1.0', got {show(value)}"),)


def _check_id(value: object, problems: list[Problem]) -> None:
    if type(value) is str and value and value.isprintable():
        return
    problems.extend(string_problems("/id", "id", value, non_empty=True))


def _source_problems(value: object) -> tuple[Problem, ...]:
    found = string_problems("/source", "source", value, non_empty=True)
    if found:
        return tuple(found)
    assert isinstance(value, str)
    match = URI_REFERENCE_RE.fullmatch(value)
    if match is None:
        return (
            error(
                "/source",
                f"source {show(value)} is not a URI-reference (RFC 3986): {uri_syntax_hint(value)}",
            ),
        )
    if match.group("scheme") is None:
        return (
            warning(
                "/source",
                f"source {show(value)} is a relative reference; an absolute "
                "URI such as 'https://example.com/app' is recommended",
            ),
        )
    if match.group("fragment") is not None:
        return (
            warning(
                "/source",
                f"source {show(value)} has a '#fragment'; an absolute URI "
                "without one is recommended",
            ),
        )
    return ()


def _type_problems(value: object) -> tuple[Problem, ...]:
    found = string_problems("/type", "type", value, non_empty=True)
    if found:
        return tuple(found)
    assert isinstance(value, str)
    if _REVERSE_DNS_PREFIX_RE.match(value) is None:
        example = "com.example." + value.lstrip(".")[:32]
        return (
            warning(
                "/type",
                f"type {show(value)} should start with a reverse-DNS prefix "
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
    found = string_problems("/datacontenttype", "datacontenttype", value, non_empty=True)
    if found:
        return tuple(found)
    assert isinstance(value, str)
    if MEDIA_TYPE_RE.fullmatch(value) is None:
        return (
            error(
                "/datacontenttype",
                f"datacontenttype {show(value)} is not a media type; "
                "use 'type/subtype[; name=value]', "
                "e.g. 'application/json'",
            ),
        )
    return ()


def _dataschema_problems(value: object) -> tuple[Problem, ...]:
    found = string_problems("/dataschema", "dataschema", value, non_empty=True)
    if found:
        return tuple(found)
    assert isinstance(value, str)
    match = URI_REFERENCE_RE.fullmatch(value)
    if match is None:
        return (
            error(
                "/dataschema",
                f"dataschema {show(value)} is not a URI (RFC 3986): {uri_syntax_hint(value)}",
            ),
        )
    if match.group("scheme") is None:
        return (
            error(
                "/dataschema",
                f"dataschema {show(value)} must be an absolute URI with "
                "a scheme, e.g. 'https://example.com/schema.json'",
            ),
        )
    if match.group("fragment") is not None:
        return (error("/dataschema", f"dataschema {show(value)} must not have a '#fragment'"),)
    return ()


def _check_subject(value: object, problems: list[Problem]) -> None:
    if type(value) is str and value and value.isprintable():
        return
    problems.extend(string_problems("/subject", "subject", value, non_empty=True))


def _check_time(value: object, problems: list[Problem]) -> None:
    if type(value) is str and value.isprintable():
        fast = TIMESTAMP_FAST_RE.fullmatch(value)
        if fast is not None and fast.group(1) <= "28":
            return  # common case: every field is in range and the day exists in any month
    found = string_problems("/time", "time", value, non_empty=True)
    if found:
        problems.extend(found)
        return
    assert isinstance(value, str)
    match = TIMESTAMP_RE.fullmatch(value)
    reason = timestamp_shape_problem(value) if match is None else timestamp_range_problem(match)
    if reason is not None:
        problems.append(error("/time", f"time {show(value)} {reason}"))


ATTRIBUTE_CHECKS: Final[dict[str, _Check]] = {
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
    pointer = member_pointer(name)
    if not name:
        return [error(pointer, "attribute name is empty; use 1-20 characters a-z, 0-9")]
    if _NAME_RE.fullmatch(name) is None:
        return [
            error(
                pointer, f"attribute name {show(name)} may only use lower-case a-z and digits 0-9"
            )
        ]
    found = []
    if len(name) > 20:
        found.append(
            warning(
                pointer,
                f"attribute name {show(name)} has {len(name)} "
                "characters; at most 20 is recommended",
            )
        )
    if not name[0].isalpha():
        found.append(warning(pointer, f"attribute name {show(name)} should start with a letter"))
    return found


def check_extension(name: str, value: object, problems: list[Problem]) -> None:
    if name not in _FINE_EXTENSION_NAMES:
        if not isinstance(name, str):  # only possible for a dict built in Python
            problems.append(error("", f"attribute name {show(name)} must be a string"))
            return
        found = _attribute_name_problems(name)
        if found:
            problems.extend(found)
        elif len(name) <= CACHE_KEY_LEN:
            if len(_FINE_EXTENSION_NAMES) >= CACHE_SIZE:
                _FINE_EXTENSION_NAMES.clear()
            _FINE_EXTENSION_NAMES.add(name)
    if type(value) is str:
        if not value.isprintable():
            bad = string_chars_problem(member_pointer(name), f"extension {name!r}", value)
            if bad is not None:
                problems.append(bad)
    elif type(value) is int:
        if not _INT32_MIN <= value <= _INT32_MAX:
            problems.append(
                error(
                    member_pointer(name),
                    f"extension {name!r} value {show(value)} is "
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
        bad = string_chars_problem(member_pointer(name), f"extension {name!r}", value)
        if bad is not None:
            problems.append(bad)
        return
    if isinstance(value, int):
        if not _INT32_MIN <= value <= _INT32_MAX:
            problems.append(
                error(
                    member_pointer(name),
                    f"extension {name!r} value {show(value)} is "
                    "outside the signed 32-bit integer range",
                )
            )
        return
    if isinstance(value, float):
        message = (
            f"extension {name!r} value {show(value)} is a number with a fraction or "
            "exponent; CloudEvents integers are whole numbers (write 7, not 7.0)"
        )
    else:
        message = (
            f"extension {name!r} is {show(value)}; extension values must be a string, "
            "boolean, 32-bit integer or null"
        )
    problems.append(error(member_pointer(name), message))
