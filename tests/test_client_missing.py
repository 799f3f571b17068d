"""A store or target whose client library is not installed is one line naming the extra to
install, exit 12. Each test runs escli in a subprocess in which the client cannot be
imported, as after a plain ``pip install .``: a meta-path finder refuses it (or, for a
client that is there but broken, raises the ImportError its own import would)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

# argv[1]: the modules to refuse, comma-separated; argv[2]: "missing" or "broken"; the rest
# is escli's command line.
PRELUDE = """
import sys

class Refuse:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in REFUSED:
            if HOW == "missing":
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            raise ImportError("no pq wrapper available: libpq library not found")
        return None

REFUSED, HOW = set(sys.argv[1].split(",")), sys.argv[2]
for loaded in [m for m in sys.modules if m.split(".")[0] in REFUSED]:
    del sys.modules[loaded]
sys.meta_path.insert(0, Refuse())
from escli.cli import cli
sys.exit(cli.main(sys.argv[3:], standalone_mode=False))
"""

POSTGRES = "Error: PostgreSQL URLs need psycopg: pip install 'escli[postgres]'\n"
ESDB = (
    "Error: EventStoreDB URLs need a client package: pip install 'escli[esdb]' (esdbclient) "
    "or 'escli[kurrentdb]' (kurrentdbclient)\n"
)
NATS = "Error: nats:// URLs need nats-py: pip install 'escli[nats]'\n"
ATTACK = ("dispatch", "combat", "attack", "ogre", "150")
PG_URL = "postgresql://postgres:pw@127.0.0.1:1/x"


def escli_without(refused: str, *args: str, cwd: Path, how: str = "missing") -> tuple[int, str]:
    done = subprocess.run(
        [sys.executable, "-c", PRELUDE, refused, how, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.stdout == ""
    return done.returncode, done.stderr


@pytest.mark.parametrize(
    ("refused", "args", "message"),
    [
        ("psycopg", (*ATTACK, "--store", PG_URL), POSTGRES),
        ("psycopg", (*ATTACK, "--to", PG_URL), POSTGRES),
        ("psycopg", ("copy", "sqlite:///events.db", PG_URL, "--all"), POSTGRES),
        ("psycopg", ("streams", "--store", "postgres://u@h/db"), POSTGRES),
        ("esdbclient,kurrentdbclient", (*ATTACK, "--store", "esdb://127.0.0.1:1?Tls=false"), ESDB),
        ("esdbclient,kurrentdbclient", (*ATTACK, "--to", "kurrentdb://u:p@127.0.0.1:1"), ESDB),
        ("esdbclient,kurrentdbclient", ("streams", "--store", "esdb+discover://h?Tls=false"), ESDB),
        ("nats", (*ATTACK, "--to", "nats://127.0.0.1:1"), NATS),
        ("nats", ("publish", "--pending", "--to", "nats://127.0.0.1:1"), NATS),
        ("nats", ("follow", "nats://127.0.0.1:1"), NATS),
    ],
)
def test_a_missing_client_is_one_line_naming_the_extra_with_exit_12(
    tmp_path: Path, refused: str, args: tuple[str, ...], message: str
) -> None:
    assert escli_without(refused, *args, cwd=tmp_path) == (12, message)
    assert not (tmp_path / ".escli").exists()  # nothing was written, not even the store


def test_a_client_that_is_installed_but_does_not_import_says_why(tmp_path: Path) -> None:
    assert escli_without("psycopg", *ATTACK, "--store", PG_URL, cwd=tmp_path, how="broken") == (
        12,
        "Error: PostgreSQL URLs need psycopg (installed, but it does not import: no pq wrapper "
        "available: libpq library not found): pip install 'escli[postgres]'\n",
    )


def test_to_cloudevent_without_the_sdk_names_the_extra(tmp_path: Path) -> None:
    code = """
import sys
sys.modules["cloudevents"] = None
from escli.cloudevents.sdk import to_cloudevent
from escli.errors import ClientMissing
from escli.stores.base import RecordedEvent
try:
    to_cloudevent(RecordedEvent("s", 1, "id", "t", "1.0", "src", {}, "2024-01-01T00:00:00Z", 1))
except ClientMissing as e:
    print(e.exit_code, e)
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout == (
        "12 CloudEvent objects need the CloudEvents SDK: pip install 'escli[cloudevents]'\n"
    )
