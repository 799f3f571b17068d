"""Writing a script: steps of command words as the YAML ``escli run`` reads back.

``escli shell`` saves a session with it (``:save FILE.yaml``). A file whose steps all share
one domain names it once (``domain: combat``) and its steps leave it out; otherwise each
step names its own. Steps are plain ``run:`` lines, words quoted as a shell would
(``shlex``), so the file reads like the session that made it.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence

from escli.scripts.yaml_text import yaml_scalar

__all__ = ["script_text"]


def script_text(steps: Sequence[tuple[str, Sequence[str]]]) -> str:
    """A script of ``(domain, [command, *field words])`` steps, in order."""
    domains = {domain for domain, _ in steps}
    one = domains.pop() if len(domains) == 1 else None
    lines = ["# Saved from escli shell; run it with: escli run FILE"]
    if one is not None:
        lines.append(f"domain: {yaml_scalar(one)}")
    lines.append("steps:")
    for domain, words in steps:
        said = shlex.join(words if one is not None else [domain, *words])
        lines.append(f"  - run: {yaml_scalar(said)}")
    return "\n".join(lines) + "\n"
