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
- **And the modules they import from their own package**, transitively: a projection or
  ``apply_event`` reads tables and helpers of its package's other modules (the sample's
  ``roster`` reads ``BESTIARY`` from ``combat.state``), and a change there changes what it
  makes. Found in the source's ``import`` lines by a regular expression (no ``ast``, whose
  import would cost every dispatch), resolved against the module's package, and kept when
  loaded and of the same top-level package (escli and the standard library are not the
  domain's code).
- **No source, no snapshot**: a domain whose code has no readable source (built in memory,
  from a zip without sources) gets ``None``, and is never snapshotted.
- The fingerprint is made once per domain object (the code does not change under a running
  process) and names the snapshot format's version, so a change of how escli encodes a
  state drops old snapshots too.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from importlib.util import resolve_name
from typing import Any

from escli.domain.codec import field_types, type_label
from escli.domain.model import Domain
from escli.domain.projection import Projection

__all__ = ["FORMAT", "fingerprint", "projection_fingerprint"]

FORMAT = "escli-snapshot-2"  # 2: the modules imported from the package go in
_MADE: dict[int, tuple[Domain, str | None]] = {}


def _source(name: str) -> str | None:
    """The source text of module ``name``, read from its file (not with ``inspect``, whose
    import alone would cost a dispatch a tenth of its time)."""
    path = getattr(sys.modules.get(name), "__file__", None)
    if not path or not path.endswith(".py"):
        return None  # built in memory, or shipped without its source
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as f:
            return f.read()
    except OSError:
        return None


# ``from .state import X, Y``, ``from pkg import (state,``, ``import pkg.state``: the module
# named and the names it gives (a package's submodules among them).
_IMPORT = re.compile(
    r"^[ \t]*from[ \t]+([.\w]+)[ \t]+import[ \t]*(?:\(([^)]*)\)|([\w \t,]*))"
    r"|^[ \t]*import[ \t]+([\w.]+)",
    re.M,
)


def _imported_from_package(names: Iterable[str]) -> dict[str, str | None]:
    """The modules ``names`` and those of their top-level package that their sources
    import, transitively: module name -> source text (None: it has none)."""
    found: dict[str, str | None] = {}
    todo = [name for name in names if name]
    while todo:
        name = todo.pop()
        if name in found:
            continue
        text = found[name] = _source(name)
        package = getattr(sys.modules.get(name), "__package__", None) or ""
        top = name.split(".")[0]
        if text is None or not package or top == "escli":
            continue
        for origin, in_parentheses, on_the_line, plain in _IMPORT.findall(text):
            try:
                target = resolve_name(origin or plain, package)
            except (ImportError, ValueError):
                continue  # a relative import past the top: Python refuses it too
            given = (in_parentheses or on_the_line).split(",")
            submodules = [f"{target}.{n.split()[0]}" for n in given if n.split()]
            for candidate in (target, *submodules):
                if candidate.split(".")[0] == top and candidate in sys.modules:
                    todo.append(candidate)
    return found


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
    modules = _imported_from_package(getattr(owner, "__module__", "") for owner in owners)
    if None in modules.values():
        return None
    for name in sorted(modules):
        parts += [f"module {name}", modules[name] or ""]
    import hashlib

    return hashlib.sha256("\n".join(parts).encode("utf-8", "surrogatepass")).hexdigest()[:32]


VIEW_FORMAT = "escli-view-2"  # 2: the modules imported from the package go in


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
    modules = _imported_from_package(getattr(owner, "__module__", "") for owner in owners)
    for owner in owners:  # a function built in memory: hashed by its name alone
        name = getattr(owner, "__module__", "") or ""
        if modules.get(name) is None:
            modules[name] = f"(no source) {owner!r}"
    for name in sorted(modules):
        parts += [f"module {name}", modules[name] or "(no source)"]
    import hashlib

    return hashlib.sha256("\n".join(parts).encode("utf-8", "surrogatepass")).hexdigest()[:32]
