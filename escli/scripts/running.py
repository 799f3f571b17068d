"""Running scripts and scenarios: each step dispatched and compared with its expectation,
each scenario in a store of its own (or in streams of its own in a shared one), and a
projection's scenario's rows projected in memory (``escli.scripts.projecting``)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import groupby
from typing import TYPE_CHECKING

from escli.app.dispatch import NO_WHY, DispatchResult, dispatch
from escli.app.snapshots import DEFAULT_POLICY, SnapshotPolicy
from escli.errors import DomainError, EscliError, ExpectationFailed, in_context
from escli.scripts.expectations import Expectation
from escli.scripts.loading import ScenarioSpec, Script, ScriptStep
from escli.scripts.projecting import scenario_rows
from escli.stores.base import Store, Transactional, new_event_id
from escli.stores.metadata import Why
from escli.stores.namespaced import NamespacedStore

if TYPE_CHECKING:
    from escli.domain.projection import Projection

__all__ = [
    "ScenarioOutcome",
    "StepOutcome",
    "failure",
    "kept_streams_note",
    "run_scenario",
    "run_script",
    "run_step",
]


@dataclass
class StepOutcome:
    step: ScriptStep
    result: DispatchResult | None
    error: EscliError | None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def run_step(
    step: ScriptStep,
    store: Store,
    *,
    retry: int = 0,
    projections: Sequence[Projection] = (),
    snapshots: SnapshotPolicy = DEFAULT_POLICY,
    why: Why = NO_WHY,
) -> StepOutcome:
    """Dispatch one step (updating ``projections`` in its transaction, as ``dispatch``
    does) and compare with its expectation. A step without ``expect`` must succeed;
    ``DomainError`` (the domain's bug, which no script expects) and errors that are not
    ``EscliError`` (escli's bugs) propagate."""
    try:
        result = dispatch(
            step.domain,
            step.command,
            store,
            retry=retry,
            projections=projections,
            snapshots=snapshots,
            why=why,
        )
    except DomainError:
        raise
    except EscliError as e:
        expectation = step.expect or Expectation()
        return StepOutcome(step, None, e, expectation.problems(None, e))
    problems = step.expect.problems(result, None) if step.expect else []
    return StepOutcome(step, result, None, problems)


def run_script(
    script: Script,
    store: Store,
    *,
    keep_going: bool = False,
    retry: int = 0,
    projections: Sequence[Projection] = (),
    snapshots: SnapshotPolicy = DEFAULT_POLICY,
    why: Why = NO_WHY,
) -> Iterator[StepOutcome]:
    """Run the steps in order; stop after the first failure unless ``keep_going``. Each
    dispatch is retried up to ``retry`` times when its stream moved meanwhile, and updates
    ``projections`` in its own transaction: a step's rows never lag behind its events.
    ``snapshots`` is the dispatches' policy (the project's ``snapshot-every``).

    Every command of the script shares one correlation id: ``why``'s, else the first
    command's causation id (``why``'s if given, else a fresh UUID); each later command has
    a fresh causation id of its own."""
    first = why.causation_id or new_event_id()
    shared = why.sharing(first)
    for number, step in enumerate(script.steps):
        step_why = shared._replace(causation_id=first) if number == 0 else shared
        outcome = run_step(
            step, store, retry=retry, projections=projections, snapshots=snapshots, why=step_why
        )
        yield outcome
        if not outcome.ok and not keep_going:
            return


def failure(outcome: StepOutcome, number: int) -> EscliError:
    """The error a failed step ends the run with: the command's own error (and its exit
    code) when it failed unexpectedly, else ``ExpectationFailed``."""
    where = f"step {number} at {outcome.step.where} ({outcome.step.text})"
    expected_error = outcome.step.expect is not None and outcome.step.expect.error_kind
    if outcome.error is not None and not expected_error:
        return in_context(outcome.error, where)
    return ExpectationFailed(f"{where} did not meet its expectation")


@dataclass
class ScenarioOutcome:
    scenario: ScenarioSpec
    problems: list[str]
    # The prefix of the streams the scenario left in its store (one without transactions).
    kept_prefix: str | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


# Where a scenario's streams go in a shared store (``run_scenario``).
SCENARIO_PREFIX = "escli-test."


def run_scenario(
    scenario: ScenarioSpec, open_store: Callable[[str], Store], default_store: str = "memory:"
) -> ScenarioOutcome:
    """Seed the ``given`` events, handle ``when``, compare with ``then``, in the scenario's
    store, else ``default_store`` (an isolated in-memory store unless the caller names one).

    A store that is not a fresh ``memory:`` one is shared (with other scenarios, earlier
    runs, other users): there the scenario's streams get a prefix of their own,
    ``escli-test.<random>.``, so that it sees only its given events, whatever the store
    holds. On a ``Transactional`` store the scenario runs in a transaction rolled back at
    its end, so nothing of it stays; on another (EventStoreDB) its streams stay, and the
    outcome's ``kept_prefix`` names them."""
    shared = open_store(scenario.store_url or default_store)
    try:
        if shared.url.lower().startswith("memory:"):
            return _run_scenario(scenario, shared)
        prefix = f"{SCENARIO_PREFIX}{uuid.uuid4().hex[:12]}."
        store = NamespacedStore(shared, prefix)
        if isinstance(shared, Transactional):
            with shared.transaction(rollback=True):
                return _run_scenario(scenario, store)
        outcome = _run_scenario(scenario, store)
        outcome.kept_prefix = prefix
        return outcome
    finally:
        shared.close()


def kept_streams_note(prefixes: Sequence[str]) -> str:
    """What to tell the user when scenarios left their streams in a store without
    transactions."""
    n = len(prefixes)
    return (
        f"the store has no transactions: {n} scenario{'' if n == 1 else 's'} left "
        f"{'its' if n == 1 else 'their'} streams in it, under {SCENARIO_PREFIX}<random>. "
        f"({', '.join(prefixes[:3])}{', ...' if n > 3 else ''})"
    )


def _run_scenario(scenario: ScenarioSpec, store: Store) -> ScenarioOutcome:
    for stream, placed in groupby(scenario.given, key=lambda g: g.stream):
        store.append(stream, [g.event for g in placed], store.generation(stream))
    result, error = None, None
    if scenario.when is not None:
        try:
            result = dispatch(scenario.domain, scenario.when.command, store)
        except DomainError:
            raise  # the domain's bug ends the run, as a bug in a test would
        except EscliError as e:
            error = e
    problems = scenario.then.problems(result, error) if scenario.when is not None else []
    expected = scenario.rows
    if expected is not None and (error is None or scenario.then.error_kind is not None):
        # An unexpected error is the one problem: the rows would only repeat it.
        rows = scenario_rows(expected.projection, scenario.given, result)
        problems += expected.problems(rows)
    return ScenarioOutcome(scenario, problems)
