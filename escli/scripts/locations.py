"""Finding scenario files: the files named, and the YAML files with a top-level
``scenarios:`` key under the folders named."""

from __future__ import annotations

import os
from collections.abc import Sequence

from escli.errors import InvalidInput

__all__ = ["find_scenario_files"]


def find_scenario_files(paths: Sequence[str]) -> list[str]:
    """Scenario files: each PATH that is a file, and under each folder the *.yaml/*.yml
    files with a top-level ``scenarios:`` key, in name order."""
    found: list[str] = []
    for path in paths:
        if os.path.isfile(path):
            found.append(path)
            continue
        if not os.path.isdir(path):
            raise InvalidInput(f"{path}: no such file or folder")
        for folder, dirs, names in os.walk(path):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(names):
                if not name.endswith((".yaml", ".yml")):
                    continue
                full = os.path.join(folder, name)
                try:
                    with open(full, encoding="utf-8-sig") as f:
                        if any(line.startswith("scenarios:") for line in f):
                            found.append(full)
                except (OSError, UnicodeDecodeError) as e:
                    raise InvalidInput(f"{full}: cannot read it as UTF-8 text ({e})") from e
    if not found:
        raise InvalidInput(f"no scenario files in {', '.join(paths)}")
    return found
