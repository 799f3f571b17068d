from __future__ import annotations

import click

from escli.cli.app import App, common_options, inline_views_option, pass_app
from escli.cli.complete import complete_files
from escli.cli.why import why_of, why_options


@click.command()
@click.argument("files", metavar="FILE...", nargs=-1, required=True, shell_complete=complete_files)
@click.option("--keep-going", is_flag=True, help="Run every step even after one fails.")
@click.option(
    "--retry",
    metavar="N",
    type=click.IntRange(min=0),
    default=0,
    help="Retry a step up to N times when its stream moved meanwhile (as dispatch --retry).",
)
@click.option(
    "--project",
    "projection_names",
    metavar="NAME",
    multiple=True,
    help="Update projection NAME in each command's own transaction, as dispatch --project "
    "(repeatable). Default: the project file's projections.",
)
@inline_views_option
@why_options
@common_options
@pass_app
def run(
    app: App,
    files: tuple[str, ...],
    keep_going: bool,
    retry: int,
    projection_names: tuple[str, ...],
    views_url: str | None,
    causation_id: str | None,
    correlation_id: str | None,
    meta: tuple[str, ...],
) -> None:
    """Run command scripts: YAML steps with expectations, or one command per line.

    FILE may be - for stdin. Every file is checked in full (keys, domains, commands, field
    types, expected event types) before the first step runs. A step that fails its
    expectation, or a command that is rejected without an expected error, stops the run
    (unless --keep-going) and sets the exit code. The store is --store if given, else the
    script's store:, else the default. Every command of a script shares one correlation id
    (--correlation-id, else the first command's causation id), kept in its events' metadata.
    Each command updates the projections (--project, else the project file's) in its own
    transaction, as a dispatch does.

    \b
    Example:
      escli run sample_streams/combat-demo.yaml
      printf 'combat attack ogre 150\\ncombat heal ogre 50\\n' | escli run -
    """
    from escli.cli.render import script_step_json, script_step_view, script_summary
    from escli.scripts.loading import load_script
    from escli.scripts.running import failure, run_script

    if causation_id is not None and len(files) > 1:
        # It is the id of one command, each script's first: two would share it.
        raise click.UsageError(
            f"--causation-id names one command, a script's first: give it one FILE, not "
            f"{len(files)}"
        )
    why = why_of(causation_id, correlation_id, meta)
    scripts = [load_script(app.read_text(f), f, app.registry) for f in files]
    # Every script's projections chosen before the first step runs, as its file is checked.
    stores = [app.store_for(script.store_url) for script in scripts]
    inline = [app.inline_projections(projection_names, views_url, store) for store in stores]
    policy = app.snapshot_policy()  # the project's snapshot-every, as dispatch's default
    passed, errors = 0, []
    for script, store, projections in zip(scripts, stores, inline, strict=True):
        steps = run_script(
            script,
            store,
            keep_going=keep_going,
            retry=retry,
            projections=projections,
            snapshots=policy,
            why=why,
        )
        for number, outcome in enumerate(steps, 1):
            if app.json:
                app.print_json(script_step_json(number, outcome))
            else:
                app.print_lines(script_step_view(number, outcome))
            if outcome.ok:
                passed += 1
            else:
                errors.append(failure(outcome, number))
        if errors and not keep_going:
            break
    if app.json:
        app.print_json({"summary": {"passed": passed, "failed": len(errors)}})
    else:
        app.print_lines([script_summary(passed, len(errors))])
    if errors:
        raise errors[0]
