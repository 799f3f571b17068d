"""`escli shell` as typed: completion through click, the hint and the toolbar, the history
file, the prompt_toolkit prompt in-process, and a real terminal through pexpect."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from escli.cli.app import App
from escli.cli.shell_offers import complete, hint
from escli.cli.workbench import Workbench, history_path
from tests.conftest import ROOT, open_store


def events(store_url: str, stream: str) -> list[dict[str, object]]:
    return [r.data for r in open_store(store_url).read(stream)]


# -- completion and what the prompt shows ---------------------------------------------------


def offered(bench: Workbench, text: str) -> list[str]:
    return [o.text for o in complete(bench, text)]


def test_completion_offers_what_click_s_shell_completion_offers(bench: Workbench) -> None:
    assert offered(bench, "disp") == ["dispatch"]
    assert offered(bench, "replay --st") == ["--steps"]  # --store is the shell's own
    assert offered(bench, "u") == ["use"]
    assert complete(bench, "replay --st")[0].replaces == 4


def test_completion_offers_the_context_domain_s_commands_as_first_words(
    bench: Workbench,
) -> None:
    assert offered(bench, "att") == []
    bench.use(["combat"])
    assert offered(bench, "att") == ["attack"]
    assert offered(bench, "s") == ["snapshot", "snapshots", "stats", "streams", "spawn"]


def test_completion_of_use_offers_domains_and_the_store_s_streams(bench: Workbench) -> None:
    assert bench.run_line("dispatch combat spawn imp 10") == 0
    assert offered(bench, "use ") == ["combat", "combat-imp"]
    assert offered(bench, "use combat-") == ["combat-imp"]


def test_the_hint_shows_the_fields_of_the_command_being_typed(bench: Workbench) -> None:
    assert hint(bench, "dispatch combat attack ") == "attack ENTITY_ID DAMAGE [WEAPON]"
    bench.use(["combat-ogre"])
    assert hint(bench, "attack 1") == "attack ENTITY_ID DAMAGE [WEAPON]  (ENTITY_ID: ogre)"
    assert hint(bench, "use") == "use [DOMAIN | DOMAIN-ID]: set the context (nothing: clear it)"
    assert hint(bench, "streams").startswith("streams: List the streams")


def test_the_toolbar_shows_the_store_and_the_stream_s_generation(bench: Workbench) -> None:
    url = bench.app.store_url
    assert bench.toolbar() == url
    bench.use(["combat-ogre"])
    assert bench.toolbar() == f"combat-ogre @ generation 0  |  {url}"
    assert bench.run_line("attack 5") == 0
    assert bench.toolbar() == f"combat-ogre @ generation 1  |  {url}"


# -- history --------------------------------------------------------------------------------


def test_history_lives_in_the_project_else_the_xdg_data_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ESCLI_NO_PROJECT", raising=False)
    outside = tmp_path / "outside"
    outside.mkdir()
    monkeypatch.chdir(outside)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert history_path(App()) == str(tmp_path / "data" / "escli" / "shell_history")
    assert (tmp_path / "data" / "escli").is_dir()
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert history_path(App()) == str(tmp_path / "home" / ".local/share/escli/shell_history")
    assert history_path(App(), str(tmp_path / "mine")) == str(tmp_path / "mine")
    project = tmp_path / "project"
    (project / "sub").mkdir(parents=True)
    (project / "escli.toml").write_text("domains = []\n")
    monkeypatch.chdir(project / "sub")  # found upwards, as escli finds its project file
    assert history_path(App()) == str(project / ".escli" / "shell_history")


# -- the prompt, in-process -----------------------------------------------------------------


def test_the_prompt_runs_typed_lines_completes_with_tab_and_leaves_on_ctrl_d(
    bench: Workbench, tmp_path: Path
) -> None:
    from prompt_toolkit.input import create_pipe_input
    from prompt_toolkit.output import DummyOutput

    from escli.cli.prompt import interact

    history = tmp_path / "history"
    with create_pipe_input() as typed:
        typed.send_text("use com\t\r")  # Tab completes the domain
        typed.send_text("spaw\t imp 100\r")  # and the context's command
        typed.send_text("attack imp 999\x03")  # Ctrl-C drops the line
        typed.send_text("dispatch combat attack imp 30\r")
        typed.send_text("\x04")  # Ctrl-D leaves
        code = interact(bench, history_file=str(history), input=typed, output=DummyOutput())
    assert code == 0
    assert bench.context.domain == "combat"
    assert events(bench.app.store_url, "combat-imp") == [
        {"entity_id": "imp", "hitpoints": 100},
        {"entity_id": "imp", "damage": 30, "weapon": "fists"},
    ]
    kept = [line[1:] for line in history.read_text().splitlines() if line.startswith("+")]
    assert kept == ["use combat", "spawn imp 100", "dispatch combat attack imp 30"]


def test_exit_at_the_prompt_leaves_without_reading_further(bench: Workbench) -> None:
    from prompt_toolkit.input import create_pipe_input
    from prompt_toolkit.output import DummyOutput

    from escli.cli.prompt import interact

    with create_pipe_input() as typed:
        typed.send_text("quit\rdispatch combat spawn imp 1\r")
        assert interact(bench, input=typed, output=DummyOutput()) == 0
    assert events(bench.app.store_url, "combat-imp") == []


# -- processes ------------------------------------------------------------------------------


def test_piped_input_does_not_import_prompt_toolkit(tmp_path: Path) -> None:
    probe = (
        "import sys; from escli.cli import cli; code = cli.main(['shell'], standalone_mode=False);"
        "print(code, 'prompt_toolkit' in sys.modules, file=sys.stderr)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        input="dispatch combat spawn imp 10\n",
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "ESCLI_STORE": f"sqlite:///{tmp_path / 'e.db'}"},
    )
    assert done.stderr.splitlines()[-1] == "0 False"
    assert "combat-imp  generation 0 → 1" in done.stdout


def expect_text(child: Any, text: str) -> None:
    """Wait for ``text`` on the terminal. prompt_toolkit may draw a space as a cursor move
    (``ESC [C``), so a space matches either; its cursor position requests (``ESC [6n``)
    are answered as a terminal does: without an answer it draws no bottom toolbar."""
    words = (re.escape(word) for word in text.split(" ") if word)
    shown = re.compile(r"(?: |\x1b\[[0-9]*C)+".join(words))
    while child.expect([re.compile(re.escape("\x1b[6n")), shown]) == 0:
        child.send("\x1b[1;1R")


def test_in_a_real_terminal_tab_completes_enter_runs_and_the_toolbar_follows(
    tmp_path: Path,
) -> None:
    import pexpect

    url = f"sqlite:///{tmp_path / 'e.db'}"
    env = {
        **os.environ,
        "COLUMNS": "200",
        "LINES": "30",
        "TERM": "xterm",
        "NO_COLOR": "1",
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "PYTHONPATH": str(ROOT),
    }
    env.pop("ESCLI_STORE", None)
    child = pexpect.spawn(
        sys.executable,
        ["-m", "escli", "shell", "--store", url],
        env=env,
        cwd=str(tmp_path),
        encoding="utf-8",
        timeout=20,
        dimensions=(30, 200),  # the toolbar's store URL is a long temporary path
    )
    try:
        # The screen is drawn with cursor moves (the prompt's last space is one) and redrawn
        # by differences: each expectation is text that first appears whole once its step
        # has happened.
        expect_text(child, "escli>")
        child.send("use com\t")
        expect_text(child, "use combat")  # the line redrawn, completed
        child.send("\r")
        expect_text(child, "escli combat>")
        expect_text(child, f"domain combat  |  {url}")  # the toolbar
        child.send("spa\t")
        expect_text(child, "spawn")
        child.send(" imp 70\r")
        expect_text(child, "generation 0 → 1")
        child.send("use combat-imp\r")
        expect_text(child, "escli combat-imp>")
        expect_text(child, "combat-imp @ generation 1")
        child.send("attack ")
        expect_text(child, "attack ENTITY_ID DAMAGE [WEAPON]  (ENTITY_ID: imp)")
        child.send("5\r")
        expect_text(child, "generation 1 → 2")
        expect_text(child, "escli combat-imp>")
        child.sendcontrol("d")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0
    assert events(url, "combat-imp") == [
        {"entity_id": "imp", "hitpoints": 70},
        {"entity_id": "imp", "damage": 5, "weapon": "fists"},
    ]
    history = tmp_path / "data" / "escli" / "shell_history"
    assert "+spawn imp 70\n" in history.read_text()


def test_ctrl_r_finds_a_line_of_an_earlier_session_in_the_history_file(
    bench: Workbench, tmp_path: Path
) -> None:
    from prompt_toolkit.input import create_pipe_input
    from prompt_toolkit.output import DummyOutput

    from escli.cli.prompt import interact

    history = tmp_path / "history"
    history.write_text("\n# earlier\n+dispatch combat spawn imp 5\n\n# earlier\n+streams\n")
    with create_pipe_input() as typed:
        typed.send_text("\x12spawn\r\r\x04")  # Ctrl-R, what to find, Enter
        interact(bench, history_file=str(history), input=typed, output=DummyOutput())
    assert events(bench.app.store_url, "combat-imp") == [{"entity_id": "imp", "hitpoints": 5}]


def test_completion_leaves_out_the_streams_rather_than_failing_when_the_store_is_down() -> None:
    app = App()
    app.store_url = "postgresql://postgres@127.0.0.1:1/x"  # nothing listens on port 1
    bench = Workbench(app)
    assert offered(bench, "use ") == ["combat"]
    assert offered(bench, "disp") == ["dispatch"]
    assert bench.toolbar() == "postgresql://postgres@127.0.0.1:1/x"


def test_a_rewritten_line_completes_as_the_dispatch_it_stands_for(bench: Workbench) -> None:
    bench.use(["combat"])
    fields = ["--entity-id", "--damage", "--weapon"]
    assert offered(bench, "attack --")[:3] == offered(bench, "dispatch combat attack --")[:3]
    assert offered(bench, "attack --")[:3] == fields
    bench.use(["combat-ogre"])  # the context gives the stream: its field is not offered
    assert offered(bench, "attack --")[:2] == ["--damage", "--weapon"]
