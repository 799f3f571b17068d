"""Pending deliveries on SQLite (the ``Outbox``): a table beside the events, written in the
append's own transaction when it names targets."""

from __future__ import annotations

import sqlite3
from typing import Any

from escli.stores.base import Pending
from escli.stores.sqlite.connection import Connections, _immediate, _translate

__all__ = ["PendingTable"]

# A pending range merged with what was pending for (target, stream) already.
_SET_PENDING = (
    "INSERT INTO pending VALUES (?, ?, ?, ?) ON CONFLICT (target, stream) DO UPDATE SET"
    " from_generation = min(from_generation, excluded.from_generation),"
    " to_generation = max(to_generation, excluded.to_generation)"
)


class PendingTable(Connections):
    """The outbox of a SQLite store."""

    def pending(self, target: str | None = None, stream: str | None = None) -> list[Pending]:
        # Plain ? with each value twice, not ?1 and ?2: Python 3.12 before 3.12.4 takes ?1
        # for a named placeholder and warns (CPython gh-117995).
        rows = self._rows(
            "SELECT target, stream, from_generation, to_generation FROM pending"
            " WHERE (? IS NULL OR target = ?) AND (? IS NULL OR stream = ?)"
            " ORDER BY target, stream",
            (target, target, stream, stream),
        )
        return [Pending(*row) for row in rows]

    def set_pending(
        self, target: str, stream: str, from_generation: int, to_generation: int
    ) -> None:
        self._write(_SET_PENDING, (target, stream, from_generation, to_generation))

    def clear_pending(self, target: str, stream: str, up_to_generation: int) -> None:
        self._write(
            "DELETE FROM pending WHERE target = ? AND stream = ? AND to_generation <= ?",
            (target, stream, up_to_generation),
            "UPDATE pending SET from_generation = max(from_generation, ? + 1)"
            " WHERE target = ? AND stream = ?",
            (up_to_generation, target, stream),
        )

    def _write(self, *statements: Any) -> None:
        """Run (sql, params) pairs in one write transaction."""
        conn = self._writer()
        try:
            with _immediate(conn):
                for sql, params in zip(statements[::2], statements[1::2], strict=True):
                    conn.execute(sql, params)
        except sqlite3.Error as e:
            raise _translate(e, self.path) from e
