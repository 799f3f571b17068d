"""How domains look: the list, one domain in full (its events' current versions and its
upcasters), and ``escli versions``, which versions a store holds and how each domain reads
them (its ``--json`` shape is documented in the command's help, and kept stable)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from rich.text import Text

from escli.cli.render import ARROW, Cell, columns, counted
from escli.cli.render_help import default_text, doc_of, summary
from escli.domain.codec import field_types, type_label
from escli.domain.model import event_meta

if TYPE_CHECKING:
    from escli.app.versions import Versions
    from escli.domain.model import Domain
    from escli.domain.upcasting import Chain


def _header(*names: str) -> list[Cell]:
    return [Text(n, style="bold") for n in names]


# -- domains -----------------------------------------------------------------------------


def domain_json(domain: Domain) -> dict[str, Any]:
    state_cls = type(domain.initial_state(domain.stream_name("_")))
    return {
        "name": domain.name,
        "description": domain.description,
        "source": domain.source,
        "commands": [
            {
                "name": spec.name,
                "class": spec.cls.__name__,
                "stream_field": spec.stream_field,
                "fields": {n: type_label(t) for n, t in field_types(spec.cls).items()},
                "defaults": _defaults(spec.cls),
                "doc": doc_of(spec.cls),
            }
            for spec in domain.commands.values()
        ],
        "events": [
            {
                "type": event_meta(cls).event_type,
                "version": event_meta(cls).version,
                "current": domain.current_version(event_meta(cls).event_type)
                == event_meta(cls).version,
                "source": event_meta(cls).source,
                "fields": {n: type_label(t) for n, t in field_types(cls).items()},
                "defaults": _defaults(cls),
                "doc": doc_of(cls),
            }
            for cls in domain.event_classes()
        ],
        "upcasters": upcasters_json(domain),
        "state": {
            "class": state_cls.__name__,
            "fields": {n: type_label(t) for n, t in field_types(state_cls).items()},
        },
    }


def _defaults(cls: type) -> dict[str, str]:
    """Field -> its default as JSON text, for the fields that have one."""
    found = {name: default_text(cls, name) for name in field_types(cls)}
    return {name: text for name, text in found.items() if text is not None}


def _fields_text(fields: dict[str, str], defaults: dict[str, str] | None = None) -> str:
    """``entity_id: str, weapon: str = "fists"``: a field with a default may be left out."""
    defaults = defaults or {}
    return ", ".join(
        f"{name}: {label}" + (f" = {defaults[name]}" if name in defaults else "")
        for name, label in fields.items()
    )


def domain_view(domain: Domain) -> Iterable[Any]:
    data = domain_json(domain)
    yield Text.assemble((data["name"], "bold"), f"  {data['description']}".rstrip())
    yield f"source  {data['source']}"
    yield "commands"
    yield columns(
        [
            c["name"],
            _fields_text(c["fields"], c["defaults"]),
            f"(stream: {c['stream_field']})",
            Text(summary(c["doc"]), style="dim"),
        ]
        for c in data["commands"]
    )
    yield "events"
    yield columns(
        [e["type"], f"v{e['version']}", _fields_text(e["fields"], e["defaults"])]
        + (
            [Text(summary(e["doc"]), style="dim")]
            if e["current"]
            else [f"(older: v{domain.current_version(e['type'])} is current)"]
        )
        for e in data["events"]
    )
    if data["upcasters"]:
        yield "upcasters"
        yield columns(
            [u["type"], f"v{u['version']}", f"{ARROW} {_target_text(u)}", u["function"]]
            for u in data["upcasters"]
        )
    yield Text(f"state ({data['state']['class']})")
    yield Text(f"  {_fields_text(data['state']['fields'])}")


def upcasters_json(domain: Domain) -> list[dict[str, Any]]:
    """Each upcaster of ``domain`` (the first step of the chain from its source), ordered
    by type, then version as versions order."""
    from escli.domain.upcasting import version_key

    steps = [chain.steps[0] for chain in domain.check_upcasters().values()]
    steps.sort(key=lambda s: (s.source[0], version_key(s.source[1])))
    return [
        {
            "type": s.source[0],
            "version": s.source[1],
            "to": {"type": s.target[0], "version": s.target[1]},
            "function": s.upcaster.name,
        }
        for s in steps
    ]


def _target_text(upcaster: dict[str, Any]) -> str:
    """``v2.0``, or ``combat.EntityAttacked v1.0`` for an upcaster to another type."""
    to = upcaster["to"]
    return (
        f"v{to['version']}" if to["type"] == upcaster["type"] else f"{to['type']} v{to['version']}"
    )


def domains_view(domains: list[Domain]) -> Text:
    rows = [_header("domain", "commands", "events", "description")]
    rows += [[d.name, ", ".join(d.commands), str(len(d.events)), d.description] for d in domains]
    return columns(rows, indent=0)


# -- versions ---------------------------------------------------------------------------


def chain_text(chain: Chain) -> str:
    """``add_weapon → v2.0``; a step to another type names it:
    ``renamed → combat.EntityAttacked v1.0, add_weapon → v2.0``."""
    parts = []
    for step in chain.steps:
        (from_type, _), (to_type, to_version) = step.source, step.target
        to = f"v{to_version}" if to_type == from_type else f"{to_type} v{to_version}"
        parts.append(f"{step.upcaster.name} {ARROW} {to}")
    return ", ".join(parts)


def chain_json(chain: Chain | None) -> list[dict[str, Any]]:
    if chain is None:
        return []
    return [
        {
            "function": step.upcaster.name,
            "from": {"type": step.source[0], "version": step.source[1]},
            "to": {"type": step.target[0], "version": step.target[1]},
        }
        for step in chain.steps
    ]


def versions_json(found: Versions, store: str) -> dict[str, Any]:
    return {
        "store": store,
        "domains": [
            {
                "domain": d.name,
                "known": d.known,
                "versions": [
                    {
                        "type": v.event_type,
                        "version": v.version,
                        "events": v.events,
                        "status": v.status,
                        "upcasters": chain_json(v.chain),
                    }
                    for v in d.versions
                ],
            }
            for d in found.domains
        ],
        "unknown_events": found.unknown_events,
        "unused_upcasters": len(found.of("unused")),
    }


_STYLES = {"unknown": "bold red", "unused": "yellow", "upcast": "cyan"}


def versions_view(found: Versions) -> Text:
    """One row per (domain, type, version); the upcasters of an upcast or unused one last."""
    width = max([len("events")] + [len(str(v.events)) for d in found.domains for v in d.versions])
    rows = [_header("domain", "type", "version", "events", "status", "read through")]
    for d in found.domains:
        for v in d.versions:
            row: list[Cell] = [d.name, v.event_type, f"v{v.version}", str(v.events).rjust(width)]
            row.append(Text(v.status, style=_STYLES.get(v.status, "")))
            if v.chain is not None:
                row.append(chain_text(v.chain))
            elif not d.known:
                row.append(f"no domain {d.name!r}")
            rows.append(row)
    return columns(rows, indent=0)


def versions_notes(found: Versions, *, check: bool) -> list[str]:
    """What a person should do about the table, said on stderr (with ``check``, unknown
    versions are the error instead)."""
    notes = []
    unknown = found.unknown_events
    if unknown and not check:
        notes.append(
            f"{counted(unknown, 'event')} cannot be read (unknown): replaying their streams "
            "fails; register an upcaster from each such version, or keep its class "
            "(--check makes this an error)"
        )
    unused = len(found.of("unused"))
    if unused:
        if unused == 1:
            notes.append("1 upcaster is unused: no stored event needs it, it can be retired")
        else:
            notes.append(
                f"{unused} upcasters are unused: no stored event needs them, they can be retired"
            )
    return notes
