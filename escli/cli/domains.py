from __future__ import annotations

import click

from escli.cli.app import App, common_options, pass_app
from escli.cli.complete import complete_domains


@click.command()
@click.argument("domain_name", metavar="[DOMAIN]", required=False, shell_complete=complete_domains)
@common_options
@pass_app
def domains(app: App, domain_name: str | None) -> None:
    """List the domains escli can load, or show one: its commands, events and state.

    When a domain fails to load, the list shows the others and the error follows (exit
    11); with --json, stdout stays empty, so that a program never takes a part for all.

    \b
    Example:
      escli domains
      escli domains combat
    """
    from escli.cli.render_domains import domain_json, domain_view, domains_view

    if domain_name is None:
        found = app.registry.load_all()
        if app.json:
            if not found.failures:
                app.print_json([domain_json(d) for d in found.domains])
        else:
            app.print(domains_view(found.domains))
        for path in found.helpers:
            app.note(f"{path}: no `domain` in it, skipped (a helper module for its siblings)")
        for failed in found.failures[1:]:
            app.note(f"also failed: {failed}")
        if found.failures:
            raise found.failures[0]
        return
    domain = app.registry.get(domain_name)
    if app.json:
        app.print_json(domain_json(domain))
    else:
        app.print_lines(domain_view(domain))
