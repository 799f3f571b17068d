"""The check after ``copy --upcast``: each copied stream folds to the same state in both stores.

The source is folded as any replay reads it, its old versions through the upcasters; the
target as it is stored (current versions, no upcaster runs). Both go through
``escli.app.fold.fold`` over ``read_data``, up to the generation the copy reached, so a
concurrent writer's later events are not compared. The states are compared field by field
(``first_difference``): nested dataclasses by their path (``last.receipt``), tuples and
lists by index, dicts by key, so the error can name what differs.

Why it can fail although the target holds exactly what the upcasters gave: the source's
fold runs the upcasters again. An upcaster that is not a pure function of the stored data
(a clock, a random id, a counter, a file it reads) gives other data the second time; so does
an event class whose data does not survive ``encode`` and decoding again. Either is the
domain author's bug, not the store's or the copy's: the mismatch is a ``DomainError``
(exit 11), the class escli gives every failure of a domain's own code, and the one
``UnreadableEvent`` and ``UpcastFailed`` already use for upcasters. (Not ``StoreError``:
both stores hold what they were given; not ``ExpectationFailed``: that is a script's or a
scenario's claim.) Into a ``Transactional`` target the check runs inside the copy's
transaction, and the mismatch takes the whole copy back ("nothing was written"); into
EventStoreDB the events stay written, and the error says so.

Cost: each checked stream is read once more from each store and folded twice. Only the
streams the copy wrote to are checked: a stream the target held whole was compared event by
event with the upcast source already, and checking it would make a copy that copies nothing
cost a replay of everything.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from escli.app.fold import event_id_at, fold
from escli.domain.model import Domain
from escli.errors import DomainError, wrote_nothing
from escli.stores.base import Store

__all__ = ["Checked", "check_folds", "first_difference"]

_SHOWN = 40  # characters of a differing value shown in the error


class Checked(NamedTuple):
    """A stream that folds to the same state in both stores, at ``generation``."""

    stream: str
    generation: int


def first_difference(ours: Any, theirs: Any, path: str = "") -> tuple[str, Any, Any] | None:
    """The first place two states differ, as ``(path, ours, theirs)``; None when equal.
    Dataclasses of one class are compared field by field in their order, sequences of one
    length item by item, dicts with the same keys key by key; anything else with ``==``."""
    if ours.__class__ is theirs.__class__:
        if dataclasses.is_dataclass(ours) and not isinstance(ours, type):
            for field in dataclasses.fields(ours):
                found = first_difference(
                    getattr(ours, field.name),
                    getattr(theirs, field.name),
                    f"{path}.{field.name}" if path else field.name,
                )
                if found is not None:
                    return found
            return None
        if isinstance(ours, (list, tuple)) and len(ours) == len(theirs):
            for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
                found = first_difference(a, b, f"{path}[{i}]")
                if found is not None:
                    return found
            return None
        if isinstance(ours, dict) and ours.keys() == theirs.keys():
            for key in ours:
                found = first_difference(ours[key], theirs[key], f"{path}[{key!r}]")
                if found is not None:
                    return found
            return None
    if ours != theirs:
        return (path or "the state", ours, theirs)
    return None


def check_folds(
    source: Store,
    target: Store,
    streams: Sequence[tuple[str, int]],
    domain_of: Callable[[str], Domain],
    *,
    atomic: bool,
) -> list[Checked]:
    """Fold each ``(stream, generation)`` in both stores and compare (module docstring);
    the first mismatch is a ``DomainError`` naming the stream and the first differing field.
    ``atomic``: the caller's transaction takes the copy back on that error."""
    checked = []
    for stream, generation in streams:
        domain = domain_of(stream)
        ours = fold(
            domain,
            stream,
            source.read_data(stream, to_generation=generation),
            ids=lambda g, s=stream: event_id_at(source, s, g),  # type: ignore[misc]
        )
        theirs = fold(
            domain,
            stream,
            target.read_data(stream, to_generation=generation),
            ids=lambda g, s=stream: event_id_at(target, s, g),  # type: ignore[misc]
        )
        found = first_difference(ours, theirs)
        if found is not None:
            raise _mismatch(source, target, stream, generation, found, atomic)
        checked.append(Checked(stream, theirs.generation))
    return checked


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _SHOWN else f"{text[:_SHOWN]}..."


def _mismatch(
    source: Store,
    target: Store,
    stream: str,
    generation: int,
    found: tuple[str, Any, Any],
    atomic: bool,
) -> DomainError:
    path, ours, theirs = found
    said = (
        f"{stream} does not fold to the same state in {target.url} as in {source.url} "
        f"through the upcasters (at generation {generation}): {path} is {_short(theirs)} "
        f"there, {_short(ours)} in the source; an upcaster must be a pure function of the "
        "stored data"
    )
    if atomic:
        return wrote_nothing(DomainError(said), said)
    return DomainError(f"{said}; the copied events stay in {target.url}")
