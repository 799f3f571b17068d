"""Pending deliveries on PostgreSQL (the ``Outbox``): a table beside the events, written in the
append's own statement when it names targets."""

from __future__ import annotations

from escli.stores.base import Pending
from escli.stores.postgres.schema import Schema

__all__ = ["PendingTable"]

# The outbox part of an append with targets (``pending_for``): their pending rows, written
# only if the events were (``FROM counter``). The arithmetic is on the stored (bigint)
# generation, never on a parameter: psycopg sends a small int as smallint, and PostgreSQL
# works out parameter arithmetic while planning, so it could overflow even when nothing is
# written.
_APPEND_PENDING = """, pending AS (
    INSERT INTO {s}.pending AS p (target, stream, from_generation, to_generation)
    SELECT t.target, %(stream)s, cur.generation + 1, cur.generation + %(n)s
    FROM counter, current AS cur, unnest(%(targets)s::text[]) AS t(target)
    ON CONFLICT (target, stream) DO UPDATE SET
        from_generation = least(p.from_generation, excluded.from_generation),
        to_generation = greatest(p.to_generation, excluded.to_generation)
)"""


class PendingTable(Schema):
    """The outbox of a PostgreSQL store."""

    def pending(self, target: str | None = None, stream: str | None = None) -> list[Pending]:
        return [
            Pending(t, s, int(a), int(b))
            for t, s, a, b in self._rows(
                f"SELECT target, stream, from_generation, to_generation FROM {self._s}.pending"
                " WHERE (%(t)s::text IS NULL OR target = %(t)s)"
                " AND (%(s)s::text IS NULL OR stream = %(s)s) ORDER BY target, stream",
                {"t": target, "s": stream},
            )
        ]

    def set_pending(
        self, target: str, stream: str, from_generation: int, to_generation: int
    ) -> None:
        self._write(
            f"INSERT INTO {self._s}.pending VALUES (%s, %s, %s, %s)"
            " ON CONFLICT (target, stream) DO UPDATE SET"
            " from_generation = least(pending.from_generation, excluded.from_generation),"
            " to_generation = greatest(pending.to_generation, excluded.to_generation)",
            (target, stream, from_generation, to_generation),
        )

    def clear_pending(self, target: str, stream: str, up_to_generation: int) -> None:
        self._write(
            f"DELETE FROM {self._s}.pending"
            " WHERE target = %s AND stream = %s AND to_generation <= %s",
            (target, stream, up_to_generation),
            f"UPDATE {self._s}.pending SET from_generation = greatest(from_generation - 1, %s) + 1"
            " WHERE target = %s AND stream = %s",
            (up_to_generation, target, stream),
        )
