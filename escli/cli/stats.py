"""``escli stats``: a store summarised (``escli.app.stats``)."""

from __future__ import annotations

from typing import Any

import click

from escli.cli.app import App, common_options, pass_app, views_option


@click.command()
@views_option
@common_options
@pass_app
def stats(app: App, views_url: str | None) -> None:
    """Summarise the store: streams, events by type and version, the longest streams,
    events per day, snapshots and projections.

    \b
    Example:
      escli stats
      escli stats --json
    """
    from rich.text import Text

    from escli.app.stats import stats as summarise
    from escli.cli.render import columns
    from escli.errors import UsageError

    try:
        views = app.views(views_url)
    except UsageError:  # a store that keeps no rows (EventStoreDB without --views)
        views = None
    found = summarise(app.store, app.registry, views)
    if app.json:
        app.print_json(_json(found))
        return
    bold = "bold"
    lines: list[Any] = [
        Text.assemble(
            ("streams ", bold), f"{found.streams:,}", ("   events ", bold), f"{found.events:,}"
        )
    ]
    if found.versions:
        lines.append(Text("by type and version", style=bold))
        lines.append(
            columns([[v.event_type, f"v{v.type_version}", f"{v.events:,}"] for v in found.versions])
        )
    if found.longest:
        lines.append(Text("longest streams", style=bold))
        lines.append(columns([[i.stream, f"{i.generation:,}"] for i in found.longest]))
    if found.per_day:
        lines.append(Text("events per day", style=bold))
        lines.append(columns([[day or "?", f"{n:,}"] for day, n in found.per_day]))
    snapshots = ", ".join(f"{n} {state}" for state, n in sorted(found.snapshots.items()))
    lines.append(Text.assemble(("snapshots ", bold), snapshots or "none"))
    for p in found.projections:
        lines.append(
            Text.assemble(
                ("projection ", bold), f"{p.name}  {p.state}, lag {p.lag:,}, {p.rows:,} rows"
            )
        )
    app.print_paged(Text("\n").join(lines), sum(str(x).count("\n") + 1 for x in lines))


def _json(found: Any) -> dict[str, Any]:
    return {
        "streams": found.streams,
        "events": found.events,
        "versions": [
            {
                "domain": v.domain,
                "type": v.event_type,
                "version": v.type_version,
                "events": v.events,
            }
            for v in found.versions
        ],
        "longest": [{"stream": i.stream, "generation": i.generation} for i in found.longest],
        "per_day": [{"day": day, "events": n} for day, n in found.per_day],
        "snapshots": found.snapshots,
        "projections": [
            {"projection": p.name, "state": p.state, "lag": p.lag, "rows": p.rows}
            for p in found.projections
        ],
    }
