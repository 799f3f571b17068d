from __future__ import annotations

import click

from escli.cli.app import App, common_options, pass_app


@click.command()
@common_options
@pass_app
def streams(app: App) -> None:
    """List the streams in the store with their generation and event count.

    \b
    Example:
      escli streams --store sqlite:///game.db
    """
    from escli.cli.render import streams_view

    found = list(app.store.streams())
    if app.json:
        app.print_json(
            [{"stream": s.stream, "generation": s.generation, "events": s.events} for s in found]
        )
    elif found:
        app.print(streams_view(found))
    else:
        app.note(f"no streams in {app.store.url}")
