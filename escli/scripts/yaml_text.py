"""YAML for scripts and scenario files: plain values that remember where they stand, with
bounds on what a file may expand to.

A script is written by a person and read in full before anything runs, so it is held to
what a person writes:

- at most ``MAX_CHARS`` characters of text, and printable characters only (a NUL, another
  control character or a lone surrogate is refused, in the text or made by an escape
  like ``"\\x00"``);
- at most ``MAX_NODES`` values, ``MAX_DEPTH`` levels of nesting and ``MAX_CHARS`` characters
  of scalars *after* expanding aliases (each ``*alias`` counts what it repeats), and at
  most ``MAX_ALIASES`` aliases: a "billion laughs" file is refused at once;
- JSON values only: safe tags, string keys, no duplicate keys, finite numbers, integers
  Python can write as text. A timestamp (``2024-01-01``) stays the text it was written as.

The bounds are checked on the parser's events, before anything is built, so refusing a
hostile file costs what reading it costs. Every refusal is located: ``FILE:LINE:COLUMN``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from escli.domain.codec import MAX_INT_DIGITS, FieldError, check_value
from escli.errors import InvalidInput

__all__ = [
    "MAX_ALIASES",
    "MAX_CHARS",
    "MAX_DEPTH",
    "MAX_NODES",
    "ScriptTooLarge",
    "Where",
    "YList",
    "YMap",
    "check_script_text",
    "parse_yaml",
    "yaml_scalar",
]

MAX_CHARS = 4_000_000
MAX_NODES = 100_000
MAX_DEPTH = 64
MAX_ALIASES = 1_000


class ScriptTooLarge(InvalidInput):
    """A script past one of the bounds, or with characters no script may hold: refused as
    it is, never read again as plain text lines."""


@dataclass(frozen=True)
class Where:
    """A place in a source: ``file:line:column`` (1-based)."""

    source: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.source}:{self.line}:{self.column}"


class YMap(dict[str, Any]):
    """A YAML mapping that remembers where it and each of its keys and values stand, and
    which values were written as strings (quoted, or a block scalar) rather than as words."""

    where: Where
    key_where: dict[str, Where]
    value_where: dict[str, Where]
    quoted: frozenset[str] = frozenset()


class YList(list[Any]):
    where: Where
    item_where: list[Where]


# Tags of plain data; anything else (``!!python/...``, custom tags) is refused outright.
_PLAIN_TAGS = {
    f"tag:yaml.org,2002:{name}"
    for name in ("map", "seq", "str", "int", "float", "bool", "null", "timestamp")
}
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_INT = "tag:yaml.org,2002:int"

# What YAML allows in a file's text (YAML 1.1, 5.1), with a lone surrogate (which no UTF-8
# file holds) refused as well: the same rule for a script's text and for what its escapes
# make.
_NOT_PRINTABLE = re.compile(
    "[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
)


def _where(source: str, node: Any) -> Where:
    mark = node.start_mark
    return Where(source, mark.line + 1, mark.column + 1)


def _character(found: re.Match[str]) -> str:
    char = found.group()
    code = ord(char)
    if 0xD800 <= code <= 0xDFFF:
        kind = "a lone surrogate, which UTF-8 cannot encode"
    elif code == 0:
        kind = "a NUL"
    else:
        kind = "a control character"
    return f"U+{code:04X}, {kind}"


def check_script_text(text: str, source: str) -> None:
    """Refuse text no script may hold: too long, or with a character that is not printable."""
    if len(text) > MAX_CHARS:
        raise ScriptTooLarge(
            f"{source}: {len(text):,} characters; a script holds at most {MAX_CHARS:,}"
        )
    found = _NOT_PRINTABLE.search(text)
    if found:
        line = text.count("\n", 0, found.start()) + 1
        column = found.start() - (text.rfind("\n", 0, found.start()) + 1) + 1
        raise ScriptTooLarge(
            f"{source}:{line}:{column}: {_character(found)}, is not allowed in a script"
        )


def _loader(text: str) -> Any:
    import yaml

    # libyaml when it is there: ten times faster, and what the bounds are measured with.
    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)


class _Frame:
    __slots__ = ("anchor", "chars", "height", "nodes")

    def __init__(self, anchor: str | None, nodes: int, chars: int) -> None:
        self.anchor, self.nodes, self.chars, self.height = anchor, nodes, chars, 0


def _check_bounds(text: str, source: str) -> None:
    """Walk the parser's events (no recursion, nothing built) and refuse a file past the
    bounds, counting each alias as what it expands to."""
    import yaml

    def refuse(event: Any, message: str) -> ScriptTooLarge:
        return ScriptTooLarge(f"{_where(source, event)}: {message}")

    # Per anchor: the values and scalar characters it expands to, and how deep it nests.
    sizes: dict[str, tuple[int, int, int]] = {}
    stack: list[_Frame] = []
    nodes = chars = aliases = 0
    loader = _loader(text)
    try:
        while loader.check_event():
            event = loader.get_event()
            if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
                if len(stack) >= MAX_DEPTH:
                    raise refuse(event, f"nested deeper than {MAX_DEPTH} levels")
                stack.append(_Frame(event.anchor, nodes, chars))
                nodes += 1
                continue  # its height is known when it ends
            if isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
                frame = stack.pop()
                height = frame.height + 1
                if frame.anchor is not None:
                    sizes[frame.anchor] = (nodes - frame.nodes, chars - frame.chars, height)
            elif isinstance(event, yaml.ScalarEvent):
                found = _NOT_PRINTABLE.search(event.value)
                if found:
                    raise refuse(event, f"{_character(found)}, is not allowed in a script")
                nodes += 1
                chars += len(event.value)
                height = 0
                if event.anchor is not None:
                    sizes[event.anchor] = (1, len(event.value), 0)
            elif isinstance(event, yaml.AliasEvent):
                aliases += 1
                if aliases > MAX_ALIASES:
                    raise refuse(event, f"more than {MAX_ALIASES:,} aliases")
                if any(frame.anchor == event.anchor for frame in stack):
                    raise refuse(event, f"alias *{event.anchor} repeats a value that holds it")
                if event.anchor not in sizes:
                    continue  # undefined: the composer says so, located
                more_nodes, more_chars, height = sizes[event.anchor]
                nodes += more_nodes
                chars += more_chars
                if len(stack) + height > MAX_DEPTH:
                    raise refuse(event, f"nested deeper than {MAX_DEPTH} levels")
            else:
                continue  # stream and document events
            if nodes > MAX_NODES:
                raise refuse(event, f"expands to more than {MAX_NODES:,} values (aliases included)")
            if chars > MAX_CHARS:
                raise refuse(
                    event, f"expands to more than {MAX_CHARS:,} characters (aliases included)"
                )
            if stack:
                stack[-1].height = max(stack[-1].height, height)
    finally:
        loader.dispose()


def parse_yaml(text: str, source: str) -> Any:
    """YAML text as plain values (``YMap``/``YList`` carry locations), safe tags only.
    Duplicate keys, which PyYAML silently accepts, are an error here."""
    import yaml

    check_script_text(text, source)
    try:
        _check_bounds(text, source)
        loader = _loader(text)
    except yaml.MarkedYAMLError as e:
        raise _invalid(e, source) from e
    except yaml.YAMLError as e:
        raise InvalidInput(f"{source}: invalid YAML: {e}") from e
    try:
        node = loader.get_single_node()
        if node is None:
            return None

        def convert(node: Any) -> Any:
            if isinstance(node, yaml.MappingNode) and node.tag in _PLAIN_TAGS:
                out = YMap()
                out.where, out.key_where, out.value_where = _where(source, node), {}, {}
                quoted = set()
                for key_node, value_node in node.value:
                    key = convert(key_node)
                    if not isinstance(key, str):
                        raise InvalidInput(f"{_where(source, key_node)}: keys must be strings")
                    if key in out:
                        raise InvalidInput(f"{_where(source, key_node)}: duplicate key {key!r}")
                    out[key] = convert(value_node)
                    out.key_where[key] = _where(source, key_node)
                    out.value_where[key] = _where(source, value_node)
                    if isinstance(value_node, yaml.ScalarNode) and value_node.style:
                        quoted.add(key)
                if quoted:
                    out.quoted = frozenset(quoted)
                return out
            if node.tag not in _PLAIN_TAGS:
                raise InvalidInput(f"{_where(source, node)}: unsupported YAML tag {node.tag}")
            if isinstance(node, yaml.SequenceNode):
                items = YList(convert(item) for item in node.value)
                items.where = _where(source, node)
                items.item_where = [_where(source, item) for item in node.value]
                return items
            return _scalar(loader, node, source)

        return convert(node)
    except yaml.MarkedYAMLError as e:
        raise _invalid(e, source) from e
    except yaml.YAMLError as e:
        raise InvalidInput(f"{source}: invalid YAML: {e}") from e
    finally:
        loader.dispose()


def _scalar(loader: Any, node: Any, source: str) -> Any:
    if node.tag == _TIMESTAMP:
        return node.value  # a date is text to escli: a str field takes it as written
    where = _where(source, node)
    if node.tag == _INT and MAX_INT_DIGITS:
        digits = sum(c.isdigit() for c in node.value)
        if digits > MAX_INT_DIGITS:
            raise InvalidInput(
                f"{where}: an integer of {digits} digits is past the limit of {MAX_INT_DIGITS}"
            )
    try:
        value = loader.construct_object(node, deep=True)
    except (ValueError, OverflowError) as e:  # !!int abc
        raise InvalidInput(f"{where}: {node.value[:40]!r} is not a {node.tag[18:]}") from e
    try:
        return check_value(Any, value, "")
    except FieldError as e:
        raise InvalidInput(f"{where}: {e.message}") from e


def _invalid(e: Any, source: str) -> InvalidInput:
    mark = e.problem_mark or e.context_mark
    where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
    problem = e.problem or e.context
    if "maximum nesting depth" in str(problem):
        # libyaml's own bound (it scans a flow collection ahead): worded as escli's
        return ScriptTooLarge(f"{where}: nested deeper than {MAX_DEPTH} levels")
    return InvalidInput(f"{where}: invalid YAML: {problem}")


def yaml_scalar(text: str) -> str:
    """``text`` as one YAML scalar on one line, quoted only where YAML needs it (``yes``,
    ``a: b``, a leading ``-``), for writing a script a person will read."""
    import yaml

    dumped: str = yaml.safe_dump(text, allow_unicode=True, width=10**9)
    return dumped.removesuffix("\n").removesuffix("\n...")
