from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from escli.cli.app import App, common_options, pass_app, snapshot_options
from escli.cli.complete import complete_files, complete_streams
from escli.cli.params import Generation

if TYPE_CHECKING:
    from escli.cloudevents.files import FileStream
    from escli.stores.base import Store


@click.command()
@click.argument("stream", required=False, shell_complete=complete_streams)
@click.option("--to-generation", type=Generation(0), metavar="N", help="Stop after generation N.")
@click.option("--steps", is_flag=True, help="Show every transition: event, generation, changes.")
@click.option(
    "--file",
    metavar="FILE",
    shell_complete=complete_files,
    help="Fold a CloudEvents file (JSON Lines, batch or one event; - for stdin) instead of "
    "the store. STREAM is needed only when the file holds several.",
)
@snapshot_options
@common_options
@pass_app
def replay(
    app: App,
    stream: str | None,
    to_generation: int | None,
    steps: bool,
    file: str | None,
    no_snapshots: bool,
    snapshot_every: int | None,
) -> None:
    """Fold a stream's events into its state.

    The stream's domain is the part of its name before the first '-'. The fold starts
    from the stream's newest snapshot at or below --to-generation that the domain's code
    made as it is now (see 'escli snapshots'); --steps and --file read every event.

    \b
    Example:
      escli replay combat-ogre
      escli replay combat-ogre --steps --to-generation 3
      escli replay --file sample_streams/combat-ogre.jsonl
    """
    from rich.text import Text

    from escli.app.fold import ends_early, replay_state, replay_steps
    from escli.app.snapshots import replay_stored
    from escli.cli.render import state_json, state_view, step_json, step_view

    events: Store | FileStream
    store: Store | None = None
    if file is not None:
        from escli.cloudevents.files import stream_from_file

        stream, events = stream_from_file(file, app.registry, stream)
    elif stream is None:
        raise click.UsageError("Missing argument 'STREAM'.", click.get_current_context())
    else:
        events = store = app.store
    domain = app.registry.for_stream(stream)
    shown: list[dict[str, Any]] = []  # the steps, for --json
    if not steps and store is not None:
        # From the newest snapshot at or below --to-generation; --steps reads every event
        # (it shows every transition), and a file has no snapshots.
        policy = app.snapshot_policy(
            use=not no_snapshots, every=0 if no_snapshots else snapshot_every
        )
        folded = replay_stored(domain, stream, store, to_generation, policy=policy)
        app.detail(folded.summary(stream))
        state = folded.state
    elif not steps:
        state = replay_state(domain, stream, events, to_generation, store=store)
    else:
        walked = replay_steps(domain, stream, events, to_generation, store=store)
        state = domain.initial_state(stream)
        if not app.json:
            app.print_lines([Text.assemble((stream, "bold"), "  from generation 0")])
        for step in walked:
            if app.json:
                shown.append(step_json(step))
            else:
                app.print_lines(step_view(step))
            state = step.after
    note = ends_early(stream, state.generation, to_generation)
    if note is not None and not app.json:
        app.note(note)
    if app.json:
        app.print_json({**state_json(stream, state), **({"steps": shown} if steps else {})})
    else:
        app.print_lines(state_view(stream, state))
