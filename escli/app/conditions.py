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
    value is read as JSON (``3``, ``true``, ``null``, ``"3"``), else kept as text. No value,
    or one that starts with an operator's character (``damage==5``, ``damage=>5``), is
    refused: a text like that is given as JSON (``note="=x"``)."""
    at = [(text.find(op), op) for op in _OPERATORS if text.find(op) > 0]
    if not at:
        raise UsageError(f"--where {text!r}: expected FIELD=VALUE (or !=, >=, <=, >, <)")
    index, op = min(at, key=lambda found: (found[0], -len(found[1])))
    field, raw = text[:index].strip(), text[index + len(op) :].strip()
    if not raw:
        raise UsageError(f'--where {text!r}: no value after {op} (the empty text is {field}{op}"")')
    if raw[0] in "=<>!":  # damage==5, damage=>5: a second operator, never a value
        raise UsageError(
            f"--where {text!r}: one operator goes between FIELD and VALUE (a text that "
            f"starts with {raw[0]} is given as JSON: {field}{op}{json.dumps(raw)})"
        )
    try:
        value = json.loads(raw)
    except ValueError:
        value = raw
    return Condition(field, op, value)
