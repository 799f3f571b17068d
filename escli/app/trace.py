"""``escli trace ID``: why events happened, the commands of one correlation and their events.

ID is a correlation id; else an event id, or a causation id, whose correlation is then
traced. Cost: each is a seek of an index on SQLite and PostgreSQL (correlation and
causation ids: ``EventSearch.correlated``, ``first_caused_by``; event ids: the index of
ids); on EventStoreDB a correlation is a read of its ``$bc-<id>`` stream when the server
keeps one, else of all of ``$all``, and a causation id a read of ``$all``.
"""

from __future__ import annotations

from typing import NamedTuple

from escli.errors import NotFound
from escli.stores.base import RecordedEvent, Store
from escli.stores.metadata import CAUSATION, COMMAND, CORRELATION

__all__ = ["Trace", "TracedCommand", "trace"]


class TracedCommand(NamedTuple):
    """One command of a correlation: its causation id, name, stream and events."""

    causation_id: str
    command: str
    stream: str
    events: list[RecordedEvent]


class Trace(NamedTuple):
    correlation_id: str
    commands: list[TracedCommand]  # in the order of each one's first event


def _correlation_of(store: Store, wanted: str) -> str | None:
    """The correlation of the event with id ``wanted``, or of the command with causation id
    ``wanted``, or None."""
    found = store.find_event(wanted) or store.first_caused_by(wanted)
    return None if found is None else (found.metadata or {}).get(CORRELATION)


def trace(store: Store, wanted: str) -> Trace:
    """The commands and events of the correlation ``wanted`` names (see the module
    docstring); ``NotFound`` when it names none."""
    events = store.correlated(wanted)
    correlation = wanted
    if not events:
        found = _correlation_of(store, wanted)
        if found is not None:
            correlation, events = found, store.correlated(found)
    if not events:
        raise NotFound(
            f"no correlation, event or causation id {wanted!r} with metadata in {store.url}"
        )
    # A command is its causation id, name and stream together: commands given one causation
    # id (two a process manager sends for one event, say) are told apart by the others.
    commands: dict[tuple[str, str, str], TracedCommand] = {}
    for r in events:
        meta = r.metadata or {}
        key = (meta.get(CAUSATION, ""), meta.get(COMMAND, "?"), r.stream)
        command = commands.get(key)
        if command is None:
            command = commands[key] = TracedCommand(*key, [])
        command.events.append(r)
    return Trace(correlation, list(commands.values()))
