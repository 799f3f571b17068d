"""Projections as a domain author writes them: a pure function from a row and an event to the
new row, registered on the domain with ``@domain.projection(NAME)``::

    @domain.projection("roster")                 # run as: escli project combat.roster
    def roster(row: dict | None, event: EntitySpawned | EntityDied, meta: Meta) -> dict | None:
        ...                                      # the new row for meta.stream, or None: delete it

Decisions:

- **The annotation of ``event`` selects the classes** the function receives: a class, a
  union of them (``A | B``, ``Union[A, B]``, ``Optional`` is not one), or none at all for
  every event class of the domain. Read lazily, on the first event, so that a module with
  ``from __future__ import annotations`` may name classes defined below the function. An
  annotation that is not the domain's event classes is the author's error, at the ``def``.
- **Rows are JSON objects, one per key**; the key is the event's stream (the usual read
  model: one row per entity), or ``key=lambda event, meta: ...`` for another grouping (one
  row per weapon, say). A key is a non-empty string.
- **Pure, like ``apply_event``**: the function gets the row and the event and returns the
  row; it does no I/O, and the runner (``escli.app.projections``) decides when rows are
  read and written, in one transaction per batch together with the checkpoint.
- Events arrive upcast to their current class, in the store's global order (``meta.position``).
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Callable
from typing import Any, NamedTuple

from escli.errors import DomainError

__all__ = ["KeyFunction", "Meta", "Projection", "ProjectionFunction"]

NAME = re.compile(r"[a-z][a-z0-9_]*")


class Meta(NamedTuple):
    """Where an event stands: its stream and generation there, its position in the store's
    global order, its id and when it was recorded (RFC 3339 text)."""

    stream: str
    generation: int
    position: int
    event_id: str
    time: str


ProjectionFunction = Callable[[dict[str, Any] | None, Any, Meta], dict[str, Any] | None]
KeyFunction = Callable[[Any, Meta], str]


class Projection:
    """One registered projection: ``domain.projection(name)`` made it; ``full_name`` is
    ``<domain>.<name>``, what the CLI takes (``escli project combat.roster``)."""

    def __init__(
        self,
        domain: Any,
        name: str,
        function: ProjectionFunction,
        key: KeyFunction | None = None,
        description: str = "",
    ) -> None:
        if not NAME.fullmatch(name):
            raise ValueError(f"projection name {name!r} must be lower-case letters, digits or _")
        if not callable(function):
            raise TypeError(f"@domain.projection decorates a function, not {function!r}")
        if key is not None and not callable(key):
            raise TypeError(f"projection {name}: key must be a function (event, meta) -> str")
        self.domain = domain
        self.name = name
        self.function = function
        self.key = key
        self.description = description or (function.__doc__ or "").strip()
        self._classes: frozenset[type] | None = None

    @property
    def full_name(self) -> str:
        return f"{self.domain.name}.{self.name}"

    def __repr__(self) -> str:
        return f"Projection({self.full_name!r})"

    @property
    def classes(self) -> frozenset[type]:
        """The event classes the function receives (see the module docstring)."""
        if self._classes is None:
            self._classes = self._annotated_classes()
        return self._classes

    def failure(self, problem: str, function: Any = None) -> DomainError:
        """The author's mistake in this projection, located at the ``def`` of ``function``
        (the projection's own by default)."""
        code = getattr(function or self.function, "__code__", None)
        where = f"{code.co_filename}:{code.co_firstlineno}: " if code is not None else ""
        return DomainError(f"{where}domain {self.domain.name!r}: projection {self.name} {problem}")

    def _annotated_classes(self) -> frozenset[type]:
        every = frozenset(self.domain.event_classes())
        code = getattr(self.function, "__code__", None)
        names: tuple[str, ...] = code.co_varnames[: code.co_argcount] if code else ()
        if len(names) < 2:
            return every
        try:
            hints = typing.get_type_hints(self.function)
        except Exception as e:
            raise self.failure(
                f"has an annotation that does not resolve ({type(e).__name__}: {e})"
            ) from e
        hint = hints.get(names[1])
        if hint is None or hint is Any or hint is object:
            return every
        members = (
            typing.get_args(hint)
            if typing.get_origin(hint) in (typing.Union, types.UnionType)
            else (hint,)
        )
        foreign = [m for m in members if m not in every]
        if foreign:
            shown = ", ".join(getattr(m, "__name__", repr(m)) for m in foreign)
            raise self.failure(
                f"annotates {names[1]!r} with {shown}: not an event class of the domain"
            )
        return frozenset(members)

    def key_of(self, event: Any, meta: Meta) -> str:
        """The key of the row ``event`` changes (the author's ``key``, else the stream)."""
        if self.key is None:
            return meta.stream
        key = self.key(event, meta)
        if not isinstance(key, str) or not key:
            raise self.failure(
                f"key gave {key!r} for {type(event).__name__} at {meta.stream} generation "
                f"{meta.generation}; a key is a non-empty string",
                self.key,
            )
        return key
