"""``escli follow-nats``: print the escli events on a NATS JetStream subject as they arrive.

Kept apart from a store's ``follow`` on purpose (one module, one command); the reading is
``escli.sinks.nats.Follower``, this module only parses and prints.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from escli.cli.app import App, common_options, pass_app

if TYPE_CHECKING:
    from rich.text import Text

    from escli.sinks.nats import Followed


@click.command("follow-nats")
@click.argument("url", metavar="URL")
@click.option(
    "--subject",
    metavar="SUBJECT",
    help="The subject to follow (wildcards * and > allowed). Default: every subject the URL's "
    "template makes (events.> by default).",
)
@click.option(
    "--new",
    is_flag=True,
    help="Only events published from now on. Default: every event the JetStream stream "
    "holds on the subject, then new ones.",
)
@click.option("--limit", type=click.IntRange(min=1), metavar="N", help="Stop after N events.")
@common_options
@pass_app
def follow_nats(app: App, url: str, subject: str | None, new: bool, limit: int | None) -> None:
    """Print the escli events published to NATS JetStream as they arrive, until Ctrl-C.

    URL is a nats:// target URL (its stream= names the JetStream stream). Events are decoded
    through the loaded domains and shown one line each (stream, generation, type, data), or,
    with --json, as the CloudEvents themselves, one JSON object a line.

    \b
    Example:
      escli follow-nats nats://127.0.0.1:4222
      escli follow-nats 'nats://127.0.0.1:4222?stream=GAME' --subject 'events.combat.>' --new
    """
    from escli.sinks.nats import Follower

    count = 0
    with Follower(url, app.registry, subject=subject, new=new) as follower:
        try:
            follower.open()
            app.note(
                f"following {follower.subject} in JetStream stream {follower.stream} at "
                f"{follower.address}"
            )
            for event in follower:
                if app.json:
                    app.print_json(event.cloud_event)
                    sys.stdout.flush()
                else:
                    app.print_lines([followed_line(event)])
                count += 1
                if count == limit:
                    break
        except KeyboardInterrupt:
            app.note(f"stopped after {count} event{'' if count == 1 else 's'}")


def followed_line(event: Followed) -> Text:
    from rich.text import Text

    from escli.cli.render import event_line

    return Text.assemble(
        (event.stream, "bold"),
        event_line(event.generation, event.event_type, event.type_version, event.data),
    )
