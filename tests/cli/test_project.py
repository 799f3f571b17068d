"""The project file: found upwards from the current folder, its paths relative to itself, the
precedence of option, environment, file and default, and a broken file as one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from escli.cli import cli
from tests.conftest import Outcome, Run

BANK = '''\
"""Accounts that take deposits."""

from dataclasses import dataclass

from escli import AggregateState, Domain

domain = Domain(
    "bank",
    source="events://example/bank",
    stream_field="account_id",
    description="Accounts that take deposits.",
)


@dataclass(frozen=True)
class Account(AggregateState):
    account_id: str
    balance: int = 0


@domain.command
@dataclass(frozen=True)
class Deposit:
    """Put money in an account."""

    account_id: str
    amount: int
    memo: str = ""


@domain.event(version="1.0")
@dataclass(frozen=True)
class MoneyDeposited:
    account_id: str
    amount: int


@domain.aggregate
class Bank:
    def initial_state(self, stream_id):
        return Account(stream_id)

    def handle_command(self, state, command):
        return [MoneyDeposited(command.account_id, command.amount)]

    def apply_event(self, state, event):
        return state.evolve(balance=state.balance + event.amount)
'''


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project folder with a `domains/bank.py`, no project file yet, and a subfolder; the
    environment clean of escli's variables."""
    for name in ("ESCLI_STORE", "ESCLI_DOMAINS", "ESCLI_NO_PROJECT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "100")
    (tmp_path / "domains").mkdir()
    (tmp_path / "domains" / "bank.py").write_text(BANK)
    (tmp_path / "src" / "deep").mkdir(parents=True)
    return tmp_path


def run_in(folder: Path, monkeypatch: pytest.MonkeyPatch) -> Run:
    def run(*args: str, input: str | None = None) -> Outcome:
        monkeypatch.chdir(folder)
        result = CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)
        return Outcome(result.exit_code, result.stdout, result.stderr)

    return run


def test_a_project_file_is_found_from_a_subfolder(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (project / "escli.toml").write_text('domains = ["domains"]\n')
    here = run_in(project / "src" / "deep", monkeypatch)
    assert here("dispatch", "bank", "deposit", "acc-1", "10").exit_code == 0
    # The store is the project's (beside the file), whichever subfolder the command runs in.
    assert (project / ".escli" / "events.db").exists()
    assert not (project / "src" / "deep" / ".escli").exists()
    listed = run_in(project / "src", monkeypatch)("streams", "--json")
    assert [s["stream"] for s in json.loads(listed.stdout)] == ["bank-acc-1"]


def test_relative_paths_are_relative_to_the_file(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (project / "escli.toml").write_text(
        'store = "sqlite:///data/bank.db"\n'
        'domains = ["domains"]\n'
        'targets = ["cloudevents:out/events.jsonl"]\n'
    )
    (project / "out").mkdir()
    here = run_in(project / "src", monkeypatch)
    assert here("dispatch", "bank", "deposit", "acc-1", "10").exit_code == 0
    assert (project / "data" / "bank.db").exists()
    lines = (project / "out" / "events.jsonl").read_text().splitlines()
    assert [json.loads(line)["type"] for line in lines] == ["bank.MoneyDeposited"]


def test_a_pyproject_table_is_a_project_file_and_one_without_it_is_passed_over(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (project / "pyproject.toml").write_text(
        '[project]\nname = "bank"\n\n[tool.escli]\nstore = "sqlite:///bank.db"\n'
        'domains = ["domains"]\n'
    )
    (project / "src" / "pyproject.toml").write_text('[project]\nname = "inner"\n')
    here = run_in(project / "src", monkeypatch)
    assert here("dispatch", "bank", "deposit", "acc-1", "10").exit_code == 0
    assert (project / "bank.db").exists()
    info = json.loads(here("info", "--json").stdout)
    assert info["project"] == str(project / "pyproject.toml")


def test_escli_toml_wins_over_pyproject_in_one_folder(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (project / "pyproject.toml").write_text('[tool.escli]\nstore = "sqlite:///py.db"\n')
    (project / "escli.toml").write_text('store = "sqlite:///toml.db"\n')
    info = json.loads(run_in(project, monkeypatch)("info", "--json").stdout)
    assert info["project"] == str(project / "escli.toml")
    assert info["store"] == {"url": f"sqlite:///{project / 'toml.db'}", "from": "project"}


def test_option_beats_environment_beats_project_beats_default(
    project: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    here = run_in(project, monkeypatch)
    default = json.loads(here("info", "--json").stdout)["store"]
    assert default == {"url": "sqlite:///.escli/events.db", "from": "default"}
    (project / "escli.toml").write_text('store = "sqlite:///p.db"\n')
    assert json.loads(here("info", "--json").stdout)["store"]["from"] == "project"
    monkeypatch.setenv("ESCLI_STORE", "sqlite:///env.db")
    assert json.loads(here("info", "--json").stdout)["store"] == {
        "url": "sqlite:///env.db",
        "from": "environment",
    }
    option = json.loads(here("info", "--json", "--store", "memory:").stdout)["store"]
    assert option == {"url": "memory:", "from": "option"}


def test_domains_from_the_environment_replace_the_projects(
    project: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (project / "escli.toml").write_text('domains = ["domains"]\n')
    here = run_in(project, monkeypatch)
    assert json.loads(here("info", "--json").stdout)["domains"]["from"] == "project"
    other = tmp_path / "other"
    other.mkdir()
    monkeypatch.setenv("ESCLI_DOMAINS", str(other))
    info = json.loads(here("info", "--json").stdout)
    assert info["domains"] == {"paths": [str(other)], "from": "environment", "names": ["combat"]}


def test_the_sample_is_listed_only_when_the_project_names_no_domains_or_asks_for_it(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    here = run_in(project, monkeypatch)
    (project / "escli.toml").write_text('domains = ["domains"]\n')
    assert json.loads(here("info", "--json").stdout)["domains"]["names"] == ["bank"]
    unknown = here("dispatch", "nope", "x")
    assert unknown.exit_code == 3
    assert "(known: bank)" in unknown.stderr
    # Asked for by name, the sample still answers.
    assert here("dispatch", "combat", "spawn", "dragon", "10").exit_code == 0
    (project / "escli.toml").write_text('domains = ["domains"]\ninclude-sample = true\n')
    assert json.loads(here("info", "--json").stdout)["domains"]["names"] == ["bank", "combat"]
    (project / "escli.toml").write_text('store = "sqlite:///x.db"\n')
    assert json.loads(here("info", "--json").stdout)["domains"]["names"] == ["combat"]


def test_a_domains_folder_beside_you_is_hinted_at(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    unknown = run_in(project, monkeypatch)("dispatch", "bank", "deposit", "a", "1")
    assert unknown.exit_code == 3
    assert unknown.stderr == (
        "Error: unknown domain 'bank' (known: combat); ./domains holds bank.py: pass "
        "--domains domains, or write a project file that names it (escli init)\n"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('store = "sqlite:///x.db\n', "escli.toml:1: Illegal character"),
        ('store = "a"\nstor = "b"\n', "escli.toml:2: unknown key 'stor'; did you mean 'store'?"),
        ("domains = 'domains'\n", "escli.toml:1: domains must be a list of folders"),
        ("targets = [1]\n", "escli.toml:1: targets must be a list of target URLs"),
        ('\n\ninclude-sample = "yes"\n', "escli.toml:3: include-sample must be true or false"),
        ('store = ""\n', "escli.toml:1: store must be a store URL"),
        (b"store = '\xff'\n", "escli.toml: not UTF-8 text"),
    ],
)
def test_a_broken_project_file_is_one_line_naming_file_and_line_and_nothing_is_written(
    project: Path, monkeypatch: pytest.MonkeyPatch, text: str | bytes, message: str
) -> None:
    path = project / "escli.toml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    out = run_in(project / "src", monkeypatch)("dispatch", "combat", "spawn", "ogre", "10")
    assert out.exit_code == 13
    assert out.stderr.startswith(f"Error: {project}/{message}")
    assert out.stderr.count("\n") == 1
    assert not (project / ".escli").exists() and not (project / "src" / ".escli").exists()


def test_escli_no_project_turns_the_search_off(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (project / "escli.toml").write_text("broken = \n")
    monkeypatch.setenv("ESCLI_NO_PROJECT", "1")
    info = json.loads(run_in(project, monkeypatch)("info", "--json").stdout)
    assert info["project"] is None


def test_the_samples_hidden_in_a_project_are_those_escli_registers() -> None:
    import tomllib

    from escli.domain.discovery import SAMPLES
    from tests.conftest import ROOT

    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert set(pyproject["project"]["entry-points"]["escli.domains"]) == SAMPLES


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('tool = "x"  # [tool.escli]\n', "pyproject.toml:1: tool must be a table"),
        ("[tool]\nescli = 3\n", "pyproject.toml:2: [tool.escli] must be a table"),
        (
            "[tool.other]\nstore = 1\n\n[tool.escli]\nstore = 2\n",
            "pyproject.toml:5: store must be a store URL",
        ),
    ],
)
def test_a_broken_tool_escli_in_pyproject_is_one_line(
    project: Path, monkeypatch: pytest.MonkeyPatch, text: str, message: str
) -> None:
    (project / "pyproject.toml").write_text(text)
    out = run_in(project, monkeypatch)("info")
    assert out.exit_code == 13
    assert out.stderr.startswith(f"Error: {project}/{message}")


@pytest.mark.parametrize(
    "text",
    [
        'tool.escli.store = "sqlite:///t.db"\n',
        '[tool]\nescli = {store = "sqlite:///t.db"}\n',
        '[tool.escli]\nstore = "sqlite:///t.db"\n',
    ],
)
def test_every_spelling_of_tool_escli_is_a_project_file(
    project: Path, monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    (project / "pyproject.toml").write_text(text + '\n[project]\nname = "x"\n')
    info = json.loads(run_in(project, monkeypatch)("info", "--json").stdout)
    assert info["store"] == {"url": f"sqlite:///{project / 't.db'}", "from": "project"}


def test_a_pyproject_that_only_mentions_escli_is_not_a_project_file(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (project / "pyproject.toml").write_text("# TODO: add a [tool.escli] table\n[project]\n")
    info = json.loads(run_in(project, monkeypatch)("info", "--json").stdout)
    assert info["project"] is None


def test_a_directory_named_escli_toml_is_an_error(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (project / "escli.toml").mkdir()
    out = run_in(project / "src", monkeypatch)("info")
    assert (out.exit_code, out.stderr) == (
        13,
        f"Error: {project / 'escli.toml'} is a directory, not a project file\n",
    )
