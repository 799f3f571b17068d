"""The ``escli`` command: the root group and the single error boundary.

Subcommands are imported only when used (or when ``--help`` lists them), and heavy clients
only inside the store or sink that needs them, so start-up stays fast.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
from collections.abc import Sequence
from typing import Any

import click

from escli.cli.app import App
from escli.errors import DomainError, EscliError, InvalidInput, UsageError
from escli.text import find_lone_surrogate

COMMANDS = {
    "dispatch": "escli.cli.dispatch:dispatch",
    "replay": "escli.cli.replay:replay",
    "streams": "escli.cli.streams:streams",
    "events": "escli.cli.events:events",
    "event": "escli.cli.events:event",
    "domains": "escli.cli.domains:domains",
    "publish": "escli.cli.publish:publish",
    "run": "escli.cli.run:run",
    "snapshot": "escli.cli.snapshots:snapshot",
    "snapshots": "escli.cli.snapshots:snapshots",
    "test": "escli.cli.test:test",
    "info": "escli.cli.info:info",
    "init": "escli.cli.init:init",
    "copy": "escli.cli.copy:copy",
    "completion": "escli.cli.completion:completion",
    "export": "escli.cli.transfer:export",
    "import": "escli.cli.transfer:import_",
    "follow": "escli.cli.follow:follow",
    "versions": "escli.cli.versions:versions",
    "shell": "escli.cli.shell:shell",
    "projections": "escli.cli.projections:projections",
    "project": "escli.cli.projections:project",
    "view": "escli.cli.projections:view",
    "pending": "escli.cli.pending:pending",
    "stats": "escli.cli.stats:stats",
    "trace": "escli.cli.trace:trace",
}


class EscliGroup(click.Group):
    """Loads subcommands lazily and turns every expected error into one ``Error:`` line."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        # Options get click's "Did you mean"; commands are not registered with click (they
        # load lazily), so their names are matched here, against the table, not the modules.
        name = args[0] if args else ""
        if name not in COMMANDS and not name.startswith("-") and not ctx.resilient_parsing:
            from escli.suggest import did_you_mean

            ctx.fail(f"No such command {name!r}.{did_you_mean(name, COMMANDS, style='click')}")
        return super().resolve_command(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError as e:
            if not _reader_gone():
                raise
            # Click would report this as a failure (exit 1); a reader that stopped early
            # (`escli export --all | head -1`) is how pipes end, so it ends quietly.
            raise _ReaderGone from e

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, attr = target.split(":")
        command: click.Command = getattr(importlib.import_module(module), attr)
        return command

    def main(  # type: ignore[override]
        self,
        args: Any = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> int:
        app = extra.pop("obj", None) or App()
        # --json is an option of each command, set as click parses it: an error found earlier
        # (an unknown option, a missing argument) still belongs in JSON when it was asked for.
        words = list(sys.argv[1:] if args is None else args)
        if "--json" in words[: words.index("--") if "--" in words else None]:
            app.json = True
        try:
            _check_arguments(words)
            result = super().main(
                args, prog_name or "escli", complete_var, standalone_mode=False, obj=app, **extra
            )
            code = result if isinstance(result, int) else 0
        except _ReaderGone:
            code = 0
        except click.exceptions.Abort:
            code = 130
            app.error("aborted", code)
        except click.ClickException as e:
            code = UsageError.exit_code if isinstance(e, click.UsageError) else e.exit_code
            app.error(_usage_message(e), code)
        except EscliError as e:
            _report(app, e)
            code = e.exit_code
        except (Exception, SystemExit) as e:
            from escli.domain.calls import failure_anywhere

            found = failure_anywhere(e)  # a domain's failure on a path that did not say so
            if found is None:
                raise
            _report(app, found)
            code = found.exit_code
        finally:
            app.close()
        if standalone_mode:
            sys.exit(code)
        return code


class _ReaderGone(Exception):
    """A reader of stdout or stderr closed its pipe before escli was done writing."""


def _reader_gone() -> bool:
    """True when stdout or stderr is a pipe (or socket) whose reading end is closed; a broken
    pipe elsewhere (a store's connection) is not a reader stopping, and stays an error."""
    import select

    poller = select.poll()
    for stream in (sys.stdout, sys.stderr):
        try:
            poller.register(stream.fileno(), select.POLLOUT)
        except (AttributeError, OSError, ValueError):  # not a file (captured, closed)
            continue
    return any(events & (select.POLLERR | select.POLLHUP) for _, events in poller.poll(0))


def _report(app: App, error: EscliError) -> None:
    """The error's line; a domain's failure adds its own frames (``DomainError.traceback``)."""
    traceback = error.traceback if isinstance(error, DomainError) else ""
    app.error(str(error), error.exit_code, traceback=traceback)


def _check_arguments(args: Sequence[str]) -> None:
    """Refuse an argument that is not text: Python hands on a byte that is not UTF-8 as a
    lone surrogate (``combat-$'\\xff'`` becomes ``'combat-\\udcff'``), which no store and
    no file can encode. Nor one holding a NUL, which no process's arguments can but a
    shell's piped line may (PostgreSQL keeps no NUL in text). Checked once, for every
    command (and every line of the shell), before anything runs."""
    for arg in args:
        if isinstance(arg, str) and "\x00" in arg:
            raise InvalidInput(f"argument {arg!r} holds a NUL character")
        if isinstance(arg, str) and not arg.isascii() and find_lone_surrogate(arg) is not None:
            try:
                shown = repr(arg.encode("utf-8", "surrogateescape"))[1:]
            except UnicodeEncodeError:
                shown = repr(arg)
            raise InvalidInput(f"argument {shown} is not UTF-8 text")


def _usage_message(e: click.ClickException) -> str:
    message = e.format_message()
    ctx = getattr(e, "ctx", None)
    if isinstance(e, click.UsageError) and ctx is not None:
        return f"{message} (see '{ctx.command_path} --help')"
    return message


@click.group("escli", cls=EscliGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="escli", message="escli %(version)s")
def cli() -> None:
    """escli: dispatch commands to event-sourced domains, replay their streams.

    \b
    Example:
      escli dispatch combat attack ogre 150
      escli replay combat-ogre --steps
    """


def main() -> None:
    """The console script: run the command, then end the process without the interpreter's
    teardown, which would close (and checkpoint) a SQLite store left open on purpose."""
    code = cli.main(standalone_mode=False, obj=App(exiting_process=True))
    for stream in (sys.stdout, sys.stderr):
        # A reader like `head` may have gone away, or the stream been closed.
        with contextlib.suppress(BrokenPipeError, ValueError):
            stream.flush()
    os._exit(code)
