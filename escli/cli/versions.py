from __future__ import annotations

import click

from escli.cli.app import App, common_options, pass_app
from escli.cli.complete import complete_domains


@click.command()
@click.argument("domain_names", metavar="[DOMAIN]...", nargs=-1, shell_complete=complete_domains)
@click.option("--check", is_flag=True, help="Exit 11 if any stored event cannot be read.")
@common_options
@pass_app
def versions(app: App, domain_names: tuple[str, ...], check: bool) -> None:
    """Show which event versions the store holds and how each domain reads them.

    Per domain (every one escli loads or the store's streams name, or each DOMAIN), each
    stored event type and version with its count and status: current (its class), kept
    (an older class the domain keeps), upcast (read through the upcasters shown), unknown
    (no class and no upcaster, or no such domain: replay fails) or unused (an upcaster no
    stored event needs: it can be retired). The store does the counting.

    Exit 0 even when some versions are unknown; with --check, exit 11 then (for CI).
    A domain that fails to load is left out and its error follows (exit 11).

    \b
    --json prints one object:
      {"store": URL, "unknown_events": N, "unused_upcasters": N,
       "domains": [{"domain": NAME, "known": BOOL,
         "versions": [{"type": T, "version": V, "events": N, "status": S,
           "upcasters": [{"function": F, "from": {"type": T, "version": V},
                          "to": {"type": T, "version": V}}]}]}]}

    \b
    Example:
      escli versions
      escli versions combat --check
    """
    from escli.app.versions import survey_versions
    from escli.cli.render_domains import versions_json, versions_notes, versions_view

    found = survey_versions(app.store, app.registry, domain_names)
    if app.json:
        if not found.failures:
            app.print_json(versions_json(found, app.store.url))
    elif any(d.versions for d in found.domains):
        app.print(versions_view(found))
        for note in versions_notes(found, check=check):
            app.note(note)
    else:
        app.note(f"no events in {app.store.url}")
    for failed in found.failures[1:]:
        app.note(f"also failed: {failed}")
    if found.failures:
        raise found.failures[0]
    if check:
        found.check()
