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
    └── ClientMissing              12  the client library a store or target needs is not installed

Everything that is not an ``EscliError`` is a bug and is shown with its traceback. The CLI's
root group is the only place that turns these into ``Error: ...`` lines and exit codes; the
library only raises them.
"""

from __future__ import annotations

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
    "StoreError",
    "StoreUnavailable",
    "UsageError",
    "missing_client",
]


class EscliError(Exception):
    """A problem a user can act on; its message is printed as one line."""

    exit_code = 1


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
        super().__init__(
            f"stream {stream!r} moved: expected generation {expected}, found {actual}; "
            "nothing was written, retry the command"
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


def in_context(error: EscliError, where: str) -> EscliError:
    """The same error (same class, same exit code) with ``where: `` in front of its message."""
    import copy

    located = copy.copy(error)
    located.args = (f"{where}: {error}",)
    return located
