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

Scenario files (the YAML that ``escli test`` runs) load with ``scenarios_from(path)``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from escli.domain.calls import emitted_events
from escli.domain.model import Domain, applied, domain_of
from escli.errors import CommandRejected

if TYPE_CHECKING:
    from escli.scripts.loading import ScenarioSpec

__all__ = ["FileScenario", "Scenario", "given", "scenarios_from"]


def given(*events: Any, domain: Domain | None = None) -> Scenario:
    """Start a scenario from the events already in the stream (none is fine)."""
    return Scenario(list(events), domain)


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
