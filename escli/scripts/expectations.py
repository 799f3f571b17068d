"""What a step or scenario expects, and how an outcome differs from it: the error kinds, the
expected events and state, a projection's expected rows, and a readable diff (used by
``escli.scripts.running``)."""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from escli.domain.codec import encode
from escli.domain.model import event_meta
from escli.errors import (
    CommandRejected,
    ConcurrencyConflict,
    EscliError,
    InvalidInput,
    NotFound,
    StoreError,
    UsageError,
)

if TYPE_CHECKING:
    from escli.app.dispatch import DispatchResult
    from escli.domain.projection import Projection

__all__ = ["ERROR_KINDS", "EventPattern", "Expectation", "RowsExpectation", "error_kind_of"]

ERROR_KINDS: dict[str, type[EscliError]] = {
    "rejected": CommandRejected,
    "conflict": ConcurrencyConflict,
    "invalid": InvalidInput,
    "not-found": NotFound,
    "usage": UsageError,
    "store": StoreError,
}


@dataclass(frozen=True)
class EventPattern:
    """An expected event: its type (full ``combat.EntityDied`` or class name ``EntityDied``)
    and some of its fields."""

    event_type: str
    data: dict[str, Any]


@dataclass(frozen=True)
class Expectation:
    events: list[EventPattern] | None = None
    state: dict[str, Any] | None = None
    generation: int | None = None
    error_kind: str | None = None
    error_message: str = ""

    def problems(self, result: DispatchResult | None, error: EscliError | None) -> list[str]:
        """What differs from the expectation, as lines of a readable diff; empty if none."""
        if self.error_kind is not None:
            if error is None:
                return [f"expected a {self.error_kind} error, but the command succeeded"]
            kind = error_kind_of(error)
            if kind != self.error_kind or self.error_message not in str(error):
                return [
                    f"- error: {self.error_kind}: ...{self.error_message}...",
                    f"+ error: {kind}: {error}",
                ]
            return []
        if error is not None:
            return [f"unexpected {error_kind_of(error)} error: {error}"]
        assert result is not None
        problems: list[str] = []
        if self.events is not None:
            actual = [{"type": event_meta(e).event_type, "data": encode(e)} for e in result.events]
            if not _events_match(self.events, actual):
                expected = [{"type": p.event_type, "data": p.data} for p in self.events]
                problems += _diff("events", expected, _as_patterns(self.events, actual))
        if self.state is not None:
            after = encode(result.after)
            actual_state = {k: after.get(k, "<missing>") for k in self.state}
            if actual_state != self.state:
                problems += _diff("state", self.state, actual_state)
        if self.generation is not None and result.after.generation != self.generation:
            problems += [
                f"- generation: {self.generation}",
                f"+ generation: {result.after.generation}",
            ]
        return problems


@dataclass(frozen=True)
class RowsExpectation:
    """``then_rows``: the whole view ``projection`` must make, key -> row, exactly; a key
    whose row is None must have no row. Values compare as JSON does: ``true`` is not ``1``,
    ``1`` is ``1.0``."""

    projection: Projection
    rows: dict[str, dict[str, Any] | None]

    def problems(self, actual: Mapping[str, dict[str, Any]]) -> list[str]:
        """Each key whose row differs: a diff of its fields, or ``-``/``+`` lines when one
        side has no row (a row expected and missing, a row not expected); empty if none."""
        problems: list[str] = []
        for key in sorted(set(self.rows) | set(actual)):
            expected, got = self.rows.get(key), actual.get(key)
            if _same(expected, got):
                continue
            if expected is None or got is None:
                problems += [
                    f"- row {key}: {_one_line(expected)}",
                    f"+ row {key}: {_one_line(got)}",
                ]
            else:
                problems += _diff(f"row {key}", expected, got)
        return problems


def _same(expected: Any, got: Any) -> bool:
    """JSON equality: as ``==``, except that a boolean is never a number."""
    if isinstance(expected, bool) or isinstance(got, bool):
        return type(expected) is type(got) and expected == got
    if isinstance(expected, dict):
        return (
            isinstance(got, dict)
            and expected.keys() == got.keys()
            and all(_same(v, got[k]) for k, v in expected.items())
        )
    if isinstance(expected, list):
        return (
            isinstance(got, list)
            and len(expected) == len(got)
            and all(_same(a, b) for a, b in zip(expected, got, strict=True))
        )
    return bool(expected == got)


def _one_line(row: dict[str, Any] | None) -> str:
    if row is None:
        return "(no row)"
    return json.dumps(row, sort_keys=True, ensure_ascii=False)


def error_kind_of(error: EscliError) -> str:
    for kind, cls in ERROR_KINDS.items():
        if isinstance(error, cls):
            return kind
    return "error"


def _events_match(patterns: list[EventPattern], actual: list[dict[str, Any]]) -> bool:
    if len(patterns) != len(actual):
        return False
    for pattern, event in zip(patterns, actual, strict=True):
        type_ok = pattern.event_type in (event["type"], event["type"].rsplit(".", 1)[-1])
        if not type_ok or any(event["data"].get(k, object()) != v for k, v in pattern.data.items()):
            return False
    return True


def _as_patterns(patterns: list[EventPattern], actual: list[dict[str, Any]]) -> list[Any]:
    """The actual events shown the way the expectation is written (short type names, only
    the fields it names), so a diff shows what differs and not what was left out."""
    shown = []
    for i, event in enumerate(actual):
        if i >= len(patterns):
            shown.append(event)
            continue
        pattern = patterns[i]
        short = event["type"].rsplit(".", 1)[-1]
        event_type = short if pattern.event_type == short else event["type"]
        data = {k: event["data"].get(k, "<missing>") for k in pattern.data}
        shown.append({"type": event_type, "data": data})
    return shown


def _diff(label: str, expected: Any, actual: Any) -> list[str]:
    def lines(value: Any) -> list[str]:
        return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False).splitlines()

    diff = difflib.unified_diff(
        lines(expected), lines(actual), f"expected {label}", f"actual {label}", lineterm="", n=2
    )
    return list(diff)
