"""Waking on new events on EventStoreDB (``escli.stores.wakeup``): a catch-up subscription to
``$all`` from the caller's position, filtered by the server to the streams escli shows.

The client's subscription blocks in ``next()`` with no timeout of its own, so a thread of the
waiter's reads it and notes the newest commit position it saw; ``wait_beyond`` waits on that
note with the caller's timeout. A catch-up subscription starts with what the server holds
after the position, so an event committed between the caller's read of the head and the
subscription's start is delivered like any other: there is no window to re-check.
"""

from __future__ import annotations

import re
import threading
from typing import TYPE_CHECKING, Any

from escli.errors import EscliError
from escli.stores.eventstoredb.outbox import PENDING_STREAM, SNAPSHOT_PREFIX, _is_user_stream
from escli.stores.wakeup import Waiter

if TYPE_CHECKING:
    from escli.stores.eventstoredb.connection import Connection

__all__ = ["SubscriptionWaiter"]

# Streams the server leaves out (each pattern matches a whole name): its own ($...) and
# escli's hidden ones, so a pending list or snapshot written after a dispatch's events
# wakes no one. ``_is_user_stream`` checks again on the client: the filter is a saving only.
HIDDEN = (r"\$.*", re.escape(PENDING_STREAM), re.escape(SNAPSHOT_PREFIX) + ".*")


class SubscriptionWaiter(Waiter):
    """A ``$all`` subscription read by a thread of its own (see the module docstring); made
    on the first wait, from its position, and again for a position before it or when the
    server ended it."""

    def __init__(self, store: Connection) -> None:
        self.store = store
        self._changed = threading.Condition()
        self._start = -1  # the position the subscription started after; -1: none yet
        self._newest = -1  # the newest commit position it delivered
        self._failure: EscliError | None = None
        self._subscription: Any = None
        self._reader: threading.Thread | None = None

    def wait_beyond(self, position: int, timeout: float) -> int:
        reader = self._reader
        if self._failure is None and (
            reader is None or position < self._start or not reader.is_alive()
        ):
            self._subscribe(position)  # the first wait, or the server ended the last one
        with self._changed:
            self._changed.wait_for(
                lambda: self._newest > position or self._failure is not None, timeout
            )
            if self._failure is not None:
                raise self._failure
            return self._newest if self._newest > position else position

    def _subscribe(self, position: int) -> None:
        self.close()
        store = self.store
        client = store._connected()
        self._subscription = store._call(
            lambda: client.subscribe_to_all(
                commit_position=position if position > 0 else None,  # None: the start
                filter_exclude=HIDDEN,
                filter_by_stream_name=True,
            )
        )
        self._start = self._newest = position
        self._failure = None
        self._reader = threading.Thread(
            target=self._read, args=(self._subscription,), name="escli-esdb-wakeup", daemon=True
        )
        self._reader.start()

    def _read(self, subscription: Any) -> None:
        """The reader thread: note each event's position until the subscription stops."""
        api = self.store._api
        try:
            for event in subscription:
                position = event.commit_position
                if position is not None and _is_user_stream(event.stream_name):
                    with self._changed:
                        self._newest = max(self._newest, int(position))
                        self._changed.notify_all()
        except api.error as e:
            if subscription is not self._subscription:
                return  # stopped by close(): no one is waiting on it
            try:
                self.store._raise(e, None)
            except EscliError as failure:
                with self._changed:
                    self._failure = failure
                    self._changed.notify_all()

    def close(self) -> None:
        subscription, self._subscription = self._subscription, None
        reader, self._reader = self._reader, None
        if subscription is not None:
            subscription.stop()  # the reader's next() ends
        if reader is not None:
            reader.join(timeout=5)
