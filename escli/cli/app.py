"""The one object all output goes through, and the options every command shares."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Callable
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar

import click

from escli.errors import EscliError, InvalidInput
from escli.stores import DEFAULT_STORE_URL

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from rich.console import Console, RenderableType
    from rich.text import Text

    from escli.app.project import Project
    from escli.app.snapshots import SnapshotPolicy
    from escli.domain.discovery import DomainRegistry
    from escli.domain.projection import Projection
    from escli.sinks.base import Sink
    from escli.stores.base import Store
    from escli.stores.views import Views

F = TypeVar("F", bound=Callable[..., Any])


def one_line(message: str) -> str:
    """``message`` on one line: its lines (as ``str.splitlines`` breaks them, so ``\\r``
    and U+2028 too), stripped, joined with ``; ``; empty lines dropped."""
    if message.isprintable():  # no line break: the usual case, as it was
        return message
    return "; ".join(line.strip() for line in message.splitlines() if line.strip())


class App:
    """Holds what the shared options chose and writes every line escli prints:
    data to stdout (rich for people, JSON for machines), messages to stderr."""

    def __init__(self, *, exiting_process: bool = False) -> None:
        # True when the process ends right after the command (the console script): stores
        # that are durable without a close (SQLite) are then left open, see ``close``.
        self.exiting_process = exiting_process
        self.json = False
        self.store_url = DEFAULT_STORE_URL
        self.domain_paths: list[str] = []
        self._store: Store | None = None
        self._targets: list[Sink] = []
        self._extra_stores: dict[str, Store] = {}
        self.store_from_command_line = False
        # Where the store URL and the domain paths came from (``escli info``): "option",
        # "environment", "project" or "default".
        self.store_source = "default"
        self.domains_source = "default"
        # Set by ``escli shell`` while it runs: each line's ``close`` then keeps the store
        # open for the next line (targets and a script's extra stores still close per line),
        # and a line's $ESCLI_STORE or project file does not replace the shell's store.
        self.keep_store_open = False
        self.verbose = False  # -v: say how each fold went (from which snapshot, and why)
        self.views_from = "--views"  # or "ESCLI_VIEWS": where a --views URL came from

    # -- output --------------------------------------------------------------------------

    @cached_property
    def out(self) -> Console:
        # On a terminal rich wraps lines at its width, at word boundaries, so the terminal
        # never breaks one mid-word; into a pipe or file a line stays one line, whatever long.
        console = _console(highlight=False, soft_wrap=True, emoji=False)
        console.soft_wrap = not console.is_terminal
        return console

    @cached_property
    def err(self) -> Console:
        return _console(stderr=True, highlight=False, emoji=False)

    def print(self, renderable: RenderableType = "") -> None:
        self.out.print(renderable)

    def print_lines(self, lines: Iterable[str | Text]) -> None:
        """Lines of text (plain strings are not parsed as markup), printed in one call."""
        from rich.text import Text

        self.out.print(Text("\n").join(Text(x) if isinstance(x, str) else x for x in lines))

    def print_text(self, text: str) -> None:
        """Text exactly as it is (a script, a file's content): no markup, no wrapping."""
        sys.stdout.write(text if text.endswith("\n") else text + "\n")

    def print_paged(self, renderable: RenderableType, lines: int) -> None:
        """``renderable`` (``lines`` long); on a terminal that it would overflow, through the
        pager, as git log does ($PAGER, else less; rich's ``Console.pager``)."""
        out = self.out
        if out.is_terminal and lines + 1 > out.size.height:
            # As git does: less keeps colours (R), ends at the end (F), leaves the screen (X).
            os.environ.setdefault("LESS", "FRX")
            with out.pager(styles=True):
                out.print(renderable)
        else:
            out.print(renderable)

    def print_json(self, value: Any) -> None:
        sys.stdout.write(json.dumps(value, ensure_ascii=False) + "\n")

    def error(self, message: str, exit_code: int, *, traceback: str = "") -> None:
        """The one rendering of an error: an ``Error:`` line (then ``traceback``, a domain's own
        frames, when given), or with ``--json`` one JSON object on stderr that a script can
        read (``{"error": ..., "exit_code": ...}``, plus ``"traceback"`` when given).

        The message is one line whatever raised it: the line breaks of a message such as a
        domain's ``CommandRejected("a\\nb")`` are shown as ``; ``.
        """
        message = one_line(message)
        # A reader of stderr that is gone cannot be told; the exit code still says it.
        with contextlib.suppress(BrokenPipeError):
            if self.json:
                error: dict[str, Any] = {"error": message, "exit_code": exit_code}
                if traceback:
                    error["traceback"] = traceback
                sys.stderr.write(json.dumps(error, ensure_ascii=False) + "\n")
                sys.stderr.flush()
                return
            from rich.markup import escape

            self.err.print(f"[bold red]Error:[/] {escape(message)}", soft_wrap=True)
            if traceback:
                self.err.print(
                    traceback.rstrip("\n"), markup=False, highlight=False, soft_wrap=True
                )

    def note(self, message: str) -> None:
        from rich.markup import escape

        self.err.print(f"[dim]{escape(message)}[/]", soft_wrap=True)

    def detail(self, message: str) -> None:
        """A ``note`` shown only with ``-v``."""
        if self.verbose:
            self.note(message)

    # -- what the shared options chose ---------------------------------------------------

    @cached_property
    def project(self) -> Project | None:
        """The project file found upwards from the current folder (``escli.app.project``)."""
        from escli.app.project import find_project

        return find_project()

    @property
    def project_root(self) -> str | None:
        return None if self.project is None else self.project.root

    @cached_property
    def registry(self) -> DomainRegistry:
        from escli.domain.discovery import DomainRegistry

        # The built-in sample is left out of a project that names its own domains.
        project = self.project
        hide_samples = (
            self.domains_source == "project" and project is not None and not project.include_sample
        )
        return DomainRegistry(self.domain_paths, hide_samples=hide_samples)

    def snapshot_policy(self, *, use: bool = True, every: int | None = None) -> SnapshotPolicy:
        """How a command uses snapshots: ``--no-snapshots`` (``use``), then
        ``--snapshot-every`` (``every``), else the project's ``snapshot-every``, else each
        domain's own ``snapshot_every``."""
        from escli.app.snapshots import SnapshotPolicy

        if every is None and self.project is not None:
            every = self.project.snapshot_every
        return SnapshotPolicy(use=use, every=every)

    def default_targets(self, given: Iterable[str]) -> list[str]:
        """The ``--to`` targets: those given, else the project's."""
        if given or self.project is None:
            return list(given)
        return list(self.project.targets)

    @property
    def store(self) -> Store:
        if self._store is None:
            from escli.stores import open_store

            try:
                self._store = open_store(self.store_url)
            except InvalidInput as e:
                if self.store_source != "project" or self.project is None:
                    raise
                # Say where the URL came from: it was not typed, it is in the file.
                raise InvalidInput(f"{e} (the store of {self.project.path})") from e
        return self._store

    def views(self, url: str | None = None) -> Views:
        """Where projections keep their rows (``escli.cli.chosen_views``)."""
        from escli.cli.chosen_views import chosen_views

        return chosen_views(self, url)

    def inline_projections(
        self, names: Iterable[str], views_url: str | None, store: Store | None = None
    ) -> list[Projection]:
        """The projections a dispatch into ``store`` (the app's) updates in its transaction
        (``escli.cli.chosen_views``)."""
        from escli.cli.chosen_views import inline_projections

        return inline_projections(self, names, views_url, self.store if store is None else store)

    def store_for_views(self, url: str) -> Store:
        """The store named by a ``views`` URL, opened once, closed with the app; ``memory:``
        is refused, as a ``--to`` target is (the rows would be gone when the command ends)."""
        if url not in self._extra_stores:
            from escli.stores import open_lasting_store

            # Its errors say where the URL was chosen (``escli.cli.chosen_views``).
            self._extra_stores[url] = open_lasting_store(url, "--views store")
        return self._extra_stores[url]

    def read_text(self, path: str) -> str:
        """A script's text, or stdin's for ``-``; unreadable files are invalid input, and so
        is one longer than a script may be (``/dev/zero`` is refused, not read forever)."""
        from escli.scripts.yaml_text import MAX_CHARS

        too_long = InvalidInput(
            f"{path}: more than {MAX_CHARS:,} characters; too long for a script"
        )
        if path == "-":
            # The bytes, decoded strictly: a text stdin would turn bytes that are not UTF-8
            # into lone surrogates (surrogateescape) and hand them on as text.
            data = sys.stdin.buffer.read(4 * MAX_CHARS + 4)  # UTF-8: at most 4 bytes a character
            try:
                text = data.decode("utf-8-sig")
            except UnicodeDecodeError as e:
                if len(data) > 4 * MAX_CHARS:
                    raise too_long from None
                raise InvalidInput(f"-: not UTF-8 text ({e.reason} at byte {e.start})") from e
        else:
            try:
                # utf-8-sig: a byte order mark, which some editors write, is not part of the text.
                with open(path, encoding="utf-8-sig") as f:
                    text = f.read(MAX_CHARS + 1)
            except IsADirectoryError:
                raise InvalidInput(f"{path}: is a directory, not a file") from None
            except OSError as e:
                raise InvalidInput(f"{path}: {e.strerror}") from e
            except UnicodeDecodeError as e:
                raise InvalidInput(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from e
        if len(text) > MAX_CHARS:
            raise too_long
        return text

    def store_for(self, url: str | None) -> Store:
        """The store a script runs against: --store if given on the command line, else the
        script's own ``store:``, else $ESCLI_STORE or the default."""
        if url is None or self.store_from_command_line:
            return self.store
        if url not in self._extra_stores:
            from escli.stores import open_store

            self._extra_stores[url] = open_store(url)
        return self._extra_stores[url]

    def open_targets(self, urls: Iterable[str]) -> list[Sink]:
        """The ``--to`` targets, opened before anything is written so a bad URL stops the
        command early. They are closed with the app. A target's ``url`` is its one name (a
        store's whatever its spelling, masked), which keys its pending deliveries: ``pending
        --to`` and ``publish --to`` both name a target through here."""
        if not urls:
            return []
        from escli.sinks import open_sink

        opened = [open_sink(url) for url in urls]
        self._targets.extend(opened)
        return opened

    def open_pending_target(self, name: str) -> Sink:
        """The target a pending record names (``name``: its URL as recorded, masked), for
        ``publish --pending`` without ``--to`` (``escli.sinks.open_recorded``: a masked
        password is left out, never sent as ``***``); closed with the app."""
        from escli.sinks import open_recorded

        sink = open_recorded(name)
        self._targets.append(sink)
        return sink

    def close(self) -> None:
        """Close the targets and stores the command opened: all of them in-process (tests,
        CliRunner), all but a SQLite store when the process ends right after, and all but
        the main store while ``keep_store_open`` is set (the shell, between its lines)."""
        targets, self._targets = self._targets, []
        for target in targets:
            close = getattr(target, "close", None)
            if close is not None:
                close()
        extra, self._extra_stores = list(self._extra_stores.values()), {}
        for store_ in extra:
            store_.close()
        if self.keep_store_open:
            return
        store, self._store = self._store, None
        if store is None:
            return
        if self.exiting_process and store.durable_without_close:
            # Closing the last SQLite connection checkpoints the WAL into the database: two
            # fsyncs, a tenth of a dispatch's time. Committed data is already durable in the
            # WAL, and the next writer's automatic checkpoint folds it in. The console script
            # ends with os._exit, so no unclosed-connection ResourceWarning can fire.
            return
        store.close()


def _console(**options: Any) -> Console:
    """A rich console whose broken pipe is an ordinary ``BrokenPipeError``, which the root
    group ends quietly like any other (rich itself would exit with 1)."""
    from rich.console import Console

    class PipeConsole(Console):
        def on_broken_pipe(self) -> None:
            self.quiet = True
            raise BrokenPipeError

    return PipeConsole(**options)


def _set_store(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    # `--store ''` is refused by open_store; an empty $ESCLI_STORE counts as unset (click).
    with _quiet_when_completing(ctx):
        _choose_store(ctx, param, value)


@contextlib.contextmanager
def _quiet_when_completing(ctx: click.Context) -> Iterator[None]:
    """While a shell completes (click parses resiliently), a broken project file leaves the
    defaults in place instead of failing: completion never prints an error."""
    try:
        yield
    except EscliError:
        if not ctx.resilient_parsing:
            raise
        ctx.ensure_object(App).__dict__["project"] = None  # as if there were none


def _choose_store(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    app = ctx.ensure_object(App)
    if app.keep_store_open:
        return  # a shell's line: the store the shell holds stays its store
    if value is not None:
        app.store_url = value
        source = ctx.get_parameter_source(param.name or "store")
        app.store_from_command_line = source is click.core.ParameterSource.COMMANDLINE
        app.store_source = "option" if app.store_from_command_line else "environment"
    elif app.project is not None:
        app.store_url = app.project.store or app.project.default_store
        app.store_source = "project"


def _set_domains(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> None:
    with _quiet_when_completing(ctx):
        _choose_domains(ctx, value)


def _choose_domains(ctx: click.Context, value: tuple[str, ...]) -> None:
    app = ctx.ensure_object(App)
    if app.keep_store_open:
        return  # a shell's line: the shell's domains stay its domains, as its store does
    from escli.domain.discovery import paths_from_env

    from_env = paths_from_env(os.environ.get("ESCLI_DOMAINS"))
    app.domain_paths = [*value, *from_env]
    if value:
        app.domains_source = "option"
    elif from_env:
        app.domains_source = "environment"
    elif app.project is not None and app.project.domains:
        app.domain_paths = list(app.project.domains)
        app.domains_source = "project"


def _set_json(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        ctx.ensure_object(App).json = True


def _set_verbose(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        ctx.ensure_object(App).verbose = True


def _set_views(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is not None:  # where it came from, for the errors about it
        source = ctx.get_parameter_source(param.name or "views_url")
        typed = source is click.core.ParameterSource.COMMANDLINE
        ctx.ensure_object(App).views_from = "--views" if typed else "ESCLI_VIEWS"
    return value


def views_option(f: F, help: str = "") -> F:
    """``--views URL``: where projections keep their rows (see ``App.views``)."""
    return click.option(
        "--views",
        "views_url",
        metavar="URL",
        envvar="ESCLI_VIEWS",
        callback=_set_views,
        help=help
        or "The SQLite or PostgreSQL store projections keep their rows in. Default: the "
        "project's views, else the store itself (an EventStoreDB store needs one). Also "
        "ESCLI_VIEWS.",
    )(f)


def inline_views_option(f: F) -> F:
    """``--views URL`` of the commands that update projections in a dispatch's transaction
    (``dispatch``, ``run``): they only check it (``App.inline_projections``)."""
    return views_option(
        f,
        "Where the projections' rows are (also ESCLI_VIEWS; default: the project's views, "
        "else the store). A dispatch updates projections in its own store only: views named "
        "elsewhere are refused.",
    )


def snapshot_options(f: F) -> F:
    """``--no-snapshots``, ``--snapshot-every N`` and ``-v``, for the commands that fold a
    stream."""
    f = click.option(
        "-v",
        "--verbose",
        is_flag=True,
        expose_value=False,
        callback=_set_verbose,
        help="Say how the stream was folded: from which snapshot (or why none was used), how "
        "many events, and the snapshot taken.",
    )(f)
    f = click.option(
        "--snapshot-every",
        metavar="N",
        type=click.IntRange(min=0),
        help="Take a snapshot when a fold read N events since the last one (0: never). "
        "Default: the project's snapshot-every, else the domain's snapshot_every (500).",
    )(f)
    f = click.option(
        "--no-snapshots",
        is_flag=True,
        help="Fold from generation 0: use no snapshot, and take none.",
    )(f)
    return f


def common_options(f: F) -> F:
    """``--store``, ``--domains`` and ``--json``, which every command takes."""
    f = click.option(
        "--json",
        is_flag=True,
        expose_value=False,
        callback=_set_json,
        help="Print machine-readable JSON instead of tables.",
    )(f)
    from escli.cli.complete import complete_dirs, complete_store_urls

    f = click.option(
        "--domains",
        metavar="PATH",
        multiple=True,
        shell_complete=complete_dirs,
        expose_value=False,
        callback=_set_domains,
        help="Folder (or .py file) of domain modules; repeatable. Also ESCLI_DOMAINS, "
        "paths joined with ':'.",
    )(f)
    f = click.option(
        "--store",
        metavar="URL",
        shell_complete=complete_store_urls,
        envvar="ESCLI_STORE",
        expose_value=False,
        callback=_set_store,
        help="Store URL: sqlite:///PATH, memory:, postgresql://... or esdb://HOST:PORT?Tls=false. "
        "Default: $ESCLI_STORE, else "
        f"{DEFAULT_STORE_URL} (relative to the current directory).",
    )(f)
    return f


pass_app = click.make_pass_decorator(App, ensure=True)
