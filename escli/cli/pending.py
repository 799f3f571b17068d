"""``escli pending``: what each ``--to`` target still lacks, from the store's outbox."""

from __future__ import annotations

import click

from escli.cli.app import App, common_options, pass_app
from escli.cli.complete import complete_targets


@click.command()
@click.option(
    "--to",
    "target",
    metavar="URL",
    shell_complete=complete_targets,
    help="Only this target, named as 'publish --to' names it (password or masked, any spelling "
    "of a SQLite path).",
)
@common_options
@pass_app
def pending(app: App, target: str | None) -> None:
    """List what each target still lacks: target, stream, generations, since when.

    A dispatch with --to records its events as pending for each target, in its own write,
    until they arrive; 'escli publish --pending' sends them (to every target, or --to one).

    \b
    Example:
      escli pending
      escli pending --to sqlite:///mirror.db --json
    """
    from rich.text import Text

    from escli.app.delivery import lacking
    from escli.cli.render import columns
    from escli.cli.shorten import short_time

    if target is not None:  # named as publish names it: normalised, masked, checked
        [sink] = app.open_targets([target])
        target = sink.url
    found = lacking(app.store, target)
    if app.json:
        app.print_json(
            [
                {
                    "target": p.target,
                    "stream": p.stream,
                    "from_generation": p.from_generation,
                    "to_generation": p.to_generation,
                    "since": p.since or None,
                }
                for p in found
            ]
        )
        return
    if not found:
        app.note(f"nothing pending{f' for {target}' if target else ''} in {app.store.url}")
        return
    rows: list[list[str | Text]] = [
        [Text(n, style="bold") for n in ("target", "stream", "generations", "since")]
    ]
    for p in found:
        since = short_time(p.since).rstrip() if p.since else "?"
        rows.append([p.target, p.stream, f"{p.from_generation}..{p.to_generation}", since])
    app.print_paged(columns(rows, indent=0), len(rows))
