"""The CLI starts without importing heavy clients (grpc, esdbclient, nats, psycopg, cloudevents)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = (
    "grpc",
    "esdbclient",
    "kurrentdbclient",
    "nats",
    "psycopg",
    "cloudevents",
    "yaml",
    "prompt_toolkit",
)

PROBE = """
import json, sys
from escli.cli import cli
code = cli.main(sys.argv[1:], standalone_mode=False)
heavy = sorted({m.split('.')[0] for m in sys.modules} & set(HEAVY))
print(json.dumps({"code": code, "heavy": heavy}), file=sys.stderr)
""".replace("HEAVY", repr(HEAVY))


def probe(*args: str, cwd: Path) -> dict:  # type: ignore[type-arg]
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args], cwd=cwd, capture_output=True, text=True, check=True
    )
    return json.loads(done.stderr.strip().splitlines()[-1])


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["follow", "--help"],
        ["dispatch", "combat", "attack", "ogre", "150"],
        ["replay", "combat-ogre"],
        ["streams"],
        ["init"],
        ["copy", "sqlite:///.escli/events.db", "sqlite:///copy.db", "--all"],
    ],
)
def test_common_commands_import_no_heavy_client(args: list[str], tmp_path: Path) -> None:
    if args[0] == "replay":  # a stream the store does not hold is not found
        probe("dispatch", "combat", "attack", "ogre", "150", cwd=tmp_path)
    result = probe(*args, cwd=tmp_path)
    assert result == {"code": 0, "heavy": []}


def test_the_probe_would_notice_a_heavy_import(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import json, sys, yaml; from escli.cli import cli;"
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'yaml'}))",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == "['yaml']"


def test_python_dash_m_escli_works(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "escli", "--version"], cwd=tmp_path, capture_output=True, text=True
    )
    assert (done.returncode, done.stdout) == (0, "escli 0.1.0\n")


def test_the_console_script_exits_with_the_error_code_and_keeps_the_store(tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("escli")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "escli"]
    ok = subprocess.run(
        [*command, "dispatch", "combat", "attack", "ogre", "150"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert ok.returncode == 0, ok.stderr
    bad = subprocess.run(
        [*command, "dispatch", "combat", "attack", "ghost", "1"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert (bad.returncode, bad.stderr) == (
        5,
        "Error: ghost is immortal: attacks pass through it\n",
    )
    again = subprocess.run(
        [*command, "replay", "combat-ogre", "--json"], cwd=tmp_path, capture_output=True, text=True
    )
    assert json.loads(again.stdout)["state"]["hitpoints"] == 750
    assert (tmp_path / ".escli" / "events.db").exists()
