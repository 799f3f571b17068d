"""``escli follow nats://...``: print the escli events on a NATS JetStream subject as they
arrive. The reading is ``escli.jetstream.follow.Follower``; this module only prints.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.text import Text

    from escli.cli.app import App
    from escli.jetstream.follow import Followed


def follow_nats(app: App, url: str, subject: str | None, new: bool, limit: int | None) -> None:
    """``escli follow nats://...``: the escli events published to NATS JetStream, as they
    arrive, until Ctrl-C or ``limit``."""
    from escli.jetstream.follow import Follower

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
