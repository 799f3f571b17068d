from __future__ import annotations

import click

from escli.cli.app import App, _set_domains, pass_app
from escli.cli.complete import complete_store_urls, complete_streams

PROGRESS_FROM = 10_000  # events: below this a copy is over before a bar is worth drawing


@click.command()
@click.argument("source_url", metavar="SOURCE_URL", shell_complete=complete_store_urls)
@click.argument("target_url", metavar="TARGET_URL", shell_complete=complete_store_urls)
@click.argument("streams", metavar="[STREAM]...", nargs=-1, shell_complete=complete_streams)
@click.option("--all", "everything", is_flag=True, help="Copy every stream of the source.")
@click.option(
    "--upcast",
    is_flag=True,
    help="Copy each event at its current version, then check that the copied streams replay "
    "to the same state in both stores.",
)
@click.option(
    "--domains",
    metavar="PATH",
    multiple=True,
    expose_value=False,
    callback=_set_domains,
    help="Folder (or .py file) of domain modules, for --upcast; repeatable. Also ESCLI_DOMAINS.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@pass_app
def copy(
    app: App,
    source_url: str,
    target_url: str,
    streams: tuple[str, ...],
    everything: bool,
    upcast: bool,
    as_json: bool,
) -> None:
    """Copy streams between stores, keeping ids, generations and times.

    Appends to each stream only the events the target lacks, so running it again copies
    nothing. A target stream holding other events at the same generations is an error, and
    nothing is written to it.

    With --upcast, events stored at an old version are copied as their domain reads them now
    (the current type, version and data; the same id, generation, time and source), and
    every stream written to is then replayed in both stores: a different state is an error
    naming the stream and field (an upcaster that is not pure), and a SQLite or PostgreSQL
    target is left as it was. A stream of an unknown domain is refused before anything is
    copied: name the streams to copy, and copy the others without --upcast.

    \b
    Example:
      escli copy sqlite:///game.db postgresql://postgres@localhost/test --all
      escli copy sqlite:///game.db sqlite:///backup.db combat-ogre combat-troll
      escli copy sqlite:///game.db sqlite:///current.db --all --upcast
    """
    from contextlib import closing

    from escli.app.copy import copy_streams, plan_copy
    from escli.cli.render import copy_checked, copy_json, copy_summary, copy_view
    from escli.errors import UsageError
    from escli.stores import open_lasting_store, open_store

    if everything == bool(streams):
        raise UsageError("give the STREAMs to copy, or --all (not both)")
    app.json = app.json or as_json
    current = None
    if upcast:
        from escli.stores.current import CurrentRecords

        current = CurrentRecords(app.registry)
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
                result = copy_streams(
                    source, target, plan, lambda n: bar.advance(task, n), current=current
                )
        else:
            result = copy_streams(source, target, plan, current=current)
    if app.json:
        app.print_json(copy_json(result))
    elif not result.streams:
        app.note(f"no streams in {result.source}")
    else:
        app.print(copy_view(result))
        app.note(copy_summary(result))
        if result.checked is not None:
            app.note(copy_checked(result))
