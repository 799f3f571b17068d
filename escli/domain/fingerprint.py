"""A domain's fingerprint: what a snapshot must have been made by to stand in for a fold.

A snapshot is a state that a fold made; it may replace the fold only while the fold would
make the same state from the same events. That depends on the code: the state class (its
fields and their types), ``initial_state`` and ``apply_event``, the event classes the
events decode into, and the upcasters that read old versions. The fingerprint is a hash of
all of it, so a snapshot taken before any of it changed is not used (a full fold, then a new
snapshot: silently correct).

Decisions:

- **The source of the modules, not just the functions**: ``apply_event`` may call helpers,
  read constants or a table (the combat sample's ``BESTIARY``) of its module, so the whole
  text of every module that defines the state class, the aggregate, an event class or an
  upcaster goes in. Editing a comment there costs one full fold; missing a real change would
  cost a wrong state.
- **No source, no snapshot**: a domain whose code has no readable source (built in memory,
  from a zip without sources) gets ``None``, and is never snapshotted.
- The fingerprint is made once per domain object (the code does not change under a running
  process) and names the snapshot format's version, so a change of how escli encodes a
  state drops old snapshots too.
"""

from __future__ import annotations

import sys
from typing import Any

from escli.domain.codec import field_types, type_label
from escli.domain.model import Domain
from escli.domain.projection import Projection

__all__ = ["FORMAT", "fingerprint", "projection_fingerprint"]

FORMAT = "escli-snapshot-1"
_MADE: dict[int, tuple[Domain, str | None]] = {}


def _module_text(obj: Any) -> str | None:
    """The source text of the module that defines ``obj``, read from its file (not with
    ``inspect``, whose import alone would cost a dispatch a tenth of its time)."""
    module = sys.modules.get(getattr(obj, "__module__", "") or "")
    path = getattr(module, "__file__", None)
    if not path or not path.endswith(".py"):
        return None  # built in memory, or shipped without its source
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as f:
            return f.read()
    except OSError:
        return None


def fingerprint(domain: Domain) -> str | None:
    """The hash of everything a fold of ``domain`` depends on; None when some of its code
    has no source to hash (such a domain is never snapshotted)."""
    made = _MADE.get(id(domain))
    if made is not None and made[0] is domain:
        return made[1]
    found = _fingerprint(domain)
    _MADE[id(domain)] = (domain, found)
    return found


def _add_upcasters(domain: Domain, parts: list[str], owners: list[Any]) -> None:
    """The upcasters a fold or a projection reads old versions through, by what they do and
    where their code is."""
    for u in domain.upcasters:
        parts.append(f"upcaster {u.event_type} {u.version} {u.to_type} {u.to_version} {u.name}")
        owners.append(u.function)


def _fingerprint(domain: Domain) -> str | None:
    aggregate = domain.aggregate_impl
    state_cls = type(domain.initial_state(domain.stream_name("fingerprint")))
    parts: list[str] = [FORMAT, domain.name, f"{state_cls.__module__}.{state_cls.__qualname__}"]
    parts += [f"{name}: {type_label(tp)}" for name, tp in field_types(state_cls).items()]
    owners: list[Any] = [type(aggregate), state_cls]
    for (event_type, version), cls in sorted(domain.events.items()):
        parts.append(f"{event_type} {version} {cls.__module__}.{cls.__qualname__}")
        parts += [f"  {name}: {type_label(tp)}" for name, tp in field_types(cls).items()]
        owners.append(cls)
    _add_upcasters(domain, parts, owners)
    modules: dict[str, str] = {}
    for owner in owners:
        name = getattr(owner, "__module__", "") or ""
        if name in modules:
            continue
        text = _module_text(owner)
        if text is None:
            return None
        modules[name] = text
    for name in sorted(modules):
        parts += [f"module {name}", modules[name]]
    import hashlib

    return hashlib.sha256("\n".join(parts).encode("utf-8", "surrogatepass")).hexdigest()[:32]


VIEW_FORMAT = "escli-view-1"


def projection_fingerprint(projection: Projection) -> str:
    """The hash of everything a projection's rows depend on: its function and key (the
    source of the modules that define them), the event classes it receives (fields and
    types, and their modules' source), and the upcasters that read old versions of them.
    Rows built by other code are "stale: rebuild" (``escli.app.projections``).

    A function without readable source is hashed by its name alone: its rows can then not
    be told stale by a change of its code, which ``escli projections`` cannot see either."""
    domain = projection.domain
    parts: list[str] = [VIEW_FORMAT, projection.full_name]
    owners: list[Any] = [projection.function]
    if projection.key is not None:
        owners.append(projection.key)
    for cls in sorted(projection.classes, key=lambda c: f"{c.__module__}.{c.__qualname__}"):
        parts.append(f"{cls.__module__}.{cls.__qualname__}")
        parts += [f"  {name}: {type_label(tp)}" for name, tp in field_types(cls).items()]
        owners.append(cls)
    _add_upcasters(domain, parts, owners)
    modules: dict[str, str] = {}
    for owner in owners:
        name = getattr(owner, "__module__", "") or ""
        text = _module_text(owner)
        modules.setdefault(name, text if text is not None else f"(no source) {owner!r}")
    for name in sorted(modules):
        parts += [f"module {name}", modules[name]]
    import hashlib

    return hashlib.sha256("\n".join(parts).encode("utf-8", "surrogatepass")).hexdigest()[:32]
