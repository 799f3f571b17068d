from __future__ import annotations

import click

from escli.cli.app import App, common_options, pass_app


@click.command()
@common_options
@pass_app
def init(app: App) -> None:
    """Create the store's schema if it is missing (safe to run again).

    Stores also create their schema on the first write; `init` does it ahead of time (for
    instance before handing a PostgreSQL schema to several writers).

    \b
    Example:
      escli init --store postgresql://postgres@localhost/test?schema=escli
    """
    from escli.stores import init_store

    created = init_store(app.store)
    if app.json:
        app.print_json(
            {"store": app.store.url, "created": bool(created), "schema": created is not None}
        )
    elif created is None:
        app.note(f"{app.store.url} has no schema to create")
    elif created:
        app.note(f"created the escli schema in {app.store.url}")
    else:
        app.note(f"{app.store.url} already has the escli schema; nothing to do")
