"""The shell's lines: what ``escli shell`` does with each line, with no terminal in sight.

Each line is an escli command without the ``escli`` prefix (a leading ``escli`` is
dropped), run in-process through the root group with the shell's one ``App``, so its
output, errors and exit code are the CLI's. The store stays open from line to line
(``App.keep_store_open``); what one line sets (``--json``, ``--to`` targets) does not leak
into the next. A failing line, a bug's traceback included, never ends the shell.

Besides escli's commands the shell knows:

- ``use DOMAIN`` sets a domain context, ``use DOMAIN-ID`` a stream context (``use
  combat-ogre``); ``use`` alone clears it.
- ``:save FILE.yaml`` writes the session's successful dispatches as an ``escli run``
  script (``escli.scripts.saving``): a scripted demo of the session.
- ``exit`` and ``quit`` leave (so does Ctrl-D at the prompt, or the end of piped input).

The rewrite rule. In a context, a line whose first word is not an escli command but is a
command of the context's domain is run as ``dispatch DOMAIN COMMAND ARGS...``. In a stream
context the stream's id is put in for the command's stream field, unless the line already
gives that field by name (``--entity-id troll``) or its positional words already fill every
field it does not name (``attack troll 150 axe``): then the line names its stream itself.
The id goes first among the positional words when the stream field is the command's first
field (``attack 150`` is ``attack ogre 150``), else as ``--FIELD ID``. So in the stream
context ``combat-ogre``, ``attack troll 150`` is ``attack ogre troll 150`` (and refused:
``troll`` is not a number); to hit the troll there, say ``--entity-id troll``. Anything
else (an escli command, or a word the domain does not know) is run as it is.

``--store`` and ``--domains`` belong to the shell (``escli shell --store URL``): a line
that gives them is refused, since its command would run against the shell's store anyway.
Piped lines (no terminal) run one after another and stop at the first failure, whose exit
code the shell exits with (``--keep-going`` runs them all, and still exits with the first
failure's code); blank lines and ``#`` comments are skipped.
"""

from __future__ import annotations

import os
import shlex
import traceback
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import click

from escli.errors import EscliError, InvalidInput, UsageError

if TYPE_CHECKING:
    from escli.cli.app import App
    from escli.domain.model import CommandSpec, Domain

__all__ = ["META_WORDS", "SHELL_OPTIONS", "Context", "Workbench", "history_path"]

META_WORDS = ("use", ":save", "exit", "quit")
SHELL_OPTIONS = ("--store", "--domains")  # the shell's own, refused in a line


@dataclass(frozen=True)
class Context:
    """What ``use`` chose: a domain, and maybe one of its streams."""

    domain: str | None = None
    stream_id: str | None = None

    @property
    def stream(self) -> str | None:
        if self.domain is None or self.stream_id is None:
            return None
        return f"{self.domain}-{self.stream_id}"

    def __str__(self) -> str:
        return self.stream or self.domain or ""


@dataclass(frozen=True)
class Step:
    """A dispatch that succeeded: its domain, command and field words, as a script says it."""

    domain: str
    words: tuple[str, ...]


class Workbench:
    """One shell session: the app whose store stays open, the context and the dispatches."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.context = Context()
        self.steps: list[Step] = []
        self.leaving = False
        # What the shell's own options chose, put back before every line.
        self._json = app.json
        self._store_url = app.store_url
        self._store_from_command_line = app.store_from_command_line
        self._generation: int | None = None
        # Loaded now, from the shell's --domains: a line's own option parsing resets
        # app.domain_paths (to $ESCLI_DOMAINS alone) before its command looks at them.
        _ = app.registry

    # -- running lines -------------------------------------------------------------------

    def run_lines(self, lines: Iterable[str], *, keep_going: bool = False) -> int:
        """Piped input: every line in turn; the first failure's exit code, stopping there
        unless ``keep_going``."""
        first = 0
        for line in lines:
            code = self.run_line(line)
            first = first or code
            if self.leaving or (code and not keep_going):
                break
        return first

    def run_line(self, line: str) -> int:
        """Run one line and return its exit code (0 for a blank line or a comment)."""
        try:
            words = shlex.split(line, comments=True)
        except ValueError as e:
            return self._fail(UsageError(f"cannot read the line: {e}"))
        if words[:1] == ["escli"]:
            words = words[1:]
        if not words:
            return 0
        try:
            if words[0] in ("exit", "quit") and len(words) == 1:
                self.leaving = True
                return 0
            if words[0] == "use":
                self.use(words[1:])
                return 0
            if words[0] == ":save":
                self.save(words[1:])
                return 0
            if words[0] == "shell":
                raise UsageError("already in the shell")
            args = self.rewrite(words)
        except EscliError as e:
            return self._fail(e)
        code = self._invoke(args)
        self._generation = None
        if code == 0:
            self._record(args)
        return code

    def _invoke(self, args: list[str]) -> int:
        from escli.cli import cli

        self.reset_app()
        try:
            return cli.main(args=args, standalone_mode=False, obj=self.app)
        except SystemExit as e:  # the root group turns errors into codes; this is defensive
            return e.code if isinstance(e.code, int) else int(e.code is not None)
        except click.exceptions.Exit as e:
            return e.exit_code
        except click.ClickException as e:
            self.app.error(e.format_message(), e.exit_code)
            return e.exit_code
        except KeyboardInterrupt:
            self.app.error("aborted", 130)
            return 130
        except Exception:  # a bug: shown as the CLI shows it, and the shell goes on
            self.app.err.print(traceback.format_exc().rstrip("\n"), markup=False, highlight=False)
            return 1
        finally:
            self.reset_app()

    def reset_app(self) -> None:
        """Put back what a line may have changed on the app (``--json``, ``-v``, a
        ``--store`` read from $ESCLI_STORE); its targets were closed with it."""
        self.app.json = self._json
        self.app.verbose = False
        self.app.store_url = self._store_url
        self.app.store_from_command_line = self._store_from_command_line

    def _fail(self, error: EscliError) -> int:
        self.app.error(str(error), error.exit_code)
        return error.exit_code

    # -- the context and the rewrite -----------------------------------------------------

    def use(self, args: Sequence[str]) -> None:
        """``use``, ``use DOMAIN`` or ``use DOMAIN-ID``."""
        from escli.domain.model import Domain

        if not args:
            self.context = Context()
            return
        if len(args) > 1:
            raise UsageError("use takes one DOMAIN or DOMAIN-ID (a stream), or nothing")
        name, separator, stream_id = args[0].partition(Domain.STREAM_SEPARATOR)
        if separator and not stream_id:
            raise UsageError(f"use {args[0]}: the stream id after {separator!r} is missing")
        self.app.registry.get(name)  # an unknown domain is not found (exit 3)
        self.context = Context(name, stream_id or None)
        self._generation = None

    def rewrite(self, words: Sequence[str]) -> list[str]:
        """The escli command line a shell line stands for (the rule: module docstring)."""
        from escli.cli import COMMANDS

        before_dashes = words[: words.index("--")] if "--" in words else words
        for word in before_dashes:
            if word.partition("=")[0] in SHELL_OPTIONS:
                raise UsageError(
                    f"{word.partition('=')[0]} is the shell's own: start another shell with "
                    "escli shell --store URL --domains PATH"
                )
        spec = None if words[0] in COMMANDS else self.context_command(words[0])
        if spec is None:
            return list(words)
        domain = self.context_domain()
        assert domain is not None  # a context command implies a context domain
        rest = list(words[1:])
        stream_id = self.context.stream_id
        if stream_id is not None and _needs_stream_id(spec, rest):
            from escli.domain.codec import field_types

            if next(iter(field_types(spec.cls))) == spec.stream_field:
                rest = [stream_id, *rest]
            else:
                rest = ["--" + spec.stream_field.replace("_", "-"), stream_id, *rest]
        return ["dispatch", domain.name, spec.name, *rest]

    def context_domain(self) -> Domain | None:
        if self.context.domain is None:
            return None
        return self.app.registry.get(self.context.domain)

    def context_command(self, word: str) -> CommandSpec | None:
        """The context domain's command named ``word``, if there is a context and it has one."""
        domain = self.context_domain()
        return None if domain is None else domain.commands.get(word)

    # -- recording and saving ------------------------------------------------------------

    def _record(self, args: Sequence[str]) -> None:
        """Keep a dispatch that wrote (not ``--dry-run``, not ``--help``) for ``:save``."""
        if not args or args[0] != "dispatch":
            return
        used, rest = split_dispatch_options(args[1:])
        if used & {"--dry-run", "--help", "-h"} or len(rest) < 2:
            return
        self.steps.append(Step(rest[0], tuple(rest[1:])))

    def save(self, args: Sequence[str]) -> None:
        """``:save FILE``: the session's dispatches as an ``escli run`` script."""
        from escli.scripts.saving import script_text

        if len(args) != 1:
            raise UsageError(":save takes one FILE (a .yaml script for escli run)")
        if not self.steps:
            raise UsageError(":save: nothing to save: no dispatch has succeeded yet")
        path = args[0]
        text = script_text([(s.domain, s.words) for s in self.steps])
        try:
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
        except OSError as e:
            raise InvalidInput(f"{path}: {e.strerror}") from e
        count = len(self.steps)
        self.app.note(f"saved {count} step{'s' * (count != 1)} to {path}: escli run {path}")

    # -- what the prompt shows -----------------------------------------------------------

    def prompt(self) -> str:
        return f"escli {self.context}> " if self.context.domain else "escli> "

    def generation(self) -> int | None:
        """The context stream's generation, read once per line (the toolbar asks often)."""
        stream = self.context.stream
        if stream is None:
            return None
        if self._generation is None:
            self._generation = self.app.store.generation(stream)
        return self._generation

    def toolbar(self) -> str:
        """The context (its stream's generation) first, then the store: a long URL that
        runs off a narrow terminal takes nothing else with it."""
        from escli.urls import mask_url

        parts = []
        stream = self.context.stream
        if stream is not None:
            try:
                parts.append(f"{stream} @ generation {self.generation()}")
            except EscliError as e:
                parts.append(f"{stream}: {e}")
        elif self.context.domain:
            parts.append(f"domain {self.context.domain}")
        parts.append(mask_url(self._store_url))  # the URL: a store that is down still has one
        return "  |  ".join(parts)


def _needs_stream_id(spec: CommandSpec, words: Sequence[str]) -> bool:
    """Whether a stream context's id goes into this command's words (module docstring)."""
    from escli.domain.codec import field_types

    _, field_words = split_dispatch_options(words)
    named: set[str] = set()
    positional = 0
    i = 0
    while i < len(field_words):
        word = field_words[i]
        if word == "--":
            positional += len(field_words) - i - 1
            break
        if word.startswith("--") and len(word) > 2:
            key, eq, _ = word[2:].partition("=")
            named.add(key.replace("-", "_"))
            i += 0 if eq else 1
        else:
            positional += 1
        i += 1
    if spec.stream_field in named:
        return False
    return positional < len([f for f in field_types(spec.cls) if f not in named])


def split_dispatch_options(words: Sequence[str]) -> tuple[set[str], list[str]]:
    """``dispatch``'s own options in ``words`` (``--dry-run``, ``--to URL``...), and the
    words left: DOMAIN COMMAND and the field words, as ``escli dispatch`` reads them."""
    table = _dispatch_options()
    used: set[str] = set()
    rest: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        if word == "--":
            rest.extend(words[i:])
            break
        name = word.partition("=")[0] if word.startswith("--") else word
        if name in table:
            used.add(name)
            i += 0 if table[name] or "=" in word else 1
        else:
            rest.append(word)
        i += 1
    return used, rest


def _dispatch_options() -> dict[str, bool]:
    """Each option word of ``escli dispatch`` -> whether it is a flag (takes no value)."""
    from escli.cli.dispatch import dispatch

    table = {"--help": True, "-h": True}
    for param in dispatch.params:
        if isinstance(param, click.Option):
            for opt in (*param.opts, *param.secondary_opts):
                table[opt] = param.is_flag
    return table


def history_path(app: App, override: str | None = None) -> str:
    """Where the shell keeps its history: ``override`` (``--history``), else the project's
    ``.escli/shell_history``, else ``$XDG_DATA_HOME/escli/shell_history`` (by default under
    ``~/.local/share``). Its folder is made if missing."""
    if override:
        path = override
    elif app.project_root:
        path = os.path.join(app.project_root, ".escli", "shell_history")
    else:
        data_home = os.environ.get("XDG_DATA_HOME") or os.path.join(
            os.path.expanduser("~"), ".local", "share"
        )
        path = os.path.join(data_home, "escli", "shell_history")
    folder = os.path.dirname(path)
    if folder:
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError as e:
            raise InvalidInput(
                f"{folder}: cannot keep the shell's history there ({e.strerror})"
            ) from e
    return path
