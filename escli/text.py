"""Text no store or file can keep: a lone surrogate. The one finder, and the one wording of
the problem, for every place text comes in (command-line words, YAML, CloudEvents, data).

A Python str holds a lone surrogate when it was made from a ``"\\ud800"`` escape (JSON, YAML)
or from a command-line byte that is not UTF-8; json and YAML join an escaped pair into the
one character it makes, so what is left is always unpaired. UTF-8 cannot encode one.
Standard library only, and cheap to import: the CLI checks every argument with it.
"""

from __future__ import annotations

import re
from typing import cast

__all__ = ["find_lone_surrogate", "lone_surrogate", "surrogate_in"]

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


def surrogate_in(value: object, pointer: str) -> str | None:
    """Where JSON ``value`` (at JSON pointer ``pointer``) holds a lone surrogate, in a
    string or a member name, nested at any depth: the message, or None."""
    kind = type(value)
    if kind is str:
        text = cast("str", value)
        problem = lone_surrogate(text)
        if problem is None:
            return None
        where = f"{pointer} contains"
    elif kind is dict:
        for name, item in cast("dict[str, object]", value).items():
            problem = lone_surrogate(name)
            if problem is not None:
                text, where = name, f"{pointer} has a member name that contains"
                break
            member = type(item)
            if member is str:
                if cast("str", item).isprintable():  # the common case, at C speed
                    continue
            elif member is not dict and member is not list:
                continue
            part = name.replace("~", "~0").replace("/", "~1")
            inner = surrogate_in(item, f"{pointer}/{ascii(part)[1:-1]}")
            if inner is not None:
                return inner
        else:
            return None
    elif kind is list:
        for index, item in enumerate(cast("list[object]", value)):
            inner = surrogate_in(item, f"{pointer}/{index}")
            if inner is not None:
                return inner
        return None
    else:
        return None
    return f"{where} {problem}: {text!a}"
