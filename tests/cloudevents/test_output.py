"""``export -o PATH`` by what PATH is: a regular file is replaced whole (keeping its mode), a
symlink is followed, a FIFO or device is written straight, a directory is refused; a write
that fails is an error, never a success, and never leaves part of a file."""

from __future__ import annotations

import errno
import os
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Run

EXPORTED = "exported 2 events (JSON Lines)"


@pytest.fixture
def two_events(escli: Run) -> None:
    assert escli("dispatch", "combat", "attack", "ogre", "5").exit_code == 0
    assert escli("dispatch", "combat", "attack", "ogre", "6").exit_code == 0


def device(tmp_path: Path, name: str, minor: int) -> str:
    """A character device like /dev/<name>: made in tmp_path when escli may (as root), so a
    regression replaces a copy and not the machine's own; else the machine's, which a user
    who is not root cannot replace."""
    if os.geteuid() != 0:
        return f"/dev/{name}"
    path = tmp_path / name
    os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, minor))
    return str(path)


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".escli-" in p.name)


@pytest.mark.usefixtures("two_events")
def test_a_directory_is_refused(escli: Run, tmp_path: Path) -> None:
    out = escli("export", "--all", "-o", str(tmp_path))
    assert (out.exit_code, out.stderr) == (
        4,
        f"Error: {tmp_path}: is a directory; -o takes a file\n",
    )
    assert leftovers(tmp_path) == []


@pytest.mark.usefixtures("two_events")
def test_an_existing_file_is_replaced_whole_and_keeps_its_mode(escli: Run, tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    path.write_text("old\n")
    path.chmod(0o640)
    out = escli("export", "--all", "-o", str(path))
    assert (out.exit_code, out.stderr) == (0, f"{EXPORTED} to {path}\n")
    assert len(path.read_text().splitlines()) == 2
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert leftovers(tmp_path) == []


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    yield
    os.umask(old)


@pytest.mark.usefixtures("two_events", "umask_022")
def test_a_new_file_gets_the_mode_the_umask_gives(escli: Run, tmp_path: Path) -> None:
    path = tmp_path / "new.jsonl"
    assert escli("export", "--all", "-o", str(path)).exit_code == 0
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


@pytest.mark.usefixtures("two_events")
@pytest.mark.parametrize("dangling", [False, True])
def test_a_symlink_is_followed_and_stays_a_link(escli: Run, tmp_path: Path, dangling: bool) -> None:
    target = tmp_path / "real.jsonl"
    if not dangling:
        target.write_text("old\n")
    link = tmp_path / "link.jsonl"
    link.symlink_to(target.name)
    assert escli("export", "--all", "-o", str(link)).exit_code == 0
    assert link.is_symlink()
    assert len(target.read_text().splitlines()) == 2


@pytest.mark.usefixtures("two_events")
def test_a_fifo_is_written_straight(escli: Run, tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[str] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_text()))
    reader.start()
    out = escli("export", "--all", "-o", str(fifo))
    reader.join(timeout=10)
    assert (out.exit_code, out.stderr) == (0, f"{EXPORTED} to {fifo}\n")
    assert len(received[0].splitlines()) == 2
    assert stat.S_ISFIFO(fifo.stat().st_mode)


@pytest.mark.usefixtures("two_events")
def test_a_device_is_written_straight_and_stays_a_device(escli: Run, tmp_path: Path) -> None:
    null = device(tmp_path, "null", 3)
    out = escli("export", "--all", "-o", null)
    assert (out.exit_code, out.stderr) == (0, f"{EXPORTED} to {null}\n")
    assert stat.S_ISCHR(os.stat(null).st_mode)


@pytest.mark.usefixtures("two_events")
def test_a_full_device_is_an_error_not_a_success(escli: Run, tmp_path: Path) -> None:
    full = device(tmp_path, "full", 7)
    out = escli("export", "--all", "-o", full)
    assert (out.exit_code, out.stderr) == (
        4,
        f"Error: cannot write {full}: No space left on device; the output is incomplete\n",
    )
    assert stat.S_ISCHR(os.stat(full).st_mode)


@pytest.mark.usefixtures("two_events")
def test_standard_output_on_a_full_device_is_an_error(store_url: str, tmp_path: Path) -> None:
    with open(device(tmp_path, "full", 7), "w") as full:
        done = subprocess.run(
            [sys.executable, "-m", "escli", "export", "--all", "--store", store_url],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
        )
    assert (done.returncode, done.stderr) == (
        4,
        "Error: cannot write standard output: No space left on device; the output is incomplete\n",
    )


@pytest.mark.usefixtures("two_events")
def test_a_write_that_fails_leaves_the_file_as_it_was(
    escli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "out.jsonl"
    path.write_text("old\n")

    def disk_full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr("escli.cloudevents.output.os.fsync", disk_full)
    out = escli("export", "--all", "-o", str(path))
    assert (out.exit_code, out.stderr) == (
        4,
        f"Error: cannot write {path}: No space left on device; {path} is as it was\n",
    )
    assert path.read_text() == "old\n"
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("kind", ["stdout", "file", "device"])
def test_an_os_error_of_the_callers_own_is_not_a_failed_write(tmp_path: Path, kind: str) -> None:
    from escli.cloudevents.output import output_to

    path = {"stdout": None, "file": str(tmp_path / "out.jsonl"), "device": "/dev/null"}[kind]
    with pytest.raises(FileNotFoundError), output_to(path) as out:
        out.write("half\n")
        (tmp_path / "missing.jsonl").read_text()  # reading the input fails
    assert not (tmp_path / "out.jsonl").exists()
    assert leftovers(tmp_path) == []


@pytest.mark.usefixtures("two_events")
@pytest.mark.parametrize("args", [["-o", ""], ["--output="], ["--json", "-o", ""]])
def test_an_empty_output_path_is_refused_before_anything_is_read(
    escli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    out = escli("export", "--all", *args)
    assert (out.exit_code, out.stdout, out.stderr) == (
        4,
        "",
        "Error: export -o: the output path is empty: name a FILE, or - for stdout\n"
        if "--json" not in args
        else '{"error": "export -o: the output path is empty: name a FILE, or - for stdout", '
        '"exit_code": 4}\n',
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["events.db"]
