"""Views: where projections keep their rows and checkpoints (``escli.app.projections`` runs
them), and the store's global log as projections read it.

A view is one projection's rows (one JSON object per key) plus its checkpoint: the position
of the last event it processed, the number of events it was given, and the fingerprint of
the code that built it. A view has *builds*: the live one readers see, and while
``project --rebuild`` runs, a second one filled beside it from position 0; switching makes
the new build live and drops the old one in one transaction, so a reader never sees a
half-built view.

The rules every implementation keeps:

- **Rows and checkpoint move together**: ``write_view`` changes rows and moves the
  checkpoint in one transaction, and only from the checkpoint the caller read
  (``CheckpointMoved`` otherwise, nothing written): a crash anywhere leaves rows that are
  exactly what the events up to the checkpoint made, and two runners of one view never
  both apply a batch.
- **Inside ``transaction()``** (SQLite, PostgreSQL) a view's write is part of it: a dispatch
  updates a view in its own transaction (``dispatch --project``).
- **A build records the event store it is built from** (``ViewBuild.source``, given to
  ``start_build``): ``""`` when that is the store that keeps the view (its own log), else
  that store's ``EventLog.log_name`` (views kept elsewhere, ``--views``). Rows of two
  stores never meet in one build: ``escli.app.projections`` refuses a run or a read of a
  build made from another store than the one it reads.
- Tables are made by the first view a store keeps: a store an older escli made needs no
  migration. Views tables an older escli made have no ``source`` column: the first build
  a store starts adds it, and until then their builds read as ``""``, the store's own
  (what every build was before ``--views`` existed, and the safe guess after: a view an
  EventStoreDB store built into such a table is refused until rebuilt, never mixed).

``Views`` is a capability of its own, checked with ``isinstance``: SQLite and PostgreSQL
keep views in their own database, the memory store in dicts. EventStoreDB keeps none: its
projections write to a SQLite or PostgreSQL store named by ``--views``.

``EventLog`` is what every store offers for reading the global log in pages (``BaseStore``
derives it from ``read_all``; SQL stores answer from their position index), and for waiting
until it moves (``waiter``, see ``escli.stores.wakeup``).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from typing import Any, NamedTuple, Protocol, runtime_checkable

from escli.errors import ConcurrencyConflict
from escli.stores.wakeup import Waiter

__all__ = [
    "LOG_FIELDS",
    "CheckpointMoved",
    "EventLog",
    "LogRow",
    "ViewBuild",
    "Views",
    "log_row",
]


# An event as a projection reads it, a plain tuple of these fields in this order: a page of
# the global log is the rows its SQL query fetched, as fetched (a catch-up read 100,000 events
# in 0.2-0.35 s with a NamedTuple made of each row, in 0.14 s without; projections unpack
# rows by position).
# ``data`` is the event's JSON text (SQL stores) or the parsed object (the others); the
# decoders take either.
LOG_FIELDS = (
    "position",
    "stream",
    "generation",
    "event_id",
    "event_type",
    "type_version",
    "recorded_at",
    "data",
)
LogRow = tuple[int, str, int, str, str, str, str, Any]


def log_row(r: Any) -> LogRow:
    """A store's ``RecordedEvent`` as a ``LogRow``."""
    return (
        r.position,
        r.stream,
        r.generation,
        r.event_id,
        r.event_type,
        r.type_version,
        r.recorded_at,
        r.data,
    )


class ViewBuild(NamedTuple):
    """One build of a view: ``live`` is the one readers see; ``position`` the checkpoint
    (the last event processed), ``events`` how many events the projection was given;
    ``source`` the event store it is built from (``""``: the store that keeps it)."""

    name: str
    build: int
    live: bool
    position: int
    events: int
    fingerprint: str
    updated_at: str
    source: str = ""


class CheckpointMoved(ConcurrencyConflict):
    """Another runner moved the view's checkpoint since it was read: nothing was written;
    read it again and go on from there."""

    def __init__(self, name: str, expected: int, actual: int | None) -> None:
        moved = (
            f"view {name} moved from position {expected} to {actual} meanwhile"
            if actual is not None
            else f"view {name}: the build written to is gone (another run replaced it with "
            "a build of other code or of another store, or dropped the view)"
        )
        Exception.__init__(
            self, f"{moved}; nothing was written (another runner is at work: try again)"
        )
        self.stream = name  # a view's name, where a stream's conflict has the stream's
        self.expected = expected
        self.actual = -1 if actual is None else actual  # -1: the build is gone


@runtime_checkable
class EventLog(Protocol):
    """The global log in pages (see the module docstring)."""

    @property
    def log_name(self) -> str:
        """The store's one name as a view built from its log records it (``ViewBuild.source``):
        its ``canonical_url`` (a SQLite file by its absolute path, a server's URL as given)
        with no secret in it and no read-only mode, since neither changes what the log
        holds; a namespaced view's with its prefix, since that does. ``BaseStore`` derives it
        from ``canonical_url``."""
        ...

    def read_log(
        self, after_position: int, limit: int, *, up_to: int | None = None, prefix: str = ""
    ) -> list[LogRow]:
        """Up to ``limit`` events with ``after_position < position <= up_to`` (no upper bound
        when None), of streams starting with ``prefix``, in position order."""
        ...

    def head_position(self) -> int:
        """The position of the newest event (0 when there is none). Every event at or below
        it is committed: positions are handed out in commit order."""
        ...

    def events_after(self, position: int, *, up_to: int | None = None) -> int:
        """How many events lie after ``position`` (up to ``up_to``), of every stream: a
        view's lag (``escli projections`` says it counts other domains' events too)."""
        ...

    def waiter(self) -> Waiter:
        """A ``Waiter`` that wakes when the head moves past a position: each store its own
        way (``escli.stores.wakeup``); ``LogFromReadAll`` polls ``head_position``."""
        ...


@runtime_checkable
class Views(Protocol):
    """A store that keeps views (see the module docstring)."""

    def view_builds(self, name: str | None = None) -> list[ViewBuild]:
        """The builds of view ``name`` (of every view when None), by name, live first."""
        ...

    def start_build(
        self, name: str, fingerprint: str, *, live: bool, source: str = ""
    ) -> ViewBuild:
        """A new, empty build of ``name`` at position 0, of the events of ``source`` (``""``:
        this store's own): live when the view has none yet, else beside the live one (a
        rebuild). A build that was not live is dropped first; a live one replaces every
        build."""
        ...

    def view_rows(self, name: str, build: int, keys: Collection[str]) -> dict[str, str]:
        """The rows of ``keys`` that ``build`` holds, as JSON text by key."""
        ...

    def scan_view(self, name: str, build: int) -> Iterator[tuple[str, str]]:
        """Every row of ``build``, as (key, JSON text), by key."""
        ...

    def count_rows(self, name: str, build: int) -> int:
        """How many rows ``build`` holds."""
        ...

    def write_view(
        self,
        name: str,
        build: int,
        changed: Mapping[str, str | None],
        *,
        after: int,
        position: int,
        events: int,
    ) -> None:
        """Set each changed row (None: delete it) and move the checkpoint from ``after`` to
        ``position``, adding ``events``, in one transaction; ``CheckpointMoved`` when the
        checkpoint is not at ``after`` (nothing written)."""
        ...

    def switch_build(self, name: str, build: int) -> None:
        """Make ``build`` live and drop the build that was, with its rows, at once. A build
        live already stays as it is (a second rebuilder of it switched it first); one that
        is gone (another start dropped it) is ``CheckpointMoved``, and nothing changes."""
        ...

    def drop_view(self, name: str) -> int:
        """Forget every build of ``name`` and its rows; how many builds there were."""
        ...
