"""Waking on new events on SQLite (``escli.stores.wakeup``): polling, but a poll that reads
no page of the file.

``PRAGMA data_version`` answers, on one connection, a number that changes whenever another
connection (of any process) commits to the file. The waiter keeps a read-only connection of
its own for that question, so every commit counts, the store's own connections' included,
and reads the head (one indexed read) only when the number moved. A commit that is no
append (a view's write, a pending delivery) wakes it for nothing: the head says so.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable

from escli.stores.sqlite.connection import _translate, read_only_uri
from escli.stores.wakeup import PollingWaiter

__all__ = ["INTERVAL_S", "DataVersionWaiter"]

INTERVAL_S = 0.05  # between two questions: each costs microseconds, no read of the file


class DataVersionWaiter(PollingWaiter):
    """Polls ``PRAGMA data_version`` on a connection of its own to ``path``; ``head`` is the
    store's ``head_position``."""

    def __init__(self, path: str, head: Callable[[], int]) -> None:
        super().__init__(head, INTERVAL_S, self._changed)
        self.path = path
        self._conn: sqlite3.Connection | None = None
        self._version: int | None = None

    def _changed(self) -> bool:
        if self._conn is None:
            if not os.path.exists(self.path):
                return True  # no file yet: the head read creates nothing, and says 0
            try:
                uri = read_only_uri(self.path)
                self._conn = sqlite3.connect(uri, uri=True, check_same_thread=False)
            except sqlite3.Error as e:
                raise _translate(e, self.path) from e
        try:
            version = int(self._conn.execute("PRAGMA data_version").fetchone()[0])
        except sqlite3.Error as e:
            raise _translate(e, self.path) from e
        moved: bool = version != self._version
        self._version = version
        return moved

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()
