"""One test command covers both EventStoreDB client packages.

esdbclient and kurrentdbclient need disjoint grpcio versions, so they cannot share an
environment: the main one (.venv) has esdbclient, and kurrentdbclient lives in .venv-kurrent,
which the README's test command creates (for another Python, .ci/run makes one of that Python
and names it in $ESCLI_TEST_KURRENT_PYTHON). The test below runs the EventStoreDB tests there in
a subprocess. Outside CI a missing .venv-kurrent (or a main environment without a client)
skips with the command that fixes it; in CI (CI=true) it fails.
"""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.conftest import ESDB_CLIENT, IN_CI, ROOT

# .ci/run names the environment of the same Python as this run's (.venv-kurrent-3.13, ...).
KURRENT_PYTHON = ROOT / os.environ.get("ESCLI_TEST_KURRENT_PYTHON", ".venv-kurrent/bin/python")
KURRENT_SETUP = (
    "python3 -m venv .venv-kurrent && .venv-kurrent/bin/pip install -e '.[test,kurrentdb]'"
)
# Every test module that talks to EventStoreDB through a client package.
ESDB_TESTS = [
    "tests/test_esdb_server.py",
    "tests/stores/test_eventstoredb.py",
    "tests/cli/test_eventstoredb_cli.py",
    "tests/cli/test_follow.py",
]


# The subprocess takes 25-40 s; a run that has not ended well past that is hung.
SUBPROCESS_TIMEOUT_S = 600


def _text(output: str | bytes | None) -> str:
    if isinstance(output, bytes):
        return output.decode(errors="replace")
    return output or ""


def missing(message: str) -> None:
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


def test_this_environment_has_an_eventstoredb_client() -> None:
    if ESDB_CLIENT is None:
        missing("no EventStoreDB client installed: .venv/bin/pip install -e '.[test,esdb]'")


def test_the_eventstoredb_tests_pass_with_kurrentdbclient() -> None:
    if ESDB_CLIENT == "kurrentdbclient":
        pytest.skip("this run already uses kurrentdbclient")
    if not KURRENT_PYTHON.exists():
        missing(f".venv-kurrent is missing: {KURRENT_SETUP}")
    probe = subprocess.run(
        [str(KURRENT_PYTHON), "-c", "import kurrentdbclient, escli"], capture_output=True
    )
    if probe.returncode != 0:
        missing(f".venv-kurrent lacks kurrentdbclient or escli: {KURRENT_SETUP}")
    try:
        done = subprocess.run(
            [str(KURRENT_PYTHON), "-m", "pytest", "-q", "-p", "no:cacheprovider", *ESDB_TESTS],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=SUBPROCESS_TIMEOUT_S,
            # Proven by test_the_expected_client_package_is_in_use in the subprocess.
            env={**os.environ, "ESCLI_TEST_EXPECT_ESDB_CLIENT": "kurrentdbclient"},
        )
    except subprocess.TimeoutExpired as e:
        # What it printed so far: the test it hung in, and the stacks pytest's
        # faulthandler_timeout (pyproject.toml) dumped, or the exit hook's (conftest.py).
        pytest.fail(
            f"hung for {e.timeout} s:\n{_text(e.stdout)[-6000:]}\n{_text(e.stderr)[-8000:]}"
        )
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-8000:]
    summary = done.stdout.strip().splitlines()[-1]
    assert " passed" in summary and "failed" not in summary, summary
