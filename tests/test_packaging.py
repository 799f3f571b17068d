"""The Pythons escli claims to support are the ones CI runs the suite on, and CI finds each
one or names what is missing."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.conftest import IN_CI, ROOT

CI_RUN = ROOT / ".ci" / "run"
THIS_PYTHON = f"{sys.version_info[0]}.{sys.version_info[1]}"


def ci_pythons() -> list[str]:
    (line,) = [x for x in CI_RUN.read_text().splitlines() if x.startswith("PYTHONS=")]
    return line.partition("=")[2].strip('"').split()


def test_the_classifiers_and_requires_python_name_the_pythons_ci_tests() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    classified = [
        c.rpartition(" :: ")[2]
        for c in project["classifiers"]
        if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)
    ]
    assert classified == ci_pythons()
    assert project["requires-python"] == f">={ci_pythons()[0]}"


def test_ci_runs_every_python_from_the_oldest_to_the_newest_supported() -> None:
    minors = [int(v.removeprefix("3.")) for v in ci_pythons()]
    assert minors == list(range(minors[0], minors[-1] + 1))
    assert THIS_PYTHON in ci_pythons()


def test_ci_names_every_python_it_cannot_find_and_runs_nothing(tmp_path: Path) -> None:
    # A PATH with the few tools .ci/run needs to look, this Python as python3.X and, as the
    # next version's name, an interpreter that is not that version; no pyenv.
    bin_ = tmp_path / "bin"
    bin_.mkdir()
    for tool in ("bash", "dirname", "ls", "sort"):
        found = shutil.which(tool)
        assert found is not None, tool
        (bin_ / tool).symlink_to(found)
    others = [v for v in ci_pythons() if v != THIS_PYTHON]
    (bin_ / f"python{THIS_PYTHON}").symlink_to(sys.executable)
    (bin_ / f"python{others[0]}").symlink_to(sys.executable)
    done = subprocess.run(
        ["bash", str(CI_RUN), "--pythons"],
        env={"PATH": str(bin_), "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
    )
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == (
        f".ci/run: no Python {' '.join(others)} on this machine (looked for python{others[0]} "
        f"on PATH and under {tmp_path}/.pyenv/versions/{others[0]}.*/bin/python3). The suite "
        f"must pass on each of {' '.join(ci_pythons())}: install what is missing (pyenv "
        f"install {' '.join(others)}).\n"
    )


def test_ci_finds_an_interpreter_of_each_python_on_this_machine() -> None:
    done = subprocess.run(["bash", str(CI_RUN), "--pythons"], capture_output=True, text=True)
    if done.returncode != 0:
        if IN_CI:
            pytest.fail(done.stderr, pytrace=False)
        pytest.skip(done.stderr)
    found = dict(line.split(" ", 1) for line in done.stdout.splitlines())
    assert list(found) == ci_pythons()
    for version, path in found.items():
        asked = subprocess.run(
            [path, "-c", "import sys; print(*sys.version_info[:2], sep='.')"],
            capture_output=True,
            text=True,
        )
        assert asked.stdout == f"{version}\n", path


def test_every_package_of_escli_is_installed() -> None:
    # The package list in pyproject.toml is written out (the sample is mapped from
    # domains/combat): a folder missing from it would be left out of a plain `pip install .`.
    import tomllib

    listed = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    found = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for init in (ROOT / "escli").rglob("__init__.py")
    }
    assert found <= listed, f"not in pyproject.toml's packages: {sorted(found - listed)}"
    assert "escli_combat" in listed
