"""``escli projections``, ``escli project NAME`` and ``escli view NAME``: list, run and read
the projections of the loaded domains (``escli.app.projections``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from escli.cli.app import App, common_options, pass_app, views_option
from escli.cli.complete import complete_streams

if TYPE_CHECKING:
    from escli.app.projections import Caught


def _complete_projections(
    ctx: click.Context, _param: click.Parameter, incomplete: str
) -> list[Any]:
    from click.shell_completion import CompletionItem

    from escli.app.projections import every_projection

    app = ctx.find_object(App)
    try:
        found = every_projection(app.registry) if app is not None else []
    except Exception:  # completion never fails aloud
        return []
    return [
        CompletionItem(p.full_name, help=p.description.split("\n")[0])
        for p in found
        if p.full_name.startswith(incomplete)
    ]


@click.command()
@views_option
@common_options
@pass_app
def projections(app: App, views_url: str | None) -> None:
    """List the projections of the loaded domains: checkpoint, the store's head, lag, rows.

    A projection keeps one row per key (a stream, by default) made by a domain's function
    from the events of its streams. Its state is fresh (built by the code as it is now),
    stale (the code changed since: escli project NAME --rebuild), new (never built) or
    rebuilding (a rebuild was interrupted; the next one continues it).

    The lag counts the store's events after the checkpoint, of every domain, not only the
    projection's: the next escli project NAME may process fewer (other domains' events,
    and classes it does not take, only move its checkpoint).

    \b
    Example:
      escli projections
      escli projections --json
    """
    from escli.app.projections import every_projection
    from escli.app.view_status import status
    from escli.cli.render_projections import status_json, status_view

    found = status(every_projection(app.registry), app.store, app.views(views_url))
    if app.json:
        app.print_json(status_json(found))
    elif not found:
        app.note("no projections in the loaded domains (see @domain.projection)")
    else:
        app.print(status_view(found))


@click.command()
@click.argument("name", required=False, shell_complete=_complete_projections)
@click.option("--all", "every", is_flag=True, help="Every projection of the loaded domains.")
@click.option(
    "--rebuild",
    is_flag=True,
    help="Build the rows again from position 0, beside the old ones, and switch over at "
    "once when done (readers never see a half-built view). Needed after its code changed.",
)
@click.option(
    "--stream",
    metavar="STREAM",
    shell_complete=complete_streams,
    help="With --rebuild: build only this stream's row again, from its own events.",
)
@click.option(
    "--follow",
    is_flag=True,
    help="Then keep the rows up to date as events are appended, until Ctrl-C.",
)
@views_option
@common_options
@pass_app
def project(
    app: App,
    name: str | None,
    every: bool,
    rebuild: bool,
    stream: str | None,
    follow: bool,
    views_url: str | None,
) -> None:
    """Catch a projection's rows up with the store: every event after its checkpoint.

    Events are read in batches, and each batch's rows and the new checkpoint are written
    in one transaction: a run stopped at any point (even killed) continues where it
    stopped, and gives the rows a rebuild gives. A projection whose code changed since its
    rows were built is refused (exit code 15) until --rebuild.

    \b
    Example:
      escli project combat.roster
      escli project --all --json
      escli project combat.roster --rebuild
      escli project combat.roster --follow
    """
    from escli.app.projections import catch_up, every_projection, find_projection, rebuild_key
    from escli.cli.progress import EventProgress
    from escli.errors import UsageError

    if (name is None) is not every:
        given = "not both" if every else "one of them"
        raise UsageError(f"project: give a projection NAME or --all, {given}")
    if stream is not None and (not rebuild or every):
        raise UsageError("project: --stream needs --rebuild and one projection NAME")
    if follow and rebuild:
        raise UsageError("project: --follow catches up; rebuild first, then follow")
    chosen = (
        every_projection(app.registry) if name is None else [find_projection(app.registry, name)]
    )
    views = app.views(views_url)
    if stream is not None:
        _shown(app, rebuild_key(chosen[0], app.store, views, stream))
        return
    for projection in chosen:
        bar = EventProgress(app.err)  # drawn on a terminal past THRESHOLD events

        def progress(
            done: int, total: int, bar: EventProgress = bar, name: str = projection.full_name
        ) -> None:
            if done == 0:  # the run's first call: it has counted what it will read
                bar.start(name, total)
            bar.update(done)

        try:
            caught = catch_up(
                projection,
                app.store,
                views,
                rebuild=rebuild,
                progress=progress if bar.enabled else None,
            )
        finally:
            bar.finish()
        _shown(app, caught)
    if follow:
        from escli.app.projections import follow as run

        if not app.json:
            names = ", ".join(p.full_name for p in chosen)
            app.note(f"following {names} in {app.store.url} (Ctrl-C to stop)")
        import contextlib

        with contextlib.suppress(KeyboardInterrupt):  # how following ends: not an error
            run(chosen, app.store, views, on_caught=lambda caught: _shown(app, caught))


def _shown(app: App, caught: Caught) -> None:
    import sys

    from escli.cli.render_projections import caught_json, caught_line

    if app.json:
        app.print_json(caught_json(caught))
    else:
        app.print_lines([caught_line(caught)])
    sys.stdout.flush()  # a reader of --follow sees each run as it ends


@click.command()
@click.argument("name", shell_complete=_complete_projections)
@click.option(
    "--key", "keys", metavar="KEY", multiple=True, help="Only the row of KEY (repeatable)."
)
@click.option(
    "--where",
    "conditions",
    metavar="FIELD=VALUE",
    multiple=True,
    help="Only rows whose FIELD is VALUE (a JSON value: 3, true, null; else text); also !=, "
    ">=, <=, >, <. Repeatable: all must hold.",
)
@click.option(
    "--sort", metavar="FIELD", help="Order by FIELD (-FIELD: descending). Default: the key."
)
@click.option("--limit", type=click.IntRange(min=1), metavar="N", help="At most N rows.")
@views_option
@common_options
@pass_app
def view(
    app: App,
    name: str,
    keys: tuple[str, ...],
    conditions: tuple[str, ...],
    sort: str | None,
    limit: int | None,
    views_url: str | None,
) -> None:
    """Print a projection's rows as a table (--json: a JSON list).

    Rows are those of its last run (escli project NAME brings them up to date); on a
    terminal a long table pages, as git log does.

    \b
    Example:
      escli view combat.roster
      escli view combat.roster --where alive=true --sort -damage_taken --limit 3
      escli view combat.roster --key combat-ogre --json
    """
    from escli.app.conditions import where_condition
    from escli.app.projections import find_projection
    from escli.app.view_status import query_rows, shown_build
    from escli.cli.render_projections import no_rows_note, rows_json, rows_view

    projection = find_projection(app.registry, name)
    views = app.views(views_url)
    found = query_rows(
        projection,
        app.store,
        views,
        keys=keys,
        where=[where_condition(c) for c in conditions],
        sort=sort,
        limit=limit,
    )
    if app.json:
        app.print_json(rows_json(found))
    elif not found:
        app.note(no_rows_note(projection.full_name, shown_build(projection, views)))
    else:
        app.print_paged(rows_view(found), len(found))
