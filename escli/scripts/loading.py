"""Loading scripts and scenario files: YAML or text into checked steps, expectations and
scenarios, before anything runs.

A *script* is YAML: a list of steps, or a mapping with defaults (``domain``, ``store``) and
``steps``. A step is the same words as the CLI (``combat attack ogre 150``, an optional
leading ``dispatch``; the domain may be left out when a default domain is set), or a mapping::

    - combat attack ogre 150
    - {domain: combat, command: attack, args: {entity_id: ogre, damage: 150}}
    - run: combat attack ghost 1
      expect:
        error: {kind: rejected, message: immortal}
    - run: combat attack ogre 750
      expect:
        events: [{type: EntityAttacked, data: {damage: 750}}, {type: EntityDied}]
        state: {hitpoints: 0, alive: false}
        generation: 3

Plain text works too (a file or stdin that is not a YAML list or mapping): one CLI-style
command per line, ``#`` comments and blank lines ignored.

A *scenario file* has ``scenarios``: each with a ``name``, ``given`` events (``type``, an
optional ``version`` and ``data``), ``when`` (a step) and ``then`` (what ``expect`` takes).
Scenarios run in an isolated in-memory store unless a ``store`` is named; in a named store,
each in streams of its own.

A given event without a ``version`` is at its type's current version (the highest
registered). One that names an old version, which the domain reads through upcasters, is
stored as it is, as a store written by the old domain holds it, so the scenario tests the
upcasters as it tests the rules::

    given:
      - {type: EntityAttacked, version: "1.0", data: {entity_id: ogre, damage: 5}}

Its data is checked on load by upcasting it to the current class. A version is a string
(``version: 1.10`` unquoted would be the number 1.1). Expected events are what the command
emits: events of the domain's classes, so ``then`` names no version.

A scenario that names a projection (``project: combat.roster``) checks the rows its given
events make (``then_rows``); its given events may each name a ``stream``, and ``when`` and
``then`` are optional: ``escli.scripts.projecting`` says how.

Everything is parsed and checked in full (keys, domains, commands, field types, expected
event types) before the first step runs; problems point to ``FILE:LINE:COLUMN``. YAML is
read with the safe loader, within the bounds ``escli.scripts.yaml_text`` sets (size, nesting,
aliases).
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from escli.app.dispatch import new_event
from escli.domain.codec import FieldError, check_value, decode, encode, field_types
from escli.domain.discovery import DomainRegistry
from escli.domain.model import Domain, event_meta
from escli.domain.upcasting import UpcastFailed, upcast, version_key
from escli.domain.words import build_command, make_command, parse_text
from escli.errors import DomainError, EscliError, InvalidInput
from escli.scripts.expectations import ERROR_KINDS, EventPattern, Expectation, RowsExpectation
from escli.scripts.projecting import GivenEvent, expected_rows, given_events
from escli.scripts.yaml_text import (
    ScriptTooLarge,
    Where,
    YList,
    YMap,
    check_script_text,
    parse_yaml,
)
from escli.stores.base import NewEvent, new_event_id

__all__ = ["ScenarioSpec", "Script", "ScriptStep", "load_scenarios", "load_script"]


def _check_keys(value: YMap, allowed: Sequence[str], what: str) -> None:
    for key in value:
        if key not in allowed:
            raise InvalidInput(
                f"{value.key_where[key]}: unknown key {key!r} in {what} "
                f"(allowed: {', '.join(allowed)})"
            )


def _expect_type(value: Any, kind: type | tuple[type, ...], where: Where, what: str) -> None:
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        names = {dict: "a mapping", list: "a list", str: "a string", int: "an integer"}
        wanted = names.get(kind, str(kind)) if isinstance(kind, type) else "a string or mapping"
        raise InvalidInput(f"{where}: {what} must be {wanted}, got {json.dumps(value)}")


@dataclass(frozen=True)
class ScriptStep:
    """One command to dispatch, built and checked before anything runs."""

    where: Where
    text: str
    domain: Domain
    command: Any
    expect: Expectation | None = None


@dataclass
class Script:
    source: str
    steps: list[ScriptStep]
    store_url: str | None = None


class _Builder:
    """Turns parsed YAML (or text lines) into checked steps, scenarios and events."""

    def __init__(self, registry: DomainRegistry, source: str) -> None:
        self.registry = registry
        self.source = source

    def domain(self, name: Any, where: Where) -> Domain:
        _expect_type(name, str, where, "domain")
        try:
            return self.registry.get(name)
        except DomainError:
            raise  # the domain's own failure, not the script's
        except EscliError as e:
            raise InvalidInput(f"{where}: {e}") from e

    def words_step(self, text: str, where: Where, default: str | None) -> tuple[Domain, Any]:
        try:
            words = shlex.split(text, comments=True)
        except ValueError as e:
            raise InvalidInput(f"{where}: {e}") from e
        if words and words[0] == "dispatch":
            words = words[1:]
        if not words:
            raise InvalidInput(f"{where}: empty command")
        if default is not None and words[0] not in self.registry.names():
            words = [default, *words]
        if len(words) < 2:
            raise InvalidInput(f"{where}: expected DOMAIN COMMAND ARGS..., got {text!r}")
        domain = self.domain(words[0], where)
        try:
            return domain, build_command(domain, words[1], words[2:])
        except EscliError as e:
            raise InvalidInput(f"{where}: {e}") from e

    def mapping_step(self, value: YMap, default: str | None) -> tuple[Domain, Any]:
        where = value.where
        name = value.get("domain", default)
        if name is None:
            raise InvalidInput(f"{where}: step names no domain and the file sets no default")
        domain = self.domain(name, value.value_where.get("domain", where))
        if "command" not in value:
            raise InvalidInput(f"{where}: step has no command")
        command_name = value["command"]
        _expect_type(command_name, str, value.value_where["command"], "command")
        try:
            spec = domain.command_spec(command_name)
        except EscliError as e:
            raise InvalidInput(f"{value.value_where['command']}: {e}") from e
        args = value.get("args", YMap())
        args_where = value.value_where.get("args", where)
        _expect_type(args, dict, args_where, "args")
        types = field_types(spec.cls)
        values = {}
        for key, raw in args.items():
            key_where = args.key_where[key] if isinstance(args, YMap) else args_where
            name_ = key.replace("-", "_")
            if name_ not in types:
                raise InvalidInput(
                    f"{key_where}: {spec.name} has no field {key!r} (fields: {', '.join(types)})"
                )
            value_where = args.value_where[key] if isinstance(args, YMap) else args_where
            quoted = isinstance(args, YMap) and key in args.quoted
            values[name_] = self.field_value(
                types[name_], raw, value_where, f"{spec.name} {key}", quoted=quoted
            )
        missing = [f for f in types if f not in values]
        try:
            command = make_command(spec, values)
        except InvalidInput as e:
            raise InvalidInput(
                f"{args_where}: {spec.name}: missing {', '.join(missing)}"
                if missing
                else f"{args_where}: {e}"
            ) from e
        return domain, command

    @staticmethod
    def field_value(tp: Any, raw: Any, where: Where, what: str, *, quoted: bool = False) -> Any:
        """A YAML value for a field: typed YAML values are checked strictly; a word for a
        non-string field is converted as on the command line (``150`` in ``attack ogre
        150``); a ``quoted`` string is a string (``damage: "5"`` is refused for an int)."""
        try:
            if isinstance(raw, str) and tp is not str and not quoted:
                return parse_text(tp, raw, what)
            return check_value(tp, raw, what)
        except FieldError as e:
            raise InvalidInput(f"{where}: {e}") from e

    def expectation(self, value: Any, where: Where, domain: Domain) -> Expectation:
        _expect_type(value, dict, where, "expect")
        assert isinstance(value, YMap)
        _check_keys(value, ["events", "state", "generation", "error"], "expect")
        events = None
        if "events" in value:
            raw = value["events"]
            _expect_type(raw, list, value.value_where["events"], "events")
            events = [
                self.event_pattern(item, raw.item_where[i], domain) for i, item in enumerate(raw)
            ]
        state = None
        if "state" in value:
            _expect_type(value["state"], dict, value.value_where["state"], "state")
            state = dict(value["state"])
        generation = None
        if "generation" in value:
            _expect_type(value["generation"], int, value.value_where["generation"], "generation")
            generation = value["generation"]
        kind, message = None, ""
        if "error" in value:
            error = value["error"]
            error_where = value.value_where["error"]
            if isinstance(error, str):
                kind = error
            else:
                _expect_type(error, dict, error_where, "error")
                _check_keys(error, ["kind", "message"], "error")
                kind = error.get("kind")
                message = error.get("message", "")
                _expect_type(message, str, error_where, "error message")
            if kind not in ERROR_KINDS:
                raise InvalidInput(
                    f"{error_where}: error kind must be one of {', '.join(ERROR_KINDS)}, "
                    f"got {kind!r}"
                )
            if events is not None or state is not None or generation is not None:
                raise InvalidInput(f"{where}: expect either an error or events/state/generation")
        return Expectation(events, state, generation, kind, message)

    def event_pattern(self, item: Any, where: Where, domain: Domain) -> EventPattern:
        if isinstance(item, str):
            _check_event_type(domain, item, where)
            return EventPattern(item, {})
        _expect_type(item, dict, where, "an expected event")
        _check_keys(item, ["type", "data"], "an expected event")
        if "type" not in item:
            raise InvalidInput(f"{where}: an expected event needs a type")
        _expect_type(item["type"], str, item.value_where["type"], "type")
        _check_event_type(domain, item["type"], item.value_where["type"])
        data = item.get("data", {})
        _expect_type(data, dict, item.value_where.get("data", where), "data")
        return EventPattern(item["type"], dict(data))

    def step(self, item: Any, where: Where, default: str | None) -> ScriptStep:
        if isinstance(item, str):
            domain, command = self.words_step(item, where, default)
            return ScriptStep(where, item, domain, command)
        _expect_type(item, (str, dict), where, "a step")
        assert isinstance(item, YMap)
        _check_keys(item, ["run", "domain", "command", "args", "expect"], "a step")
        if "run" in item:
            if {"domain", "command", "args"} & set(item):
                raise InvalidInput(f"{where}: a step has either run: or domain/command/args")
            _expect_type(item["run"], str, item.value_where["run"], "run")
            domain, command = self.words_step(item["run"], item.value_where["run"], default)
            text = item["run"]
        else:
            domain, command = self.mapping_step(item, default)
            text = f"{domain.name} {domain.spec_of(command).name} " + " ".join(
                str(v) for v in encode(command).values()
            )
        expect = None
        if "expect" in item:
            expect = self.expectation(item["expect"], item.value_where["expect"], domain)
        return ScriptStep(where, text, domain, command, expect)

    def given_event(self, item: Any, where: Where, domain: Domain) -> NewEvent:
        """A given event as a store holds it. Without ``version`` it is at its type's current
        version (the highest registered, never the last registered); a version that has its
        class is decoded by it; an old one, read through upcasters, is written as it is (its
        type, version and data, as a store the old domain wrote holds it) so the fold reads
        it through the upcasters, and is checked now by upcasting it: data that does not fit
        is ``InvalidInput`` at it, an upcaster that raises the author's ``DomainError``."""
        _expect_type(item, dict, where, "a given event")
        _check_keys(item, ["stream", "type", "version", "data", "time"], "a given event")
        if "type" not in item:
            raise InvalidInput(f"{where}: a given event needs a type")
        wanted = item["type"]
        type_where = item.value_where["type"]
        _expect_type(wanted, str, type_where, "type")
        event_type = domain.full_type(wanted)
        old = sorted((v for t, v in domain.check_upcasters() if t == event_type), key=version_key)
        current = domain.current_version(event_type)
        if current is None and not old:
            raise InvalidInput(f"{type_where}: domain {domain.name!r} has no event {wanted!r}")
        if "version" in item:
            version, version_where = item["version"], item.value_where["version"]
            _expect_type(version, str, version_where, "version")  # 1.10 unquoted is 1.1
        elif current is None:
            raise InvalidInput(
                f"{type_where}: {wanted} has no class in domain {domain.name!r}, only "
                f"upcasters from v{', v'.join(old)}: name the version a store holds "
                f'(version: "{old[0]}")'
            )
        else:
            version, version_where = current, type_where
        reading = domain.reading(event_type, version)
        if reading is None:
            raise InvalidInput(f"{version_where}: {domain.unreadable(event_type, version)}")
        data = item.get("data", YMap())
        data_where = item.value_where.get("data", where)
        _expect_type(data, dict, data_where, "data")

        def field_where(e: FieldError) -> Where:
            top = e.path.split(".")[0].split("[")[0]
            at = data.value_where.get(top) if isinstance(data, YMap) else None
            return at or data_where

        if reading.chain is None:
            try:
                event = decode(reading.cls, dict(data))
            except FieldError as e:
                raise InvalidInput(f"{field_where(e)}: {wanted} {e}") from e
            return new_event(event)
        try:
            event = upcast(domain, event_type, version, _plain(data))
        except UpcastFailed as e:
            if e.field is not None:  # what the upcasters made does not fit
                raise InvalidInput(f"{field_where(e.field)}: {wanted} v{version} {e}") from e
            raise e.error(domain, f"the given event at {where}") from e
        meta = event_meta(event)
        return NewEvent(event_type, version, meta.source, _plain(data), new_event_id())


def _plain(value: Any) -> Any:
    """YAML values as the plain dicts and lists a store holds (a fresh copy: an upcaster
    may change the dict it is given)."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def _check_event_type(domain: Domain, wanted: str, where: Where) -> None:
    """An expected event's type must be one the domain has, in either spelling a match
    accepts (``combat.EntityDied`` or ``EntityDied``): else no outcome could meet the
    expectation, and the step would write before saying so."""
    full = [event_type for event_type, _version in domain.events]
    short = [event_type.rsplit(".", 1)[-1] for event_type in full]
    if wanted not in full and wanted not in short:
        known = ", ".join(sorted(full if "." in wanted else short))
        raise InvalidInput(
            f"{where}: domain {domain.name!r} has no event {wanted!r} (known: {known})"
        )


def _text_lines(text: str, source: str) -> list[tuple[str, Where]]:
    lines = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            lines.append((stripped, Where(source, number, len(line) - len(line.lstrip()) + 1)))
    return lines


def load_script(text: str, source: str, registry: DomainRegistry) -> Script:
    """A script from YAML or plain text, checked in full before anything runs."""
    builder = _Builder(registry, source)
    check_script_text(text, source)  # plain text lines are held to it too
    parsed: Any
    try:
        parsed = parse_yaml(text, source)
    except ScriptTooLarge:
        raise
    except InvalidInput:
        parsed = None
        if text.lstrip().startswith(("-", "{", "[", "steps:", "domain:", "store:")):
            raise
    if not isinstance(parsed, (list, dict)):
        steps = [builder.step(line, where, None) for line, where in _text_lines(text, source)]
        return Script(source, steps)
    default_domain: str | None = None
    store_url: str | None = None
    items: Any = parsed
    items_where = [Where(source, 1, 1)]
    if isinstance(parsed, YMap):
        _check_keys(parsed, ["domain", "store", "steps"], "a script")
        if "scenarios" in parsed:
            raise InvalidInput(f"{source}: this is a scenario file: run it with escli test")
        if "domain" in parsed:
            builder.domain(parsed["domain"], parsed.value_where["domain"])
            default_domain = parsed["domain"]
        if "store" in parsed:
            _expect_type(parsed["store"], str, parsed.value_where["store"], "store")
            store_url = parsed["store"]
        if "steps" not in parsed:
            raise InvalidInput(f"{parsed.where}: a script needs steps")
        items = parsed["steps"]
        _expect_type(items, list, parsed.value_where["steps"], "steps")
    assert isinstance(items, YList)
    items_where = items.item_where
    steps = [builder.step(item, items_where[i], default_domain) for i, item in enumerate(items)]
    return Script(source, steps, store_url)


@dataclass(frozen=True)
class ScenarioSpec:
    """One scenario of a scenario file, checked in full: its given events, its when step and
    what then expects (``escli.testing.Scenario`` is the given/when/then of Python tests),
    and for a projection's scenario the rows expected (``when`` is optional there)."""

    name: str
    where: Where
    domain: Domain
    given: list[GivenEvent]
    when: ScriptStep | None
    then: Expectation
    store_url: str | None = None
    rows: RowsExpectation | None = None


_SCENARIO_KEYS = ["name", "domain", "store", "project", "given", "when", "then", "then_rows"]


def load_scenarios(text: str, source: str, registry: DomainRegistry) -> list[ScenarioSpec]:
    """The scenarios of a file, checked in full."""
    parsed = parse_yaml(text, source)
    if not isinstance(parsed, YMap) or "scenarios" not in parsed:
        raise InvalidInput(f"{source}: a scenario file is a mapping with a scenarios: list")
    _check_keys(parsed, ["domain", "store", "scenarios"], "a scenario file")
    builder = _Builder(registry, source)
    default = parsed.get("domain")
    if default is not None:
        builder.domain(default, parsed.value_where["domain"])
    items = parsed["scenarios"]
    _expect_type(items, list, parsed.value_where["scenarios"], "scenarios")
    return [
        _scenario(builder, item, items.item_where[i], default, parsed.get("store"))
        for i, item in enumerate(items)
    ]


def _scenario(
    builder: _Builder, item: Any, where: Where, default: str | None, file_store: str | None
) -> ScenarioSpec:
    _expect_type(item, dict, where, "a scenario")
    _check_keys(item, _SCENARIO_KEYS, "a scenario")
    projecting = "project" in item or "then_rows" in item
    for key in ("name", "project", "then_rows") if projecting else ("name", "when", "then"):
        if key not in item:
            other = {"project": " with then_rows:", "then_rows": " with project:"}.get(key, "")
            raise InvalidInput(f"{where}: a scenario{other} needs {key}:")
    _expect_type(item["name"], str, item.value_where["name"], "name")
    domain_name = item.get("domain", default)
    when = None
    if "when" in item:
        when = builder.step(item["when"], item.value_where["when"], domain_name)
        if when.expect is not None:
            raise InvalidInput(f"{item.value_where['when']}: put expectations under then:")
    elif "then" in item:
        raise InvalidInput(
            f"{item.key_where['then']}: then: expects of a when command, and there is none"
        )
    rows = None
    if projecting:
        rows = expected_rows(builder.registry, item, domain_name, when.domain if when else None)
        domain = rows.projection.domain
    else:
        assert when is not None
        domain = when.domain
    own_stream = domain.stream_of(when.command) if when is not None else None
    given_items = item.get("given", YList())
    _expect_type(given_items, list, item.value_where.get("given", where), "given")
    given = given_events(given_items, domain, own_stream, builder.given_event)
    then = Expectation()
    if "then" in item:
        then = builder.expectation(item["then"], item.value_where["then"], domain)
    store = item.get("store", file_store)
    return ScenarioSpec(item["name"], where, domain, given, when, then, store, rows)
