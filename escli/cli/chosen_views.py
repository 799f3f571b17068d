"""Where projections' rows are, as the options, the environment and the project file chose
(``App.views``), and the projections a dispatch updates in its own transaction
(``App.inline_projections``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from escli.errors import NotFound, UsageError, in_context

if TYPE_CHECKING:
    from escli.cli.app import App
    from escli.domain.projection import Projection
    from escli.stores.views import Views


def chosen_views(app: App, url: str | None) -> Views:
    """``--views URL``, else the project's ``views``, else the store itself when it keeps
    views (SQLite, PostgreSQL, memory). A store that keeps none (EventStoreDB) needs one
    named, and the error says so."""
    from escli.stores.views import Views

    if url is None and app.project is not None:
        url = app.project.views
    if url is None:
        if isinstance(app.store, Views):
            return app.store
        raise UsageError(
            f"{app.store.url} keeps no projection rows: name a SQLite or PostgreSQL "
            "store for them with --views URL (or views = URL in the project file)"
        )
    found = app.store_for_views(url)
    if not isinstance(found, Views):
        raise UsageError(f"--views {url}: not a store that keeps rows (SQLite, PostgreSQL)")
    return found


def inline_projections(app: App, names: Iterable[str]) -> list[Projection]:
    """The projections a dispatch updates in its transaction: those named, else the
    project file's ``projections``."""
    chosen = list(names) or (list(app.project.projections) if app.project else [])
    if not chosen:
        return []
    views = app.project.views if app.project is not None else None
    if views is not None and app.store_for_views(views).canonical_url != app.store.canonical_url:
        raise UsageError(
            f"the project's views are in {views}, not in {app.store.url}: a dispatch "
            "updates projections only in its own store, in its own transaction (run "
            "escli project NAME --follow for views elsewhere)"
        )
    from escli.app.projections import find_projection

    project = app.project
    if names or project is None:
        return [find_projection(app.registry, name) for name in chosen]
    found = []
    for name in chosen:
        try:
            found.append(find_projection(app.registry, name))
        except NotFound as e:
            # The file may be right and the domains loaded wrong: not found (exit 3), as
            # the name given as --project would be, but saying where it is listed.
            raise in_context(e, project.where(project.projection_lines[name])) from None
    return found
