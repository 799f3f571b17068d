"""The project file: ``escli.toml`` or a ``[tool.escli]`` table in ``pyproject.toml``, found
upwards from the current folder, read, checked, and written by ``escli init``.

A project file pins what a project's commands would otherwise take from options or the
environment in every shell::

    store = "sqlite:///.escli/events.db"   # the store URL
    domains = ["domains"]                  # folders (or .py files) of domain modules
    targets = ["cloudevents:events.jsonl"] # what `escli dispatch` also sends to
    include-sample = false                 # list the built-in combat sample too
    snapshot-every = 500                   # events between snapshots, for every domain
    views = "sqlite:///.escli/views.db"    # where projections keep rows (default: the store)
    projections = ["combat.roster"]        # updated by every dispatch, in its transaction

Decisions:

- **Found as git, pytest and ruff find theirs**: the closest folder, from the current one up
  to the root, that holds ``escli.toml`` or a ``pyproject.toml`` with a ``[tool.escli]``
  table; in one folder ``escli.toml`` wins. A ``pyproject.toml`` without the table is not a
  project file and the search goes on past it, as ruff's does. ``ESCLI_NO_PROJECT=1`` stops
  the search (tests, and a shell that wants the built-in defaults).
- **Relative paths are relative to the file**, never to the current folder: the store's
  ``sqlite:///`` path, ``cloudevents:`` and ``sqlite:`` targets, and the domain folders. So
  the project's commands mean the same from any of its subfolders.
- **A project with no ``store`` keeps its store beside the file** (``.escli/events.db`` in
  the project's folder), not in the current folder: from a subfolder, ``escli streams``
  shows the project's streams instead of an empty store somewhere else.
- **Precedence**: a command-line option, then the environment variable, then the project
  file, then the built-in default (``escli info`` shows which won). ``--domains`` and
  ``$ESCLI_DOMAINS`` add up, as they always have; either replaces the project's list.
  ``--to`` replaces the project's targets.
- **A broken file is one line**: its path, the line, and what is wrong (``ProjectError``,
  exit 13). An unknown key is refused with the closest known one, as a typo should be.
  So is a value of the right type that cannot be right, whatever the command: a
  ``projections`` entry not of the form ``<domain>.<name>`` (at the entry's own line), a
  ``views`` URL whose scheme is not of a store that keeps rows (SQLite, PostgreSQL,
  ``memory:``).
- **A value that may be right is checked where it is used**, with the error it would have
  given as an option (its own exit code) and the file and line where it stands in front: a
  listed projection that no loaded domain has is ``NotFound`` (exit 3) when a dispatch
  needs it (``/p/escli.toml:2: domain 'combat' has no projection 'rooster' ...``): the file
  may be right and ``--domains`` wrong. This keeps the exit codes of the store's URL and the
  ``domains`` folders, which are invalid input (exit 4) when they fail to open or load.
- The file is read with ``tomllib`` (standard library); ``pyproject.toml`` is parsed only when
  its text holds ``[tool.escli``, so a project's ``pyproject.toml`` costs a read, not a parse.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from typing import Any

from escli.domain.projection import NAME
from escli.errors import ProjectError
from escli.stores import store_kind
from escli.urls import mask_url

__all__ = [
    "KEYS",
    "PROJECT_FILE",
    "Project",
    "find_project",
    "planned_project",
    "project_text",
    "read_project",
    "write_project",
]

PROJECT_FILE = "escli.toml"
PYPROJECT = "pyproject.toml"
TABLE = "tool.escli"
# The key -> what its value must be, for the message of a value of the wrong kind.
KEYS = {
    "store": "a store URL (a string)",
    "domains": "a list of folders or .py files (strings)",
    "targets": "a list of target URLs (strings)",
    "include-sample": "true or false",
    "snapshot-every": "a whole number of events >= 0 (0: no snapshots)",
    "views": "a store URL (a string) for projections' rows",
    "projections": "a list of projection names (strings, <domain>.<name>)",
}
DEFAULT_STORE_IN_PROJECT = ".escli/events.db"
# A projection's full name: its domain's and its own, which are spelled alike, and a dot.
_PROJECTION_NAME = re.compile(rf"{NAME.pattern}\.{NAME.pattern}")
# The stores that keep projections' rows (``escli.stores.store_kind``).
VIEWS_KINDS = frozenset({"sqlite", "postgresql", "memory"})


@dataclass(frozen=True)
class Project:
    """A project file, read: its values with relative paths made absolute (``root`` is the
    file's folder). ``store`` is None when the file names none."""

    path: str
    store: str | None = None
    domains: list[str] = field(default_factory=list)
    targets: list[str] = field(default_factory=list)
    include_sample: bool = False
    snapshot_every: int | None = None
    views: str | None = None
    projections: list[str] = field(default_factory=list)
    # Where ``views`` and each of the ``projections`` stand, for the errors of their use.
    views_line: int = 1
    projection_lines: dict[str, int] = field(default_factory=dict)

    @property
    def root(self) -> str:
        return os.path.dirname(self.path)

    def where(self, line: int) -> str:
        """``FILE:LINE`` of a line of this file, as its errors begin."""
        return f"{self.path}:{line}"

    @property
    def default_store(self) -> str:
        """The store of a project whose file names none: beside the file."""
        return "sqlite:///" + os.path.join(self.root, DEFAULT_STORE_IN_PROJECT)


def find_project(start: str | None = None) -> Project | None:
    """The project file closest above ``start`` (the current folder), read; None if none."""
    if os.environ.get("ESCLI_NO_PROJECT"):
        return None
    folder = os.path.abspath(start or os.getcwd())
    while True:
        candidate = os.path.join(folder, PROJECT_FILE)
        if os.path.isdir(candidate):
            raise ProjectError(f"{candidate} is a directory, not a project file")
        if os.path.exists(candidate):
            return read_project(candidate)
        candidate = os.path.join(folder, PYPROJECT)
        if os.path.isfile(candidate) and _has_table(candidate):
            return read_project(candidate)
        parent = os.path.dirname(folder)
        if parent == folder:
            return None
        folder = parent


def _has_table(path: str) -> bool:
    """Whether a ``pyproject.toml`` sets ``tool.escli``, in any of TOML's spellings
    (``[tool.escli]``, ``tool.escli.store = ...``, ``[tool]`` then ``escli = {...}``). Parsed
    only when its text names escli at all; one that does not parse is ours only when it
    shows an ``[tool.escli`` header (then ``read_project`` says what is wrong)."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError):
        return False  # not readable as text: not ours to complain about
    if "escli" not in text:
        return False
    import tomllib

    try:
        tool = tomllib.loads(text).get("tool")
    except tomllib.TOMLDecodeError:
        return "[tool.escli" in text
    if tool is not None and not isinstance(tool, dict):
        return True  # a tool that is not a table, in a file that names escli: say so
    return isinstance(tool, dict) and "escli" in tool


def read_project(path: str) -> Project:
    """The project file at ``path``: ``escli.toml``, or the ``[tool.escli]`` table of a
    ``pyproject.toml``. ``ProjectError`` names the file and line of what is wrong."""
    import tomllib

    path = os.path.abspath(path)
    try:
        with open(path, "rb") as f:
            raw = f.read()
        text = raw.decode("utf-8-sig")
    except OSError as e:
        raise ProjectError(f"{path}: {e.strerror}") from e
    except UnicodeDecodeError as e:
        raise ProjectError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from e
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        # tomllib says "Expected ... (at line 3, column 7)": the line first, as compilers do.
        message, _, where = str(e).rpartition(" (at ")
        line = where.split(",")[0].removeprefix("line ").strip(")") if message else ""
        if line.isdigit():
            raise ProjectError(f"{path}:{line}: {message}") from None
        raise ProjectError(f"{path}: {e}") from None
    table: Any = document
    if os.path.basename(path) == PYPROJECT:
        tool = document.get("tool", {})
        if not isinstance(tool, dict):
            raise ProjectError(f"{path}:{_line_of(text, 'tool')}: tool must be a table")
        table = tool.get("escli", {})
        text = _table_text(text)
    if not isinstance(table, dict):
        raise ProjectError(f"{path}:{_line_of(text, 'escli')}: [tool.escli] must be a table")
    return _project(path, text, table)


def _table_text(text: str) -> str:
    """A ``pyproject.toml``'s text with the lines before ``[tool.escli]`` blanked (kept as
    lines, so numbers stay right): a key's line is then found in escli's table, not in
    another tool's that sets a key of the same name."""
    lines = text.splitlines()
    for number, line in enumerate(lines):
        if line.strip().replace(" ", "") == "[tool.escli]":
            return "\n" * number + "\n".join(lines[number:])
    return text


def _project(path: str, text: str, table: dict[str, Any]) -> Project:
    for key in table:
        if key not in KEYS:
            from escli.suggest import did_you_mean

            raise ProjectError(
                f"{path}:{_line_of(text, key)}: unknown key {key!r}"
                f"{did_you_mean(key, KEYS)} (known: {', '.join(KEYS)})"
            )
    store = table.get("store")
    domains = table.get("domains", [])
    targets = table.get("targets", [])
    include_sample = table.get("include-sample", False)
    every = table.get("snapshot-every")
    views = table.get("views")
    projections = table.get("projections", [])
    for key, value, ok in (
        ("store", store, store is None or (isinstance(store, str) and store != "")),
        ("domains", domains, _strings(domains)),
        ("targets", targets, _strings(targets)),
        ("include-sample", include_sample, isinstance(include_sample, bool)),
        (
            "snapshot-every",
            every,
            every is None or (type(every) is int and every >= 0),
        ),
        ("views", views, views is None or (isinstance(views, str) and views != "")),
        ("projections", projections, _strings(projections)),
    ):
        if not ok:
            raise ProjectError(
                f"{path}:{_line_of(text, key)}: {key} must be {KEYS[key]}, "
                f"got {json.dumps(value, default=str)}"
            )
    projection_lines = {name: _line_of_item(text, "projections", name) for name in projections}
    for name, line in projection_lines.items():
        if not _PROJECTION_NAME.fullmatch(name):
            raise ProjectError(
                f"{path}:{line}: projection {name!r} is not of the form <domain>.<name> "
                "(combat.roster)"
            )
    if views is not None and store_kind(views) not in VIEWS_KINDS:
        raise ProjectError(
            f"{path}:{_line_of(text, 'views')}: views must be the URL of a SQLite or "
            f"PostgreSQL store (sqlite:///PATH, postgresql://...), got {mask_url(views)!r}"
        )
    root = os.path.dirname(path)
    return Project(
        path=path,
        store=None if store is None else relative_url(store, root),
        domains=[os.path.normpath(os.path.join(root, d)) for d in domains],
        targets=[relative_url(t, root) for t in targets],
        include_sample=include_sample,
        snapshot_every=every,
        views=None if views is None else relative_url(views, root),
        projections=list(projections),
        views_line=_line_of(text, "views"),
        projection_lines=projection_lines,
    )


def _strings(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(x, str) and x for x in value)


def _line_of(text: str, key: str) -> int:
    """The first line that sets ``key`` (1 when none is found, as for a table's own fault)."""
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip().strip('"')
        if stripped.startswith(key) and stripped[len(key) :].lstrip('" ').startswith(("=", ".")):
            return number
        if stripped.startswith("[") and key in stripped:
            return number
    return 1


def _line_of_item(text: str, key: str, item: str) -> int:
    """The line of a list's ``item`` (a string), on or after the line that sets ``key``: an
    entry of a list written over several lines has a line of its own."""
    start = _line_of(text, key)
    quoted = (json.dumps(item), f"'{item}'")
    for number, line in enumerate(text.splitlines()[start - 1 :], start):
        if any(q in line for q in quoted):
            return number
    return start


def relative_url(url: str, root: str) -> str:
    """``url`` with a relative file path made relative to ``root``: SQLite stores
    (``sqlite:///rel``, ``sqlite:rel``, a bare path) and ``cloudevents:FILE`` targets.
    Other URLs (a server's, ``memory:``, ``cloudevents:-``) are kept as they are."""
    lowered = url.lower()
    for scheme in ("sqlite:///", "sqlite:", "cloudevents:"):
        if lowered.startswith(scheme):
            rest = url[len(scheme) :]
            if scheme == "sqlite:" and rest.startswith("/"):
                return url  # sqlite://HOST... is refused later, by the store itself
            if rest == "-" or rest.startswith("/") or not rest:
                return url
            prefix = "sqlite:///" if scheme.startswith("sqlite") else scheme
            return prefix + os.path.normpath(os.path.join(root, rest))
    if "://" in url or ":" in url.split("/")[0]:
        return url  # a server's URL, memory:, nats://...
    return url if url.startswith("/") else os.path.normpath(os.path.join(root, url))


def project_text(store: str, domains: list[str], targets: list[str], *, table: bool) -> str:
    """The TOML of a new project file (``table``: as a ``[tool.escli]`` table to add to a
    ``pyproject.toml``). Strings are written as JSON strings, which TOML reads as its basic
    strings; no TOML writer is needed for three keys."""
    lines = (
        ["[tool.escli]"]
        if table
        else [
            "# escli's project file: every escli command run in this folder or below uses it.",
            "# Relative paths are relative to this file. See `escli info`.",
        ]
    )
    lines.append(f"store = {json.dumps(store)}")
    lines.append(f"domains = [{', '.join(json.dumps(d) for d in domains)}]")
    lines.append(f"targets = [{', '.join(json.dumps(t) for t in targets)}]")
    return "\n".join(lines) + "\n"


def write_project(folder: str, store: str, domains: list[str], targets: list[str]) -> str:
    """Write the project file of ``folder``: a ``[tool.escli]`` table added to its
    ``pyproject.toml`` when it has one, else ``escli.toml``. Its path; a folder that already
    has a project file is refused, and nothing is written."""
    path, text, mode = planned_project(folder, store, domains, targets)
    with open(path, mode, encoding="utf-8", newline="") as f:
        f.write(text)
    return path


def planned_project(
    folder: str, store: str, domains: list[str], targets: list[str]
) -> tuple[str, str, str]:
    """What ``write_project`` would write, checked, with nothing written: the path, the text
    and the open mode (``"a"`` to a ``pyproject.toml``, ``"x"`` for a new ``escli.toml``).
    ``ProjectError`` when the folder has a project file already, or a ``pyproject.toml``
    that does not parse (it is not appended to). A ``pyproject.toml`` keeps its own line
    endings."""
    existing = os.path.join(folder, PROJECT_FILE)
    pyproject = os.path.join(folder, PYPROJECT)
    if os.path.exists(existing) or (os.path.isfile(pyproject) and _has_table(pyproject)):
        found = existing if os.path.exists(existing) else pyproject
        raise ProjectError(f"{found} is already this folder's project file; nothing was written")
    if not os.path.isfile(pyproject):
        return existing, project_text(store, domains, targets, table=False), "x"
    read_project(pyproject)
    with open(pyproject, encoding="utf-8", newline="") as f:
        before = f.read()
    newline = "\r\n" if "\r\n" in before else "\n"
    ending = before.replace("\r\n", "\n")
    if ending.endswith("\n\n") or not ending:
        separator = ""
    else:
        separator = "\n" if ending.endswith("\n") else "\n\n"
    text = separator + project_text(store, domains, targets, table=True)
    return pyproject, text.replace("\n", newline), "a"
