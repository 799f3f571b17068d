"""Snapshots on EventStoreDB (``escli.stores.snapshots``): a hidden stream per stream,
``SNAPSHOT_PREFIX + stream``, each event of it one snapshot.

Decisions:

- **Written after the append**, not with it: the server writes one stream at a time, so a
  snapshot may be lost (a crash between the two); that only makes the next fold longer.
- **Appended with any expected version**; a snapshot at a generation already kept is
  "replaced" by reading the newest written of equal generation first.
- **Kept few**: ``$maxCount`` is set on the snapshot stream when it is made, so the server
  drops old ones; reads never rely on it (a server may scavenge late): they read the last
  ``SCAN`` events backwards and pick from those.
- **Hidden** from everything escli lists or follows (``_is_user_stream``), as the pending
  list is. Listing the snapshots of every stream reads ``$all`` with a server-side filter on
  the prefix: the server still walks its log, which only ``escli snapshots`` (without a
  stream) and ``snapshot drop --all`` ask for.
"""

from __future__ import annotations

import contextlib
import json
import re
import uuid
from typing import Any

from escli.stores.eventstoredb.connection import Connection
from escli.stores.eventstoredb.outbox import SNAPSHOT_PREFIX
from escli.stores.snapshots import KEPT, Snapshot

__all__ = ["SNAPSHOT_PREFIX", "SnapshotStreams"]

SNAPSHOT_TYPE = "escli.Snapshot"
SCAN = 4 * KEPT  # snapshot events read backwards, whatever the server kept


class SnapshotStreams(Connection):
    """The snapshots of an EventStoreDB store."""

    def _snapshot_events(self, stream: str) -> list[Snapshot]:
        """The kept snapshots of ``stream``, one per generation (the newest written), the
        newest generation first."""
        client = self._connected()
        name = SNAPSHOT_PREFIX + stream
        try:
            events = client.get_stream(
                name, backwards=True, limit=SCAN, timeout=self._target.timeout
            )
        except self._api.not_found:
            return []
        except self._api.error as e:
            self._raise(e, name)
        found: dict[int, Snapshot] = {}
        for event in events:  # newest written first
            try:
                d = json.loads(event.data)
                kept = Snapshot(
                    stream,
                    int(d["generation"]),
                    str(d["event_id"]),
                    str(d["fingerprint"]),
                    str(d["state"]),
                    str(d["taken_at"]),
                )
            except (ValueError, KeyError, TypeError):
                continue  # not a snapshot escli wrote: none to use
            found.setdefault(kept.generation, kept)
        return [found[g] for g in sorted(found, reverse=True)][:KEPT]

    def snapshot(self, stream: str, at_most: int | None = None) -> Snapshot | None:
        for kept in self._snapshot_events(stream):
            if at_most is None or kept.generation <= at_most:
                return kept
        return None

    def save_snapshot(self, snapshot: Snapshot) -> None:
        client = self._connected()
        name = SNAPSHOT_PREFIX + snapshot.stream
        data = {
            "generation": snapshot.generation,
            "event_id": snapshot.event_id,
            "fingerprint": snapshot.fingerprint,
            "state": snapshot.state,
            "taken_at": snapshot.taken_at,
        }
        event = self._api.new_event(
            type=SNAPSHOT_TYPE,
            data=json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode(),
            metadata=b"{}",
            content_type="application/json",
            id=uuid.uuid4(),
        )
        try:
            client.append_to_stream(
                name,
                current_version=self._api.any_version,
                events=[event],
                timeout=self._target.timeout,
            )
        except self._api.error as e:
            self._raise(e, name, appending=True)
        with contextlib.suppress(self._api.error):  # without it, the stream only grows
            client.set_stream_metadata(
                name, metadata={"$maxCount": SCAN}, timeout=self._target.timeout
            )

    def drop_snapshots(self, stream: str | None = None) -> int:
        if stream is None:
            return sum(self.drop_snapshots(name) for name in self._snapshot_streams())
        kept = self._snapshot_events(stream)
        if not kept:
            return 0
        client = self._connected()
        name = SNAPSHOT_PREFIX + stream
        try:
            client.delete_stream(
                name, current_version=self._api.any_version, timeout=self._target.timeout
            )
        except self._api.not_found:
            return 0
        except self._api.error as e:
            self._raise(e, name)
        return len(kept)

    def list_snapshots(self, stream: str | None = None) -> list[Snapshot]:
        names = [stream] if stream is not None else self._snapshot_streams()
        return [kept for name in names for kept in self._snapshot_events(name)]

    def _snapshot_streams(self) -> list[str]:
        """The streams that have snapshot streams, by name: a filtered read of ``$all``."""
        client = self._connected()
        names: set[str] = set()
        position: Any = None
        while True:
            try:
                page = list(
                    client.read_all(
                        commit_position=position,
                        filter_include=(re.escape(SNAPSHOT_PREFIX) + ".*",),
                        filter_by_stream_name=True,
                        limit=500,
                        timeout=self._target.timeout,
                    )
                )
            except self._api.error as e:
                self._raise(e, None)
            fresh = [e for e in page if e.commit_position != position]
            names.update(
                e.stream_name[len(SNAPSHOT_PREFIX) :]
                for e in fresh
                if e.stream_name.startswith(SNAPSHOT_PREFIX)
            )
            if len(page) < 500 or not fresh:
                break
            position = page[-1].commit_position
        return sorted(names)
