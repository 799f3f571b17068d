"""Waking on new events on PostgreSQL (``escli.stores.wakeup``): ``LISTEN`` on the store's
channel, on a connection of the waiter's own.

Every append calls ``pg_notify('escli.<schema>', stream)`` in its own statement, so the
notification is part of the append's transaction: PostgreSQL delivers it when that commits
(never for one rolled back), to the listeners of that channel in that database only. A
store in another schema notifies another channel, so stores never wake each other.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import psycopg

from escli.stores.postgres.connection import Connection
from escli.stores.wakeup import Waiter

if TYPE_CHECKING:
    from escli.stores.postgres.store import PostgresStore

__all__ = ["ListeningWaiter"]


class ListeningWaiter(Waiter):
    """Waits on ``LISTEN`` for an append to ``store``; the head is read on each
    notification, and once when listening starts."""

    def __init__(self, store: PostgresStore) -> None:
        self.store = store
        self._listener: Connection | None = None

    def wait_beyond(self, position: int, timeout: float) -> int:
        store, deadline = self.store, time.monotonic() + timeout
        try:
            if self._listener is None:
                listener = store._connect()  # autocommit: LISTEN holds at once
                try:
                    listener.execute(f'LISTEN "{store._channel}"')
                except BaseException:
                    listener.close()
                    raise
                self._listener = listener
                # An event committed after the caller read its position but before LISTEN
                # held notified nobody: the head, read now that we listen, shows it.
                head = store.head_position()
                if head > position:
                    return head
            # Notifications that come while the caller catches up wait in the connection.
            # Each is a hint to read the head, which settles whether it is news; those that
            # came together (a burst of appends) are taken at once, for one head read.
            while (left := deadline - time.monotonic()) > 0:
                if self._notified(left):
                    self._notified(0)
                    head = store.head_position()
                    if head > position:
                        return head
        except psycopg.Error as e:
            raise store._error(e) from e
        return position

    def _notified(self, timeout: float) -> bool:
        """Whether a notification came within ``timeout`` seconds (0: already here)."""
        assert self._listener is not None
        # Read whole: ``stop_after`` ends after the batch that holds the first.
        return bool(list(self._listener.notifies(timeout=timeout, stop_after=1)))

    def close(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
