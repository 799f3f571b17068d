"""Views in memory (``escli.stores.views``): the memory store's builds and rows in dicts,
undone with its transactions like its appends (``escli test`` checks projections in a
rolled-back transaction of a shared store)."""

from __future__ import annotations

import threading
from collections.abc import Collection, Iterator, Mapping

from escli.stores.base import now_rfc3339
from escli.stores.views import CheckpointMoved, ViewBuild

__all__ = ["MemoryViews"]

_Saved = tuple[dict[tuple[str, int], ViewBuild], dict[tuple[str, int], dict[str, str]]]


class MemoryViews:
    """The views of a ``MemoryStore``, and its head position."""

    _lock: threading.RLock
    _position: int

    def _init_views(self) -> None:
        self._builds: dict[tuple[str, int], ViewBuild] = {}
        self._view_data: dict[tuple[str, int], dict[str, str]] = {}

    def _save_views(self) -> _Saved:
        """What a transaction restores when it is undone."""
        return dict(self._builds), {k: dict(v) for k, v in self._view_data.items()}

    def _restore_views(self, saved: _Saved) -> None:
        self._builds, self._view_data = saved

    def head_position(self) -> int:
        return self._position

    def events_after(self, position: int, *, up_to: int | None = None) -> int:
        return max(0, (self._position if up_to is None else up_to) - position)

    def view_builds(self, name: str | None = None) -> list[ViewBuild]:
        with self._lock:
            found = [b for b in self._builds.values() if name is None or b.name == name]
        return sorted(found, key=lambda b: (b.name, not b.live, b.build))

    def start_build(
        self, name: str, fingerprint: str, *, live: bool, source: str = ""
    ) -> ViewBuild:
        with self._lock:
            self._drop(name, live=False)
            last = max((b for (n, b) in self._builds if n == name), default=0)
            if live:
                self._drop(name, live=True)
            made = ViewBuild(name, last + 1, live, 0, 0, fingerprint, now_rfc3339(), source)
            self._builds[name, made.build] = made
            self._view_data[name, made.build] = {}
            return made

    def _drop(self, name: str, *, live: bool) -> int:
        dropped = [k for k, b in self._builds.items() if b.name == name and b.live is live]
        for key in dropped:
            del self._builds[key]
            self._view_data.pop(key, None)
        return len(dropped)

    def view_rows(self, name: str, build: int, keys: Collection[str]) -> dict[str, str]:
        rows = self._view_data.get((name, build), {})
        return {k: rows[k] for k in keys if k in rows}

    def scan_view(self, name: str, build: int) -> Iterator[tuple[str, str]]:
        rows = dict(self._view_data.get((name, build), {}))
        return iter(sorted(rows.items()))

    def count_rows(self, name: str, build: int) -> int:
        return len(self._view_data.get((name, build), {}))

    def write_view(
        self,
        name: str,
        build: int,
        changed: Mapping[str, str | None],
        *,
        after: int,
        position: int,
        events: int,
    ) -> None:
        with self._lock:
            kept = self._builds.get((name, build))
            if kept is None or kept.position != after:
                raise CheckpointMoved(name, after, None if kept is None else kept.position)
            rows = self._view_data[name, build]
            for key, row in changed.items():
                if row is None:
                    rows.pop(key, None)
                else:
                    rows[key] = row
            self._builds[name, build] = kept._replace(
                position=position, events=kept.events + events, updated_at=now_rfc3339()
            )

    def switch_build(self, name: str, build: int) -> None:
        with self._lock:
            kept = self._builds.get((name, build))
            if kept is None:
                raise CheckpointMoved(name, 0, None)
            if not kept.live:
                self._drop(name, live=True)
                self._builds[name, build] = kept._replace(live=True)

    def drop_view(self, name: str) -> int:
        with self._lock:
            return self._drop(name, live=True) + self._drop(name, live=False)
