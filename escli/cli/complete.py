"""Dynamic completion through click's completion API: what each kind of value completes to.

Every function here is a parameter's ``shell_complete`` (``escli shell`` asks click the same
way, so the shell and the shells complete alike). What they complete:

- domains (``dispatch``, ``domains``, ``versions``), a domain's command names, and a
  command's fields: ``--field`` options, and values where the type knows them (an enum's
  members, a ``Literal``'s values, true/false) or where the store does (the stream field);
- stream ids from the current store, by prefix, at most ``LIMIT`` (``stream_names``: a walk
  of the primary key on SQL stores, so a store of a million streams answers as fast as a
  small one);
- store URL schemes, ``--to`` targets (the project's first), folders for ``--domains``, and
  files where a file is expected (left to the shell, which knows the file system).

Decisions: completion never writes and never prints an error. A store is opened read-only
where the URL allows it (SQLite, ``mode=ro``: SQLite may still make its ``-shm``/``-wal``
side files beside a WAL store, which hold no data) and only ever read, within a deadline
(``DEADLINE_S``). Anything that fails (a broken project file, a domain that does not import,
a store that does not answer in time) completes to nothing, because a traceback in the
middle of a command line helps no one.
"""

from __future__ import annotations

import enum
import typing
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import click
    from click.shell_completion import CompletionItem

    from escli.cli.app import App
    from escli.domain.model import CommandSpec, Domain
    from escli.stores.base import Store

__all__ = [
    "LIMIT",
    "complete_command_word",
    "complete_commands",
    "complete_dirs",
    "complete_domains",
    "complete_files",
    "complete_store_urls",
    "complete_streams",
    "complete_targets",
    "field_options",
]

LIMIT = 100
DEADLINE_S = 0.5  # a store that has not answered by then is offered as having no streams
STORE_SCHEMES = ["sqlite:///", "memory:", "postgresql://", "esdb://", "kurrentdb://"]
TARGET_SCHEMES = [*STORE_SCHEMES, "cloudevents:", "nats://"]

Completer = Callable[["click.Context", "click.Parameter", str], list["CompletionItem"]]


def _quietly(completer: Completer) -> Completer:
    """The completer, made to answer nothing instead of raising."""

    def quiet(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
        try:
            return completer(ctx, param, incomplete)
        except Exception:  # completion never prints an error (module docstring)
            return []

    quiet.__name__ = quiet.__qualname__ = completer.__name__
    quiet.__doc__ = completer.__doc__
    return quiet


def _app(ctx: click.Context) -> App:
    """The command's ``App``, which its shared options' callbacks made (so ``complete``
    need not import ``escli.cli.app``, which imports it)."""
    app = ctx.obj
    if app is None:
        raise LookupError("no App: a command without the shared options")
    return typing.cast("App", app)


def _items(values: list[str], incomplete: str, helps: dict[str, str] | None = None) -> list[Any]:
    from click.shell_completion import CompletionItem

    helps = helps or {}
    return [CompletionItem(v, help=helps.get(v)) for v in values if v.startswith(incomplete)]


def read_only_store(url: str) -> Store:
    """The store at ``url`` for reading only: a SQLite URL opened ``?mode=ro``."""
    from escli.stores import open_store

    if url.lower().startswith("sqlite:") and "mode=" not in url.partition("?")[2]:
        url += "&mode=ro" if "?" in url else "?mode=ro"
    return open_store(url)


def stream_ids(app: App, prefix: str, url: str | None = None) -> list[str]:
    """Up to ``LIMIT`` stream names starting with ``prefix`` in the store at ``url`` (the
    app's store by default); none when the store cannot be read, or does not answer within
    ``DEADLINE_S`` (a server that takes connections and says nothing would otherwise hold a
    Tab for its whole connect timeout). The look-up runs in a thread of its own, left behind
    (a daemon) when it is late."""
    import threading

    found: list[str] = []

    def look() -> None:
        try:
            store = read_only_store(url or app.store_url)
        except Exception:
            return
        try:
            found.extend(store.stream_names(prefix, LIMIT))
        except Exception:
            found.clear()
        finally:
            store.close()

    worker = threading.Thread(target=look, name="escli-complete", daemon=True)
    worker.start()
    worker.join(DEADLINE_S)
    return [] if worker.is_alive() else list(found)


@_quietly
def complete_domains(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
    return _items(_app(ctx).registry.names(), incomplete)


def _domain(ctx: click.Context) -> Domain | None:
    name = ctx.params.get("domain_name")
    if not name:
        return None
    return _app(ctx).registry.get(name)


@_quietly
def complete_commands(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
    from escli.cli.render_help import doc_of, summary

    domain = _domain(ctx)
    if domain is None:
        return []
    helps = {name: summary(doc_of(spec.cls)) for name, spec in domain.commands.items()}
    return _items(list(domain.commands), incomplete, helps)


def _filled(spec: CommandSpec, words: list[str]) -> tuple[list[str], list[str]]:
    """The fields the words give (by name, then in order), and those still free."""
    from escli.domain.codec import field_types

    named: list[str] = []
    positional = 0
    skip = False
    for word in words:
        if skip:
            skip = False
            continue
        if word.startswith("--") and len(word) > 2:
            key, eq, _ = word[2:].partition("=")
            named.append(key.replace("-", "_"))
            skip = not eq
            continue
        positional += 1
    free = [f for f in field_types(spec.cls) if f not in named]
    return named + free[:positional], free[positional:]


def field_options(spec: CommandSpec, words: list[str]) -> list[str]:
    """The ``--field`` options of the fields the words do not give yet."""
    return [f"--{name.replace('_', '-')}" for name in _filled(spec, words)[1]]


def _field_at(spec: CommandSpec, words: list[str]) -> str | None:
    """The field the next word fills: the one a ``--field`` before it names, else the next
    positional one not given by name."""
    from escli.domain.codec import field_types

    if words and words[-1].startswith("--") and len(words[-1]) > 2 and "=" not in words[-1]:
        name = words[-1][2:].replace("-", "_")
        return name if name in field_types(spec.cls) else None
    free = _filled(spec, words)[1]
    return free[0] if free else None


def _values_of(tp: Any) -> list[str]:
    """The values a type admits, when they are few: an enum's, a Literal's, a bool's."""
    origin = typing.get_origin(tp)
    if origin is typing.Literal:
        return [str(v) for v in typing.get_args(tp)]
    if origin is not None:
        values: list[str] = []
        for arg in typing.get_args(tp):
            if arg is not type(None):
                values += _values_of(arg)
        return values
    if tp is bool:
        return ["true", "false"]
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return [str(member.value) for member in tp]
    return []


def complete_command_word(
    app: App, domain: Domain, spec: CommandSpec, words: list[str], incomplete: str
) -> list[Any]:
    """A word of ``dispatch DOMAIN COMMAND ...``: a field option, or the value of the field
    it fills (stream ids for the stream field)."""
    from escli.domain.codec import field_types

    if incomplete.startswith("-"):
        return _items(field_options(spec, words), incomplete)
    field = _field_at(spec, words)
    if field is None:
        return []
    if field == spec.stream_field:
        prefix = domain.stream_name("")
        return _items([s[len(prefix) :] for s in stream_ids(app, prefix + incomplete)], incomplete)
    return _items(_values_of(field_types(spec.cls)[field]), incomplete)


@_quietly
def complete_words(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
    domain = _domain(ctx)
    name = ctx.params.get("command_name")
    if domain is None or not name:
        return []
    spec = domain.command_spec(name)
    return complete_command_word(
        _app(ctx), domain, spec, list(ctx.params.get("words") or ()), incomplete
    )


@_quietly
def complete_streams(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
    """Stream names of the store the command reads: ``copy``'s source, else ``--store``."""
    return _items(stream_ids(_app(ctx), incomplete, ctx.params.get("source_url")), incomplete)


@_quietly
def complete_store_urls(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
    return _items(STORE_SCHEMES, incomplete) or _files(incomplete)


@_quietly
def complete_targets(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
    app = _app(ctx)
    project = [] if app.project is None else list(app.project.targets)
    return _items([*project, *TARGET_SCHEMES], incomplete)


def _files(incomplete: str, kind: str = "file") -> list[Any]:
    from click.shell_completion import CompletionItem

    return [CompletionItem(incomplete, type=kind)]


def complete_files(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
    """A file: the shell's own file completion."""
    return _files(incomplete)


def complete_dirs(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
    """A folder (or .py file) of domains: the shell's own completion of paths."""
    return _files(incomplete)
