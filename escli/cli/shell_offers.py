"""What the shell offers as you type: completions through click's own completion API, and a
hint naming the fields of the command being typed. No terminal library here.

Completion asks click exactly what ``escli``'s shell completion (``_ESCLI_COMPLETE``) would
answer (``click.shell_completion.ShellComplete`` on the root group, which calls each
parameter's ``shell_complete``), so whatever completion the commands' parameters learn, the
shell offers too. A line the shell rewrites (``attack 150`` in a stream context, see
``escli.cli.workbench``) is completed as the ``dispatch`` line it stands for; its first word
is offered from the shell's own words (``use``, ``:save``...), escli's commands and the
context domain's commands.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from typing import TYPE_CHECKING

import click

from escli.cli.workbench import META_WORDS, SHELL_OPTIONS, split_dispatch_options
from escli.errors import EscliError

if TYPE_CHECKING:
    from escli.cli.app import App
    from escli.cli.workbench import Workbench

__all__ = ["Offer", "click_offers", "complete", "hint"]

_LAST_WORD = re.compile(r"\S*$")
_NOT_OFFERED = frozenset({*SHELL_OPTIONS, "shell"})  # refused in a line
_META_HINTS = {
    "use": "use [DOMAIN | DOMAIN-ID]: set the context (nothing: clear it)",
    ":save": ":save FILE.yaml: the session's dispatches as an escli run script",
    "exit": "exit: leave the shell (or Ctrl-D)",
    "quit": "quit: leave the shell (or Ctrl-D)",
}


@dataclass(frozen=True)
class Offer:
    """One completion: ``text`` replaces the last ``replaces`` characters before the cursor."""

    text: str
    replaces: int
    help: str = ""


def _words(text: str) -> tuple[list[str], str, int] | None:
    """The complete words before the cursor, the word being typed, and its typed length;
    None while a quote is open."""
    raw = _LAST_WORD.search(text)
    typed = raw.group() if raw else ""
    try:
        words = shlex.split(text[: len(text) - len(typed)])
        incomplete = shlex.split(typed)[0] if typed else ""
    except (ValueError, IndexError):
        return None
    if words[:1] == ["escli"]:
        words = words[1:]
    return words, incomplete, len(typed)


def complete(bench: Workbench, text: str) -> list[Offer]:
    """What may come next in ``text`` (the line up to the cursor)."""
    found = _words(text)
    if found is None:
        return []
    words, incomplete, typed = found
    offers: list[tuple[str, str]] = []
    try:
        if not words:
            offers += [(w, _META_HINTS[w]) for w in META_WORDS]
            offers += click_offers(bench.app, [], incomplete)
            domain = bench.context_domain()
            if domain is not None:
                offers += [(name, f"{domain.name} command") for name in domain.commands]
        elif words == ["use"]:
            offers += _contexts(bench)
        elif words[0] in META_WORDS:
            return []
        else:
            try:
                args = bench.rewrite(words)
            except EscliError:
                args = list(words)
            offers += click_offers(bench.app, args, incomplete)
    except (EscliError, click.ClickException):
        return []  # a domain that fails to load, a store that is down: nothing to offer
    finally:
        bench.reset_app()  # the parameters' callbacks ran on the shell's app
    seen: set[str] = set()
    result = []
    for value, help_ in offers:
        if value.startswith(incomplete) and value not in seen and value not in _NOT_OFFERED:
            seen.add(value)
            result.append(Offer(_quoted(value), typed, help_))
    return result


def click_offers(app: App, args: list[str], incomplete: str) -> list[tuple[str, str]]:
    """What ``escli``'s shell completion offers after ``args`` for ``incomplete``."""
    from click.shell_completion import ShellComplete

    from escli.cli import cli

    completer = ShellComplete(cli, {"obj": app}, "escli", "_ESCLI_COMPLETE")
    return [(item.value, item.help or "") for item in completer.get_completions(args, incomplete)]


def _contexts(bench: Workbench) -> list[tuple[str, str]]:
    """``use``'s choices: the domains, and the streams the store holds (the first 1,000,
    none when the store cannot be read)."""
    import itertools

    offers = [(name, "domain") for name in bench.app.registry.names()]
    try:
        streams = itertools.islice(bench.app.store.streams(), 1000)
        offers += [(info.stream, "stream") for info in streams]
    except EscliError:
        pass  # a store that is down: the domains are still worth offering
    return offers


def _quoted(value: str) -> str:
    return value if value and shlex.quote(value) == value else shlex.quote(value)


def hint(bench: Workbench, text: str) -> str:
    """The usage of the command being typed (``attack ENTITY_ID DAMAGE [WEAPON]``), or ``""``."""
    found = _words(text)
    if found is None:
        return ""
    words, incomplete, _ = found
    words = words or ([incomplete] if incomplete else [])
    if not words:
        return ""
    if words[0] in _META_HINTS:
        return _META_HINTS[words[0]]
    try:
        return _command_hint(bench, words)
    except (EscliError, click.ClickException):
        return ""


def _command_hint(bench: Workbench, words: list[str]) -> str:
    from escli.cli import COMMANDS, cli
    from escli.domain.words import command_usage

    args = bench.rewrite(words)
    if args[0] == "dispatch":
        _, rest = split_dispatch_options(args[1:])
        if len(rest) >= 2 and rest[0] in bench.app.registry.names():
            spec = bench.app.registry.get(rest[0]).commands.get(rest[1])
            if spec is not None:
                usage = command_usage(spec)
                if len(args) > len(words) + 2:  # the stream context's id was put in
                    usage += f"  ({spec.stream_field.upper()}: {bench.context.stream_id})"
                return usage
    if args[0] in COMMANDS:
        command = cli.get_command(click.Context(cli), args[0])
        if command is not None:
            return f"{args[0]}: {command.get_short_help_str(limit=80)}"
    return ""
