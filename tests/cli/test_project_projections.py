"""The project file's ``projections`` and ``views``: checked when the file is read (a value
that cannot be right is one line naming the file and line, exit 13), named by file and line
when a listed projection is not found, the same rule for views elsewhere whether the file,
``--views`` or ``ESCLI_VIEWS`` names them, and ``escli run`` updating them as ``dispatch``
does."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from escli.cli import cli
from tests.conftest import Outcome, Run


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty project folder, the current one, with the environment clean of escli's
    variables (the combat sample is the domain: the project names none)."""
    for name in ("ESCLI_STORE", "ESCLI_DOMAINS", "ESCLI_NO_PROJECT", "ESCLI_VIEWS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "100")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def here(folder: Path) -> Run:
    def run(*args: str, input: str | None = None) -> Outcome:
        result = CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)
        return Outcome(result.exit_code, result.stdout, result.stderr)

    return run


def write(folder: Path, text: str) -> Path:
    path = folder / "escli.toml"
    path.write_text('store = "sqlite:///ev.db"\n' + text)
    return path


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            'projections = ["roster"]\n',
            "escli.toml:2: projection 'roster' is not of the form <domain>.<name> (combat.roster)",
        ),
        (
            'projections = [\n  "combat.roster",\n  "Combat.roster",\n]\n',
            "escli.toml:4: projection 'Combat.roster' is not of the form",
        ),
        ("projections = ['combat.roster.x']\n", "escli.toml:2: projection 'combat.roster.x'"),
        (
            '\nviews = "bad://ann:secret@host/x"\n',
            "escli.toml:3: views must be the URL of a SQLite or PostgreSQL store "
            "(sqlite:///PATH, postgresql://...), got 'bad://ann:***@host/x'",
        ),
        ('views = "esdb://localhost:2113"\n', "escli.toml:2: views must be the URL of"),
    ],
)
@pytest.mark.parametrize(
    "command",
    [
        ["dispatch", "combat", "attack", "ogre", "5"],
        ["run", "-"],
        ["streams"],
    ],
)
def test_a_projections_or_views_value_that_cannot_be_right_is_a_broken_file(
    folder: Path, here: Run, text: str, message: str, command: list[str]
) -> None:
    write(folder, text)
    out = here(*command, input="combat attack ogre 5\n")
    assert out.exit_code == 13
    assert out.stderr.startswith(f"Error: {folder}/{message}")
    assert out.stderr.count("\n") == 1
    assert not (folder / "ev.db").exists()


@pytest.mark.parametrize(
    "views",
    ["views.db", "sqlite:///views.db", "postgresql://localhost/test", "memory:"],
)
def test_views_of_a_store_that_keeps_rows_are_read(folder: Path, here: Run, views: str) -> None:
    write(folder, f"views = {json.dumps(views)}\n")
    assert here("dispatch", "combat", "attack", "ogre", "5").exit_code == 0


@pytest.mark.parametrize(
    ("listed", "message"),
    [
        (
            '"combat.rooster"',
            "escli.toml:3: domain 'combat' has no projection 'rooster' (known: combat.roster); "
            "did you mean 'combat.roster'?",
        ),
        ('"nosuch.roster"', "escli.toml:3: unknown domain 'nosuch'"),
    ],
)
def test_a_listed_projection_that_is_not_found_names_the_file_and_line_where_it_is_listed(
    folder: Path, here: Run, listed: str, message: str
) -> None:
    write(folder, f'projections = [\n  "combat.roster", {listed},\n]\n')
    out = here("dispatch", "combat", "attack", "ogre", "5")
    assert out.exit_code == 3  # not found, as `--project combat.rooster` is
    assert out.stderr.startswith(f"Error: {folder}/{message}")
    assert out.stderr.count("\n") == 1
    assert json.loads(here("streams", "--json").stdout) == []  # nothing was written
    given = here("dispatch", "combat", "attack", "ogre", "5", "--project", "combat.rooster")
    assert given.exit_code == 3 and "escli.toml" not in given.stderr


def lag(here: Run, *options: str) -> list[tuple[int, int]]:
    """Each projection's checkpoint and lag, as ``escli projections`` shows them."""
    out = here("projections", "--json", *options)
    assert out.exit_code == 0, out.stderr
    return [(p["checkpoint"], p["lag"]) for p in json.loads(out.stdout)]


@pytest.mark.parametrize(
    ("how", "where"),
    [("environment", "ESCLI_VIEWS"), ("option", "--views"), ("file", "the views of {file}:2")],
)
def test_a_dispatch_refuses_views_elsewhere_however_they_are_named(
    folder: Path, here: Run, monkeypatch: pytest.MonkeyPatch, how: str, where: str
) -> None:
    views = f"sqlite:///{folder / 'views.db'}"
    options = ["--project", "combat.roster"]
    file = write(folder, f"views = {json.dumps(views)}\n" if how == "file" else "")
    if how == "environment":
        monkeypatch.setenv("ESCLI_VIEWS", views)
    elif how == "option":
        options += ["--views", views]
    out = here("dispatch", "combat", "attack", "ogre", "5", *options)
    assert (out.exit_code, out.stderr) == (
        2,
        f"Error: the views are in {views} ({where.format(file=file)}), not in "
        f"sqlite:///{folder / 'ev.db'}: a dispatch updates projections only in its own "
        "store, in its own transaction (run escli project NAME --follow for views "
        "elsewhere); nothing was written\n",
    )
    assert not (folder / "ev.db").exists() and not (folder / "views.db").exists()
    # The views the other commands read are those the dispatch was refused, and without a
    # projection to update a dispatch does not use them.
    assert here("dispatch", "combat", "attack", "ogre", "5", *options[2:]).exit_code == 0
    assert lag(here, *options[2:]) == [(0, 1)]


def test_views_named_as_the_store_in_another_spelling_are_updated_by_a_dispatch(
    folder: Path, here: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(folder, "")
    monkeypatch.setenv("ESCLI_VIEWS", "ev.db")  # a bare path: the store's file
    out = here("dispatch", "combat", "attack", "ogre", "5", "--project", "combat.roster")
    assert out.exit_code == 0, out.stderr
    assert lag(here) == [(1, 0)]
    monkeypatch.delenv("ESCLI_VIEWS")
    assert lag(here) == [(1, 0)]


SCRIPT = "combat attack ogre 150\ncombat heal ogre 50\n"


def test_run_updates_the_project_files_projections_with_each_command(
    folder: Path, here: Run
) -> None:
    write(folder, 'projections = ["combat.roster"]\n')
    assert here("run", "-", input=SCRIPT).exit_code == 0
    assert lag(here) == [(2, 0)]
    listed = json.loads(here("view", "combat.roster", "--json").stdout)
    assert [(r["key"], r["row"]["hitpoints"]) for r in listed] == [("combat-ogre", 800)]


def test_run_takes_project_as_dispatch_does(folder: Path, here: Run) -> None:
    write(folder, "")
    assert here("run", "-", "--project", "combat.roster", input=SCRIPT).exit_code == 0
    assert lag(here) == [(2, 0)]
    wrong = here("run", "-", "--project", "combat.rooster", input=SCRIPT)
    assert wrong.exit_code == 3 and "did you mean 'combat.roster'" in wrong.stderr
    assert lag(here) == [(2, 0)]  # nothing was written


def test_run_refuses_views_elsewhere_before_any_script_runs(
    folder: Path, here: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(folder, 'projections = ["combat.roster"]\nviews = "ev.db"\n')  # the store itself
    (folder / "first.txt").write_text(SCRIPT)
    # The second script's store is not where the views are: refused, and the first, whose
    # store is, does not run either.
    (folder / "second.yaml").write_text(
        "store: sqlite:///other.db\nsteps:\n  - combat attack ogre 1\n"
    )
    out = here("run", "first.txt", "second.yaml")
    assert out.exit_code == 2
    assert out.stderr.startswith(
        f"Error: the views are in {folder / 'ev.db'} (the views of "
        f"{folder / 'escli.toml'}:3), not in sqlite:///other.db: a dispatch updates"
    )
    assert not (folder / "ev.db").exists() and not (folder / "other.db").exists()
    monkeypatch.setenv("ESCLI_VIEWS", "sqlite:///views.db")
    refused = here("run", "first.txt")
    assert refused.exit_code == 2 and "(ESCLI_VIEWS)" in refused.stderr
    assert not (folder / "ev.db").exists()


def test_run_updates_projections_on_postgresql_and_refuses_views_in_another_schema(
    folder: Path, here: Run, postgres_schemas: Callable[[], str]
) -> None:
    store, elsewhere = postgres_schemas(), postgres_schemas()
    (folder / "escli.toml").write_text(f'store = "{store}"\nprojections = ["combat.roster"]\n')
    assert here("run", "-", input=SCRIPT).exit_code == 0
    assert lag(here) == [(2, 0)]
    refused = here("run", "-", "--views", elsewhere, input=SCRIPT)
    assert refused.exit_code == 2 and f"the views are in {elsewhere} (--views)" in refused.stderr
    assert lag(here) == [(2, 0)]  # nothing was written
