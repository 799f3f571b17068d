"""Pending deliveries on EventStoreDB (the ``Outbox``): kept as snapshots in one stream of the
store's own, ``PENDING_STREAM``, hidden from reads, listings and subscriptions."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from escli.errors import EscliError, StoreError
from escli.stores.base import Pending
from escli.stores.eventstoredb.connection import Connection
from escli.stores.pending import cleared, merge_pending

__all__ = ["PENDING_KEPT", "PENDING_STREAM", "PendingList"]

PENDING_STREAM = "escli.pending"
PENDING_TYPE = "escli.PendingDeliveries"
PENDING_RETRIES = 20
PENDING_KEPT = 16  # snapshots of the pending list the server keeps ($maxCount)


SNAPSHOT_PREFIX = "escli.snapshot."  # a snapshot stream per stream (see .snapshots)


def _is_user_stream(name: str) -> bool:
    """Streams escli shows: not the server's ($...) nor its own bookkeeping (the pending
    list, the snapshot streams)."""
    return (
        not name.startswith("$") and name != PENDING_STREAM and not name.startswith(SNAPSHOT_PREFIX)
    )


class PendingList(Connection):
    """The outbox of an EventStoreDB store."""

    def _record_pending(self, targets: Sequence[str], stream: str, first: int, count: int) -> None:
        """``append``'s outbox, one snapshot after the events (EventStoreDB writes one
        stream at a time). The events are stored by now, so a failure here must not report a
        failed append: the delivery records the range again if it does not arrive."""
        if targets:
            with contextlib.suppress(EscliError):
                self._add_pending([Pending(t, stream, first, first + count - 1) for t in targets])

    # -- pending deliveries ----------------------------------------------------------------
    # Kept as snapshots in one stream of the store's own (PENDING_STREAM, hidden from reads,
    # listings and subscriptions): its last event is the whole list. Updates append a new
    # snapshot expecting the revision they read, and retry on a conflict.

    def _pending_snapshot(self) -> tuple[list[Pending], Any]:
        """The pending list and the revision it was read at (``no_stream`` when none)."""
        client = self._connected()
        try:
            last = client.get_stream(
                PENDING_STREAM, backwards=True, limit=1, timeout=self._target.timeout
            )
        except self._api.not_found:
            return [], self._api.no_stream
        except self._api.error as e:
            self._raise(e, PENDING_STREAM)
        if not last:
            return [], self._api.no_stream
        items = json.loads(last[0].data)["pending"]
        return [Pending(*item) for item in items], last[0].stream_position

    def _update_pending(self, change: Callable[[dict[tuple[str, str], Pending]], None]) -> None:
        client = self._connected()
        for _ in range(PENDING_RETRIES):
            current, revision = self._pending_snapshot()
            table = {(p.target, p.stream): p for p in current}
            before = dict(table)
            change(table)
            if table == before:
                return  # nothing changes: no snapshot to write
            data = {"pending": [list(p) for _, p in sorted(table.items())]}
            snapshot = self._api.new_event(
                type=PENDING_TYPE,
                data=json.dumps(data, separators=(",", ":")).encode(),
                metadata=b"{}",
                content_type="application/json",
                id=uuid.uuid4(),
            )
            try:
                client.append_to_stream(
                    PENDING_STREAM,
                    current_version=revision,
                    events=[snapshot],
                    timeout=self._target.timeout,
                )
                if revision == self._api.no_stream:
                    self._cap_pending(client)
                return
            except self._api.wrong_version:
                continue  # another writer updated the list: read it again
            except self._api.error as e:
                self._raise(e, PENDING_STREAM, appending=True)
        raise StoreError(f"{self.url}: the pending deliveries kept changing; try again")

    def _cap_pending(self, client: Any) -> None:
        """Let the server keep only the last few snapshots (``$maxCount``): only the last is
        ever read, and every dispatch with targets writes two. Set once, when the stream is
        created; without it the stream only grows, which is no reason to fail a write."""
        with contextlib.suppress(self._api.error):
            client.set_stream_metadata(
                PENDING_STREAM,
                metadata={"$maxCount": PENDING_KEPT},
                timeout=self._target.timeout,
            )

    def pending(self, target: str | None = None, stream: str | None = None) -> list[Pending]:
        current, _ = self._pending_snapshot()
        return sorted(
            p for p in current if target in (None, p.target) and stream in (None, p.stream)
        )

    def set_pending(
        self, target: str, stream: str, from_generation: int, to_generation: int
    ) -> None:
        self._add_pending([Pending(target, stream, from_generation, to_generation)])

    def _add_pending(self, ranges: Sequence[Pending]) -> None:
        """Merge ``ranges`` into the pending list, in one snapshot."""

        def change(table: dict[tuple[str, str], Pending]) -> None:
            for new in ranges:
                key = (new.target, new.stream)
                table[key] = merge_pending(table.get(key), new)

        self._update_pending(change)

    def clear_pending(self, target: str, stream: str, up_to_generation: int) -> None:
        def change(table: dict[tuple[str, str], Pending]) -> None:
            old = table.pop((target, stream), None)
            left = cleared(old, up_to_generation) if old else None
            if left is not None:
                table[target, stream] = left

        self._update_pending(change)
