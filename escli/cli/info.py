from __future__ import annotations

import click

from escli.cli.app import App, common_options, pass_app


@click.command()
@common_options
@pass_app
def info(app: App) -> None:
    """Show what escli uses here: its version, the project file, the store, the domains.

    Each setting says where it came from: the command line (option), an environment
    variable (environment), the project file (project: escli.toml, or [tool.escli] in
    pyproject.toml, the closest one upwards from the current folder) or the built-in
    default. Nothing is opened or written: a store that does not answer still shows.

    \b
    Example:
      escli info
      escli info --json
    """
    from escli.cli.render_help import info_json, info_view

    names = app.registry.names()
    targets = app.default_targets(())
    if app.json:
        app.print_json(info_json(app, names, targets))
    else:
        app.print_lines(info_view(app, names, targets))
