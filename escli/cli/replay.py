from __future__ import annotations

from itertools import chain
from typing import TYPE_CHECKING

import click

from escli.cli.app import App, common_options, pass_app
from escli.cli.params import Generation

if TYPE_CHECKING:
    from escli.event_files import FileStream
    from escli.stores.base import Store


@click.command()
@click.argument("stream", required=False)
@click.option("--to-generation", type=Generation(0), metavar="N", help="Stop after generation N.")
@click.option("--steps", is_flag=True, help="Show every transition: event, generation, changes.")
@click.option(
    "--file",
    metavar="FILE",
    help="Fold a CloudEvents file (JSON Lines, batch or one event; - for stdin) instead of "
    "the store. STREAM is needed only when the file holds several.",
)
@common_options
@pass_app
def replay(
    app: App, stream: str | None, to_generation: int | None, steps: bool, file: str | None
) -> None:
    """Fold a stream's events into its state.

    The stream's domain is the part of its name before the first '-'.

    \b
    Example:
      escli replay combat-ogre
      escli replay combat-ogre --steps --to-generation 3
      escli replay --file sample_streams/combat-ogre.jsonl
    """
    from rich.text import Text

    from escli.cli.render import state_json, state_view, step_json, step_view
    from escli.replay import fold
    from escli.replay import steps as walk

    events: Store | FileStream
    store: Store | None = None
    if file is not None:
        from escli.event_files import stream_from_file

        stream, events = stream_from_file(file, app.registry, stream)
    elif stream is None:
        raise click.UsageError("Missing argument 'STREAM'.", click.get_current_context())
    else:
        events = store = app.store
    domain = app.registry.for_stream(stream)
    if not steps:
        state = fold(domain, stream, events.read_data(stream, to_generation=to_generation))
        if state.generation == 0:
            _check_found(store, stream, to_generation)
        _note_end(app, stream, state.generation, to_generation)
        if app.json:
            app.print_json(state_json(stream, state))
        else:
            app.print_lines(state_view(stream, state))
        return
    walked = walk(domain, stream, events.read(stream, to_generation=to_generation))
    first = next(walked, None)
    if first is None:
        _check_found(store, stream, to_generation)
    applied = walked if first is None else chain([first], walked)
    state = domain.initial_state(stream)
    if app.json:
        shown = []
        for step in applied:
            shown.append(step_json(step))
            state = step.after
        _note_end(app, stream, state.generation, to_generation)
        app.print_json({**state_json(stream, state), "steps": shown})
        return
    app.print_lines([Text.assemble((stream, "bold"), "  from generation 0")])
    for step in applied:
        app.print_lines(step_view(step))
        state = step.after
    _note_end(app, stream, state.generation, to_generation)
    app.print_lines(state_view(stream, state))


def _check_found(store: Store | None, stream: str, to_generation: int | None) -> None:
    """A replay that read nothing: of a stream the store does not hold, it is not found (a
    typo must not look like a new entity). Only here is the store asked anything more (a
    file's stream was found when the file was read)."""
    # Only --to-generation 0 reads nothing of a stream that exists.
    if store is not None and (to_generation != 0 or store.generation(stream) == 0):
        from escli.suggest import stream_not_found

        raise stream_not_found(store, stream)


def _note_end(app: App, stream: str, reached: int, to_generation: int | None) -> None:
    """--to-generation past the end: the replay stopped at the end, and says so (the JSON
    output's generation says it to a machine)."""
    if to_generation is not None and reached < to_generation and not app.json:
        app.note(f"{stream} ends at generation {reached}, before --to-generation {to_generation}")
