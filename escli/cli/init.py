from __future__ import annotations

import click

from escli.cli.app import App, common_options, pass_app


@click.command()
@click.option(
    "--project/--no-project",
    default=None,
    help="Write a project file here (escli.toml, or a [tool.escli] table in an existing "
    "pyproject.toml) naming the store and the domains folder. Asked on a terminal when "
    "no project file is found; done with --domain when there is none.",
)
@click.option(
    "--domain",
    "domain_names",
    metavar="NAME",
    multiple=True,
    help="Scaffold a new domain: domains/NAME.py, scenarios/NAME.yaml and "
    "tests/test_NAME.py, which pass `escli test` and pytest as written; repeatable.",
)
@common_options
@pass_app
def init(app: App, project: bool | None, domain_names: tuple[str, ...]) -> None:
    """Set up a project here: the store's schema, a project file, new domains.

    Creates the store's schema if it is missing (safe to run again; stores also create it
    on the first write, `init` does it ahead of time, for instance before handing a
    PostgreSQL schema to several writers). With --project, or --domain, writes the project
    file that every escli command run in this folder or below then reads.

    \b
    Example:
      escli init --domain bank
      escli init --project --store postgresql://postgres@localhost/test?schema=escli
    """
    import os

    from escli.app.project import DEFAULT_STORE_IN_PROJECT, planned_project
    from escli.app.scaffold import planned_scaffold, write_scaffold
    from escli.stores import init_store

    here = os.getcwd()
    if project is None:
        if domain_names:
            project = app.project is None
        elif app.project is None and _interactive() and not app.json:
            project = click.confirm(
                "Write a project file (escli.toml) here, so that escli finds this store "
                "and these domains from any folder below?",
                default=True,
                err=True,
            )
    # Everything is checked before the first file is written: the names and files of the
    # new domains, the project file, and the store's URL (opening a store writes nothing).
    files = planned_scaffold(here, list(domain_names))
    planned = None
    if project:
        store = app.store_url if app.store_source in ("option", "environment") else None
        has_domains = bool(domain_names) or os.path.isdir(os.path.join(here, "domains"))
        planned = planned_project(
            here,
            store or f"sqlite:///{DEFAULT_STORE_IN_PROJECT}",
            ["domains"] if has_domains else [],
            [],
        )
    target = app.store
    scaffolds = write_scaffold(files)
    written = None
    if planned is not None:
        written, text, mode = planned
        with open(written, mode, encoding="utf-8", newline="") as f:
            f.write(text)
    created = init_store(target)
    if app.json:
        app.print_json(
            {
                "store": app.store.url,
                "created": bool(created),
                "schema": created is not None,
                "project": written,
                "scaffolded": {n: s.paths for n, s in zip(domain_names, scaffolds, strict=True)},
            }
        )
        return
    if written is not None:
        app.note(f"wrote {os.path.relpath(written)}: escli reads it from this folder and below")
    for name, scaffold in zip(domain_names, scaffolds, strict=True):
        app.note(
            f"wrote {', '.join(os.path.relpath(p) for p in scaffold.paths)}; try: escli dispatch "
            f'{name} create first "The first one", escli test scenarios/, pytest tests/'
        )
    folder = os.path.join(here, "domains")
    if domain_names and app.project is not None and folder not in app.project.domains:
        app.note(f"{app.project.path} does not name {folder}: add it to its domains list")
    if created is None:
        app.note(f"{app.store.url} has no schema to create")
    elif created:
        app.note(f"created the escli schema in {app.store.url}")
    else:
        app.note(f"{app.store.url} already has the escli schema; nothing to do")


def _interactive() -> bool:
    """Whether a person is there to answer (stdin is a terminal)."""
    import sys

    return sys.stdin.isatty()
