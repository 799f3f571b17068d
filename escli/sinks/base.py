"""The port every ``--to`` target implements (``Sink``), what a delivery to one reports, and
the error a target raises when it lacks earlier events (``TargetBehind``: the mirror's, in
``escli.stores.mirror``, which a store target delivers through). Consumers (dispatch,
publish) and implementations (``escli.sinks.store``, ``escli.sinks.cloudevents``,
``escli.sinks.nats``) both import them from here, so neither imports the other."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple, Protocol

from escli.errors import EscliError
from escli.stores.base import RecordedEvent
from escli.stores.mirror import TargetBehind  # raised by the mirror a store target uses

__all__ = ["Delivery", "Sink", "TargetBehind"]


class Sink(Protocol):
    """An extra target that receives events after the store accepted them."""

    url: str

    def deliver(self, recorded: Sequence[RecordedEvent]) -> int | None:
        """Hand over one stream's events, in order; how many the target newly stored,
        where it can tell (None: it cannot)."""


class Delivery(NamedTuple):
    """One target's result: which generations it was sent (pending ones first) and whether
    they arrived."""

    target: str
    error: EscliError | None = None
    from_generation: int = 0
    to_generation: int = 0

    @property
    def ok(self) -> bool:
        return self.error is None
