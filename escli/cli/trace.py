"""``escli trace ID``: why events happened."""

from __future__ import annotations

import click

from escli.cli.app import App, common_options, pass_app


@click.command()
@click.argument("wanted", metavar="ID")
@common_options
@pass_app
def trace(app: App, wanted: str) -> None:
    """Show why events happened: the commands of a correlation and the events each wrote.

    ID is a correlation id (dispatch --correlation-id, or a dispatch's own causation id),
    or an event id or causation id, whose correlation is shown. Across streams, in the
    order the events were stored.

    \b
    Example:
      escli trace order-7
      escli trace 3f2a1b7c-6d0e-4d7a-9a53-2c1f0b8e4d11 --json
    """
    from escli.app.trace import trace as find

    found = find(app.store, wanted)
    if app.json:
        from escli.cli.render_trace import trace_json

        app.print_json(trace_json(found))
    else:
        from escli.cli.render_trace import trace_tree

        app.print(trace_tree(found))
