from __future__ import annotations

import sys

import click

from escli.cli.app import App, common_options, pass_app
from escli.cli.complete import complete_files


@click.command()
@click.option(
    "--keep-going", is_flag=True, help="Piped lines: run every line even after one fails."
)
@click.option(
    "--history",
    "history_file",
    metavar="FILE",
    shell_complete=complete_files,
    help="Keep the history in FILE. Default: the project's .escli/shell_history, else "
    "$XDG_DATA_HOME/escli/shell_history.",
)
@common_options
@pass_app
def shell(app: App, keep_going: bool, history_file: str | None) -> int:
    """An interactive workbench: escli commands without the escli prefix, one store open.

    `use combat` sets a domain context and `use combat-ogre` a stream context, in which
    a domain's command runs as a dispatch (`attack 150`); `:save FILE.yaml` writes the
    session's dispatches as an `escli run` script; Tab completes, Ctrl-R searches the
    history, Ctrl-D leaves. Piped lines run one by one, stopping at the first failure
    (unless --keep-going), whose exit code the shell exits with.

    \b
    Example:
      escli shell --store sqlite:///demo.db
      printf 'use combat-ogre\\nattack 150\\n' | escli shell
    """
    from escli.cli.workbench import Workbench, history_path

    bench = Workbench(app)
    app.keep_store_open = True  # the root group closes it once the shell returns
    try:
        if not sys.stdin.isatty():
            return bench.run_lines(sys.stdin, keep_going=keep_going)
        from escli.cli.prompt import interact

        return interact(bench, history_file=history_path(app, history_file))
    finally:
        app.keep_store_open = False
