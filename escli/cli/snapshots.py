from __future__ import annotations

import click

from escli.cli.app import App, common_options, pass_app
from escli.cli.complete import complete_streams


@click.command()
@click.argument("stream", required=False, shell_complete=complete_streams)
@click.option("--drop", is_flag=True, help="Forget them (STREAM's, or every stream's).")
@common_options
@pass_app
def snapshots(app: App, stream: str | None, drop: bool) -> None:
    """List the snapshots the store keeps (STREAM's, or every stream's), or drop them.

    A snapshot is a stream's state at a generation, kept so that a fold starts there. It is
    used only while it is fresh: made by the domain's code as it is now (its fingerprint),
    over the very event the store still holds at its generation. A stale one is never used;
    the next fold that reads enough events takes a new one. Dropping them only makes the
    next folds longer.

    \b
    Example:
      escli snapshots
      escli snapshots combat-ogre --drop
    """
    from escli.app.snapshots import list_snapshots

    if drop:
        dropped = list_snapshots(app.store, app.registry, stream, drop=True)
        if app.json:
            app.print_json({"dropped": len(dropped)})
        else:
            app.note(f"dropped {len(dropped)} snapshot{'s' if len(dropped) != 1 else ''}")
        return
    from escli.cli.render_snapshots import snapshots_json, snapshots_view

    found = list_snapshots(app.store, app.registry, stream)
    if app.json:
        app.print_json(snapshots_json(found))
    elif not found:
        app.note(f"no snapshots in {app.store.url}")
    else:
        app.print(snapshots_view(found))
