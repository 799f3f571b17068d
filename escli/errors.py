"""The one exception tree of escli, and the exit code each branch maps to.

    EscliError                      1  (never raised bare)
    ├── UsageError                  2  missing or extra arguments, bad option combinations
    ├── NotFound                    3  unknown domain, command or stream
    ├── InvalidInput                4  a value that does not fit its field, a bad URL or file
    ├── CommandRejected             5  the domain refused the command (a business rule)
    ├── ConcurrencyConflict         6  the stream moved between read and append
    ├── StoreError                  7  the store is corrupt, read-only or holds undecodable data
    │   └── StoreUnavailable        8  the store cannot be reached at all
    ├── DeliveryIncomplete          9  stored, but an extra target did not get the events
    ├── ExpectationFailed          10  a script step or scenario did not do what it said
    ├── DomainError                11  a domain module's own code failed (the author's bug)
    │   └── UnreadableEvent        11  a stored event its domain cannot read (no class, no
    │                                   upcaster, or an upcaster that fails on it)
    ├── ClientMissing              12  the client library a store or target needs is not installed
    ├── ProjectError               13  the project file (escli.toml) is broken
    ├── SnapshotMismatch           14  a snapshot and a fold from generation 0 disagree
    └── ProjectionStale            15  a projection's code changed since its rows were built,
                                        or they were built from another event store's events

Everything that is not an ``EscliError`` is a bug and is shown with its traceback. The CLI's
root group is the only place that turns these into ``Error: ...`` lines and exit codes; the
library only raises them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final, TypeVar

__all__ = [
    "ClientMissing",
    "CommandRejected",
    "ConcurrencyConflict",
    "DeliveryIncomplete",
    "DomainError",
    "EscliError",
    "ExpectationFailed",
    "InvalidInput",
    "NotFound",
    "ProjectError",
    "ProjectionStale",
    "SnapshotMismatch",
    "StoreError",
    "StoreUnavailable",
    "UnreadableEvent",
    "UsageError",
    "in_context",
    "missing_client",
    "noted",
    "written_before",
    "wrote_nothing",
]

NOTHING_WRITTEN: Final = "nothing was written"


class EscliError(Exception):
    """A problem a user can act on; its message is printed as one line."""

    exit_code = 1
    # Set by ``wrote_nothing`` on the error of a write that wrote nothing: what went wrong,
    # the message before its "; nothing was written". A longer operation that it cuts short
    # after other writes says what they wrote instead (``written_before``).
    refused: str | None = None


E = TypeVar("E", bound=EscliError)


def wrote_nothing(error: E, refused: str, then: str = "") -> E:
    """``error``, its message ``REFUSED; nothing was written`` then ``then`` (``", retry"``),
    marked as a write that wrote nothing."""
    error.args = (f"{refused}; {NOTHING_WRITTEN}{then}",)
    error.refused = refused
    return error


class UsageError(EscliError):
    exit_code = 2


class NotFound(EscliError):
    exit_code = 3


class InvalidInput(EscliError):
    exit_code = 4


class CommandRejected(EscliError):
    """Raised by a domain's ``handle_command`` when a business rule refuses the command."""

    exit_code = 5


class ConcurrencyConflict(EscliError):
    """The stream's generation was not the one the writer expected; nothing was written."""

    exit_code = 6

    def __init__(self, stream: str, expected: int, actual: int) -> None:
        super().__init__()
        wrote_nothing(
            self,
            f"stream {stream!r} moved: expected generation {expected}, found {actual}",
            ", retry the command",
        )
        self.stream = stream
        self.expected = expected
        self.actual = actual


class StoreError(EscliError):
    exit_code = 7


class StoreUnavailable(StoreError):
    exit_code = 8


class ExpectationFailed(EscliError):
    """A script step or a scenario did not do what it said it would."""

    exit_code = 10


class DeliveryIncomplete(EscliError):
    """The store accepted the events; at least one extra target (``--to``) did not."""

    exit_code = 9


class DomainError(EscliError):
    """A domain module's own code failed: it did not import, or ``handle_command``,
    ``apply_event`` or ``initial_state`` raised or returned what escli cannot use. The
    author's mistake, not escli's. ``traceback`` holds the domain's own frames only (as
    pytest shows a failing test's), printed after the ``Error:`` line; empty when there is
    no exception to show (a wrong return value)."""

    exit_code = 11

    def __init__(self, message: str, traceback: str = "") -> None:
        super().__init__(message)
        self.traceback = traceback


class UnreadableEvent(DomainError):
    """The store holds an event its domain cannot read: at a (type, version) it has neither a
    class nor an upcaster for (the domain must learn to read it: an upcaster, or its old
    class kept), or one whose upcaster fails on it (raises, or makes data that does not fit
    the class)."""


class ProjectError(EscliError):
    """The project file (``escli.toml``, or ``[tool.escli]`` in ``pyproject.toml``) cannot be
    used: it does not parse, or a key or value is wrong. The message names the file and line."""

    exit_code = 13


class SnapshotMismatch(EscliError):
    """``escli snapshot verify``: a stream folded from its snapshot and from generation 0 gave
    different states (the snapshot's fingerprint missed a change of what the fold does)."""

    exit_code = 14


class ProjectionStale(EscliError):
    """A projection's rows are not what this run would build on: its code changed since
    they were built, or they were built from another event store's events (views kept by
    ``--views``). ``project`` (and a dispatch that updates it) refuses to mix them with
    new rows, and ``view`` and ``projections`` to show another store's as this one's,
    until ``escli project NAME --rebuild`` (or another ``--views``)."""

    exit_code = 15


class ClientMissing(EscliError):
    """A store or target needs a client library that is not installed; the message names the
    extra to install (``pip install 'escli[postgres]'``)."""

    exit_code = 12


def missing_client(what: str, extras: str, error: ImportError) -> ClientMissing:
    """The one-line error for a client library that is not installed, or is installed but
    does not import (its own import failed), naming the extra that installs it. An
    ``ImportError`` of escli's own modules is a bug and is raised as it is."""
    if error.name and error.name.startswith("escli"):
        raise error
    missing = isinstance(error, ModuleNotFoundError)
    detail = "" if missing else f" (installed, but it does not import: {_first_line(error)})"
    return ClientMissing(f"{what}{detail}: pip install {extras}")


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


def _retold(error: E, message: str, refused: str | None) -> E:
    """The same error (same class, same exit code, same fields) with another message."""
    # Made without the class's __init__, whose arguments vary by class (copy.copy would call
    # it with the message).
    told = type(error).__new__(type(error))
    told.__dict__.update(error.__dict__)
    told.args = (message,)
    told.refused = refused
    return told


def in_context(error: E, where: str) -> E:
    """The same error (same class, same exit code) with ``where: `` in front of its message."""
    refused = None if error.refused is None else f"{where}: {error.refused}"
    return _retold(error, f"{where}: {error}", refused)


def noted(error: E, note: str) -> E:
    """The same error (same class, same exit code) with ``; note`` after its message: what
    to do about it where it was raised, in words the raiser could not know."""
    return _retold(error, f"{error}; {note}", error.refused)


def written_before(error: E, written: Sequence[str], unwritten: Sequence[str], then: str) -> E:
    """``error`` (same class, same exit code) saying what a multi-stream write that it cut
    short had written already, so that it never claims "nothing was written" when earlier
    appends were: ``written`` and ``unwritten`` describe streams, ``then`` what to do."""
    if not written:
        return error
    said = str(error) if error.refused is None else error.refused
    message = (
        f"{said}; that append wrote nothing, but written before it: {_some(written)}"
        + (f"; not written: {_some(unwritten)}" if unwritten else "")
        + f"; {then}"
    )
    return _retold(error, message, None)


def _some(items: Sequence[str], shown: int = 3) -> str:
    """The first few of a long list, and how many more."""
    if len(items) <= shown + 1:
        return ", ".join(items)
    return f"{', '.join(items[:shown])} and {len(items) - shown} more"
