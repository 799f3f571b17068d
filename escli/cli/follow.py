from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from escli.cli.app import App, common_options, pass_app
from escli.cli.complete import complete_streams
from escli.cli.params import Generation

if TYPE_CHECKING:
    from escli.app.follow import FollowedStep


@click.command()
@click.argument("stream", required=False, shell_complete=complete_streams)
@click.option("--all", "every_stream", is_flag=True, help="Follow every stream instead of one.")
@click.option(
    "--from-generation",
    type=Generation(1),
    metavar="N",
    help="Start at generation N of STREAM (default: 1, the whole stream).",
)
@click.option("--limit", type=click.IntRange(min=1), metavar="N", help="Stop after N events.")
@click.option(
    "--subject",
    metavar="SUBJECT",
    help="With a nats:// URL: the subject to follow (wildcards * and > allowed). Default: "
    "every subject the URL's template makes (events.> by default).",
)
@click.option(
    "--new",
    is_flag=True,
    help="Only events from now on: with a STREAM, those appended after its current end (its "
    "state so far is folded from its newest snapshot); with a nats:// URL, those published "
    "from now on (default: every event the JetStream stream holds, then new ones).",
)
@click.option(
    "--no-snapshots",
    is_flag=True,
    help="Fold a stream joined midway from generation 0, not from its newest snapshot.",
)
@common_options
@pass_app
def follow(
    app: App,
    stream: str | None,
    every_stream: bool,
    from_generation: int | None,
    limit: int | None,
    subject: str | None,
    new: bool,
    no_snapshots: bool,
) -> None:
    """Print a stream's events, then each new one as it is appended, until Ctrl-C.

    STREAM may also be a nats:// URL: then the escli events published to that NATS JetStream
    (see --subject, --new) are decoded through the loaded domains and printed as they arrive;
    --json prints the CloudEvents themselves.

    A catch-up subscription: the events already stored come first, then new ones live.
    When the stream's domain is known, each event is applied to the state and the changed
    fields are shown (as replay --steps does); --json prints one JSON object per line.
    Ctrl-C stops following and exits 0, like --limit.

    \b
    Example:
      escli follow combat-ogre
      escli follow combat-ogre --from-generation 3 --limit 1 --json
      escli follow combat-ogre --new
      escli follow --all --store esdb://127.0.0.1:2113?Tls=false
      escli follow nats://127.0.0.1:4222 --subject 'events.combat.>' --new
    """
    import contextlib
    import sys

    from escli.app.follow import check_stream, known_domains
    from escli.app.follow import follow as run
    from escli.errors import UsageError

    if stream is not None and stream[: len("nats://")].lower() == "nats://":
        if every_stream or from_generation is not None:
            raise UsageError("follow: --all and --from-generation are for stores, not nats://")
        from escli.cli.follow_nats import follow_nats

        follow_nats(app, stream, subject, new, limit)
        return
    if subject is not None:
        raise UsageError("follow: --subject needs a nats:// URL")
    if (stream is None) is not every_stream:
        raise UsageError(
            "follow: give a STREAM or --all, not both"
            if stream is not None
            else "follow: give a STREAM to follow, or --all"
        )
    if every_stream and (from_generation is not None or new):
        given = "--from-generation" if from_generation is not None else "--new"
        raise UsageError(f"follow: {given} needs a STREAM")
    if new and from_generation is not None:
        raise UsageError("follow: give --new or --from-generation, not both")
    if stream is not None:
        check_stream(app.store, app.registry.for_stream, stream)
        if new:
            from_generation = app.store.generation(stream) + 1
    if not app.json:
        app.note(f"following {stream or 'every stream'} in {app.store.url} (Ctrl-C to stop)")
    followed = run(
        app.store,
        known_domains(app.registry.for_stream),
        stream,
        from_generation=from_generation or 1,
        limit=limit,
        snapshots=app.snapshot_policy(use=not no_snapshots),
    )
    try:
        with contextlib.closing(followed):
            for item in followed:
                if app.json:
                    app.print_json(_followed_json(item))
                    sys.stdout.flush()  # a reader (jq, a pipe) sees each event as it comes
                else:
                    app.print_lines(_followed_view(item, every_stream))
    except KeyboardInterrupt:
        pass  # the usual way to stop following: not an error


def _followed_json(item: FollowedStep) -> dict[str, Any]:
    from escli.cli.render import recorded_json, step_json, upcast_json

    step = item.step
    changed = None if step.before is None else step_json(step)["changed"]
    shown = {**recorded_json(step.recorded), "changed": changed, "problem": item.problem}
    upcast = upcast_json(step)
    if upcast is not None:  # an old version, read through the domain's upcasters
        shown["upcast"] = upcast
    return shown


def _followed_view(item: FollowedStep, with_stream: bool) -> list[Any]:
    from rich.text import Text

    from escli.cli.render import event_line, step_view

    step = item.step
    r = step.recorded
    lines: list[Any] = (
        list(step_view(step))
        if step.before is not None
        else [event_line(r.generation, r.event_type, r.type_version, r.data, r)]
    )
    if item.problem:
        lines.append(Text(f"       {item.problem}", style="red"))
    if with_stream:
        # The stream's name in front of the event line; the lines below indented to match.
        pad = " " * (len(r.stream) + 1)
        below = [
            part
            for line in lines[1:]
            for part in (line if isinstance(line, Text) else Text(line)).split("\n")
        ]
        lines = [
            Text.assemble((r.stream, "bold"), " ", lines[0]),
            *(Text.assemble(pad, part) for part in below),
        ]
    return lines
