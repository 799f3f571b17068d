"""Where ``-o PATH`` writes, by what PATH is:

- nothing yet, or a regular file: a new file beside it, renamed over it only when every
  byte is written and synced, so PATH holds the old content or the new, never part of it.
  An existing file keeps its mode (and, when escli may, its owner and group); a new one
  gets the mode the umask gives.
- a symlink: followed, knowingly, as a shell's ``>`` follows it: its target is written as
  above and the link stays a link (to a file that may not exist yet).
- a FIFO, a device or anything under ``/dev`` (``/dev/null``, ``/dev/stdout``, a
  terminal): written straight, as it is; renaming over it would replace the device with a
  file (and ``/dev/stdout`` names whatever standard output is, which may be a file opened
  for appending).
- a directory: refused, before anything is read.

A write that fails (a full disk, a closed output) is an error naming the output: escli never
reports success for output that was lost. A reader of standard output that stops early
(``| head``) is not a failure: ``BrokenPipeError`` goes on to the CLI, which ends quietly.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, cast

from escli.errors import InvalidInput

__all__ = ["output_to"]


def _failed(what: str, e: OSError, outcome: str) -> InvalidInput:
    return InvalidInput(f"cannot write {what}: {e.strerror or e}{outcome}")


@contextmanager
def _writing(what: str, outcome: str) -> Iterator[None]:
    """A write, flush or sync of the output: its failure is an error naming the output. Only
    around those calls: an ``OSError`` of the caller's own (reading its input, say) is not
    the output's."""
    try:
        yield
    except BrokenPipeError:
        raise  # a reader that stopped early: the CLI ends quietly
    except OSError as e:
        raise _failed(what, e, outcome) from e


class _Output:
    """The text stream the caller writes into: ``out``, whose failing writes are errors
    naming the output (``what``), ``outcome`` telling what became of it."""

    def __init__(self, out: IO[str], what: str, outcome: str) -> None:
        self._out, self._what, self._outcome = out, what, outcome

    def write(self, text: str) -> int:
        with _writing(self._what, self._outcome):
            return self._out.write(text)

    def flush(self) -> None:
        with _writing(self._what, self._outcome):
            self._out.flush()


def _guarded(out: IO[str], what: str, outcome: str) -> IO[str]:
    # Only write and flush are offered: what ``export_events`` and the CLI call.
    return cast("IO[str]", _Output(out, what, outcome))


@contextmanager
def output_to(path: str | None) -> Iterator[IO[str]]:
    """A text stream for ``path`` (standard output for ``None`` or ``-``), as the module
    docstring says. The caller writes into it inside the ``with``."""
    if path is None or path == "-":
        incomplete = "; the output is incomplete"
        yield _guarded(sys.stdout, "standard output", incomplete)
        with _writing("standard output", incomplete):
            sys.stdout.flush()
        return
    try:
        st: os.stat_result | None = os.stat(path)  # through symlinks
    except FileNotFoundError:
        st = None  # nothing there yet, or a symlink to nothing yet
    except OSError as e:
        raise _failed(path, e, "") from e
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise InvalidInput(f"{path}: is a directory; -o takes a file")
    under_dev = os.path.abspath(path).startswith("/dev/")
    if st is not None and (under_dev or not stat.S_ISREG(st.st_mode)):
        with _straight(path) as out:
            yield out
        return
    with _replacing(path, os.path.realpath(path), st) as out:
        yield out


@contextmanager
def _straight(path: str) -> Iterator[IO[str]]:
    try:
        out = open(path, "w", encoding="utf-8", newline="\n")  # noqa: SIM115 - closed below
    except OSError as e:
        raise _failed(path, e, "") from e
    incomplete = "; the output is incomplete"
    try:
        yield _guarded(out, path, incomplete)
    except BaseException:
        with contextlib.suppress(OSError):  # the caller's error is the one to tell
            out.close()
        raise
    with _writing(path, incomplete):
        out.close()


@contextmanager
def _replacing(path: str, target: str, st: os.stat_result | None) -> Iterator[IO[str]]:
    folder, name = os.path.split(target)
    temporary = os.path.join(folder, f".{name}.escli-{secrets.token_hex(4)}")
    try:
        # 0o666 less the umask, as any new file; an existing file's mode is copied below.
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as e:
        raise _failed(path, e, "") from e
    as_it_was = f"; {path} is as it was"
    out: IO[str] | None = None
    try:
        out = os.fdopen(fd, "w", encoding="utf-8", newline="\n")
        with _writing(path, as_it_was):
            if st is not None:
                os.chmod(fd, stat.S_IMODE(st.st_mode))
                if (st.st_uid, st.st_gid) != (os.geteuid(), os.getegid()):
                    with contextlib.suppress(OSError):  # only root may give a file away
                        os.chown(fd, st.st_uid, st.st_gid)
        yield _guarded(out, path, as_it_was)
        with _writing(path, as_it_was):
            out.flush()
            os.fsync(fd)
            out.close()
            os.replace(temporary, target)
    except BaseException:
        if out is not None:
            with contextlib.suppress(OSError):  # the caller's error is the one to tell
                out.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
