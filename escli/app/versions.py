"""Which event versions a store holds, and how each domain reads them: ``escli versions``.

For each domain, each (event type, version) stored in its streams, with its count and a
status, so that an author sees which upcasters are still needed before retiring one:

- ``current``: the type's current class reads it;
- ``kept``: an older version whose class the domain keeps (it reads without upcasters);
- ``upcast``: read through a chain of upcasters, shown with it;
- ``unknown``: no class and no upcaster (or no domain of that name at all): replaying
  its streams fails (``UnreadableEvent``);
- ``unused``: an upcaster registered from a version no stored event has, and that no stored
  version's chain goes through (an intermediate step of a used chain is in use even with
  nothing stored at its own version): it can be retired.

Decisions:

- **Cost**: the counting is the store's (``EventStore.version_counts``: a ``GROUP BY``
  where the store has one, restricted to the domains asked for); this module only looks
  each counted (type, version) up in its domain, so its own work follows the number of
  distinct versions, not of events.
- **Domains**: every domain escli can load and every domain the store's streams name (a
  stream's domain is its name's part before the first ``-``), or only those asked for.
  One of the store's that escli cannot find is reported as an unknown domain; one asked
  for that is neither loadable nor in the store is ``NotFound``. A domain that fails to
  load is left out and its ``DomainError`` kept in ``failures`` for the caller to raise.
- **Order**: domains by name; within one, by type, then version as versions order
  (``version_key``: ``1.10`` after ``1.9``).
- **Checking** (``check``): a store with unknown versions is ``UnreadableEvent`` (exit 11)
  naming them, for a CI step; listing them is no error.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import TYPE_CHECKING, NamedTuple

from escli.domain.upcasting import CHANGING_A_DOMAIN, Chain, version_key
from escli.errors import DomainError, NotFound, UnreadableEvent

if TYPE_CHECKING:
    from escli.domain.discovery import DomainRegistry
    from escli.domain.model import Domain
    from escli.stores.base import EventStore, VersionCount

__all__ = [
    "CURRENT",
    "KEPT",
    "STATUSES",
    "UNKNOWN",
    "UNUSED",
    "UPCAST",
    "DomainVersions",
    "StoredVersion",
    "Versions",
    "survey_versions",
]

CURRENT, KEPT, UPCAST, UNKNOWN, UNUSED = "current", "kept", "upcast", "unknown", "unused"
STATUSES = (CURRENT, KEPT, UPCAST, UNKNOWN, UNUSED)


class StoredVersion(NamedTuple):
    """One (type, version) of a domain: ``events`` stored, its status, and the chain that
    reads it (``upcast`` and ``unused``; None otherwise)."""

    event_type: str
    version: str
    events: int
    status: str
    chain: Chain | None = None


class DomainVersions(NamedTuple):
    """A domain's versions; ``known`` False for a domain the store names but escli lacks."""

    name: str
    known: bool
    versions: list[StoredVersion]


class Versions(NamedTuple):
    """What ``survey_versions`` found: the domains, and the ``DomainError`` of each domain
    that failed to load (left out of ``domains``)."""

    domains: list[DomainVersions]
    failures: list[DomainError]

    def of(self, status: str) -> list[tuple[str, StoredVersion]]:
        """(domain name, version) of every version with ``status``."""
        return [(d.name, v) for d in self.domains for v in d.versions if v.status == status]

    @property
    def unknown_events(self) -> int:
        return sum(v.events for _, v in self.of(UNKNOWN))

    def check(self) -> None:
        """``UnreadableEvent`` naming every stored version no domain can read."""
        unknown = self.of(UNKNOWN)
        if not unknown:
            return
        known = {d.name for d in self.domains if d.known}
        shown = ", ".join(
            f"{v.event_type} v{v.version} ({v.events})"
            + ("" if name in known else f" (no domain {name!r})")
            for name, v in unknown
        )
        noun = "event has" if self.unknown_events == 1 else "events have"
        raise UnreadableEvent(
            f"{self.unknown_events} stored {noun} no class and no upcaster: {shown}; "
            f"see {CHANGING_A_DOMAIN}"
        )


def survey_versions(
    store: EventStore, registry: DomainRegistry, names: Collection[str] = ()
) -> Versions:
    """The versions of the domains ``names`` (every one when empty): see the module."""
    stored: dict[str, list[VersionCount]] = {}
    for count in store.version_counts(list(names)):
        stored.setdefault(count.domain, []).append(count)
    found = Versions([], [])
    for name in sorted(set(names) if names else set(registry.names()) | set(stored)):
        try:
            domain = registry.get(name)
        except NotFound:
            if name in stored:
                versions = [
                    StoredVersion(c.event_type, c.type_version, c.events, UNKNOWN)
                    for c in stored[name]
                ]
                found.domains.append(DomainVersions(name, False, _ordered(versions)))
                continue
            if names:
                raise
            continue  # a helper module of a domains folder: no domain, and nothing stored
        except DomainError as e:
            found.failures.append(e)
            continue
        found.domains.append(DomainVersions(name, True, read_as(domain, stored.get(name, []))))
    return found


def read_as(domain: Domain, counts: Iterable[VersionCount]) -> list[StoredVersion]:
    """How ``domain`` reads each counted version, and its unused upcasters."""
    chains = domain.check_upcasters()
    versions: list[StoredVersion] = []
    in_use: set[tuple[str, str]] = set()
    for c in counts:
        reading = domain.reading(c.event_type, c.type_version)
        if reading is None:
            status = UNKNOWN
        elif reading.chain is not None:
            status = UPCAST
            in_use.update(step.source for step in reading.chain.steps)
        elif domain.current_version(c.event_type) == c.type_version:
            status = CURRENT
        else:
            status = KEPT
        chain = None if reading is None else reading.chain
        versions.append(StoredVersion(c.event_type, c.type_version, c.events, status, chain))
    versions += [
        StoredVersion(event_type, version, 0, UNUSED, chain)
        for (event_type, version), chain in chains.items()
        if (event_type, version) not in in_use
    ]
    return _ordered(versions)


def _ordered(versions: list[StoredVersion]) -> list[StoredVersion]:
    return sorted(versions, key=lambda v: (v.event_type, version_key(v.version)))
