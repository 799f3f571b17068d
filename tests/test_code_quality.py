"""The house rules hold: ruff's checks and formatting, and mypy --strict on escli and domains."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True)


def test_ruff_finds_nothing() -> None:
    done = run("ruff", "check", "--quiet", "escli", "domains", "tests", "benchmarks")
    assert done.returncode == 0, done.stdout + done.stderr


def test_code_is_formatted() -> None:
    done = run("ruff", "format", "--check", "--quiet", "escli", "domains", "tests", "benchmarks")
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy_strict_passes() -> None:
    done = run("mypy")
    assert done.returncode == 0, done.stdout + done.stderr


def test_no_module_is_over_500_lines() -> None:
    # One job a module: a module past this has grown a second one (issue 12).
    long = {
        str(path.relative_to(ROOT)): lines
        for path in (ROOT / "escli").rglob("*.py")
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > 500
    }
    assert long == {}


def test_no_named_tuple_is_built_past_its_constructor() -> None:
    # Issue 12 removed ``tuple.__new__`` fast paths (README, benchmarks): clear beats clever.
    found = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "escli").rglob("*.py")
        if "tuple.__new__" in path.read_text(encoding="utf-8")
    ]
    assert found == []
