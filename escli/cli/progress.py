"""A progress bar on stderr for long exports and imports: events, events/s and ETA.

Drawn only when stderr is a terminal and the run passes ``THRESHOLD`` events (known up front
or counted so far); otherwise it costs one comparison per update. rich.progress is imported
only when a bar is drawn.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from rich.console import Console

THRESHOLD: Final = 10_000


class EventProgress:
    """Implements ``escli.cloudevents.progress.Progress`` with a rich bar, one task per phase."""

    def __init__(self, console: Console) -> None:
        self.enabled = console.is_terminal
        self._console = console
        self._bar: Any = None
        self._task: Any = None
        self._description = ""
        self._total: int | None = None

    def start(self, description: str, total: int | None) -> None:
        self._description, self._total = description, total
        self._task = None
        if self._bar is not None:
            self._show()

    def update(self, done: int) -> None:
        if not self.enabled:
            return
        if self._task is None:
            if max(done, self._total or 0) <= THRESHOLD:
                return
            self._show()
        self._bar.update(self._task, completed=done)

    def finish(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None

    def _show(self) -> None:
        if self._bar is None:
            self._bar = _new_bar(self._console)
            self._bar.start()
        self._task = self._bar.add_task(self._description, total=self._total)


def _new_bar(console: Console) -> Any:
    from rich.progress import (
        BarColumn,
        Progress,
        ProgressColumn,
        Task,
        TextColumn,
        TimeRemainingColumn,
    )
    from rich.text import Text

    class Rate(ProgressColumn):
        def render(self, task: Task) -> Text:
            speed = task.finished_speed or task.speed
            return Text("" if speed is None else f"{speed:,.0f} events/s")

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,.0f} events"),
        Rate(),
        TimeRemainingColumn(),
        console=console,
    )
