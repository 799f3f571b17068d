from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import click

from escli.cli.app import App, common_options, pass_app
from escli.cli.complete import complete_streams, complete_targets
from escli.cli.params import Generation

if TYPE_CHECKING:
    from escli.app.delivery import Published, TargetFailed


@click.command()
@click.argument("streams", metavar="[STREAM...]", nargs=-1, shell_complete=complete_streams)
@click.option(
    "--to",
    "target",
    metavar="URL",
    help="The target to send to (with --pending: default every target something is pending "
    "for, each on its own).",
    shell_complete=complete_targets,
)
@click.option("--all", "every", is_flag=True, help="Every stream in the store.")
@click.option(
    "--from-generation",
    type=Generation(1),
    default=1,
    metavar="N",
    help="Start at generation N of each stream.",
)
@click.option(
    "--pending",
    is_flag=True,
    help="Send exactly what earlier dispatches failed to deliver to the target, and clear it.",
)
@common_options
@pass_app
def publish(
    app: App,
    streams: tuple[str, ...],
    target: str | None,
    every: bool,
    from_generation: int,
    pending: bool,
) -> None:
    """Send stored events to a target again: a stream's range, every stream, or what is
    pending.

    Safe to repeat for targets that deduplicate by event id (stores, NATS JetStream). A
    target that lacks the stream's earlier events gets those first, so it holds the stream in
    order; a NATS subject that cannot take the events in order is refused. What arrives is
    cleared from the pending list; a failure stops the command with the target's error and
    leaves the rest pending. A target that can tell (NATS) reports how many events it newly
    stored. Each line names its target.

    --pending without --to tries every target on its own: one that fails gets a FAILED line
    and the others still get their events; exit code 9 if any failed (a single target: its
    own error, as with --to). A pending delivery records its target's URL with the password
    masked: such a target is tried without one, never with '***' (PostgreSQL then takes
    PGPASSWORD or ~/.pgpass, as libpq does); give --to URL with the password if it refuses.

    \b
    Example:
      escli publish --pending
      escli publish --pending --to sqlite:///mirror.db
      escli publish combat-ogre --to sqlite:///mirror.db --from-generation 3
    """
    from escli.app import delivery
    from escli.cli.render import published_json, published_view
    from escli.errors import UsageError

    if pending == bool(streams or every) or (streams and every):
        raise UsageError("name STREAM..., or --all, or --pending (one of them)")
    if target is None and not pending:
        raise UsageError("publish: --to URL names the target (only --pending has a default)")
    store = app.store
    missing = [name for name in streams if store.generation(name) == 0]
    if missing:  # a typo would else be "0 events sent"
        from escli.suggest import stream_not_found

        raise stream_not_found(store, missing[0])
    sent: Iterable[Published | TargetFailed]
    if target is None:  # every target something is pending for, each on its own
        targets = delivery.pending_targets(store)
        sent = delivery.publish_each_pending(store, targets, app.open_pending_target)
    else:
        [sink] = app.open_targets([target])
        targets = [sink.url]
        if pending:
            sent = delivery.publish_pending(store, sink)
        else:
            names = [s.stream for s in store.streams()] if every else list(streams)
            sent = (delivery.publish(store, sink, name, from_generation) for name in names)
    done = []
    for item in sent:
        done.append(item)
        if not app.json:
            app.print_lines([published_view(item)])
    if app.json:
        app.print_json([published_json(item) for item in done])
    elif not done:
        shown = targets[0] if target is not None else "any target"
        app.note(f"nothing {'pending' if pending else 'to send'} for {shown}")
    failed = [item for item in done if isinstance(item, delivery.TargetFailed)]
    if failed:
        raise delivery.still_pending(failed, len(targets))
