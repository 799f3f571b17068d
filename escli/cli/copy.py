from __future__ import annotations

import click

from escli.cli.app import App, pass_app

PROGRESS_FROM = 10_000  # events: below this a copy is over before a bar is worth drawing


@click.command()
@click.argument("source_url", metavar="SOURCE_URL")
@click.argument("target_url", metavar="TARGET_URL")
@click.argument("streams", metavar="[STREAM]...", nargs=-1)
@click.option("--all", "everything", is_flag=True, help="Copy every stream of the source.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@pass_app
def copy(
    app: App,
    source_url: str,
    target_url: str,
    streams: tuple[str, ...],
    everything: bool,
    as_json: bool,
) -> None:
    """Copy streams between stores, keeping ids, generations and times.

    Appends to each stream only the events the target lacks, so running it again copies
    nothing. A target stream holding other events at the same generations is an error, and
    nothing is written to it.

    \b
    Example:
      escli copy sqlite:///game.db postgresql://postgres@localhost/test --all
      escli copy sqlite:///game.db sqlite:///backup.db combat-ogre combat-troll
    """
    from contextlib import closing

    from escli.app.copy import copy_streams, plan_copy
    from escli.cli.render import copy_json, copy_summary, copy_view
    from escli.errors import UsageError
    from escli.stores import open_lasting_store, open_store

    if everything == bool(streams):
        raise UsageError("give the STREAMs to copy, or --all (not both)")
    app.json = app.json or as_json
    with (
        closing(open_store(source_url, "copy source")) as source,
        closing(open_lasting_store(target_url, "copy target")) as target,
    ):
        plan = plan_copy(source, streams)
        total = plan.events
        if app.err.is_terminal and total > PROGRESS_FROM:
            from rich.progress import Progress

            with Progress(console=app.err, transient=True) as bar:
                task = bar.add_task("copying", total=total)
                result = copy_streams(source, target, plan, lambda n: bar.advance(task, n))
        else:
            result = copy_streams(source, target, plan)
    if app.json:
        app.print_json(copy_json(result))
    elif not result.streams:
        app.note(f"no streams in {result.source}")
    else:
        app.print(copy_view(result))
        app.note(copy_summary(result))
