"""Snapshots in use: folding from the newest one that may stand in for the fold, and taking a
new one when a fold read enough events.

The rules, each decided here once for every command that folds:

- **Used only when provably the same fold**: the snapshot's fingerprint is the domain's
  (``escli.domain.fingerprint``: the state class, the aggregate, the event classes and the
  upcasters, by their source), the store still holds the very event the snapshot was taken
  at (same id at that generation: a stream rewritten by another tool drops it), and its text
  decodes into the state class at its generation. Anything else is a full fold, silently
  correct (``Folded.note`` says why, for ``-v``).
- **Taken when a fold read ``every`` events or more since the stream's last snapshot**
  (``Domain.snapshot_every``, the project's ``snapshot-every``, ``--snapshot-every``; 0 turns
  snapshots off): a stream that was imported or copied gets one on its first dispatch or
  replay.
- **Only a state that round-trips is kept**: its JSON decoded again must equal it (a field
  typed ``Any`` holding a ``Decimal`` would come back a string), else no snapshot, ever
  wrong state.
- **A snapshot that cannot be written is no error**: a read-only store, a store without
  snapshots, a state escli cannot encode: the command goes on, the next fold is longer.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any, NamedTuple

from escli.app.fold import check_found, event_id_at, fold
from escli.domain.codec import decode, encode
from escli.domain.discovery import DomainRegistry
from escli.domain.fingerprint import fingerprint
from escli.domain.model import Domain
from escli.errors import EscliError
from escli.stores.base import Store, now_rfc3339
from escli.stores.snapshots import Snapshot, Snapshots

__all__ = [
    "DEFAULT_POLICY",
    "Folded",
    "Listed",
    "SnapshotPolicy",
    "Verified",
    "due",
    "fold_stream",
    "list_snapshots",
    "replay_stored",
    "snapshot_of",
    "take_now",
    "take_snapshot",
    "verify",
]


class SnapshotPolicy(NamedTuple):
    """How a command uses snapshots: ``use`` the stored ones, ``every`` N events take one
    (None: the domain's own ``snapshot_every``; 0: never)."""

    use: bool = True
    every: int | None = None

    def every_for(self, domain: Domain) -> int:
        return domain.snapshot_every if self.every is None else self.every


DEFAULT_POLICY = SnapshotPolicy()


class Folded(NamedTuple):
    """A stream folded: the state, the snapshot it started from (None: generation 0), how
    many events the fold read, why a stored snapshot was not used, and the generation of
    the snapshot the command took afterwards (None: none)."""

    state: Any
    snapshot: Snapshot | None
    read: int
    note: str = ""
    took: int | None = None

    def summary(self, stream: str) -> str:
        """What the fold did, in one line (``-v``)."""
        start = (
            f"the snapshot at generation {self.snapshot.generation}"
            if self.snapshot is not None
            else "generation 0"
        )
        read = f"folded {self.read} event{'' if self.read == 1 else 's'} from {start}"
        line = f"{self.note}; {read}" if self.note else f"{stream}: {read}"
        if self.took is not None:
            line += f"; took a snapshot at generation {self.took}"
        return line


def _usable(
    domain: Domain, store: Store, stream: str, at_most: int | None, *, drop: bool = True
) -> tuple[Any, Snapshot | None, str]:
    """The state of the newest snapshot that may stand in for the fold, with it; else
    (None, None, why)."""
    if not isinstance(store, Snapshots):
        return None, None, ""
    snapshot = store.snapshot(stream, at_most)
    if snapshot is None:
        return None, None, ""
    mine = fingerprint(domain)
    if mine is None or snapshot.fingerprint != mine:
        return None, None, f"{stream}: snapshot at {snapshot.generation} is stale (code changed)"
    if event_id_at(store, stream, snapshot.generation) != snapshot.event_id:
        if drop:
            _drop(store, stream)
        return (
            None,
            None,
            (
                f"{stream}: snapshot at {snapshot.generation} dropped: the store holds another "
                "event there"
            ),
        )
    try:
        initial = domain.initial_state(stream)
        state = decode(type(initial), json.loads(snapshot.state))
    except Exception:  # a snapshot is a cache: one that does not decode is not used
        return None, None, f"{stream}: snapshot at {snapshot.generation} does not decode"
    if state.generation != snapshot.generation:
        return None, None, f"{stream}: snapshot at {snapshot.generation} does not decode"
    return state, snapshot, ""


def _drop(store: Snapshots, stream: str) -> None:
    with contextlib.suppress(EscliError):  # read-only: it stays, and is not used
        store.drop_snapshots(stream)


def fold_stream(
    domain: Domain,
    store: Store,
    stream: str,
    *,
    to_generation: int | None = None,
    policy: SnapshotPolicy = DEFAULT_POLICY,
) -> Folded:
    """``stream``'s state at ``to_generation`` (its end when None), from the newest usable
    snapshot at or below it when ``policy.use``, else from generation 0."""
    state, snapshot, note = None, None, ""
    if policy.use and policy.every_for(domain) != 0:
        state, snapshot, note = _usable(domain, store, stream, to_generation)
    start = 0 if state is None else state.generation
    state = fold(
        domain,
        stream,
        store.read_data(stream, from_generation=start + 1, to_generation=to_generation),
        state,
        ids=lambda generation: event_id_at(store, stream, generation),
    )
    # The fold checks that the generations follow on one by one: what it read is the gap.
    return Folded(state, snapshot, state.generation - start, note)


def replay_stored(
    domain: Domain,
    stream: str,
    store: Store,
    to_generation: int | None = None,
    *,
    policy: SnapshotPolicy = DEFAULT_POLICY,
) -> Folded:
    """``replay``'s state from a store: ``fold_stream``, ``NotFound`` for a stream the store
    does not hold (as ``replay_state``), and a snapshot taken when the fold read enough."""
    folded = fold_stream(domain, store, stream, to_generation=to_generation, policy=policy)
    if folded.state.generation == 0:
        check_found(store, stream, to_generation)
    if due(domain, folded, policy):
        event_id = event_id_at(store, stream, folded.state.generation)
        if event_id is not None and take_snapshot(
            store, snapshot_of(domain, stream, folded.state, event_id)
        ):
            return folded._replace(took=folded.state.generation)
    return folded


def snapshot_of(domain: Domain, stream: str, state: Any, event_id: str) -> Snapshot | None:
    """A snapshot of ``state`` (after the event ``event_id``); None when the domain's code has
    no source to fingerprint or the state does not round-trip through JSON."""
    mine = fingerprint(domain)
    if mine is None:
        return None
    try:
        text = json.dumps(encode(state), separators=(",", ":"), ensure_ascii=False)
        if decode(type(state), json.loads(text)) != state:
            return None
    except Exception:  # a state escli cannot encode, or decode again: never snapshotted
        return None
    return Snapshot(stream, state.generation, event_id, mine, text, now_rfc3339())


def take_snapshot(store: Store, snapshot: Snapshot | None) -> bool:
    """Keep ``snapshot`` in ``store`` if it keeps snapshots; whether it did. A store that
    cannot write it (read-only) is no error: the next fold is only longer."""
    if snapshot is None or not isinstance(store, Snapshots):
        return False
    try:
        store.save_snapshot(snapshot)
    except EscliError:
        return False
    return True


def due(domain: Domain, folded: Folded, policy: SnapshotPolicy, more: int = 0) -> bool:
    """Whether a fold that read ``folded.read`` events (and ``more`` appended after it) since
    its snapshot should take a new one."""
    every = policy.every_for(domain)
    return every > 0 and folded.read + more >= every


class Listed(NamedTuple):
    """A kept snapshot, and whether it would be used: ``fresh`` (the domain's code made it
    as it is now), ``stale`` (it changed since), or ``unknown`` (no such domain here)."""

    snapshot: Snapshot
    status: str


def list_snapshots(
    store: Store, registry: DomainRegistry, stream: str | None = None, *, drop: bool = False
) -> list[Listed]:
    """The snapshots ``store`` keeps (of ``stream``, or all), each with its status; with
    ``drop``, forgotten as well. A store without snapshots has none."""
    if not isinstance(store, Snapshots):
        return []
    kept = store.list_snapshots(stream)
    if drop:
        store.drop_snapshots(stream)
    listed = []
    for snapshot in kept:
        try:
            domain = registry.for_stream(snapshot.stream)
        except EscliError:
            listed.append(Listed(snapshot, "unknown"))
            continue
        fresh = snapshot.fingerprint == fingerprint(domain)
        listed.append(Listed(snapshot, "fresh" if fresh else "stale"))
    return listed


def take_now(domain: Domain, store: Store, stream: str) -> Snapshot | None:
    """Fold ``stream`` (from its snapshot, if one is usable) and keep its state as a new
    snapshot at its end; None when there is nothing to take (an empty stream, a state that
    does not round-trip, a store without snapshots)."""
    folded = fold_stream(domain, store, stream)
    if folded.state.generation == 0:
        return None
    event_id = event_id_at(store, stream, folded.state.generation)
    if event_id is None:
        return None
    snapshot = snapshot_of(domain, stream, folded.state, event_id)
    return snapshot if take_snapshot(store, snapshot) else None


class Verified(NamedTuple):
    """What ``verify`` found for a stream's newest snapshot: ``status`` is ``agrees``,
    ``differs`` (``difference``: the first field, the snapshot's value, the full fold's),
    ``stale`` (made by other code: never used), ``unusable`` (it does not decode, or the
    store holds another event at its generation) or ``none``."""

    stream: str
    generation: int | None
    status: str
    difference: tuple[str, Any, Any] | None = None


def verify(domain: Domain, store: Store, stream: str) -> Verified:
    """Fold ``stream`` from generation 0 and from its newest snapshot, and compare."""
    from escli.app.verify import first_difference

    if not isinstance(store, Snapshots):
        return Verified(stream, None, "none")
    kept = store.snapshot(stream)
    if kept is None:
        return Verified(stream, None, "none")
    if kept.fingerprint != fingerprint(domain):
        return Verified(stream, kept.generation, "stale")
    state, used, _ = _usable(domain, store, stream, kept.generation, drop=False)
    if used is None:
        return Verified(stream, kept.generation, "unusable")
    from_snapshot = fold(
        domain, stream, store.read_data(stream, from_generation=kept.generation + 1), state
    )
    from_zero = fold_stream(domain, store, stream, policy=SnapshotPolicy(use=False)).state
    found = first_difference(from_snapshot, from_zero)
    return Verified(stream, kept.generation, "agrees" if found is None else "differs", found)
