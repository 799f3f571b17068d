"""``FIELD OP VALUE`` conditions on JSON objects: what ``escli view --where`` filters a
projection's rows by and ``escli events --where`` an event's data by, parsed once here."""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from escli.errors import UsageError

__all__ = ["Condition", "where_condition"]

_OPERATORS = ("!=", ">=", "<=", "=", ">", "<")  # the two-character ones are looked for first


class Condition(NamedTuple):
    """``FIELD OP VALUE`` of ``view --where``: ``value`` a JSON value, else the text."""

    field: str
    op: str
    value: Any

    def holds(self, row: dict[str, Any]) -> bool:
        if self.field not in row:
            return False
        have, want = row[self.field], self.value
        if self.op == "=":
            return bool(have == want)
        if self.op == "!=":
            return bool(have != want)
        try:
            if self.op == ">=":
                return bool(have >= want)
            if self.op == "<=":
                return bool(have <= want)
            if self.op == ">":
                return bool(have > want)
            return bool(have < want)
        except TypeError:  # a number against a text: no order between them
            return False


def where_condition(text: str) -> Condition:
    """``FIELD=VALUE`` (or ``!=``, ``>=``, ``<=``, ``>``, ``<``) as a ``Condition``; the
    value is read as JSON (``3``, ``true``, ``null``, ``"3"``), else kept as text."""
    at = [(text.find(op), op) for op in _OPERATORS if text.find(op) > 0]
    if not at:
        raise UsageError(f"--where {text!r}: expected FIELD=VALUE (or !=, >=, <=, >, <)")
    index, op = min(at, key=lambda found: (found[0], -len(found[1])))
    field, raw = text[:index].strip(), text[index + len(op) :].strip()
    try:
        value = json.loads(raw)
    except ValueError:
        value = raw
    return Condition(field, op, value)
