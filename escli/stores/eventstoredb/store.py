"""Reads and appends on EventStoreDB: the store itself (see the package docstring for how
escli's streams, generations, ids and positions map onto the server's)."""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Collection, Iterator, Sequence
from typing import Any

from escli.errors import ConcurrencyConflict, InvalidInput, StoreError
from escli.stores.base import NewEvent, RecordedEvent, StreamInfo, now_rfc3339
from escli.stores.eventstoredb.client import load_client_api
from escli.stores.eventstoredb.outbox import PendingList, _is_user_stream
from escli.stores.eventstoredb.snapshots import SnapshotStreams
from escli.stores.eventstoredb.urls import parse_url
from escli.stores.eventstoredb.wakeup import SubscriptionWaiter
from escli.stores.metadata import CAUSATION, CORRELATION
from escli.stores.search import Glob, Query, paged_search
from escli.stores.wakeup import Waiter

__all__ = ["EventStoreDBStore"]

PAGE = 500  # events per read call
# Ids that are not UUIDs are sent as uuid5(ID_NAMESPACE, id).
ID_NAMESPACE = uuid.UUID("6f0b4a4e-5c1e-4c59-9a53-6c0f8a3e2d11")


def _event_uuid(event_id: str) -> tuple[uuid.UUID, bool]:
    """The UUID an event id is stored under, and whether it differs from the id's text."""
    try:
        value = uuid.UUID(event_id)
    except ValueError:
        return uuid.uuid5(ID_NAMESPACE, event_id), True
    if value.int == 0:  # the server refuses the nil UUID
        return uuid.uuid5(ID_NAMESPACE, event_id), True
    return value, str(value) != event_id


# escli's own members of an event's metadata JSON, beside its metadata pairs.
_OWN = frozenset({"source", "type_version", "recorded_at", "event_id"})
# Causation and correlation are written twice: as escli's pairs, and under EventStoreDB's
# own names, which its $by_correlation_id projection reads (``$bc-<id>`` streams).
_SERVER_NAMES = {CAUSATION: "$causationId", CORRELATION: "$correlationId"}


def _metadata(meta: dict[str, Any]) -> dict[str, str] | None:
    """An event's metadata pairs from its metadata JSON: the string members that are not
    escli's own nor the server's (``$``), and ``$causationId``/``$correlationId`` as
    escli's names when an event written by another client has only those."""
    found = {
        k: v for k, v in meta.items() if k not in _OWN and not k.startswith("$") and type(v) is str
    }
    for ours, theirs in _SERVER_NAMES.items():
        value = meta.get(theirs)
        if ours not in found and type(value) is str:
            found[ours] = value
    return found or None


class EventStoreDBStore(PendingList, SnapshotStreams):
    """A store on an EventStoreDB or KurrentDB server (see the package docstring)."""

    def __init__(self, url: str) -> None:
        self._api = load_client_api()
        self._target = parse_url(url, self._api)
        self.url = self._target.shown
        self._client = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"EventStoreDBStore({self.url!r})"

    @property
    def client_package(self) -> str:
        """``"esdbclient"`` or ``"kurrentdbclient"``: the package this store talks through."""
        return self._api.package

    # -- reads ---------------------------------------------------------------------------

    def _record(self, event: Any) -> RecordedEvent:
        """A client event as escli's record; its data must be a JSON object."""
        generation = event.stream_position + 1
        try:
            meta = json.loads(event.metadata) if event.metadata else {}
        except ValueError:
            meta = {}
        if not isinstance(meta, dict):
            meta = {}
        try:
            data = json.loads(event.data)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise StoreError(
                f"{event.stream_name} generation {generation}: event data is not a JSON object"
            )
        recorded_at = meta.get("recorded_at")
        if not isinstance(recorded_at, str):
            created = event.recorded_at
            recorded_at = created.isoformat(timespec="microseconds") if created else ""
        position = event.commit_position
        return RecordedEvent(
            event.stream_name,
            generation,
            str(meta.get("event_id") or event.id),
            event.type,
            str(meta.get("type_version", "")),
            str(meta.get("source", "")),
            data,
            recorded_at,
            position if position is not None else -1,  # servers before 22.10 send none
            _metadata(meta),
        )

    def _stream_events(
        self, stream: str, from_generation: int = 1, to_generation: int | None = None
    ) -> Iterator[Any]:
        client = self._connected()
        revision = max(from_generation, 1) - 1
        while True:
            limit = PAGE if to_generation is None else min(PAGE, to_generation - revision)
            if limit <= 0:
                return
            try:
                page = client.get_stream(
                    stream, stream_position=revision, limit=limit, timeout=self._target.timeout
                )
            except self._api.not_found:
                return
            except self._api.error as e:
                self._raise(e, stream)
            yield from page
            if len(page) < limit:
                return
            revision = page[-1].stream_position + 1

    def read(
        self, stream: str, from_generation: int = 1, to_generation: int | None = None
    ) -> Iterator[RecordedEvent]:
        for event in self._stream_events(stream, from_generation, to_generation):
            yield self._record(event)

    def generation(self, stream: str) -> int:
        client = self._connected()
        version = self._call(
            lambda: client.get_current_version(stream, timeout=self._target.timeout), stream
        )
        return 0 if version == self._api.no_stream else int(version) + 1

    def find_ids(
        self, event_ids: Collection[str], streams: Collection[str] = ()
    ) -> dict[str, tuple[str, int]]:
        """The ids among ``event_ids`` held in ``streams`` (see "Event ids and retries" in
        the module docstring: the server has no index of ids, and ``$all`` is never read)."""
        wanted = set(event_ids)
        found: dict[str, tuple[str, int]] = {}
        for stream in dict.fromkeys(streams) if wanted else ():
            for event_id, generation in self.stream_ids(stream):
                if event_id in wanted:
                    found[event_id] = (stream, generation)
        return found

    def stream_ids(self, stream: str) -> Iterator[tuple[str, int]]:
        """Every event id of ``stream`` with its generation (``StreamIds``: an import reads
        them once, rather than ``find_ids`` reading the stream again for each chunk)."""
        for event in self._stream_events(stream):
            yield self._stored_id(event), event.stream_position + 1

    @staticmethod
    def _stored_id(event: Any) -> str:
        """An event's escli id: kept in its metadata when it is not its UUID's text."""
        if event.metadata and b"event_id" in event.metadata:
            try:
                meta = json.loads(event.metadata)
            except ValueError:
                meta = None
            if isinstance(meta, dict) and meta.get("event_id"):
                return str(meta["event_id"])
        return str(event.id)

    def _all_events(self, after_position: int, **server_filter: Any) -> Iterator[Any]:
        """Every event of a non-system stream after ``after_position``, in pages; of those
        ``server_filter`` (``read_all``'s ``filter_include``, ``filter_by_stream_name``)
        lets through, when given."""
        client = self._connected()
        position = after_position or None
        while True:
            try:
                page = list(
                    client.read_all(
                        commit_position=position,
                        limit=PAGE,
                        timeout=self._target.timeout,
                        **server_filter,
                    )
                )
            except self._api.bad_position as e:
                if position is not None and position == after_position:
                    raise InvalidInput(
                        f"{after_position} is not the position of an event in {self.url}"
                    ) from e
                self._raise(e, None)
            except self._api.error as e:
                self._raise(e, None)
            for event in page:
                # From a position, $all includes the event at it: the one seen last.
                if event.commit_position != position and _is_user_stream(event.stream_name):
                    yield event
            if len(page) < PAGE:
                return
            position = page[-1].commit_position

    def read_all(self, after_position: int = 0) -> Iterator[RecordedEvent]:
        for event in self._all_events(after_position):
            yield self._record(event)

    def head_position(self) -> int:
        """The commit position of the newest event in ``$all`` (one backwards read; system
        events left out): a bound on every committed event's position, which is all a
        projection's catch-up asks of it (a hidden stream's event is never read past it)."""
        client = self._connected()
        try:
            last = list(client.read_all(backwards=True, limit=1, timeout=self._target.timeout))
        except self._api.error as e:
            self._raise(e, None)
        if not last or last[0].commit_position is None:
            return 0
        return int(last[0].commit_position)

    def waiter(self) -> Waiter:
        """A catch-up subscription to ``$all`` (``escli.stores.eventstoredb.wakeup``)."""
        return SubscriptionWaiter(self)

    # -- search: $all read through the server's filter, the Python check deciding ---------

    @staticmethod
    def _server_filter(types: Sequence[str], pattern: Glob | None, prefix: str) -> dict[str, Any]:
        """The server-side filter of a search: one only, by event type or by stream name
        (the server takes one expression); types first, as they name exactly."""
        if types:
            regex = "|".join(re.escape(t) for t in types)
            return {"filter_include": [f"(?:{regex})"]}
        if pattern is not None or prefix:
            regex = pattern.regex() if pattern is not None else re.escape(prefix) + ".*"
            return {"filter_include": [f"(?:{regex})"], "filter_by_stream_name": True}
        return {}

    def search_events(self, query: Query) -> Iterator[RecordedEvent]:
        chosen = self._server_filter(query.types, query.stream, query.prefix)
        return paged_search(
            lambda after, _: (self._record(e) for e in self._all_events(after, **chosen)), query
        )

    def correlated(self, correlation_id: str) -> list[RecordedEvent]:
        """The server's ``$bc-<id>`` stream, its links resolved, when it has one (the
        ``$by_correlation_id`` system projection, off by default, makes them from
        ``$correlationId``): a read of that stream only. Else a read of all of ``$all``,
        whose cost follows the store's size."""
        client = self._connected()
        try:
            links = client.get_stream(
                f"$bc-{correlation_id}", resolve_links=True, timeout=self._target.timeout
            )
        except self._api.not_found:
            links = None
        except self._api.error as e:
            self._raise(e, None)
        if links:
            found = [self._record(e) for e in links if e.is_resolved_event]
            return sorted(found, key=lambda r: r.position)
        return super().correlated(correlation_id)

    def find_streams(self, pattern: Glob | None = None, prefix: str = "") -> Iterator[StreamInfo]:
        return self._streams(self._server_filter((), pattern, prefix), pattern, prefix)

    # EventStoreDB keeps no index of stream names that a prefix could search: completion's
    # ``stream_names`` reads at most this many events of $all (the oldest first) and offers
    # the names it met, sorted. A bound on the work, so a Tab on a big store still answers.
    NAMES_SCANNED = 10 * PAGE

    def stream_names(self, prefix: str = "", limit: int = 100) -> list[str]:
        names: set[str] = set()
        for scanned, event in enumerate(self._all_events(0), 1):
            if event.stream_name.startswith(prefix):
                names.add(event.stream_name)
            if len(names) >= limit or scanned >= self.NAMES_SCANNED:
                break
        return sorted(names)[:limit]

    def streams(self) -> Iterator[StreamInfo]:
        return self._streams({})

    def _streams(
        self, server_filter: dict[str, Any], pattern: Glob | None = None, prefix: str = ""
    ) -> Iterator[StreamInfo]:
        found: dict[str, list[int]] = {}
        for event in self._all_events(0, **server_filter):
            name = event.stream_name
            if not name.startswith(prefix) or (pattern is not None and not pattern.matches(name)):
                continue
            entry = found.setdefault(event.stream_name, [0, 0])
            entry[0] = max(entry[0], event.stream_position + 1)
            entry[1] += 1
        for name in sorted(found):
            yield StreamInfo(name, *found[name])

    def subscribe(
        self, stream: str | None = None, after: int = 0, *, poll_interval: float = 0.2
    ) -> Iterator[RecordedEvent]:
        # A catch-up subscription: the server sends what exists, then each new event. Created
        # on the first next(), so an iterator closed unstarted holds no server resources.
        client = self._connected()
        if stream is None:
            subscription = self._call(
                lambda: client.subscribe_to_all(commit_position=after or None)
            )
        else:
            start = after - 1 if after > 0 else None  # exclusive: after revision after - 1
            subscription = self._call(
                lambda: client.subscribe_to_stream(stream, stream_position=start), stream
            )
        try:
            while True:
                try:
                    event = next(subscription)
                except StopIteration:
                    return
                except self._api.error as e:
                    self._raise(e, stream)
                if _is_user_stream(event.stream_name):
                    yield self._record(event)
        finally:
            subscription.stop()

    # -- writes --------------------------------------------------------------------------

    def append(
        self,
        stream: str,
        events: Sequence[NewEvent],
        expected_generation: int,
        *,
        pending_for: Sequence[str] = (),
    ) -> list[RecordedEvent]:
        if not events:
            return self._append_nothing(stream, expected_generation)
        now = now_rfc3339()
        proposed: list[Any] = []
        metas: list[dict[str, str]] = []
        for e in events:
            event_uuid, keep_id = _event_uuid(e.event_id)
            meta = {"source": e.source, "type_version": e.type_version}
            meta["recorded_at"] = e.recorded_at or now
            if keep_id:
                meta["event_id"] = e.event_id
            if e.metadata:
                meta.update(e.metadata)
                for ours, theirs in _SERVER_NAMES.items():
                    if ours in e.metadata:
                        meta[theirs] = e.metadata[ours]
            metas.append(meta)
            proposed.append(
                self._api.new_event(
                    type=e.event_type,
                    data=json.dumps(e.data, separators=(",", ":"), ensure_ascii=False).encode(),
                    metadata=json.dumps(meta, separators=(",", ":")).encode(),
                    content_type="application/json",
                    id=event_uuid,
                )
            )
        client = self._connected()
        version = expected_generation - 1 if expected_generation > 0 else self._api.no_stream
        try:
            position = client.append_to_stream(
                stream, current_version=version, events=proposed, timeout=self._target.timeout
            )
        except self._api.wrong_version as e:
            raise ConcurrencyConflict(
                stream, expected_generation, self._actual_generation(e, stream)
            ) from e
        except self._api.error as e:
            self._raise(e, stream, appending=True)
        if len(events) == 1:
            positions = [position]
        else:
            # An append returns its last event's position only: read the others back. The
            # events are stored by now, so a failed read-back must not report a failed append:
            # those positions are then unknown (-1), the last one is not.
            try:
                stored = {
                    str(r.id): r.commit_position
                    for r in client.get_stream(
                        stream,
                        stream_position=expected_generation,
                        limit=len(events),
                        timeout=self._target.timeout,
                    )
                }
            except self._api.error:
                stored = {str(proposed[-1].id): position}
            positions = [stored.get(str(p.id), -1) for p in proposed]
        self._record_pending(pending_for, stream, expected_generation + 1, len(events))
        return [
            e.recorded(stream, expected_generation + offset, meta["recorded_at"], pos)
            for offset, (e, meta, pos) in enumerate(
                zip(events, metas, positions, strict=True), start=1
            )
        ]
