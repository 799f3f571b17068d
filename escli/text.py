"""Text no store or file can keep: a lone surrogate. The one finder, and the one wording of
the problem, for every place text comes in (command-line words, YAML, CloudEvents, data).

A Python str holds a lone surrogate when it was made from a ``"\\ud800"`` escape (JSON, YAML)
or from a command-line byte that is not UTF-8; json and YAML join an escaped pair into the
one character it makes, so what is left is always unpaired. UTF-8 cannot encode one.
Standard library only, and cheap to import: the CLI checks every argument with it.
"""

from __future__ import annotations

import re

__all__ = ["find_lone_surrogate", "lone_surrogate"]

_SURROGATE = re.compile("[\ud800-\udfff]")


def find_lone_surrogate(text: str) -> int | None:
    """The index of the first lone surrogate in ``text``, or None."""
    if text.isprintable():  # the common case, at C speed: a surrogate is not printable
        return None
    found = _SURROGATE.search(text)
    return None if found is None else found.start()


def lone_surrogate(text: str) -> str | None:
    """What is wrong with ``text``, in the one wording (``a lone surrogate U+D800 at index
    1, which UTF-8 cannot encode``), for a message ``<what> contains ...``; None when
    ``text`` holds none."""
    index = find_lone_surrogate(text)
    if index is None:
        return None
    return f"a lone surrogate U+{ord(text[index]):04X} at index {index}, which UTF-8 cannot encode"
