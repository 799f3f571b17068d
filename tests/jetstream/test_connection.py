"""escli.jetstream.connection is the one door to nats-py."""

from __future__ import annotations

import ast
from pathlib import Path

import escli

PACKAGE = Path(escli.__file__).parent


def importers_of(top: str) -> list[str]:
    """The modules of escli that import package ``top`` (at any depth, inside functions too)."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            if any(name == top or name.startswith(top + ".") for name in names):
                found.append(path.relative_to(PACKAGE.parent).as_posix())
                break
    return found


def test_only_the_connection_imports_nats_py() -> None:
    assert importers_of("nats") == ["escli/jetstream/connection.py"]
