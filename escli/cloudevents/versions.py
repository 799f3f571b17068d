"""Old versions in CloudEvents input (issue 13): how an import, replay ``--file``, a
JetStream follow and ``from_cloudevent`` read an event at a version whose class is gone.

An event at an old version of its type is accepted when the domain's upcasters
take it to a current class (``Domain.reading``), and kept as the file has it (type,
version, data): the store holds what happened, readers upcast. Its data is checked by
upcasting a copy (an upcaster that changes its argument changes nothing kept) and checking
the result against the current class. What each failure is:

- an upcaster that raises, or returns what is not a dict: the author's ``DomainError``
  (``UpcastFailed.error``), naming the stream, generation, event id and upcaster;
- upcast data that does not fit the current class: ``InvalidInput``, as current data that
  does not fit is, naming the upcasters. The file is what is being checked, and a field
  the old data lacks or has wrongly typed is the likelier cause; the upcaster is named for
  when it is its own;
- a (type, version) with neither class nor upcaster: ``InvalidInput`` with the hint of
  ``Domain.unreadable``.

The choice is made once per (source, type, subject, version) (``EventParser._resolve``,
cached): an event at a current version costs nothing more than before. Replay ``--file``
checks the file so, then folds its records as it folds a store's (``escli.app.fold``, the
same chains); ``from_cloudevent`` gives the current event.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from escli.domain.codec import checker
from escli.domain.upcasting import json_copy

if TYPE_CHECKING:
    from escli.domain.model import Domain
    from escli.domain.upcasting import Chain

__all__ = ["unknown_type", "upcast_checker"]


def upcast_checker(chain: Chain) -> Any:
    """The check of an old version's data: a copy upcast, then checked as current data
    (``FieldError`` where it does not fit; ``UpcastFailed`` where an upcaster fails)."""
    check, run = checker(chain.cls), chain

    def upcast_check(data: dict[str, Any]) -> None:
        check(run(json_copy(data)))

    return upcast_check


def unknown_type(domain: Domain, event_type: str, version: str) -> str:
    """Why an event of ``event_type`` ``version`` cannot be read: the domain's words
    (``Domain.unreadable``: what to do), and, for a type it has no version of (a typo?),
    the types it has."""
    unreadable = domain.unreadable(event_type, version)
    if any(t == event_type for t, _ in domain.events):
        return unreadable  # it names the versions the type has
    known = ", ".join(f"{t} v{v}" for t, v in domain.events) or "none"
    return f"{unreadable} (known: {known})"
