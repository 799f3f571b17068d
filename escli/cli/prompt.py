"""The shell's terminal: a prompt_toolkit prompt over a ``Workbench``. The only module that
imports prompt_toolkit, and only ``escli shell`` at a terminal imports it.

History is kept in a file (``escli.cli.workbench.history_path``) and searched with Ctrl-R,
or with the up arrow from what is typed; Tab completes through click's completion
(``escli.cli.shell_offers``); the bottom toolbar shows the fields of the command being typed,
the store and the context stream's generation. Ctrl-C cancels the line, Ctrl-D leaves.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from prompt_toolkit import PromptSession
from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document
from prompt_toolkit.history import FileHistory, History, InMemoryHistory
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent

from escli.cli.shell_offers import complete, hint

if TYPE_CHECKING:
    from prompt_toolkit.input import Input
    from prompt_toolkit.output import Output

    from escli.cli.workbench import Workbench

__all__ = ["interact"]


class _ClickCompleter(Completer):
    def __init__(self, bench: Workbench) -> None:
        self.bench = bench

    def get_completions(
        self, document: Document, complete_event: CompleteEvent
    ) -> Iterator[Completion]:
        for offer in complete(self.bench, document.text_before_cursor):
            meta = offer.help.partition(". ")[0] or None  # the first sentence fits the menu
            yield Completion(offer.text, -offer.replaces, display_meta=meta)


def interact(
    bench: Workbench,
    *,
    history_file: str | None = None,
    input: Input | None = None,
    output: Output | None = None,
) -> int:
    """Prompt for lines until ``exit``, ``quit`` or Ctrl-D; 0 when the shell is left.
    ``input`` and ``output`` are prompt_toolkit's (a pipe input in tests)."""
    history: History = FileHistory(history_file) if history_file else InMemoryHistory()

    def toolbar() -> str:
        typed = session.default_buffer.document.text_before_cursor
        shown = hint(bench, typed)
        return f" {bench.toolbar()}" + (f"\n {shown}" if shown else "")

    completer = _ClickCompleter(bench)
    bindings = KeyBindings()

    @bindings.add("tab")
    def _tab(event: KeyPressEvent) -> None:
        """One completion is put in at once, as a shell does (prompt_toolkit's own Tab
        completes in the background, after keys typed right behind it); several open the menu."""
        buffer = event.current_buffer
        if buffer.complete_state:
            buffer.complete_next()
            return
        found = list(
            completer.get_completions(buffer.document, CompleteEvent(completion_requested=True))
        )
        if len(found) == 1:
            buffer.apply_completion(found[0])
        elif found:
            buffer.start_completion(insert_common_part=True)

    options: dict[str, Any] = {}
    if input is not None:
        options["input"] = input
    if output is not None:
        options["output"] = output
    session: PromptSession[str] = PromptSession(
        history=history,
        completer=completer,
        key_bindings=bindings,
        complete_while_typing=False,
        enable_history_search=True,
        bottom_toolbar=toolbar,
        **options,
    )
    while not bench.leaving:
        try:
            line = session.prompt(bench.prompt())
        except KeyboardInterrupt:
            continue  # Ctrl-C: the line is dropped, the shell stays
        except EOFError:
            break
        bench.run_line(line)
    return 0
