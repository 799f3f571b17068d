"""How escli teaches: ``escli info``, a domain's help (``escli dispatch DOMAIN --help``) and a
command's (``escli dispatch DOMAIN COMMAND --help``), built from the domain's own classes:
their fields, types, defaults and docstrings, and an example line made from the fields.

Decisions:

- **A docstring is the author's, or nothing.** ``@dataclass`` writes ``Attack(entity_id: str,
  ...)`` into a class that has none; that is the signature again, not documentation, and is
  not shown.
- **The example fills only the fields that have no default**, with a value of each field's
  type (``1`` for an int, ``2026-01-01`` for a date, the first member of an enum) and
  ``NAME-1`` for the stream field: a line that parses as it is, so it can be tried.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import enum
import json
import sys
import typing
import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from rich.text import Text

from escli.cli.render import columns
from escli.domain.codec import field_types, type_label
from escli.domain.words import command_usage

if TYPE_CHECKING:
    from escli.cli.app import App
    from escli.domain.model import CommandSpec, Domain

__all__ = [
    "command_help",
    "default_text",
    "doc_of",
    "domain_help",
    "example_line",
    "info_json",
    "info_view",
    "summary",
]


def doc_of(cls: type) -> str:
    """The class's own docstring, cleaned; empty for none (or the one ``@dataclass`` made)."""
    import inspect

    doc = cls.__dict__.get("__doc__") or ""
    if dataclasses.is_dataclass(cls) and doc.startswith(f"{cls.__name__}("):
        return ""
    return inspect.cleandoc(doc) if doc else ""


def summary(doc: str) -> str:
    """A docstring's first paragraph, on one line (empty for none)."""
    return doc.split("\n\n")[0].replace("\n", " ") if doc else ""


def default_text(cls: type, name: str) -> str | None:
    """The field's default as JSON (``"fists"``, ``0``), ``[]`` for a ``list`` factory;
    None for a field without one."""
    for f in dataclasses.fields(cls):
        if f.name != name:
            continue
        if f.default is not dataclasses.MISSING:
            return json.dumps(f.default, default=str, ensure_ascii=False)
        if f.default_factory is not dataclasses.MISSING:
            factory: Any = f.default_factory
            known: dict[Any, str] = {list: "[]", dict: "{}", tuple: "[]", set: "[]"}
            return known.get(factory, f"{getattr(factory, '__name__', 'factory')}()")
        return None
    return None


def _example_value(tp: Any, name: str) -> str:
    origin = typing.get_origin(tp)
    if origin is typing.Literal:
        return str(typing.get_args(tp)[0])
    if origin in (typing.Union, getattr(sys.modules.get("types"), "UnionType", None)):
        inner = [a for a in typing.get_args(tp) if a is not type(None)]
        return _example_value(inner[0], name) if inner else "null"
    if origin in (list, tuple, set, frozenset):
        return "'[]'"
    if origin is dict:
        return "'{}'"
    if isinstance(tp, type):
        if issubclass(tp, bool):
            return "true"
        if issubclass(tp, enum.Enum):
            first = next(iter(tp))
            return str(first.value)
        if issubclass(tp, int):
            return "1"
        if issubclass(tp, float):
            return "1.5"
        if issubclass(tp, decimal.Decimal):
            return "9.99"
        if issubclass(tp, dt.datetime):
            return "2026-01-01T12:00:00+00:00"
        if issubclass(tp, dt.date):
            return "2026-01-01"
        if issubclass(tp, uuid.UUID):
            return "00000000-0000-4000-8000-000000000001"
        if issubclass(tp, str):
            return f"{name.removesuffix('_id').replace('_', '-')}-1"
        if dataclasses.is_dataclass(tp):
            return "'{}'"
    return "'{}'"


def example_line(domain: Domain, spec: CommandSpec) -> str:
    """``escli dispatch combat attack entity-1 1``: the fields without a default, in order."""
    words = ["escli", "dispatch", domain.name, spec.name]
    for name, tp in field_types(spec.cls).items():
        if default_text(spec.cls, name) is None:
            words.append(_example_value(tp, name))
    return " ".join(words)


def _usage(prog: str, rest: str) -> Text:
    return Text.assemble(("Usage: ", "bold"), f"{prog} {rest}")


def domain_help(domain: Domain, prog: str) -> Iterable[Any]:
    """The domain's commands, each with its fields and the first paragraph of its docstring."""
    yield _usage(prog, f"{domain.name} COMMAND [ARGS]... [OPTIONS]")
    yield ""
    if domain.description:
        yield Text(f"  {domain.description}")
        yield ""
    yield Text("Commands:", style="bold")
    yield columns(
        [command_usage(spec), summary(doc_of(spec.cls))] for spec in domain.commands.values()
    )
    yield ""
    yield Text(f"'{prog} {domain.name} COMMAND --help' shows a command's fields.")


def command_help(domain: Domain, spec: CommandSpec, prog: str) -> Iterable[Any]:
    """The command's usage, docstring, fields (type, default, the stream field) and an
    example line."""
    yield _usage(prog, f"{domain.name} {command_usage(spec)} [OPTIONS]")
    yield ""
    doc = doc_of(spec.cls)
    if doc:
        yield Text("\n".join(f"  {line}".rstrip() for line in doc.splitlines()))
        yield ""
    yield Text("Fields (in order, or by name as --field value):", style="bold")
    rows = []
    for name, tp in field_types(spec.cls).items():
        default = default_text(spec.cls, name)
        notes = []
        if name == spec.stream_field:
            notes.append(f"the stream: {domain.name}-{name.upper()}")
        if default is not None:
            notes.append(f"default: {default}")
        rows.append([name.upper(), f"--{name.replace('_', '-')}", type_label(tp), "; ".join(notes)])
    yield columns(rows)
    yield ""
    yield Text("Example:", style="bold")
    yield Text(f"  {example_line(domain, spec)}")


# -- escli info --------------------------------------------------------------------------


def info_json(app: App, names: list[str], targets: list[str]) -> dict[str, Any]:
    from importlib.metadata import version

    from escli.urls import mask_url

    return {
        "version": version("escli"),
        "python": sys.version.split()[0],
        "project": None if app.project is None else app.project.path,
        "store": {"url": mask_url(app.store_url), "from": app.store_source},
        "domains": {"paths": app.domain_paths, "from": app.domains_source, "names": names},
        "targets": [mask_url(t) for t in targets],
    }


def info_view(app: App, names: list[str], targets: list[str]) -> Iterable[Any]:
    data = info_json(app, names, targets)
    rows: list[list[str | Text]] = [
        ["escli", f"{data['version']} (Python {data['python']})"],
        ["project", data["project"] or "none (no escli.toml or [tool.escli] found upwards)"],
        ["store", f"{data['store']['url']}  ({data['store']['from']})"],
        [
            "domains",
            f"{', '.join(names) or 'none'}  ({data['domains']['from']}"
            + (f": {', '.join(data['domains']['paths'])})" if data["domains"]["paths"] else ")"),
        ],
        ["targets", ", ".join(data["targets"]) or "none"],
    ]
    yield columns(rows, indent=0)
