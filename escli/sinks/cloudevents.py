"""The ``cloudevents:FILE`` dispatch target: delivered events appended as CloudEvents JSON
Lines (``escli.cloudevents.write.to_json``), ``cloudevents:-`` for standard output."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import ClassVar, TextIO

from escli.cloudevents.write import to_json
from escli.errors import InvalidInput, StoreError
from escli.stores.base import RecordedEvent

__all__ = ["CloudEventsFile"]


class CloudEventsFile:
    """Appends delivered events to a file as CloudEvents JSON Lines (``cloudevents:-`` is
    standard output). The path is checked when the target is opened, so a bad one stops the
    command before anything is written; the file itself is created by the first delivery, so
    a command that fails earlier leaves no trace."""

    SCHEME: ClassVar[str] = "cloudevents:"

    def __init__(self, url: str) -> None:
        self.url = url
        self.path = url[len(self.SCHEME) :]
        if not self.path:
            raise InvalidInput(f"{url!r} names no file: use cloudevents:FILE or cloudevents:-")
        self._file: TextIO | None = None
        if self.path != "-":
            folder = os.path.dirname(os.path.abspath(self.path))
            if os.path.isdir(self.path):
                raise InvalidInput(f"{url}: {self.path} is a directory")
            if not os.path.isdir(folder):
                raise InvalidInput(f"{url}: cannot open {self.path}: no such directory {folder}")
            writable = self.path if os.path.exists(self.path) else folder
            if not os.access(writable, os.W_OK):
                raise InvalidInput(f"{url}: cannot open {self.path}: permission denied")

    def deliver(self, recorded: Sequence[RecordedEvent]) -> None:
        text = "".join([to_json(r) + "\n" for r in recorded])
        try:
            if self.path == "-":
                out: TextIO = sys.stdout
            else:
                if self._file is None:
                    self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - kept open
                out = self._file
            out.write(text)
            out.flush()
        except OSError as e:
            if isinstance(e, BrokenPipeError) and self.path == "-":
                raise  # stdout's reader stopped early (`| head -1`): the CLI ends quietly
            raise StoreError(f"{self.url}: cannot write {self.path}: {e.strerror}") from e

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
