"""Where long runs (export, import, reading a file) report how far they are: the CLI draws a
bar (``escli.cli.progress``); tests and quiet runs pass ``NO_PROGRESS``."""

from __future__ import annotations

from typing import Final, Protocol

__all__ = ["NO_PROGRESS", "Progress"]


class Progress(Protocol):
    """Where long runs report how far they are (the CLI draws a bar; tests pass None)."""

    @property
    def enabled(self) -> bool:
        """Whether anything is shown, so that a total is worth counting."""
        ...

    def start(self, description: str, total: int | None) -> None: ...

    def update(self, done: int) -> None: ...

    def finish(self) -> None: ...


class _NoProgress:
    enabled = False

    def start(self, description: str, total: int | None) -> None:
        pass

    def update(self, done: int) -> None:
        pass

    def finish(self) -> None:
        pass


NO_PROGRESS: Final[Progress] = _NoProgress()
