"""The wake-up contract (``escli.stores.wakeup``), part of ``EventLogContract``: every store's
waiter wakes on an append made elsewhere (another thread: another connection on the SQL
stores), even one committed before its first wait, again on each later append, and ends
its wait with nothing new when nothing is appended.

Deadlines are generous (a loaded CI machine): a waiter that never wakes fails them; one
that wakes late does not, as waking fast is the business of the benchmarks, not of these.
"""

from __future__ import annotations

import threading
import time

from escli.stores.base import EventStore, RecordedEvent
from escli.stores.views import EventLog
from escli.stores.wakeup import Waiter
from tests.stores.contract import Contract, new, read_log, unique_domain

DEADLINE_S = 30.0


def woken(waiter: Waiter, position: int, timeout: float = 0.5) -> int:
    """Wait past ``position`` in waits of ``timeout`` (as ``project --follow`` does), up to
    ``DEADLINE_S``; the head it woke with, or the position when it never did."""
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        head = waiter.wait_beyond(position, timeout)
        if head > position:
            return head
    return position


class WakeUpContract(Contract):
    def test_a_waiter_wakes_when_another_connection_appends(self, store: EventStore) -> None:
        assert isinstance(store, EventLog)
        d = unique_domain()
        start = store.head_position()
        appended: list[RecordedEvent] = []

        def append_soon() -> None:
            time.sleep(0.3)  # while the waiter waits
            appended.extend(store.append(f"{d}-a", [new({"n": 1})], 0))

        with store.waiter() as waiter:
            writer = threading.Thread(target=append_soon)
            writer.start()
            try:
                head = woken(waiter, start)
            finally:
                writer.join()
        assert head > start
        # The head it woke with covers the event: a catch-up up to it reads it.
        rows = read_log(store, start, 10, up_to=head, prefix=f"{d}-")
        assert [r.event_id for r in rows] == [e.event_id for e in appended]

    def test_an_event_committed_before_the_first_wait_still_wakes_it(
        self, store: EventStore
    ) -> None:
        """The follower's window: it read the head, an event commits, then it starts to
        listen. The waiter must not sleep through that event."""
        assert isinstance(store, EventLog)
        d = unique_domain()
        start = store.head_position()
        [event] = store.append(f"{d}-a", [new()], 0)
        with store.waiter() as waiter:
            assert waiter.wait_beyond(start, DEADLINE_S) >= event.position

    def test_each_later_append_wakes_the_next_wait(self, store: EventStore) -> None:
        assert isinstance(store, EventLog)
        d = unique_domain()
        position = store.head_position()
        with store.waiter() as waiter:
            assert waiter.wait_beyond(position, 0.1) <= position  # listening now
            for generation in range(3):
                [event] = store.append(f"{d}-a", [new()], generation)
                head = woken(waiter, position)
                assert head >= event.position > position
                position = head

    def test_a_wait_with_nothing_appended_ends_at_its_timeout_with_nothing_new(
        self, store: EventStore
    ) -> None:
        assert isinstance(store, EventLog)
        head = store.head_position()
        with store.waiter() as waiter:
            assert waiter.wait_beyond(head, 0.2) <= head
            assert waiter.wait_beyond(head, 0.2) <= head

    def test_a_waiter_closes_whether_it_waited_or_not(self, store: EventStore) -> None:
        assert isinstance(store, EventLog)
        store.waiter().close()
        waiter = store.waiter()
        waiter.wait_beyond(store.head_position(), 0.05)
        waiter.close()
        waiter.close()
