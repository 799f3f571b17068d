"""Strict validation of CloudEvents 1.0 events in the JSON event format (structured mode).

The ``cloudevents`` SDK parser is lenient (it invents ids and times), so escli validates every
imported event here before writing anything. Pure Python, standard library only.

Rules come from CloudEvents 1.0.2 ``spec.md`` and ``formats/json-format.md`` (plus the few
1.0.3-wip additions noted below). MUST-level rules give ``"error"`` problems, SHOULD-level
rules give ``"warning"`` problems.

Public API (the rules themselves are in ``escli.cloudevents.typesystem`` and
``escli.cloudevents.attributes``; this module adds data, size and batches):

- :class:`Problem`: one finding, with a JSON pointer into the event.
- :func:`validate_event`: all problems of one structured-mode event (a parsed JSON object).
- :func:`validate_batch`: problems of a batch (a JSON array of events), tagged with the index.

Events are parsed by ``escli.jsontext.loads_json_object_strict`` (duplicate member names and
``NaN``/``Infinity`` refused) before they are validated here.
"""

from __future__ import annotations

import json
import re
from typing import Final

from escli.cloudevents.attributes import ATTRIBUTE_CHECKS, REQUIRED, check_extension
from escli.cloudevents.typesystem import (
    CACHE_KEY_LEN,
    CACHE_SIZE,
    MEDIA_TYPE_RE,
    Problem,
    error,
    is_json_subtype,
    show,
    warning,
)
from escli.jsontext import member_pointer

__all__ = [
    "BATCH_LEVEL",
    "MAX_EVENT_SIZE",
    "Problem",
    "validate_batch",
    "validate_event",
]

#: Events above this many bytes (compact UTF-8 JSON) may be dropped by intermediaries (SHOULD).
MAX_EVENT_SIZE: Final = 64 * 1024
#: Index used by :func:`validate_batch` for problems of the batch itself, not of one event.
BATCH_LEVEL: Final = -1


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
            error("/data_base64", f"data_base64 must be a base64 string, got {show(value)}")
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
            error(
                "/data_base64",
                f"data_base64 {show(value)} is not valid base64 (RFC 4648): {reason}",
            )
        )
        return
    two, three = match.group("two"), match.group("three")
    if (two is not None and two not in _BASE64_ZERO_LOW_4_BITS) or (
        three is not None and three not in _BASE64_ZERO_LOW_2_BITS
    ):
        problems.append(
            warning(
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
    match = MEDIA_TYPE_RE.fullmatch(content_type)
    result = None if match is None else is_json_subtype(match["subtype"])
    if len(content_type) <= CACHE_KEY_LEN:
        if len(_media_type_json_cache) >= CACHE_SIZE:
            _media_type_json_cache.clear()
        _media_type_json_cache[content_type] = result
    return result


def _check_data(data: object, content_type: object, problems: list[Problem]) -> None:
    is_json = _content_type_is_json(content_type)
    if is_json is False and not isinstance(data, str):
        problems.append(
            error(
                "/data",
                f"data is {show(data)} but datacontenttype "
                f"{show(content_type)} is not JSON; encode the payload "
                "as a string, or use data_base64 for binary",
            )
        )
    elif is_json and isinstance(data, str) and _looks_like_encoded_json(data):
        problems.append(
            warning(
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
            # (A batch, a JSON array of events, is validate_batch's: the caller knows
            # where the array came from, and says what to do in its own words.)
            return [error("", f"an event must be a JSON object, got {show(event)}")]
    problems: list[Problem] = []
    for name in REQUIRED:
        if name not in event:
            problems.append(error(member_pointer(name), f"required attribute {name!r} is missing"))
    checks = ATTRIBUTE_CHECKS
    for name, value in event.items():
        check = checks.get(name)
        if check is not None:
            if value is not None:
                check(value, problems)
            elif name in REQUIRED:
                problems.append(
                    error(member_pointer(name), f"required attribute {name!r} must not be null")
                )
            # null on an optional attribute means "unset"
        elif name != "data" and name != "data_base64":
            check_extension(name, value, problems)

    data_base64 = event.get("data_base64")
    if data_base64 is not None:  # null means unset, like any optional member
        _check_data_base64(data_base64, problems)
        if "data" in event:
            problems.append(
                error("/data_base64", "event has both data and data_base64; keep only one")
            )
    elif "data" in event:
        _check_data(event["data"], event.get("datacontenttype"), problems)

    if size is None:
        try:
            size = _serialised_size_if_over_limit(event)
        except (TypeError, ValueError, RecursionError) as exc:
            problems.append(error("", f"event cannot be serialised as JSON: {exc}"))
    if size is not None and size > MAX_EVENT_SIZE:
        problems.append(
            warning(
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
        return [(BATCH_LEVEL, error("", f"a batch must be a JSON array, got {show(value)}"))]
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
                        error(
                            "/specversion",
                            (
                                f"specversion {show(version)} differs from "
                                f"{show(first_version)} of event {first_version_index}; "
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
                        warning(
                            "/id",
                            (
                                f"source {show(source)} and id {show(id_)} repeat event "
                                f"{earlier} with different content; source + id should "
                                "identify one distinct event"
                            ),
                        ),
                    )
                )
    return found
