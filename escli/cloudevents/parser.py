"""Parsing: CloudEvents -> what escli appends, checked strictly (``EventParser``).

The SDK's parser is lenient (it invents ids and times), so every event is checked with
``escli.cloudevents.validate`` and then against what escli needs (see ``EventParser.check``).
Times are stored as escli stores its own (``escli.cloudevents.times.stored_time``). Lines as
``escli.cloudevents.write.to_json`` writes them take a fast path, which a test proves agrees
with the general one.

An event at an old version of its type is accepted through the domain's upcasters and
kept as the file has it (``escli.cloudevents.versions`` says how each failure is reported).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from itertools import repeat
from operator import add, attrgetter, call
from typing import TYPE_CHECKING, Any, Final, NamedTuple, cast

from escli.cloudevents.foreign import (
    FOREIGN_HINT,
    Foreign,
    current_version,
    dataschema_version,
)
from escli.cloudevents.lines import LINE_RE, line_metadata
from escli.cloudevents.mapping import (
    DATA_CONTENT_TYPE,
    GENERATION,
    KEPT,
    TYPEVERSION,
    EventError,
    metadata_of,
    not_json_data,
)
from escli.cloudevents.times import stored_time
from escli.cloudevents.validate import Problem, validate_event
from escli.cloudevents.versions import unknown_type, upcast_checker
from escli.domain.calls import failure, home_of
from escli.domain.codec import FieldError, checker, decoder
from escli.domain.model import Domain
from escli.domain.upcasting import Chain, UpcastFailed, chain_decoder, json_copy
from escli.errors import EscliError, InvalidInput, NotFound
from escli.jsontext import DuplicateMemberError, data_values, loads_json_object_strict
from escli.stores.base import MAX_GENERATION, NewEvent, past_max_generation
from escli.text import surrogate_in

if TYPE_CHECKING:
    from escli.domain.discovery import DomainRegistry

__all__ = ["DomainLookup", "EventError", "EventParser"]

_CACHE_SIZE: Final = 4096


def _escli_wording(problem: Problem, event: object) -> str:
    """A validator's problem, in escli's words where escli has its own (a generation past
    the largest one is worded as everywhere else; data that does not match a datacontenttype
    that is not JSON says what escli takes, not how CloudEvents would carry it; an array
    where an event should be says what a batch is)."""
    if isinstance(event, list):
        return (
            f"{problem.message}: a line of JSON Lines, or an element of a batch, is one "
            "event (a JSON object); a batch is a file holding one JSON array of events"
        )
    if problem.pointer == f"/{GENERATION}" and isinstance(event, dict):
        generation = event.get(GENERATION)
        if type(generation) is int and generation > MAX_GENERATION:
            return past_max_generation(f"{GENERATION} {generation}")
    if problem.pointer == "/data" and isinstance(event, dict):
        content_type = event.get("datacontenttype")
        if isinstance(content_type, str):
            return not_json_data(content_type)
    return problem.message


class _Resolved(NamedTuple):
    """What the attributes shared by many events resolve to, worked out once."""

    stream: str
    fields: tuple[str, str, str]  # (event_type, type_version, source): a NewEvent's first
    cls: type | None  # the (current) event class; None: "unknown, skip it"
    check: Any  # codec.checker(cls), through the upcasters for an old version; or None
    domain: Domain | None  # whose class it is
    chain: Chain | None  # the upcasters of an old version; None: the class's own

    @property
    def event_type(self) -> str:
        return self.fields[0]

    def decode(self, data: dict[str, Any]) -> Any:
        """The (current) event instance of checked ``data``, which is left as it is."""
        assert self.cls is not None
        if self.chain is None:
            return decoder(self.cls)(data)
        return chain_decoder(self.chain, typed=False)(json_copy(data))


class DomainLookup:
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


_groups = re.Match.groups
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
        self, domains: DomainRegistry | Iterable[Domain], *, skip_unknown: bool = False,
        foreign: Foreign | None = None,
    ) -> None:  # fmt: skip
        self._domains = DomainLookup(domains)
        self.skip_unknown = skip_unknown
        self.foreign = foreign  # import --append: escli.cloudevents.foreign's rules
        # A --stream template's attributes are kept too: an extension it names is metadata.
        self._kept = KEPT if foreign is None else (*KEPT, "dataschema")
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
        matches = list(map(LINE_RE.fullmatch, lines))
        if self.foreign is not None or not matches or None in matches:
            return False
        plain = cast("list[re.Match[str]]", matches)
        ids, middles, times, tails, generations, metas, datas = zip(
            *map(_groups, plain), strict=True
        )
        resolved = list(map(self._line_cache.get, zip(middles, tails, strict=True)))
        if None in resolved:
            return False  # attributes no earlier line had
        checks = list(map(_resolved_check, resolved))
        if None in checks:
            return False  # unknown types to skip
        if _may_hold_lone_surrogate("".join(datas)):
            return False  # data no store can keep, which the general path locates
        try:
            metadata = list(map(line_metadata, metas))
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
                NewEvent._make,
                map(add, fields, zip(values, ids, stored_times, metadata, strict=True)),
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
        match = None if self.foreign is not None else LINE_RE.fullmatch(line)
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
        event_id, middle, time, tail, generation, meta, data = match.groups()
        resolved = self._line_cache.get((middle, tail))
        if resolved is None or _may_hold_lone_surrogate(data):
            return False
        try:
            metadata = line_metadata(meta)
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
                metadata,
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
        generation, time, data decoding strictly into the event class). Of an event from
        another producer (``foreign``), typeversion, generation and time may be missing
        (``escli.cloudevents.foreign``)."""
        for problem in validate_event(event, size=size):
            if problem.severity == "error":
                raise EventError(_escli_wording(problem, event))
        assert isinstance(event, dict)
        metadata = metadata_of(event, self._kept)
        content_type = event.get("datacontenttype")
        if content_type is not None and not _is_application_json(content_type):
            raise EventError(not_json_data(content_type))
        foreign = self.foreign
        subject = event.get("subject") if foreign is None else foreign.stream(event)
        if subject is None:
            more = "" if foreign is None else " (or --stream TEMPLATE)"
            raise EventError(f"subject is missing: escli needs it{more} to name the stream")
        type_version = event.get(TYPEVERSION)
        if type_version is None and foreign is not None:
            type_version = dataschema_version(event.get("dataschema")) or current_version(
                self._domains.get(subject.partition("-")[0]), event["type"], self.skip_unknown
            )
        if type_version is None:
            raise EventError(
                f"extension attribute {TYPEVERSION!r} (the event type's version) is missing"
                + FOREIGN_HINT
            )
        if type(type_version) is not str or not type_version:
            raise EventError(
                f"{TYPEVERSION} must be a non-empty string, got {_describe(type_version)}"
            )
        generation = event.get(GENERATION)
        if generation is None and foreign is not None:
            generation = 0  # at the end of the stream (import_plan)
        elif generation is None:
            raise EventError(
                f"extension attribute {GENERATION!r} (the event's place in its stream) is "
                "missing" + FOREIGN_HINT
            )
        elif type(generation) is not int or generation < 1:
            raise EventError(
                f"{GENERATION} must be a positive integer, got {_describe(generation)}"
            )
        time = event.get("time")
        if time is None and foreign is None:
            raise EventError("time is missing: escli keeps the time of every event")
        if "data" not in event:
            raise EventError("data is missing: an escli event's data is its fields")
        data = event["data"]
        if type(data) is not dict:
            raise EventError(
                f"data must be a JSON object of the event's fields, got {_describe(data)}"
            )
        surrogate = surrogate_in(data, "data at /data")
        if surrogate is not None:
            raise EventError(surrogate)
        resolved = self._resolve(event["source"], event["type"], subject, type_version)
        if resolved.check is None:
            return generation, None, resolved
        try:
            resolved.check(data)
        except FieldError as e:
            upcast = "" if resolved.chain is None else f" upcast by {resolved.chain.describe()}"
            raise EventError(
                f"{resolved.event_type} v{type_version}{upcast} field {e.path or '(data)'}: "
                f"{e.message}"
            ) from None
        except EscliError:
            raise
        except UpcastFailed as e:  # the upcaster's own failure: its author's error
            assert resolved.domain is not None
            where = f"{subject} generation {generation}, event {event['id']}"
            raise e.error(resolved.domain, where) from e
        except (Exception, SystemExit) as e:
            # The event class's own code (a __post_init__) failed: its author's error.
            # (A try costs nothing until it catches; the caller adds which event it was.)
            assert resolved.domain is not None
            domain = resolved.domain
            found = failure(domain.name, home_of(domain), e)
            if found is None:
                raise
            raise found from e
        # import --append: an event without a time (optional in CloudEvents) gets the time
        # the store records it at, that of the import.
        at = None if time is None else stored_time(time)
        new = NewEvent(*resolved.fields, data, event["id"], at, metadata)
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
        reading = None if domain is None else domain.reading(event_type, version)
        if reading is None and not self.skip_unknown:
            if domain is None:
                raise EventError(
                    f"subject {subject!r}: unknown domain {domain_name!r} "
                    f"(known: {self._domains.known()}); --skip-unknown skips such events"
                )
            raise EventError(
                f"{unknown_type(domain, event_type, version)}; --skip-unknown skips such events"
            )
        if reading is None:
            cls, check, chain = None, None, None
        elif reading.chain is None:
            cls, check, chain = reading.cls, checker(reading.cls), None
        else:
            cls, check, chain = reading.cls, upcast_checker(reading.chain), reading.chain
        found = _Resolved(subject, (event_type, version, source), cls, check, domain, chain)
        if len(self._resolved) >= _CACHE_SIZE:
            self._resolved.clear()
        self._resolved[key] = found
        return found
