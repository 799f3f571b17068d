"""``escli export`` and ``escli import``: a store's events to and from CloudEvents files."""

from __future__ import annotations

import click

from escli.cli.app import App, common_options, pass_app
from escli.cli.complete import complete_files, complete_streams
from escli.cli.params import output_path


@click.command()
@click.argument("streams", metavar="[STREAM...]", nargs=-1, shell_complete=complete_streams)
@click.option("--all", "everything", is_flag=True, help="Export every stream, in store order.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["jsonl", "batch", "event"]),
    default="jsonl",
    show_default=True,
    help="JSON Lines (one event per line), a batch (one JSON array), or one event.",
)
@click.option(
    "-o",
    "--output",
    metavar="FILE",
    shell_complete=complete_files,
    callback=output_path,
    help="Write to FILE, not stdout: a file appears whole or not at all (keeping its mode; "
    "a symlink's target is written); a FIFO or device is written straight.",
)
@click.option(
    "--upcast",
    is_flag=True,
    help="Write each event at its current version, through its domain's upcasters.",
)
@common_options
@pass_app
def export(
    app: App,
    streams: tuple[str, ...],
    everything: bool,
    fmt: str,
    output: str | None,
    upcast: bool,
) -> None:
    """Write streams as CloudEvents 1.0 in JSON (structured mode).

    Each event keeps its id, source, type and time; subject is its stream, and the
    extensions typeversion and generation carry the rest. --format event needs exactly one
    event. With -o FILE, --json prints what was written as one JSON object.

    With --upcast, an event stored at an old version is written as its domain reads it now:
    the current type, version and data, the same id, generation, time and source (the store
    is not changed). A stream of an unknown domain, or an event with neither a class nor an
    upcaster, is an error, and -o FILE does not appear.

    \b
    Example:
      escli export combat-ogre -o ogre.jsonl
      escli export --all --format batch > everything.json
      escli export --all --upcast -o current.jsonl
    """
    from escli.cli.progress import EventProgress
    from escli.cli.render import counted
    from escli.cloudevents.files import FORMAT_NAMES, export_events, export_to, selected_records

    if app.json and output in (None, "-"):
        from escli.errors import UsageError

        raise UsageError(
            "export --json prints a summary on stdout, which holds the events without -o; "
            "add -o FILE"
        )
    current = None
    if upcast:
        from escli.stores.current import CurrentRecords

        current = CurrentRecords(app.registry)
    records, total = selected_records(app.store, streams, everything=everything, current=current)
    progress = EventProgress(app.err)
    progress.start("exporting", total)
    with export_to(output) as out:
        count = export_events(records, out, fmt, progress=progress)
    progress.finish()
    upcasts = {} if current is None else {"upcast": current.upcast}
    if app.json:
        app.print_json({"file": output, "format": fmt, "events": count, **upcasts})
        return
    where = "" if output in (None, "-") else f" to {output}"
    upcast_note = "" if current is None else f", {current.upcast} of them upcast"
    app.note(f"exported {counted(count, 'event')} ({FORMAT_NAMES[fmt]}){where}{upcast_note}")


@click.command("import")
@click.argument("file", metavar="FILE|-", shell_complete=complete_files)
@click.option(
    "--skip-unknown",
    is_flag=True,
    help="Skip events whose domain or type version is not loaded, instead of failing.",
)
@click.option("--dry-run", is_flag=True, help="Check everything; write nothing.")
@click.option(
    "--append",
    is_flag=True,
    help="Take CloudEvents escli did not write: events without a generation go at the end "
    "of their stream, without a time at the time of the import; ids already stored are "
    "skipped.",
)
@click.option(
    "--stream",
    "stream_template",
    metavar="TEMPLATE",
    help="With --append: the stream from attributes, e.g. 'combat-{subject}' (default: subject).",
)
@common_options
@pass_app
def import_(
    app: App, file: str, skip_unknown: bool, dry_run: bool, append: bool,
    stream_template: str | None,
) -> None:  # fmt: skip
    """Append the events of a CloudEvents file to their streams, keeping ids and times.

    FILE is JSON Lines, a batch (JSON array) or one event; '-' reads stdin. Every event is
    checked first (CloudEvents rules, a known type, data that fits its class, generations
    that continue each stream); events already stored are skipped, so importing a file twice
    writes nothing the second time. The import is all or nothing (one transaction on SQLite
    and PostgreSQL). More than a few streams are summarised; --json lists them all.

    With --append, events from other producers are taken too: the stream is the subject
    (or --stream's template), the type version is typeversion, else a dataschema ending
    in /v2.0 or /2.0, else the type's current version; an event without a generation goes
    at the end of its stream, one without a time is recorded at the time of the import.
    Importing such a file twice writes nothing the second time.

    \b
    Example:
      escli import ogre.jsonl
      escli import alerts.json --append --stream 'combat-{subject}'
      escli export --all | escli import - --store sqlite:///copy.db
    """
    from escli.cli.progress import EventProgress
    from escli.cli.render import import_json, import_view
    from escli.cloudevents.foreign import foreign_template
    from escli.cloudevents.importing import import_file
    from escli.errors import UsageError

    if stream_template is not None and not append:
        raise UsageError("--stream names streams of events from other producers: add --append")

    result = import_file(
        file,
        app.registry,
        app.store,
        skip_unknown=skip_unknown,
        dry_run=dry_run,
        progress=EventProgress(app.err),
        foreign=foreign_template(stream_template) if append else None,
    )
    if app.json:
        app.print_json(import_json(result))
    else:
        app.print_lines(import_view(result))
