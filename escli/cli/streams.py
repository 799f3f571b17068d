from __future__ import annotations

import click

from escli.cli.app import App, common_options, pass_app


@click.command()
@click.argument("pattern", required=False)
@click.option("--domain", metavar="DOMAIN", help="Only the domain's streams (DOMAIN-...).")
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    metavar="N",
    help="At most N streams (the count of all that match is still given).",
)
@common_options
@pass_app
def streams(app: App, pattern: str | None, domain: str | None, limit: int | None) -> None:
    """List the streams in the store with their generation and event count; with PATTERN, a
    glob (combat-o*, combat-[!o]*), those whose names match it.

    \b
    Example:
      escli streams --store sqlite:///game.db
      escli streams 'combat-o*' --limit 20
    """
    from escli.app.search import list_streams
    from escli.cli.render import counted, streams_view

    found, matched = list_streams(app.store, pattern, domain=domain, limit=limit)
    filtered = pattern is not None or domain is not None
    if app.json:
        app.print_json(
            [{"stream": s.stream, "generation": s.generation, "events": s.events} for s in found]
        )
    elif found:
        app.print_paged(streams_view(found), len(found) + 1)
    elif filtered:
        app.note("no streams match")
    else:
        app.note(f"no streams in {app.store.url}")
    if app.json or not found:
        return
    if len(found) < matched:
        matching = "matching streams" if filtered else "streams"
        app.note(f"{len(found)} of {matched:,} {matching} shown (--limit N shows more)")
    elif filtered:
        app.note(f"{counted(matched, 'stream')} match")
