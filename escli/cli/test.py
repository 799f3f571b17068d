from __future__ import annotations

import click

from escli.cli.app import App, common_options, pass_app
from escli.cli.complete import complete_files


@click.command()
@click.argument("paths", metavar="PATH...", nargs=-1, required=True, shell_complete=complete_files)
@common_options
@pass_app
def test(app: App, paths: tuple[str, ...]) -> None:
    """Run given/when/then scenario files and report each scenario.

    A PATH is a scenario file or a folder searched for them (*.yaml, *.yml files with a
    top-level scenarios: list). Each scenario seeds its given events in an isolated
    in-memory store (unless it names a store, or --store is given on the command line),
    handles its when command and compares the outcome with then; one that names a
    projection (project: combat.roster) compares the rows its events make, projected in
    memory, with then_rows, the whole view. In a named store each
    scenario's streams are its own (prefixed escli-test.<random>.), so runs never meet,
    and are rolled back at its end; a store without transactions (EventStoreDB) keeps
    them, and a note on stderr says so.
    Ends with 'N passed, M failed'; the exit code is 10 if any failed.

    \b
    Example:
      escli test sample_streams/
    """
    from escli.cli.render import scenario_json, scenario_view
    from escli.errors import ExpectationFailed
    from escli.scripts.loading import load_scenarios
    from escli.scripts.locations import find_scenario_files
    from escli.scripts.running import kept_streams_note, run_scenario
    from escli.stores import open_store

    files = find_scenario_files(paths)
    scenarios = [s for f in files for s in load_scenarios(app.read_text(f), f, app.registry)]
    failed = 0
    kept: list[str] = []
    for scenario in scenarios:
        outcome = run_scenario(
            scenario, open_store, app.store_url if app.store_from_command_line else "memory:"
        )
        failed += not outcome.ok
        if outcome.kept_prefix is not None:
            kept.append(outcome.kept_prefix)
        if app.json:
            app.print_json(scenario_json(outcome))
        else:
            app.print_lines(scenario_view(outcome))
    summary = f"{len(scenarios) - failed} passed, {failed} failed"
    if app.json:
        app.print_json({"summary": {"passed": len(scenarios) - failed, "failed": failed}})
    else:
        app.print_lines([summary])
    if kept:
        app.note(kept_streams_note(kept))
    if failed:
        raise ExpectationFailed(f"{failed} of {len(scenarios)} scenarios failed")
