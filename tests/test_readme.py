"""The README's examples are real: every `$ escli ...` line in a ```console block runs, in
order, against one fresh store and must print exactly the lines under it."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from tests.conftest import ROOT, Run, masked

README = ROOT / "README.md"


def examples(text: str) -> list[tuple[str, str]]:
    found = []
    for block in re.findall(r"```console\n(.*?)```", text, flags=re.DOTALL):
        command, output = None, []
        for line in block.splitlines():
            if line.startswith("$ "):
                if command is not None:
                    found.append((command, "".join(output)))
                command, output = line[2:], []
            else:
                output.append(line + "\n")
        if command is not None:
            found.append((command, "".join(output)))
    return found


def test_the_readme_has_examples() -> None:
    commands = [c for c, _ in examples(README.read_text())]
    assert "escli dispatch combat attack ogre 150" in commands
    assert len(commands) >= 10


def test_the_readme_examples_print_what_they_show(
    escli: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)  # the examples name files like sample_streams/combat-ogre.jsonl
    for command, expected in examples(README.read_text()):
        words = shlex.split(command)
        assert words[0] == "escli"
        out = escli(*words[1:])
        # An event line's id and time differ between runs: the README writes <id> and <time>.
        assert masked(out.stdout + out.stderr) == expected, command


def test_the_quick_start_commands_are_what_ci_runs() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    test_command = [line for line in ci.splitlines() if line.startswith("python3 -m venv")][-1]
    assert test_command in README.read_text()
    assert Path(ROOT / ".ci" / "run").stat().st_mode & 0o111
