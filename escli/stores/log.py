"""The global log in pages (``escli.stores.views.EventLog``) for a store that has no index of
positions to answer from: derived from ``read_all``. SQL stores override each method with a
query on their position index; this is what EventStoreDB and a namespaced view start from."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from escli.stores.views import LogRow, log_row
from escli.stores.wakeup import PollingWaiter, Waiter

if TYPE_CHECKING:
    from escli.stores.base import RecordedEvent

__all__ = ["LogFromReadAll"]


class LogFromReadAll:
    """``EventLog`` from ``read_all``: each call reads the log from the position it is given
    (``head_position`` from the start: the whole log); ``waiter`` polls ``head_position``,
    which is the whole of waking for the memory store (its head is an attribute)."""

    def read_all(self, after_position: int = 0) -> Iterator[RecordedEvent]:
        raise NotImplementedError

    def read_log(
        self, after_position: int, limit: int, *, up_to: int | None = None, prefix: str = ""
    ) -> list[LogRow]:
        found: list[LogRow] = []
        records = self.read_all(after_position)
        try:
            for r in records:
                if up_to is not None and r.position > up_to:
                    break
                if r.stream.startswith(prefix):
                    found.append(log_row(r))
                    if len(found) >= limit:
                        break
        finally:
            close = getattr(records, "close", None)  # a generator: release its cursor now
            if close is not None:
                close()
        return found

    def head_position(self) -> int:
        last = 0
        for r in self.read_all(0):  # a store without an index of positions reads them all
            last = r.position
        return last

    def events_after(self, position: int, *, up_to: int | None = None) -> int:
        return sum(1 for r in self.read_all(position) if up_to is None or r.position <= up_to)

    def waiter(self) -> Waiter:
        return PollingWaiter(self.head_position)
