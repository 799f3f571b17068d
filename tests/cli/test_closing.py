"""The CLI closes every store it opened, except a SQLite store when the process ends at once.

SQLite deletes a store's write-ahead log (``events.db-wal``) when its last connection closes,
having folded the log into the database: whether that file is left shows whether the store
was closed.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import Run, open_store


def wal(path: Path) -> Path:
    return path.with_name(path.name + "-wal")


def test_an_in_process_command_closes_its_store_and_its_targets(escli: Run, tmp_path: Path) -> None:
    mirror = tmp_path / "mirror.db"
    out = escli("dispatch", "combat", "attack", "ogre", "150", "--to", f"sqlite:///{mirror}")
    assert out.exit_code == 0, out.stderr
    assert not wal(tmp_path / "events.db").exists()
    assert not wal(mirror).exists()


def test_an_in_process_command_that_fails_closes_its_store(escli: Run, tmp_path: Path) -> None:
    assert escli("dispatch", "combat", "attack", "ogre", "150").exit_code == 0
    out = escli("dispatch", "combat", "attack", "ghost", "1")
    assert (out.exit_code, out.stderr) == (5, "Error: ghost is immortal: attacks pass through it\n")
    assert not wal(tmp_path / "events.db").exists()


def test_a_script_closes_the_store_it_names(escli: Run, tmp_path: Path) -> None:
    own = tmp_path / "own.db"
    script = tmp_path / "script.yaml"
    script.write_text(f"store: sqlite:///{own}\nsteps: [combat attack ogre 1]\n")
    out = escli("run", str(script))
    assert out.exit_code == 0, out.stderr
    assert open_store(f"sqlite:///{own}").generation("combat-ogre") == 1
    assert not wal(tmp_path / "events.db").exists()


def test_the_console_script_leaves_sqlite_open_for_the_process_end_and_loses_nothing(
    tmp_path: Path,
) -> None:
    # The console script ends with os._exit right after the command. Closing SQLite would
    # only fold the WAL into the database (two fsyncs, a tenth of a dispatch's time); the
    # commit is durable in the WAL already, and the next writer folds it in.
    script = Path(sys.executable).with_name("escli")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "escli"]
    done = subprocess.run(
        [*command, "dispatch", "combat", "attack", "ogre", "150"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    store = tmp_path / ".escli" / "events.db"
    assert wal(store).stat().st_size > 0
    assert open_store(f"sqlite:///{store}").generation("combat-ogre") == 1
