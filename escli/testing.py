"""Given/when/then for domain authors' tests, with no store::

    from escli.testing import given

    def test_the_blow_that_reaches_zero_kills():
        given(EntityAttacked("ogre", 800)).when(Attack("ogre", 150)).then(
            EntityAttacked("ogre", 150), EntityDied("ogre")
        )

    def test_attacking_the_dead_is_rejected():
        given(EntityDied("ogre")).when(Attack("ogre", 1)).then_rejected("dead")

The given events are applied to the initial state of the command's stream, exactly as a
replay would (generation stamped by the framework); ``when`` handles the command.

The domain's code runs as it is: an exception it raises reaches pytest unchanged, with all
its frames, and what it prints is captured by pytest, not redirected (the CLI turns both into
a ``DomainError``). A ``handle_command`` that returns something other than a list of the
domain's events is a ``DomainError`` here too, since there is no exception to show.

Upcasters are tested the same way. ``stored(type, version, data)`` is an event as a store
written by an older version of the domain holds it; ``given`` reads it through the
upcasters, as the fold would, and ``assert_upcasts`` checks one upcast on its own::

    from escli.testing import assert_upcasts, given, stored, upcast

    def test_old_attacks_were_with_fists():
        assert_upcasts(domain, "EntityAttacked", "1.0", {"entity_id": "ogre", "damage": 5},
                       EntityAttacked("ogre", 5, "fists"))

    def test_an_ogre_hit_before_weapons_existed_can_still_die():
        given(stored("EntityAttacked", "1.0", {"entity_id": "ogre", "damage": 800})).when(
            Attack("ogre", 150)
        ).then(EntityAttacked("ogre", 150, "fists"), EntityDied("ogre"))

Type names are short (``EntityAttacked``) or full (``combat.EntityAttacked``), as in
``@domain.upcaster``; the data is copied before the upcasters see it (they may change it).
``upcast(domain, type, version, data)`` returns the current event, for assertions of your
own. An upcaster that raises reaches pytest unchanged, as the rest of the domain's code
does; stored data the domain cannot read (no class and no upcaster for its version, an
upcaster that returns what does not fit the current class) is an ``AssertionError``
saying why. A ``stored`` event's domain is the ``when`` command's (or ``domain=``).

Scenario files (the YAML that ``escli test`` runs) load with ``scenarios_from(path)``,
projections' scenarios (``project:``, ``then_rows:``) included.
"""

from __future__ import annotations

import copy
import difflib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from escli.domain.calls import emitted_events
from escli.domain.codec import FieldError, encode
from escli.domain.model import Domain, applied, domain_of, event_meta
from escli.domain.upcasting import UpcastFailed
from escli.domain.upcasting import upcast as upcast_data
from escli.errors import CommandRejected, UnreadableEvent

if TYPE_CHECKING:
    from escli.scripts.loading import ScenarioSpec

__all__ = [
    "FileScenario",
    "Scenario",
    "Stored",
    "assert_snapshot_round_trips",
    "assert_upcasts",
    "given",
    "scenarios_from",
    "stored",
    "upcast",
]


def given(*events: Any, domain: Domain | None = None) -> Scenario:
    """Start a scenario from the events already in the stream (none is fine): domain events,
    or ``stored`` ones, read through the domain's upcasters."""
    return Scenario(list(events), domain)


class Stored(NamedTuple):
    """An event as a store holds it: its type, type version and JSON data (see ``stored``)."""

    event_type: str
    version: str
    data: Any

    def __repr__(self) -> str:
        data = self.data if isinstance(self.data, str) else json.dumps(self.data)
        return f"stored({self.event_type!r}, {self.version!r}, {data})"


def stored(event_type: str, version: str, data: Any) -> Stored:
    """An event as a store written by an older version of the domain holds it: ``given``
    reads it through the upcasters, as the fold would. ``data`` is a dict of JSON values
    (or JSON text)."""
    return Stored(event_type, version, data)


def upcast(domain: Domain, event_type: str, version: str, data: Any) -> Any:
    """The current event that ``data``, stored at ``event_type`` ``version``, reads as (a
    copy of ``data`` goes through the upcasters). An upcaster's exception propagates as it
    is; data the domain cannot read is an ``AssertionError`` saying why."""
    was = Stored(event_type, version, data)
    full = domain.full_type(event_type)
    try:
        return upcast_data(domain, full, version, copy.deepcopy(data))
    except UnreadableEvent as e:
        raise AssertionError(f"{was!r} does not read: {e}") from None
    except UpcastFailed as e:
        if e.cause is not None:  # the author's exception, with its frames
            raise e.cause from None
        raise AssertionError(f"{was!r} does not read: {e}") from None
    except FieldError as e:  # stored at a version with its class: it decodes, or not
        raise AssertionError(f"{was!r} does not read: {full} v{version} {e}") from None


def assert_upcasts(domain: Domain, event_type: str, version: str, data: Any, expected: Any) -> Any:
    """Data stored at ``event_type`` ``version`` reads as the current event ``expected``;
    else an ``AssertionError`` with a diff of the two. Returns the event."""
    actual = upcast(domain, event_type, version, data)
    if actual != expected:
        was = Stored(event_type, version, data)
        raise AssertionError(
            f"{was!r} upcasts to\n  {actual!r}\nexpected\n  {expected!r}\n"
            + "\n".join(_diff(expected, actual))
        )
    return actual


def assert_snapshot_round_trips(state: Any) -> Any:
    """``state`` survives a snapshot: written as escli keeps one (its JSON) and read back, it
    is equal to itself; else an ``AssertionError`` naming each field that came back
    different. A state that does not round-trip is never snapshotted (escli checks on every
    snapshot it takes), so its streams always fold from generation 0. Returns the state
    read back."""
    try:
        text = json.dumps(encode(state), ensure_ascii=False)
    except TypeError as e:
        raise AssertionError(f"{type(state).__name__} cannot be snapshotted: {e}") from None
    from escli.domain.codec import decode

    try:
        back = decode(type(state), json.loads(text))
    except FieldError as e:
        raise AssertionError(
            f"{type(state).__name__} does not read back from its snapshot: "
            f"{e.path or '(state)'}: {e.message}"
        ) from None
    if back != state:
        changed = [
            f"  {name}: {getattr(state, name)!r} came back as {getattr(back, name)!r}"
            for name in encode(state)
            if getattr(state, name) != getattr(back, name)
        ] or ["  (equal field by field: its __eq__ says otherwise)"]
        raise AssertionError(
            f"{type(state).__name__} does not round-trip through a snapshot:\n" + "\n".join(changed)
        )
    return back


def _shown(event: Any) -> list[str]:
    """An event as lines to diff: its type, version and data (any value: repr)."""
    try:
        meta = event_meta(event)
    except (TypeError, AttributeError):  # not a domain event at all
        return [repr(event)]
    value = {"type": meta.event_type, "version": meta.version, "data": encode(event)}
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False).splitlines()


def _diff(expected: Any, actual: Any) -> list[str]:
    lines = difflib.unified_diff(
        _shown(expected), _shown(actual), "expected", "upcast", lineterm="", n=1
    )
    return list(lines)


@dataclass
class Scenario:
    history: list[Any]
    domain: Domain | None = None
    command: Any = None
    _emitted: list[Any] | None = field(default=None, repr=False)
    _rejection: CommandRejected | None = field(default=None, repr=False)
    _state: Any = field(default=None, repr=False)

    def when(self, command: Any) -> Scenario:
        domain = self.domain or domain_of(command)
        aggregate = domain.aggregate_impl
        state = aggregate.initial_state(domain.stream_id(domain.stream_of(command)))
        for event in self.history:
            if isinstance(event, Stored):
                event = upcast(domain, *event)
            state = applied(aggregate.apply_event, state, event)
        self.domain, self.command = domain, command
        try:
            emitted = emitted_events(domain, command, aggregate.handle_command(state, command))
        except CommandRejected as e:
            self._rejection = e
            self._emitted = None
        else:
            self._emitted = emitted
            for event in self._emitted:
                state = applied(aggregate.apply_event, state, event)
        self._state = state
        return self

    def _require_handled(self) -> list[Any]:
        if self.command is None:
            raise AssertionError("call .when(command) before .then...")
        if self._rejection is not None:
            raise AssertionError(f"{self.command!r} was rejected: {self._rejection}")
        assert self._emitted is not None
        return self._emitted

    def then(self, *events: Any) -> Scenario:
        """The command emitted exactly these events, in this order."""
        emitted = self._require_handled()
        assert emitted == list(events), (
            f"{self.command!r} emitted\n  {emitted!r}\nexpected\n  {list(events)!r}"
        )
        return self

    def then_state(self, **fields: Any) -> Scenario:
        """After the emitted events, the state's fields have these values."""
        self._require_handled()
        actual = {name: getattr(self._state, name) for name in fields}
        assert actual == fields, f"state after {self.command!r} is {actual!r}, expected {fields!r}"
        return self

    def then_rejected(self, match: str = "") -> Scenario:
        """The command was rejected with a message containing ``match``."""
        if self._rejection is None:
            raise AssertionError(f"{self.command!r} was not rejected; it emitted {self._emitted!r}")
        assert match in str(self._rejection), (
            f"rejection {str(self._rejection)!r} does not mention {match!r}"
        )
        return self

    @property
    def state(self) -> Any:
        """The state after the scenario (for assertions ``then_state`` cannot express)."""
        return self._state


@dataclass(frozen=True)
class FileScenario:
    """A scenario from a YAML scenario file, runnable from pytest::

    @pytest.mark.parametrize("scenario", scenarios_from("combat.scenarios.yaml"), ids=str)
    def test_combat(scenario):
        scenario.check()
    """

    scenario: ScenarioSpec

    def __str__(self) -> str:
        return str(self.scenario.name)

    def check(self) -> None:
        """Run the scenario in its store (in memory by default); AssertionError with the diff
        if it does not hold."""
        from escli.scripts.running import run_scenario
        from escli.stores import open_store

        outcome = run_scenario(self.scenario, open_store)
        if not outcome.ok:
            details = "\n".join(outcome.problems)
            raise AssertionError(f"{self.scenario.name} ({self.scenario.where})\n{details}")


def scenarios_from(path: str | os.PathLike[str], domains: Sequence[str] = ()) -> list[FileScenario]:
    """The scenarios of a scenario file (see ``escli test``), checked in full on load."""
    from escli.domain.discovery import DomainRegistry
    from escli.scripts.loading import load_scenarios

    source = os.fspath(path)
    with open(source, encoding="utf-8") as f:
        text = f.read()
    return [FileScenario(s) for s in load_scenarios(text, source, DomainRegistry(domains))]
