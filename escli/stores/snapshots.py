"""Snapshots: a stream's state at a generation, kept in the store beside its events, so that a
fold starts there instead of at generation 0.

A snapshot is a cache and never the truth. It carries what proves it may stand in for the
fold up to its generation (``escli.app.snapshots`` checks before using one): the id of the
event at that generation (an event rewritten there by another tool drops it) and the
fingerprint of the code that made it (``escli.domain.fingerprint``). So a store may lose
snapshots, keep stale ones, or hold ones it cannot decode: each only costs a longer fold.

``Snapshots`` is a capability of its own, checked with ``isinstance``: SQLite and PostgreSQL
keep them in a table (written in the dispatch's own transaction), the memory store in a dict,
EventStoreDB in a hidden stream per stream (written after the append). A store without it
folds from 0, as before.
"""

from __future__ import annotations

from typing import NamedTuple, Protocol, runtime_checkable

__all__ = ["KEPT", "Snapshot", "Snapshots"]

# Snapshots kept per stream, newest first: more than one, so that ``replay --to-generation``
# just below the newest still starts from one; older ones are dropped as new ones come.
KEPT = 3


class Snapshot(NamedTuple):
    """A stream's state after ``generation``: ``state`` is its JSON text, ``event_id`` the id of
    the event at ``generation``, ``fingerprint`` the code's (``escli.domain.fingerprint``)."""

    stream: str
    generation: int
    event_id: str
    fingerprint: str
    state: str
    taken_at: str


@runtime_checkable
class Snapshots(Protocol):
    """A store that keeps snapshots (see the module docstring)."""

    def snapshot(self, stream: str, at_most: int | None = None) -> Snapshot | None:
        """The newest snapshot of ``stream`` at or below generation ``at_most`` (any, when
        None); None when there is none."""
        ...

    def save_snapshot(self, snapshot: Snapshot) -> None:
        """Keep ``snapshot`` (replacing one at the same generation), and only the ``KEPT``
        newest of its stream. Inside ``transaction()`` it is part of it."""
        ...

    def drop_snapshots(self, stream: str | None = None) -> int:
        """Forget the snapshots of ``stream`` (of every stream when None); how many."""
        ...

    def list_snapshots(self, stream: str | None = None) -> list[Snapshot]:
        """The snapshots of ``stream`` (of every stream when None), by stream, newest
        generation first."""
        ...
