"""Calling a domain author's code: what it prints goes to stderr, and what goes wrong in it is
the author's ``DomainError`` (exit 11), shown with the author's own frames only.

A domain's *home* is the folder of its own code: the domains folder its module was found in
(so helper modules beside it count), or, for an installed domain, the top-level package of
its module. An exception whose traceback runs through the home was raised by the domain's
code, or by escli on its behalf (``state.evolve`` of a field that does not exist): the
author's mistake, shown as pytest shows a failing test, the frames of the home only. Any
other exception is escli's own bug and keeps its whole traceback. An ``EscliError`` the
domain raises (``CommandRejected`` above all) is never translated; ``KeyboardInterrupt``
stays Ctrl-C, but ``SystemExit`` from domain code is the author's error like any other.

Stdout is escli's (``--json`` output): while domain code runs, ``sys.stdout`` is stderr.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from escli.domain.codec import FieldError, checker, encode
from escli.errors import DomainError, EscliError

if TYPE_CHECKING:
    from escli.domain.model import Domain

__all__ = [
    "NotAState",
    "calling",
    "domain_stdout",
    "emitted",
    "emitted_events",
    "failure",
    "failure_anywhere",
    "home_of",
    "package_home",
    "remember",
    "state_failure",
]


class NotAState(TypeError):
    """What ``method`` (``apply_event``, ``initial_state``) returned is not a state: an
    instance of an ``AggregateState`` dataclass (``escli.domain.model.applied`` raises it)."""

    def __init__(self, method: str, value: Any) -> None:
        super().__init__(
            f"returned {_describe(value)}, not a state (an instance of an AggregateState dataclass)"
        )
        self.method = method


# Every domain home seen in this process, with its domain's name: an exception that reaches
# the CLI's error boundary from a path that did not translate it can still be attributed.
_HOMES: dict[str, str] = {}
_ESCLI = os.path.dirname(os.path.abspath(__file__))


def domain_stdout() -> contextlib.AbstractContextManager[Any]:
    """While domain code runs, what it prints goes to stderr: stdout carries escli's output."""
    return contextlib.redirect_stdout(sys.stderr)


def package_home(module_name: str) -> str | None:
    """The folder of the top-level package ``module_name`` belongs to (the module's file when
    it is a lone module), if it is imported."""
    module = sys.modules.get(module_name.partition(".")[0])
    file = getattr(module, "__file__", None)
    if not isinstance(file, str):
        return None
    file = os.path.abspath(file)
    return os.path.dirname(file) if os.path.basename(file) == "__init__.py" else file


def remember(name: str, home: str | None) -> None:
    """Record ``home`` as domain ``name``'s, for ``failure_anywhere``."""
    if home is not None:
        _HOMES.setdefault(home, name)


def home_of(domain: Domain) -> str | None:
    """The domain's home: set by the registry that found it, else the package that defines
    its aggregate (a domain built in code, in a test for instance)."""
    if domain.home is None and domain.has_aggregate:
        domain.home = package_home(type(domain.aggregate_impl).__module__)
    remember(domain.name, domain.home)
    return domain.home


def _strangers(home: str) -> tuple[str, ...]:
    """Folders inside ``home`` that hold no domain code: escli itself and a virtual
    environment (``--domains .`` in a project folder must not claim escli's frames)."""
    candidates = {_ESCLI, sys.prefix, sys.base_prefix, sys.exec_prefix} - {""}
    return tuple(os.path.abspath(c) + os.sep for c in candidates if _inside(c, home, ()))


def _inside(filename: str, home: str, strangers: tuple[str, ...]) -> bool:
    if filename.startswith("<"):  # <frozen importlib._bootstrap>, <string>: no file
        return False
    path = os.path.abspath(filename)
    if path != home and not path.startswith(home.rstrip(os.sep) + os.sep):
        return False
    return not path.startswith(strangers)


def failure(
    name: str, home: str | None, error: BaseException, context: str = ""
) -> DomainError | None:
    """The ``DomainError`` of ``error`` if it was raised in or through ``home``, else None.

    Its message is ``FILE:LINE: domain NAME: WHAT raised TYPE: MESSAGE`` (``FILE:LINE`` the
    innermost frame of the home, ``WHAT`` the outermost, ``does not import`` for module
    code), with ``context`` (`` (folding STREAM at generation N)``) after it; its
    ``traceback`` shows the frames of the home only.
    """
    if home is None:
        return None
    import traceback  # only when something failed: it costs start-up time

    strangers = _strangers(home)
    shown = traceback.TracebackException(type(error), error, error.__traceback__, compact=True)
    frames = [frame for frame, _ in traceback.walk_tb(error.__traceback__)]
    own = [
        (summary, frame.f_code.co_qualname)
        for summary, frame in zip(shown.stack, frames, strict=False)
        if _inside(summary.filename, home, strangers)
    ]
    if isinstance(error, SyntaxError) and _inside(error.filename or "<", home, strangers):
        where, outermost = f"{error.filename}:{error.lineno}", "<module>"
    elif own:
        where, outermost = f"{own[-1][0].filename}:{own[-1][0].lineno}", own[0][1]
    else:
        return None
    if isinstance(error, SyntaxError):
        described = f"{type(error).__name__}: {error.msg}"
    else:
        described = next(shown.format_exception_only()).strip().splitlines()[0]
    if outermost == "<module>":
        message = f"{where}: domain {name!r} does not import: {described}{context}"
    else:
        message = f"{where}: domain {name!r}: {outermost} raised {described}{context}"
    shown.stack = traceback.StackSummary.from_list([summary for summary, _ in own])
    shown.__cause__ = shown.__context__ = None
    return DomainError(message, "".join(shown.format()))


def failure_anywhere(error: BaseException) -> DomainError | None:
    """``failure`` for an exception from anywhere: the domain whose home its innermost frame
    of any known home lies in (the CLI's error boundary, for paths that did not translate)."""
    import traceback

    for summary in reversed(traceback.extract_tb(error.__traceback__)):
        for home, name in _HOMES.items():
            if _inside(summary.filename, home, _strangers(home)):
                return failure(name, home, error)
    return None


@contextlib.contextmanager
def calling(domain: Domain, context: str = "") -> Iterator[None]:
    """Run a domain's code: prints go to stderr, its failures become ``DomainError``."""
    with domain_stdout():
        try:
            yield
        except EscliError:
            raise
        except NotAState as e:
            raise state_failure(domain, e, context) from e
        except (Exception, SystemExit) as e:
            found = failure(domain.name, home_of(domain), e, context)
            if found is None:
                raise
            raise found from e


def _method_failure(domain: Domain, method: str, problem: str) -> DomainError:
    """A ``DomainError`` for what a method of the aggregate returned, located at its ``def``."""
    function = getattr(type(domain.aggregate_impl), method, None)
    code = getattr(function, "__code__", None)
    if code is None:
        return DomainError(f"domain {domain.name!r}: {method} {problem}")
    return DomainError(
        f"{code.co_filename}:{code.co_firstlineno}: domain {domain.name!r}: "
        f"{code.co_qualname} {problem}"
    )


def state_failure(domain: Domain, error: NotAState, context: str = "") -> DomainError:
    """The ``DomainError`` of a method (``apply_event``, ``initial_state``) that returned
    what is not a state, located at its ``def``."""
    return _method_failure(domain, error.method, f"{error}{context}")


def emitted_events(domain: Domain, command: Any, returned: Any) -> list[Any]:
    """What ``handle_command`` returned, as a list of the domain's events (see ``emitted``)."""
    return [event for event, _ in emitted(domain, command, returned)]


def emitted(domain: Domain, command: Any, returned: Any) -> list[tuple[Any, dict[str, Any]]]:
    """What ``handle_command`` returned, as the domain's events each with its data, checked
    as stored data is checked when read (``escli.domain.codec.checker``): anything else (one event,
    None, a value that is not an event of this domain, an event whose field does not fit
    its annotation or no store could hold) is the author's error, before anything is written.
    """
    if getattr(returned, "__escli_event__", None) is not None:
        kind = type(returned).__name__
        raise _method_failure(
            domain,
            "handle_command",
            f"returned one {kind}, not a list: return [{kind}(...)]",
        )
    if (
        returned is None
        or isinstance(returned, (str, bytes, Mapping))
        or not isinstance(returned, Iterable)
    ):
        raise _method_failure(
            domain, "handle_command", f"returned {_describe(returned)}, not a list of events"
        )
    events = list(returned)
    checked = []
    for event in events:
        meta = getattr(event, "__escli_event__", None)
        if meta is None or domain.events.get((meta.event_type, meta.version)) is not type(event):
            raise _method_failure(
                domain,
                "handle_command",
                f"handling {type(command).__name__} returned {_describe(event)}, which is not "
                f"an event of domain {domain.name!r}",
            )
        checked.append((event, _event_data(domain, command, event)))
    return checked


def _event_data(domain: Domain, command: Any, event: Any) -> dict[str, Any]:
    """The event's data, refused as the codec refuses stored data that does not fit (a str
    for an int, True for an int, NaN, a lone surrogate, an integer past the digit limit):
    stored, it would break every later read of its stream."""
    kind = type(event).__name__
    try:
        data = encode(event)
        checker(type(event))(data)
    except FieldError as e:
        where = f"whose {e.path} " if e.path else "that "
        problem = f"does not fit its annotation: {e.message}" if e.path else f"is refused: {e}"
        raise _method_failure(
            domain,
            "handle_command",
            f"handling {type(command).__name__} returned {kind} {where}{problem}",
        ) from e
    except TypeError as e:  # a value or an annotation escli cannot encode
        raise _method_failure(
            domain,
            "handle_command",
            f"handling {type(command).__name__} returned {kind} that cannot be stored: {e}",
        ) from e
    return data


def _describe(value: Any) -> str:
    if value is None:
        return "None"
    text = repr(value)
    return f"{text[:60]}{'...' if len(text) > 60 else ''} (a {type(value).__name__})"
