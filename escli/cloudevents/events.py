"""Recorded events as CloudEvents 1.0 (JSON event format) and back; the ``cloudevents:`` sink.

The only importer of the ``cloudevents`` SDK, and only inside the functions that build or read
SDK objects (``to_cloudevent``, ``from_cloudevent``, ``sdk_json``): export, import and the
dispatch sink write and read the JSON text themselves, several times faster than an SDK
object per event, and byte-identical to the SDK's JSON format writer (a test proves it).

Mapping (a recorded event -> a structured-mode CloudEvent, in this member order)::

    specversion      "1.0"
    id               event_id (kept as is: exporting twice gives the same ids)
    source           source (the event's registered source)
    type             event_type
    subject          stream (``<domain>-<id>``)
    time             recorded_at, RFC 3339 as the SDK writes a datetime: ``Z`` for UTC,
                     microseconds only when non-zero
    datacontenttype  "application/json"
    typeversion      type_version (extension, string)
    generation       generation (extension, integer)
    data             data (the event's fields, a JSON object)

``dataschema`` is not set: escli publishes no schema documents, and an event's schema is
named by ``type`` + ``typeversion`` (``escli domains DOMAIN`` shows its fields). A URI that
resolves to nothing would mislead.

Reading back (``EventParser``) is strict: the SDK's parser invents ids and times, so every
event is checked with ``escli.cloudevents.validate`` and then against what escli needs
(see ``EventParser.add_object``). Times are stored as escli stores its own:
``YYYY-MM-DDTHH:MM:SS.ffffff+HH:MM``, so an export imported again gives the same strings.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterable, Sequence
from itertools import repeat
from json.encoder import c_make_encoder, encode_basestring_ascii  # type: ignore[attr-defined]
from operator import add, attrgetter, call
from typing import TYPE_CHECKING, Any, ClassVar, Final, NamedTuple, TextIO, cast

from escli.cloudevents.validate import Problem, validate_event
from escli.domain.calls import failure, home_of
from escli.domain.codec import FieldError, checker, decoder
from escli.domain.model import Domain
from escli.errors import EscliError, InvalidInput, NotFound, StoreError, missing_client
from escli.jsontext import DuplicateMemberError, data_values, loads_json_object_strict
from escli.stores.base import MAX_GENERATION, NewEvent, RecordedEvent, past_max_generation
from escli.text import lone_surrogate
from escli.times import RANGE, out_of_range

if TYPE_CHECKING:
    from cloudevents.core.v1.event import CloudEvent

    from escli.domain.discovery import DomainRegistry

__all__ = [
    "BATCH_CONTENT_TYPE",
    "CONTENT_TYPE",
    "CloudEventsFile",
    "EventError",
    "EventParser",
    "from_cloudevent",
    "sdk_json",
    "to_cloudevent",
    "to_json",
]

SPECVERSION: Final = "1.0"
CONTENT_TYPE: Final = "application/cloudevents+json"
BATCH_CONTENT_TYPE: Final = "application/cloudevents-batch+json"
DATA_CONTENT_TYPE: Final = "application/json"
TYPEVERSION: Final = "typeversion"
GENERATION: Final = "generation"
# The attributes (and members) escli keeps; an import refuses any other that is set.
KEPT: Final = (
    "specversion",
    "id",
    "source",
    "type",
    "subject",
    "time",
    "datacontenttype",
    TYPEVERSION,
    GENERATION,
    "data",
)

# --------------------------------------------------------------------------------------------
# Time: escli's stored form <-> the CloudEvents ``time`` the SDK writes.


def _sdk_time_slow(recorded_at: str) -> str:
    """What the SDK's JSON writer makes of ``recorded_at`` parsed to a datetime."""
    from datetime import datetime

    try:
        text = datetime.fromisoformat(recorded_at).isoformat()
    except ValueError as e:
        raise StoreError(f"recorded time {recorded_at!r} is not an ISO 8601 timestamp") from e
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def sdk_time(recorded_at: str) -> str:
    """The ``time`` attribute of a recorded event: ``datetime.isoformat()`` as the SDK writes
    it (``Z`` for UTC, no fraction when the microseconds are zero)."""
    # The store's own form, 'YYYY-MM-DDTHH:MM:SS.ffffff+HH:MM', without building a datetime.
    if len(recorded_at) == 32 and recorded_at[19] == "." and recorded_at[10] == "T":
        head = recorded_at[:19] if recorded_at[20:26] == "000000" else recorded_at[:26]
        offset = recorded_at[26:]
        if offset == "+00:00":
            return head + "Z"
        if offset[0] in "+-" and offset[3] == ":" and offset != "-00:00":
            return head + offset
    return _sdk_time_slow(recorded_at)


_TIME_PARTS_RE: Final = re.compile(
    r"([0-9]{4}-[0-9]{2}-[0-9]{2})[Tt]([0-9]{2}:[0-9]{2}:[0-9]{2})(?:\.([0-9]+))?"
    r"(?:[Zz]|([+-][0-9]{2}:[0-9]{2}))"
)


def stored_time(time: str) -> str:
    """A valid RFC 3339 ``time`` in escli's stored form, microseconds and ``+HH:MM``.

    Raises ``EventError`` for what escli cannot keep exactly: digits past the microsecond,
    leap seconds (a Python datetime has neither) and a time outside the range every store
    keeps (``escli.times``)."""
    match = _TIME_PARTS_RE.fullmatch(time)
    if match is None:  # the validator has already rejected anything else
        raise EventError(f"time {time!r} is not an RFC 3339 timestamp")
    date, clock, fraction, offset = match.groups()
    fraction = fraction or ""
    if len(fraction) > 6:
        if fraction[6:].strip("0"):
            raise EventError(
                f"time {time!r} has digits past the microsecond, which escli cannot keep"
            )
        fraction = fraction[:6]
    if clock.endswith(":60"):
        raise EventError(f"time {time!r} is a leap second, which escli cannot keep")
    if out_of_range(time):
        raise EventError(f"time {time!r} is out of range: {RANGE}")
    if offset is None or offset == "-00:00":
        offset = "+00:00"
    return f"{date}T{clock}.{fraction.ljust(6, '0')}{offset}"


# --------------------------------------------------------------------------------------------
# Writing: the fast path and the SDK.

# The SDK writes ``json.dumps(attributes + data)``: ensure_ascii, separators ", " and ": ".
# Building the text from the same C encoder's pieces gives the same bytes.
_encode_string = encode_basestring_ascii
_encode_value = c_make_encoder(
    None, None, encode_basestring_ascii, None, ": ", ", ", False, False, True
)
_HEAD: Final = '{"specversion": "1.0", "id": '
# Per (source, type, stream) and per type version: the fixed middle parts, encoded once.
_MIDDLE_CACHE: dict[tuple[str, str, str], str] = {}
_TAIL_CACHE: dict[str, str] = {}
_CACHE_SIZE: Final = 4096


def _middle(source: str, event_type: str, stream: str) -> str:
    key = (source, event_type, stream)
    found = _MIDDLE_CACHE.get(key)
    if found is None:
        for label, value in (("source", source), ("type", event_type), ("subject", stream)):
            _check_exportable(label, value, stream)
        found = (
            f', "source": {_encode_string(source)}, "type": {_encode_string(event_type)}, '
            f'"subject": {_encode_string(stream)}, "time": '
        )
        if len(_MIDDLE_CACHE) >= _CACHE_SIZE:
            _MIDDLE_CACHE.clear()
        _MIDDLE_CACHE[key] = found
    return found


def _tail(type_version: str, stream: str) -> str:
    found = _TAIL_CACHE.get(type_version)
    if found is None:
        _check_exportable(TYPEVERSION, type_version, stream)
        found = (
            f', "datacontenttype": "{DATA_CONTENT_TYPE}", '
            f'"{TYPEVERSION}": {_encode_string(type_version)}, "{GENERATION}": '
        )
        if len(_TAIL_CACHE) >= _CACHE_SIZE:
            _TAIL_CACHE.clear()
        _TAIL_CACHE[type_version] = found
    return found


def _escli_wording(problem: Problem, event: object) -> str:
    """A validator's problem, in escli's words where escli has its own (a generation past
    the largest one is worded as everywhere else)."""
    if problem.pointer == f"/{GENERATION}" and isinstance(event, dict):
        generation = event.get(GENERATION)
        if type(generation) is int and generation > MAX_GENERATION:
            return past_max_generation(f"{GENERATION} {generation}")
    return problem.message


def _check_exportable(label: str, value: str, stream: str) -> None:
    """Refuse a stored value that would make an invalid CloudEvent (checked once per value)."""
    probe: dict[str, object] = {"specversion": "1.0", "id": "x", "source": "x", "type": "x"}
    probe[label] = value
    for problem in validate_event(probe, size=0):
        if problem.severity == "error":
            raise StoreError(f"{stream}: cannot be exported as CloudEvents: {problem.message}")


def to_json(recorded: RecordedEvent) -> str:
    """The recorded event as one structured-mode CloudEvent in JSON, without the SDK.

    Byte-identical to ``sdk_json(recorded)``; a fraction of its cost."""
    r = recorded
    event_id = r.event_id
    if not (event_id and event_id.isprintable()):
        _check_exportable("id", event_id, r.stream)
    generation = r.generation
    if generation > MAX_GENERATION:
        raise StoreError(past_max_generation(f"{r.stream} generation {generation}"))
    return "".join(
        (
            _HEAD,
            _encode_string(event_id),
            _middle(r.source, r.event_type, r.stream),
            '"',
            sdk_time(r.recorded_at),
            '"',
            _tail(r.type_version, r.stream),
            str(generation),
            ', "data": ',
            *_encode_value(r.data, 0),
            "}",
        )
    )


def attributes(recorded: RecordedEvent) -> dict[str, Any]:
    """The CloudEvent attributes of a recorded event, in the order they are written, with
    ``time`` as the datetime the SDK takes."""
    from datetime import datetime

    r = recorded
    return {
        "specversion": SPECVERSION,
        "id": r.event_id,
        "source": r.source,
        "type": r.event_type,
        "subject": r.stream,
        "time": datetime.fromisoformat(r.recorded_at),
        "datacontenttype": DATA_CONTENT_TYPE,
        TYPEVERSION: r.type_version,
        GENERATION: r.generation,
    }


def to_cloudevent(recorded: RecordedEvent) -> CloudEvent:
    """The recorded event as the SDK's ``CloudEvent`` (``cloudevents.core.v1.event``); the
    SDK is the ``cloudevents`` extra (``ClientMissing`` without it)."""
    try:
        from cloudevents.core.exceptions import BaseCloudEventException
        from cloudevents.core.v1.event import CloudEvent
    except ImportError as e:
        raise missing_client(
            "CloudEvent objects need the CloudEvents SDK", "'escli[cloudevents]'", e
        ) from e

    try:
        return CloudEvent(attributes(recorded), recorded.data)
    except BaseCloudEventException as e:
        raise StoreError(
            f"{recorded.stream} generation {recorded.generation}: "
            f"cannot be exported as CloudEvents: {e}"
        ) from e


def sdk_json(recorded: RecordedEvent) -> str:
    """The recorded event written by the SDK's own JSON format: the reference for ``to_json``."""
    from cloudevents.core.formats.json import JSONFormat

    return JSONFormat().write(to_cloudevent(recorded)).decode("utf-8")


# --------------------------------------------------------------------------------------------
# Reading: CloudEvents -> what escli appends.


class EventError(ValueError):
    """One event is not an escli event; the message says why (the caller adds where)."""


class _Resolved(NamedTuple):
    """What the attributes shared by many events resolve to, worked out once."""

    stream: str
    fields: tuple[str, str, str]  # (event_type, type_version, source): a NewEvent's first
    cls: type | None  # the event class; None: "unknown, skip it"
    check: Any  # codec.checker(cls), or None
    domain: Domain | None  # whose class it is

    @property
    def event_type(self) -> str:
        return self.fields[0]

    def decode(self, data: dict[str, Any]) -> Any:
        """The event instance of checked ``data``."""
        assert self.cls is not None
        return decoder(self.cls)(data)


class _DomainLookup:
    """Domains by name from a registry or a list; None for a domain that is not there."""

    def __init__(self, domains: DomainRegistry | Iterable[Domain]) -> None:
        if isinstance(domains, Iterable):
            self._fixed: dict[str, Domain] | None = {d.name: d for d in domains}
            self._registry = None
        else:
            self._fixed, self._registry = None, domains

    def get(self, name: str) -> Domain | None:
        if self._fixed is not None:
            return self._fixed.get(name)
        assert self._registry is not None
        try:
            return self._registry.get(name)
        except NotFound:
            return None

    def known(self) -> str:
        names = sorted(self._fixed) if self._fixed is not None else self._registry_names()
        return ", ".join(names) or "none"

    def _registry_names(self) -> list[str]:
        assert self._registry is not None
        return self._registry.names()


def _is_application_json(content_type: str) -> bool:
    return content_type.split(";", 1)[0].strip().lower() == DATA_CONTENT_TYPE


def _describe(value: object) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 40 else text[:37] + "..."


# Strings in data may hold any character JSON can write but a lone surrogate (escli.text).
# The JSON escape of a lone surrogate: the only way to write one in a text that was
# read as UTF-8. Its matches are a superset (an escaped backslash before "ud800" matches),
# which only sends a line to the general path.
_LONE_SURROGATE_ESCAPE: Final = re.compile(
    r"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F])"
    r"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}"
)


def _may_hold_lone_surrogate(text: str) -> bool:
    """Whether JSON ``text`` may hold a lone surrogate (the fast paths leave it to the
    general path). Substring searches first: the pattern is ten times slower."""
    return ("\\ud" in text or "\\uD" in text) and _LONE_SURROGATE_ESCAPE.search(text) is not None


def _surrogate_problem(value: object, pointer: str) -> str | None:
    """Where JSON ``value`` (at JSON pointer ``pointer``) holds a lone surrogate, in a
    string or a member name, nested at any depth: the message, or None."""
    kind = type(value)
    if kind is str:
        text = cast("str", value)
        problem = lone_surrogate(text)
        if problem is None:
            return None
        where = f"{pointer} contains"
    elif kind is dict:
        for name, item in cast("dict[str, object]", value).items():
            problem = lone_surrogate(name)
            if problem is not None:
                text, where = name, f"{pointer} has a member name that contains"
                break
            member = type(item)
            if member is str:
                if cast("str", item).isprintable():  # the common case, at C speed
                    continue
            elif member is not dict and member is not list:
                continue
            part = name.replace("~", "~0").replace("/", "~1")
            inner = _surrogate_problem(item, f"{pointer}/{ascii(part)[1:-1]}")
            if inner is not None:
                return inner
        else:
            return None
    elif kind is list:
        for index, item in enumerate(cast("list[object]", value)):
            inner = _surrogate_problem(item, f"{pointer}/{index}")
            if inner is not None:
                return inner
        return None
    else:
        return None
    return f"{where} {problem}: {text!a}"


# A line exactly as ``to_json`` writes it, with 'Z' times and no escapes in the strings.
# The fast paths read these; anything else takes the general path, which gives the same
# result for these lines (tests check both agree) and the error messages. Source, type,
# subject and typeversion (groups 2 and 4) are only looked up, among those the general path
# accepted: it caches none with a '\', so those strings hold no escape either, and '[^"]'
# (faster than _PLAIN) finds their ends.
# Printable ASCII but '"' and '\': a JSON string as is. Its repeats are possessive (a little
# faster): they never hold the '"' that ends them.
_PLAIN: Final = r"[ !#-\[\]-~]"
# A date that exists, by the validator's rule (the Gregorian leap years), in escli's range
# (``escli.times``: with 'Z', any year but 0000): days 29-31 only in the months that have
# them.
_DATE: Final = (
    r"(?!0000)(?:[0-9]{4}-(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])"
    r"|(?:0[13-9]|1[0-2])-(?:29|30)|(?:0[13578]|1[02])-31)"
    r"|(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:0[048]|[2468][048]|[13579][26])00)"
    r"-02-29)"
)
_LINE_RE: Final = re.compile(
    r'\{"specversion": "1\.0", "id": "(' + _PLAIN + r'++)"'
    r'(, "source": "[^"]*+", "type": "[^"]*+", "subject": "[^"]*+", "time": ")('
    + _DATE
    + r"T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,6})?)Z\""
    r'(, "datacontenttype": "application/json", "typeversion": "[^"]*+")'
    r', "generation": ([1-9][0-9]{0,8}), "data": (\{.*\})\}\n?'
)
_groups = re.Match.groups
_new_event = tuple.__new__  # NewEvent(...) without the Python-level __new__ of a NamedTuple
_resolved_fields = attrgetter("fields")
_resolved_stream = attrgetter("stream")
_resolved_check = attrgetter("check")
_UTC: Final = "+00:00"


def _stored_utc(time: str) -> str:
    """A plain line's time ('YYYY-MM-DDTHH:MM:SS[.f]', 'Z' cut off) in escli's stored form."""
    return f"{time[:19]}.{time[20:].ljust(6, '0')}{_UTC}"


class EventParser:
    """Checks CloudEvents strictly and keeps the escli events among them, in file order.

    ``add_lines`` (a chunk of JSON Lines), ``add_line`` and ``add_object`` (one event) check
    events and append them to four parallel columns: ``stream_names``, ``generations``,
    ``locations`` (line or event number) and ``events`` (what the store will be given). An
    unknown type is an ``EventError`` or, with ``skip_unknown``, counted in ``skipped``.
    An event class whose own code fails (a ``__post_init__`` raising) is the domain's
    ``DomainError``; the reader (``escli.cloudevents.files.parse_stream``) adds which event it
    was, and sends what the classes print to stderr. Nothing here touches a store.
    """

    def __init__(
        self, domains: DomainRegistry | Iterable[Domain], *, skip_unknown: bool = False
    ) -> None:
        self._domains = _DomainLookup(domains)
        self.skip_unknown = skip_unknown
        self.stream_names: list[str] = []
        self.generations: list[int] = []
        self.locations: list[int] = []
        self.events: list[NewEvent] = []
        self.skipped = 0
        self.count = 0
        # (source + type + subject text, typeversion text) as a plain line writes them ->
        # what they resolve to. Filled only from lines the general path accepted.
        self._line_cache: dict[tuple[str, str], _Resolved] = {}
        self._resolved: dict[tuple[str, str, str, str], _Resolved] = {}

    def by_stream(self) -> dict[str, list[int]]:
        """The index of every event in the columns, by stream, streams in file order."""
        names = self.stream_names
        if names and names.count(names[0]) == len(names):
            return {names[0]: list(range(len(names)))}
        found: dict[str, list[int]] = {}
        for index, name in enumerate(names):
            indexes = found.get(name)
            if indexes is None:
                found[name] = [index]
            else:
                indexes.append(index)
        return found

    # -- a chunk of JSON Lines -----------------------------------------------------------

    def add_lines(self, lines: list[str], first: int) -> bool:
        """Check a chunk of JSON Lines (line ``i`` is at location ``first + i``) through the
        fast path, all or nothing: False, with nothing added, when any line needs the
        general path (the caller then gives them to ``add_line`` one by one).

        The fast path is the work of the general path for lines as ``to_json`` writes them
        whose source, type, subject and typeversion an earlier line had checked, done with
        C-level ``map`` over the chunk rather than a Python loop per line."""
        matches = list(map(_LINE_RE.fullmatch, lines))
        if not matches or None in matches:
            return False
        plain = cast("list[re.Match[str]]", matches)
        ids, middles, times, tails, generations, datas = zip(*map(_groups, plain), strict=True)
        resolved = list(map(self._line_cache.get, zip(middles, tails, strict=True)))
        if None in resolved:
            return False  # attributes no earlier line had
        checks = list(map(_resolved_check, resolved))
        if None in checks:
            return False  # unknown types to skip
        if _may_hold_lone_surrogate("".join(datas)):
            return False  # data no store can keep, which the general path locates
        try:
            values = data_values(datas)
            for _ in map(call, checks, values):
                pass
        except (Exception, SystemExit):
            # Data that does not fit, or an event class's own code failing: the general
            # path says what is wrong, and where.
            return False
        if min(map(len, times)) == 26:  # microseconds: no need to pad
            stored_times = map(add, times, repeat(_UTC))
        else:
            stored_times = map(_stored_utc, times)
        fields = map(_resolved_fields, resolved)
        self.events.extend(
            map(
                _new_event,
                repeat(NewEvent),
                map(add, fields, zip(values, ids, stored_times, strict=True)),
            )
        )
        self.stream_names.extend(map(_resolved_stream, resolved))
        self.generations.extend(map(int, generations))
        self.locations.extend(range(first, first + len(lines)))
        self.count += len(lines)
        return True

    # -- one event -----------------------------------------------------------------------

    def add_line(self, line: str, location: int) -> None:
        """Check one JSON text holding one event (a JSON Lines line, newline optional)."""
        self.count += 1
        match = _LINE_RE.fullmatch(line)
        if match is not None and self._add_plain(match, location):
            return
        try:
            event = loads_json_object_strict(line)
        except DuplicateMemberError as e:
            raise EventError(str(e)) from None
        except json.JSONDecodeError as e:
            raise EventError(f"not JSON: {e.msg} (column {e.pos + 1})") from None
        except ValueError as e:
            raise EventError(f"not JSON: {e}") from None
        # size=0: size is only a SHOULD (a warning), and an import reports errors only.
        resolved = self._add(event, location, 0)
        if match is not None and "\\" not in match.group(2) + match.group(4):
            # Later lines with the same attributes take the fast paths.
            if len(self._line_cache) >= _CACHE_SIZE:
                self._line_cache.clear()
            self._line_cache[match.group(2), match.group(4)] = resolved

    def _add_plain(self, match: re.Match[str], location: int) -> bool:
        """``add_lines``'s fast path for one line: False when in any doubt."""
        event_id, middle, time, tail, generation, data = match.groups()
        resolved = self._line_cache.get((middle, tail))
        if resolved is None or _may_hold_lone_surrogate(data):
            return False
        try:
            # A JSON object: the pattern took it from '{' to '}'.
            value = cast("dict[str, Any]", loads_json_object_strict(data))
            if resolved.check is None:  # skipped, but only if it is JSON as the rest
                self.skipped += 1
                return True
            resolved.check(value)
        except (Exception, SystemExit):  # as in add_lines
            return False
        self.stream_names.append(resolved.stream)
        self.generations.append(int(generation))
        self.locations.append(location)
        self.events.append(
            NewEvent(
                *resolved.fields,
                value,
                event_id,
                _stored_utc(time),
            )
        )
        return True

    def add_object(self, event: object, location: int, *, size: int | None = None) -> None:
        """Check one parsed event (a JSON object), e.g. an element of a batch."""
        self.count += 1
        self._add(event, location, size)

    def _add(self, event: object, location: int, size: int | None) -> _Resolved:
        generation, new, resolved = self.check(event, size=size)
        if new is None:
            self.skipped += 1
        else:
            self.stream_names.append(resolved.stream)
            self.generations.append(generation)
            self.locations.append(location)
            self.events.append(new)
        return resolved

    def check(
        self, event: object, *, size: int | None = None
    ) -> tuple[int, NewEvent | None, _Resolved]:
        """Everything escli requires of one event, in the order a reader would fix them:
        the CloudEvents rules, then escli's (attributes it keeps, subject, typeversion,
        generation, time, data decoding strictly into the event class)."""
        for problem in validate_event(event, size=size):
            if problem.severity == "error":
                raise EventError(_escli_wording(problem, event))
        assert isinstance(event, dict)
        for name, value in event.items():
            if name not in KEPT and value is not None:
                if name == "data_base64":
                    raise EventError(
                        "data_base64 (binary data) cannot be imported: an escli event's data "
                        "is a JSON object, in data"
                    )
                raise EventError(
                    f"attribute {name!r} has no place in an escli store, which keeps "
                    f"{', '.join(KEPT[:-1])} and data; remove it"
                )
        content_type = event.get("datacontenttype")
        if content_type is not None and not _is_application_json(content_type):
            raise EventError(
                f"datacontenttype {content_type!r} is not {DATA_CONTENT_TYPE}: an escli "
                "event's data is a JSON object"
            )
        subject = event.get("subject")
        if subject is None:
            raise EventError("subject is missing: escli needs it to name the stream")
        type_version = event.get(TYPEVERSION)
        if type_version is None:
            raise EventError(
                f"extension attribute {TYPEVERSION!r} (the event type's version) is missing"
            )
        if type(type_version) is not str or not type_version:
            raise EventError(
                f"{TYPEVERSION} must be a non-empty string, got {_describe(type_version)}"
            )
        generation = event.get(GENERATION)
        if generation is None:
            raise EventError(
                f"extension attribute {GENERATION!r} (the event's place in its stream) is missing"
            )
        if type(generation) is not int or generation < 1:
            raise EventError(
                f"{GENERATION} must be a positive integer, got {_describe(generation)}"
            )
        time = event.get("time")
        if time is None:
            raise EventError("time is missing: escli keeps the time of every event")
        if "data" not in event:
            raise EventError("data is missing: an escli event's data is its fields")
        data = event["data"]
        if type(data) is not dict:
            raise EventError(
                f"data must be a JSON object of the event's fields, got {_describe(data)}"
            )
        surrogate = _surrogate_problem(data, "data at /data")
        if surrogate is not None:
            raise EventError(surrogate)
        resolved = self._resolve(event["source"], event["type"], subject, type_version)
        if resolved.check is None:
            return generation, None, resolved
        try:
            resolved.check(data)
        except FieldError as e:
            raise EventError(
                f"{resolved.event_type} v{type_version} field {e.path or '(data)'}: {e.message}"
            ) from None
        except EscliError:
            raise
        except (Exception, SystemExit) as e:
            # The event class's own code (a __post_init__) failed: its author's error.
            # (A try costs nothing until it catches; the caller adds which event it was.)
            assert resolved.domain is not None
            domain = resolved.domain
            found = failure(domain.name, home_of(domain), e)
            if found is None:
                raise
            raise found from e
        new = NewEvent(*resolved.fields, data, event["id"], stored_time(time))
        return generation, new, resolved

    def _resolve(self, source: str, event_type: str, subject: str, version: str) -> _Resolved:
        key = (source, event_type, subject, version)
        found = self._resolved.get(key)
        if found is not None:
            return found
        try:
            domain_name = Domain.domain_name_of(subject)
        except InvalidInput:
            raise EventError(
                f"subject {subject!r} does not name an escli stream: <domain>-<id>"
            ) from None
        domain = self._domains.get(domain_name)
        cls = None if domain is None else domain.events.get((event_type, version))
        if cls is None and not self.skip_unknown:
            if domain is None:
                raise EventError(
                    f"subject {subject!r}: unknown domain {domain_name!r} "
                    f"(known: {self._domains.known()}); --skip-unknown skips such events"
                )
            known = ", ".join(f"{t} v{v}" for t, v in domain.events) or "none"
            raise EventError(
                f"domain {domain_name!r} has no event type {event_type} v{version} "
                f"(known: {known}); --skip-unknown skips such events"
            )
        found = _Resolved(subject, (event_type, version, source), cls, cls and checker(cls), domain)
        if len(self._resolved) >= _CACHE_SIZE:
            self._resolved.clear()
        self._resolved[key] = found
        return found


def from_cloudevent(ce: Any, domains: DomainRegistry | Iterable[Domain]) -> Any:
    """The domain event an SDK ``CloudEvent`` carries, decoded strictly into its class.

    The event's subject names its stream, and so its domain; ``type`` and the ``typeversion``
    extension pick the class. Raises ``InvalidInput`` when it is not an escli event."""
    subject = ce.get_subject()
    version = ce.get_extension(TYPEVERSION)
    data = ce.get_data()
    if subject is None or not isinstance(version, str):
        raise InvalidInput(
            f"CloudEvent {ce.get_id()} is not an escli event: it needs a subject and a "
            f"{TYPEVERSION} extension"
        )
    lookup = _DomainLookup(domains)
    try:
        domain = lookup.get(Domain.domain_name_of(subject))
    except InvalidInput as e:
        raise InvalidInput(f"CloudEvent {ce.get_id()}: {e}") from e
    cls = None if domain is None else domain.events.get((ce.get_type(), version))
    if cls is None:
        raise InvalidInput(
            f"CloudEvent {ce.get_id()}: no loaded domain has event type {ce.get_type()} v{version}"
        )
    assert domain is not None  # it has the class
    # A library bridge, called per event: the domain's failures are translated, but nothing
    # redirects its prints (no CLI output is on stdout here, and a redirect per event would
    # cost a third of the call).
    try:
        return decoder(cls)(data)
    except EscliError:
        raise
    except FieldError as e:
        raise InvalidInput(
            f"CloudEvent {ce.get_id()}: {ce.get_type()} field {e.path or '(data)'}: {e.message}"
        ) from e
    except (Exception, SystemExit) as e:
        found = failure(domain.name, home_of(domain), e, f" (decoding CloudEvent {ce.get_id()})")
        if found is None:
            raise
        raise found from e


# --------------------------------------------------------------------------------------------
# The dispatch sink: ``--to cloudevents:FILE``.


class CloudEventsFile:
    """Appends delivered events to a file as CloudEvents JSON Lines (``cloudevents:-`` is
    standard output). The path is checked when the target is opened, so a bad one stops the
    command before anything is written; the file itself is created by the first delivery, so
    a command that fails earlier leaves no trace."""

    SCHEME: ClassVar[str] = "cloudevents:"

    def __init__(self, url: str) -> None:
        self.url = url
        self.path = url[len(self.SCHEME) :]
        if not self.path:
            raise InvalidInput(f"{url!r} names no file: use cloudevents:FILE or cloudevents:-")
        self._file: TextIO | None = None
        if self.path != "-":
            folder = os.path.dirname(os.path.abspath(self.path))
            if os.path.isdir(self.path):
                raise InvalidInput(f"{url}: {self.path} is a directory")
            if not os.path.isdir(folder):
                raise InvalidInput(f"{url}: cannot open {self.path}: no such directory {folder}")
            writable = self.path if os.path.exists(self.path) else folder
            if not os.access(writable, os.W_OK):
                raise InvalidInput(f"{url}: cannot open {self.path}: permission denied")

    def deliver(self, recorded: Sequence[RecordedEvent]) -> None:
        text = "".join([to_json(r) + "\n" for r in recorded])
        try:
            if self.path == "-":
                out: TextIO = sys.stdout
            else:
                if self._file is None:
                    self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - kept open
                out = self._file
            out.write(text)
            out.flush()
        except OSError as e:
            if isinstance(e, BrokenPipeError) and self.path == "-":
                raise  # stdout's reader stopped early (`| head -1`): the CLI ends quietly
            raise StoreError(f"{self.url}: cannot write {self.path}: {e.strerror}") from e

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
