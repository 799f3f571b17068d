"""How ``escli trace`` looks: the correlation as a tree of its commands and their events."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text
from rich.tree import Tree

from escli.cli.render import recorded_json
from escli.cli.shorten import short_id, short_time

if TYPE_CHECKING:
    from escli.app.trace import Trace

__all__ = ["trace_json", "trace_tree"]


def trace_tree(found: Trace) -> Tree:
    """The correlation at the root; under it each command (name, stream, causation id) in
    the order of its first event; under each its events (generation, short id, time, type),
    as ``escli events`` shows them."""
    tree = Tree(Text.assemble(("correlation ", "dim"), (found.correlation_id, "bold")))
    for command in found.commands:
        node = tree.add(
            Text.assemble(
                (command.command, "bold"),
                "  ",
                command.stream,
                ("  causation ", "dim"),
                command.causation_id,
            )
        )
        for r in command.events:
            node.add(
                Text.assemble(
                    str(r.generation),
                    "  ",
                    (short_id(r.event_id), "yellow"),
                    "  ",
                    (short_time(r.recorded_at), "dim"),
                    "  ",
                    (f"{r.event_type} v{r.type_version}", "cyan"),
                )
            )
    return tree


def trace_json(found: Trace) -> dict[str, Any]:
    return {
        "correlation": found.correlation_id,
        "commands": [
            {
                "causation": c.causation_id,
                "command": c.command,
                "stream": c.stream,
                "events": [recorded_json(r) for r in c.events],
            }
            for c in found.commands
        ],
    }
