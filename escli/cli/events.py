"""``escli events``: search events across streams; ``escli event ID``: one event whole."""

from __future__ import annotations

import click

from escli.cli.app import App, common_options, pass_app
from escli.cli.complete import complete_streams

DEFAULT_LIMIT = 100
# The largest --limit and --after: SQL integers are 64-bit, and a search asks for one more.
LARGEST = 2**63 - 2


@click.command()
@click.option(
    "--type",
    "types",
    metavar="TYPE",
    multiple=True,
    help="Of this event type (combat.EntityAttacked); repeatable: any of them.",
)
@click.option(
    "--stream",
    metavar="PATTERN",
    shell_complete=complete_streams,
    help="Of streams matching a glob (combat-o*, combat-[!o]*) or of one stream by its name.",
)
@click.option("--domain", metavar="DOMAIN", help="Of the domain's streams (DOMAIN-...).")
@click.option(
    "--since",
    metavar="TIME",
    help="Recorded at or after TIME: RFC 3339 with an "
    "offset (2024-03-04T14:00:00Z) or a date (midnight UTC).",
)
@click.option("--until", metavar="TIME", help="Recorded before TIME (as --since).")
@click.option(
    "--where",
    "where",
    metavar="COND",
    multiple=True,
    help="A condition on a data "
    "field, as view --where: FIELD=VALUE, or !=, >=, <=, >, <; VALUE is JSON (150, "
    'true, null, "150") else text. Repeatable: all must hold.',
)
@click.option(
    "--limit",
    type=click.IntRange(min=0, max=LARGEST),
    default=DEFAULT_LIMIT,
    show_default=True,
    metavar="N",
    help="At most N events (0: every one).",
)
@click.option(
    "--after",
    type=click.IntRange(min=0, max=LARGEST),
    default=0,
    metavar="POSITION",
    help="Only events after POSITION (page on from the last one shown).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "jsonl"]),
    default=None,
    help="table (default), json (an array, as --json) or jsonl (one event a line).",
)
@common_options
@pass_app
def events(
    app: App,
    types: tuple[str, ...],
    stream: str | None,
    domain: str | None,
    since: str | None,
    until: str | None,
    where: tuple[str, ...],
    limit: int,
    after: int,
    fmt: str | None,
) -> None:
    """Find events across streams, in the order they were stored.

    Every condition given must hold. The store answers natively: in SQL on SQLite and
    PostgreSQL, with server-side filters on $all on EventStoreDB.

    \b
    Example:
      escli events --type combat.EntityAttacked --where 'damage>=100'
      escli events --stream 'combat-o*' --since 2024-03-04 --format jsonl
    """
    from escli.app.search import event_query, search

    query = event_query(
        types=types,
        stream=stream,
        domain=domain,
        since=since,
        until=until,
        where=where,
        limit=None if limit == 0 else limit + 1,
        after=after,  # one more: are there more?
    )
    fmt = fmt or ("json" if app.json else "table")
    found = search(app.store, query)
    if fmt == "jsonl":
        from escli.cli.render import recorded_json

        for n, r in enumerate(found):
            if limit and n == limit:
                break
            app.print_json(recorded_json(r))
        return
    shown = list(found)
    more = bool(limit) and len(shown) > limit
    shown = shown[:limit] if limit else shown
    if fmt == "json":
        from escli.cli.render import recorded_json

        app.print_json([recorded_json(r) for r in shown])
    elif shown:
        from escli.cli.render_search import events_table

        app.print_paged(events_table(shown), len(shown) + 1)
    else:
        app.note("no events match")
    if more and fmt == "table":
        app.note(
            f"the first {limit} shown; more match (--limit N, or --after "
            f"{shown[-1].position} for the next)"
        )


@click.command()
@click.argument("event_id", metavar="ID")
@common_options
@pass_app
def event(app: App, event_id: str) -> None:
    """Show one event whole: its attributes, its data, and the change it made to its
    stream's state (the state before and after it; changed fields in bold).

    \b
    Example:
      escli event 3f2a1b7c-6d0e-4d7a-9a53-2c1f0b8e4d11
    """
    from escli.app.search import show_event

    shown = show_event(app.store, app.registry, event_id, policy=app.snapshot_policy())
    if app.json:
        from escli.cli.render_search import event_json

        app.print_json(event_json(shown))
    else:
        from escli.cli.render_search import event_view

        app.print_lines(event_view(shown))
