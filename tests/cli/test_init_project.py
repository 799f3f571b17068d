"""`escli init` sets a project up: a project file, and new domains that pass `escli test`
and pytest as generated; it overwrites nothing."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from escli.cli import cli
from tests.conftest import Outcome, Run


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Run:
    """The CLI run in an empty folder with no project above it and escli's variables unset."""
    for name in ("ESCLI_STORE", "ESCLI_DOMAINS", "ESCLI_NO_PROJECT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.chdir(tmp_path)

    def run(*args: str, input: str | None = None) -> Outcome:
        result = CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)
        return Outcome(result.exit_code, result.stdout, result.stderr)

    return run


def test_init_domain_scaffolds_a_domain_that_passes_escli_test_and_pytest(
    here: Run, tmp_path: Path
) -> None:
    out = here("init", "--domain", "library")
    assert out.exit_code == 0, out.stderr
    for path in ("domains/library.py", "scenarios/library.yaml", "tests/test_library.py"):
        assert (tmp_path / path).is_file()
    project = tomllib.loads((tmp_path / "escli.toml").read_text())
    assert project == {"store": "sqlite:///.escli/events.db", "domains": ["domains"], "targets": []}
    tested = here("test", "scenarios/")
    assert (tested.exit_code, tested.stdout.splitlines()[-1]) == (0, "3 passed, 0 failed")
    pytest_run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert pytest_run.returncode == 0, pytest_run.stdout + pytest_run.stderr
    assert "6 passed" in pytest_run.stdout
    # The domain works from the command line too, and the help teaches it.
    assert here("dispatch", "library", "create", "first", "The first one").exit_code == 0
    assert here("dispatch", "library", "increment", "first").exit_code == 0
    assert json.loads(here("replay", "library-first", "--json").stdout)["state"]["count"] == 1
    helped = here("dispatch", "library", "--help").stdout
    create = next(line for line in helped.splitlines() if "create LIBRARY_ID TITLE" in line)
    assert create.endswith("Create a library with its title.")


def test_init_project_writes_escli_toml_with_the_store_given(here: Run, tmp_path: Path) -> None:
    (tmp_path / "domains").mkdir()
    out = here("init", "--project", "--store", "sqlite:///data/e.db")
    assert out.exit_code == 0
    assert tomllib.loads((tmp_path / "escli.toml").read_text()) == {
        "store": "sqlite:///data/e.db",
        "domains": ["domains"],
        "targets": [],
    }
    assert (tmp_path / "data" / "e.db").is_file()
    (tmp_path / "sub").mkdir()
    info = json.loads(here("info", "--json").stdout)
    assert info["store"] == {"url": f"sqlite:///{tmp_path / 'data' / 'e.db'}", "from": "project"}


def test_init_project_adds_a_table_to_an_existing_pyproject(here: Run, tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project]\nname = "mine"\n')
    assert here("init", "--project").exit_code == 0
    assert not (tmp_path / "escli.toml").exists()
    document = tomllib.loads(pyproject.read_text())
    assert document["project"] == {"name": "mine"}
    assert document["tool"]["escli"] == {
        "store": "sqlite:///.escli/events.db",
        "domains": [],
        "targets": [],
    }
    assert json.loads(here("info", "--json").stdout)["project"] == str(pyproject)


def test_init_without_a_terminal_writes_no_project_file(here: Run, tmp_path: Path) -> None:
    out = here("init")
    assert out.exit_code == 0
    assert not (tmp_path / "escli.toml").exists()


def test_on_a_terminal_init_asks_before_writing_a_project_file(
    here: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("escli.cli.init._interactive", lambda: True)
    declined = here("init", input="n\n")
    assert declined.exit_code == 0 and "Write a project file" in declined.stderr
    assert not (tmp_path / "escli.toml").exists()
    accepted = here("init", input="y\n")
    assert accepted.exit_code == 0
    assert (tmp_path / "escli.toml").exists()


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--domain", "Bank"], 4, "domain name 'Bank' must be a Python module name"),
        (["--domain", "my-bank"], 4, "domain name 'my-bank' must be a Python module name"),
        (["--domain", "tests"], 4, "domain name 'tests' must be a Python module name"),
    ],
)
def test_a_bad_domain_name_writes_nothing(
    here: Run, tmp_path: Path, args: list[str], code: int, message: str
) -> None:
    out = here("init", *args)
    assert out.exit_code == code
    assert out.stderr.startswith(f"Error: {message}")
    assert list(tmp_path.iterdir()) == []


def test_init_overwrites_nothing(here: Run, tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_bank.py").write_text("# mine\n")
    out = here("init", "--domain", "bank")
    assert out.exit_code == 4
    assert out.stderr == (
        f"Error: {tmp_path / 'tests' / 'test_bank.py'} already exists; nothing was written\n"
    )
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["test_bank.py", "tests"]
    (tmp_path / "escli.toml").write_text("domains = []\n")
    again = here("init", "--project")
    assert again.exit_code == 13
    assert "is already this folder's project file; nothing was written" in again.stderr
    assert (tmp_path / "escli.toml").read_text() == "domains = []\n"


@pytest.mark.parametrize(
    ("setup", "args"),
    [
        ({"escli.toml": 'store = "memory:"\n'}, ["--project", "--domain", "bank"]),
        ({"pyproject.toml": "x = [\n"}, ["--domain", "bank"]),
        ({}, ["--domain", "bank", "--store", "bogus://x"]),
        ({}, ["--domain", "bank", "--domain", "bank"]),
        ({}, ["--domain", "bank", "--domain", "class"]),
    ],
)
def test_init_checks_everything_before_it_writes_anything(
    here: Run, tmp_path: Path, setup: dict[str, str], args: list[str]
) -> None:
    for name, text in setup.items():
        (tmp_path / name).write_text(text)
    out = here("init", *args)
    assert out.exit_code in (4, 13)
    assert out.stderr.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(setup)


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("class", "not a Python keyword"),
        ("match", "not a Python keyword"),
        ("json", "not a module Python has already"),
        ("yaml", "not a module that is installed already"),
    ],
)
def test_a_domain_name_python_would_import_otherwise_is_refused(
    here: Run, tmp_path: Path, name: str, why: str
) -> None:
    out = here("init", "--domain", name)
    assert out.exit_code == 4
    assert out.stderr.startswith(f"Error: domain name {name!r} must be a Python module name: {why}")
    assert list(tmp_path.iterdir()) == []


def test_init_project_keeps_a_crlf_pyprojects_line_endings(here: Run, tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_bytes(b'[project]\r\nname = "mine"\r\n')
    assert here("init", "--project").exit_code == 0
    data = pyproject.read_bytes()
    assert b"\n" not in data.replace(b"\r\n", b"")
    assert tomllib.loads(data.decode())["tool"]["escli"]["domains"] == []
