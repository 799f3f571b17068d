"""Where projections' rows are, as the options, the environment and the project file chose
(``App.views``), and the projections a dispatch updates in its own transaction
(``App.inline_projections``).

Decisions:

- **One rule for views, whoever names them.** ``--views URL``, else ``$ESCLI_VIEWS``, else
  the project's ``views``, else the store itself: the commands that read or build rows
  (``project``, ``view``, ``projections``) and the ones that update them in a dispatch's
  transaction (``dispatch``, ``run``) choose them alike, so a dispatch never updates one
  copy of a view while ``view`` reads another.
- **A dispatch updates rows only in its own store**, in the transaction of its append:
  views chosen elsewhere are refused (``UsageError``, exit 2), before anything is read or
  written, naming where they were chosen (``--views``, ``ESCLI_VIEWS`` or the file's line).
  Views chosen and no projection to update is no error: nothing uses them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from escli.errors import InvalidInput, NotFound, UsageError, in_context, wrote_nothing
from escli.urls import mask_url

if TYPE_CHECKING:
    from escli.cli.app import App
    from escli.domain.projection import Projection
    from escli.stores.base import Store
    from escli.stores.views import Views


def views_url(app: App, url: str | None) -> tuple[str | None, str]:
    """The URL of the views chosen (``url``: ``--views`` or ``$ESCLI_VIEWS``, as click read
    it; else the project's ``views``) and where it was chosen, for messages; ``(None, "")``
    for the store's own."""
    if url is not None:
        return url, app.views_from
    project = app.project
    if project is not None and project.views is not None:
        return project.views, f"the views of {project.where(project.views_line)}"
    return None, ""


def _open(app: App, url: str, where: str) -> Store:
    try:
        return app.store_for_views(url)
    except InvalidInput as e:
        raise InvalidInput(f"{e} ({where})") from e


def chosen_views(app: App, url: str | None) -> Views:
    """The views chosen (``views_url``), else the store itself when it keeps views (SQLite,
    PostgreSQL, memory). A store that keeps none (EventStoreDB) needs one named, and the
    error says so."""
    from escli.stores.views import Views

    url, where = views_url(app, url)
    if url is None:
        if isinstance(app.store, Views):
            return app.store
        raise UsageError(
            f"{app.store.url} keeps no projection rows: name a SQLite or PostgreSQL "
            "store for them with --views URL (or views = URL in the project file)"
        )
    found = _open(app, url, where)
    if not isinstance(found, Views):
        raise UsageError(
            f"{where} {mask_url(url)}: not a store that keeps rows (SQLite, PostgreSQL)"
        )
    return found


def inline_projections(
    app: App, names: Iterable[str], url: str | None, store: Store
) -> list[Projection]:
    """The projections a dispatch into ``store`` updates in its transaction: those named,
    else the project file's ``projections``; refused when the views chosen (``url``: as
    ``chosen_views`` takes it) are not ``store``."""
    chosen = list(names) or (list(app.project.projections) if app.project else [])
    if not chosen:
        return []
    url, where = views_url(app, url)
    if url is not None and _open(app, url, where).canonical_url != store.canonical_url:
        raise wrote_nothing(
            UsageError(),
            f"the views are in {mask_url(url)} ({where}), not in {store.url}: a dispatch "
            "updates projections only in its own store, in its own transaction (run "
            "escli project NAME --follow for views elsewhere)",
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
