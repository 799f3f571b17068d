"""Extra dispatch targets (``--to URL``): where events go after the store accepted them.

A target is a ``Sink`` (see ``escli.dispatcher``). A store URL as a target receives the same
events at the same generations with the same ids, so delivering twice is harmless. Other
schemes (``cloudevents:FILE``, ``nats://``) come from their own modules, imported only
when used.
"""

from __future__ import annotations

from collections.abc import Sequence

from escli.dispatcher import Sink
from escli.errors import ConcurrencyConflict, InvalidInput, StoreError
from escli.stores import open_lasting_store
from escli.stores.base import RecordedEvent, Store
from escli.urls import check_url, secrets_hidden

__all__ = ["StoreTarget", "TargetBehind", "open_target"]


class TargetBehind(StoreError):
    """The target lacks events before those it was given; the sender sends those first."""

    def __init__(self, url: str, stream: str, generation: int) -> None:
        super().__init__(f"{url}: {stream} is only at generation {generation}")
        self.generation = generation


class StoreTarget:
    """Mirrors appends into another store, keeping generations, ids and times."""

    def __init__(self, store: Store) -> None:
        self.store = store
        # One name per target whatever the spelling (relative path, another working folder):
        # it keys the pending deliveries.
        self.url = getattr(store, "canonical_url", store.url)

    def deliver(self, recorded: Sequence[RecordedEvent]) -> None:
        """Append what the target lacks of ``recorded``: events it already holds (same ids at
        the same generations) are skipped, so delivering twice is harmless."""
        if not recorded:
            return
        stream, first = recorded[0].stream, recorded[0].generation
        for _ in range(3):  # a writer of the target's own may move it meanwhile
            held = self.store.generation(stream)
            if held < first - 1:
                raise TargetBehind(self.url, stream, held)
            there = [r.event_id for r in self.store.read(stream, first, recorded[-1].generation)]
            if there != [r.event_id for r in recorded[: len(there)]]:
                raise StoreError(
                    f"{self.url}: {stream} holds other events at generations {first}.."
                    f"{first + len(there) - 1}; the target has diverged from the store"
                )
            missing = recorded[len(there) :]
            if not missing:
                return
            events = [r.as_new() for r in missing]
            try:
                self.store.append(stream, events, missing[0].generation - 1)
                return
            except ConcurrencyConflict:
                continue
        raise StoreError(f"{self.url}: {stream} kept moving while events were delivered to it")

    def close(self) -> None:
        self.store.close()


def open_target(url: str) -> Sink:
    """The target a ``--to`` URL names. An empty URL and ``memory:`` are refused: events sent
    there would be gone when the command ends. No error raised here shows a password,
    whatever the client put in its message."""
    with secrets_hidden(url):
        return _open_target(url)


def _open_target(url: str) -> Sink:
    if not url.strip():
        raise InvalidInput(
            "the --to URL is empty: name a target (a store URL, cloudevents:FILE or nats://...)"
        )
    if url[: len("cloudevents:")].lower() == "cloudevents:":
        from escli.cloud_events import CloudEventsFile

        check_url(url, "cloudevents:", credentials=False, query=False)
        return CloudEventsFile(url)
    if url[: len("nats://")].lower() == "nats://":
        from escli.sinks.nats import NatsTarget

        return NatsTarget(url)
    return StoreTarget(open_lasting_store(url, "--to target"))
