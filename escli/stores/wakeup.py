"""Waking on new events: how a follower of the global log (``escli project NAME --follow``)
waits between its catch-ups without reading the store over and over.

A ``Waiter`` comes from ``EventLog.waiter()`` and answers one question, ``wait_beyond``:
"tell me when the log's head is past this position, or when ``timeout`` seconds have
passed". The timeout is the caller's: it keeps ``stop()`` and Ctrl-C answered while the
store is idle. Each store wakes its own way:

- **polling** (``PollingWaiter``, the default of ``escli.stores.log.LogFromReadAll``: memory,
  and any store without a better way): the head read again every ``interval`` seconds;
- **SQLite**: ``PRAGMA data_version`` polled (it changes when another connection commits;
  no page of the file is read), the head read only when it changed;
- **PostgreSQL**: ``LISTEN`` on the store's channel (named after its schema, so stores never
  wake each other), which every append notifies in its own transaction;
- **EventStoreDB**: a catch-up subscription to ``$all`` from the position, filtered to the
  streams escli shows (not the server's, nor escli's hidden ones).

A wake-up is a hint, never the truth: the caller reads the log itself afterwards, up to the
head it reads then. So a waiter may wake early (another namespace's append, a view's write)
but must never sleep through an event committed after ``position``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Self

__all__ = ["PollingWaiter", "Waiter"]


class Waiter:
    """Waits for the global log to move (see the module docstring); ``close`` releases what
    it holds (a connection, a subscription). A context manager."""

    def wait_beyond(self, position: int, timeout: float) -> int:
        """The head, once it is past ``position``; when ``timeout`` seconds pass first, a
        position no greater than ``position`` (nothing new)."""
        raise NotImplementedError

    def close(self) -> None:
        """Release the waiter's connection or subscription; idempotent."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class PollingWaiter(Waiter):
    """Reads ``head()`` every ``interval`` seconds until it is past the position. With
    ``changed``, a cheaper question asked first at each tick: the head is read only when it
    says something may have been committed since it last answered (SQLite's data version)."""

    def __init__(
        self,
        head: Callable[[], int],
        interval: float = 0.1,
        changed: Callable[[], bool] | None = None,
    ) -> None:
        self.head = head
        self.interval = interval
        self.changed = changed
        self._read_once = False

    def wait_beyond(self, position: int, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        while True:
            # Asked before the head is read, so that a commit after the read is news at the
            # next tick; the head is read on the first call whatever it says (``changed``
            # knows only of commits since it was first asked).
            moved = self.changed is None or self.changed()
            if moved or not self._read_once:
                self._read_once = True
                head = self.head()
                if head > position:
                    return head
            left = deadline - time.monotonic()
            if left <= 0:
                return position
            time.sleep(min(self.interval, left))
