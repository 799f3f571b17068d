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
from typing import IO

from escli.errors import InvalidInput

__all__ = ["output_to"]


def _failed(what: str, e: OSError, outcome: str) -> InvalidInput:
    return InvalidInput(f"cannot write {what}: {e.strerror or e}{outcome}")


@contextmanager
def output_to(path: str | None) -> Iterator[IO[str]]:
    """A text stream for ``path`` (standard output for ``None`` or ``-``), as the module
    docstring says. The caller writes into it inside the ``with``."""
    if path is None or path == "-":
        try:
            yield sys.stdout
            sys.stdout.flush()
        except BrokenPipeError:
            raise
        except OSError as e:
            raise _failed("standard output", e, "; the output is incomplete") from e
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
    try:
        with out:
            yield out
    except BrokenPipeError:
        raise
    except OSError as e:
        raise _failed(path, e, "; the output is incomplete") from e


@contextmanager
def _replacing(path: str, target: str, st: os.stat_result | None) -> Iterator[IO[str]]:
    folder, name = os.path.split(target)
    temporary = os.path.join(folder, f".{name}.escli-{secrets.token_hex(4)}")
    try:
        # 0o666 less the umask, as any new file; an existing file's mode is copied below.
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as e:
        raise _failed(path, e, "") from e
    try:
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as out:
                if st is not None:
                    os.chmod(fd, stat.S_IMODE(st.st_mode))
                    if (st.st_uid, st.st_gid) != (os.geteuid(), os.getegid()):
                        with contextlib.suppress(OSError):  # only root may give a file away
                            os.chown(fd, st.st_uid, st.st_gid)
                yield out
                out.flush()
                os.fsync(fd)
            os.replace(temporary, target)
        except OSError as e:
            raise _failed(path, e, f"; {path} is as it was") from e
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
