"""Extra dispatch targets (``--to URL``): where events go after the store accepted them.

A target is a ``Sink`` (see ``escli.dispatcher``). A store URL as a target receives the same
events at the same generations with the same ids, so delivering twice is harmless. Other
schemes (``cloudevents:FILE``, ``nats://``) come from their own modules, imported only
when used.
"""

from __future__ import annotations

from collections.abc import Sequence

from escli.dispatcher import Sink
from escli.errors import ConcurrencyConflict, StoreError
from escli.stores import open_store
from escli.stores.base import NewEvent, RecordedEvent, Store

__all__ = ["StoreTarget", "open_target"]


class StoreTarget:
    """Mirrors appends into another store, keeping generations, ids and times."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.url = store.url

    def deliver(self, recorded: Sequence[RecordedEvent]) -> None:
        if not recorded:
            return
        stream = recorded[0].stream
        events = [
            NewEvent(r.event_type, r.type_version, r.source, r.data, r.event_id, r.recorded_at)
            for r in recorded
        ]
        try:
            self.store.append(stream, events, recorded[0].generation - 1)
        except ConcurrencyConflict as e:
            there = list(self.store.read(stream, recorded[0].generation, recorded[-1].generation))
            if [r.event_id for r in there] != [r.event_id for r in recorded]:
                raise StoreError(
                    f"{self.url}: {stream} is at generation {e.actual} and does not hold these "
                    "events; the target has diverged from the store"
                ) from e
            # Already delivered (a retry): nothing to do.

    def close(self) -> None:
        self.store.close()


def open_target(url: str) -> Sink:
    """The target a ``--to`` URL names."""
    if url[: len("cloudevents:")].lower() == "cloudevents:":
        from escli.cloud_events import CloudEventsFile

        return CloudEventsFile(url)
    if url[: len("nats://")].lower() == "nats://":
        from escli.sinks.nats import NatsTarget

        return NatsTarget(url)
    return StoreTarget(open_store(url))
