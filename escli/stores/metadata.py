"""Why an event happened: the metadata every dispatch writes with its events, and its rules.

Metadata is flat and string-valued, and its names are CloudEvents-ready (lower-case a-z and
0-9, at most 20), so that each pair travels as an extension attribute of its own:

- ``causationid``: what caused the event, the id of the command handled: a fresh UUID per
  dispatch, or ``--causation-id``.
- ``correlationid``: the piece of work the event belongs to: ``--correlation-id`` or
  ``ESCLI_CORRELATION_ID``, shared by every command of a ``run`` script; else the causation id
  (a dispatch on its own is a piece of work of its own).
- ``command``: the name of the command class handled (``Attack``): what ``escli trace``
  draws for the command.
- free ``--meta key=value`` pairs, whose key is none of the names above, nor a CloudEvents
  context attribute, nor an extension escli's CloudEvents use already (``typeversion``,
  ``generation``): a pair that would collide is a ``UsageError`` before anything is written.

The stores keep metadata beside the event (SQLite and PostgreSQL in a JSON column indexed by
correlation, EventStoreDB in the event's metadata, with ``$causationId`` and
``$correlationId`` too), and none is an event written before: it reads as before.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Final, NamedTuple

from escli.errors import UsageError

__all__ = [
    "CAUSATION",
    "COMMAND",
    "CONTEXT_ATTRIBUTES",
    "CORRELATION",
    "ESCLI_EXTENSIONS",
    "ID_RULE",
    "MAX_ID",
    "RESERVED",
    "Why",
    "check_id",
    "id_problem",
    "is_id",
    "ordered",
    "parse_meta",
    "shown_id",
]

CAUSATION: Final = "causationid"
CORRELATION: Final = "correlationid"
COMMAND: Final = "command"
# The CloudEvents 1.0 context attributes and members of the JSON format.
CONTEXT_ATTRIBUTES: Final = frozenset(
    {
        "specversion",
        "id",
        "source",
        "type",
        "datacontenttype",
        "dataschema",
        "subject",
        "time",
        "data",
        "data_base64",
    }
)
# The extensions escli's CloudEvents carry (``escli.cloudevents.mapping``; a test checks).
ESCLI_EXTENSIONS: Final = frozenset({"typeversion", "generation"})
# Names a ``--meta`` pair may not take.
RESERVED: Final = CONTEXT_ATTRIBUTES | ESCLI_EXTENSIONS | {CAUSATION, CORRELATION, COMMAND}
_KEY: Final = re.compile("[a-z0-9]{1,20}")


def ordered(metadata: Mapping[str, str]) -> list[tuple[str, str]]:
    """The pairs in one order whatever the store kept (PostgreSQL's jsonb reorders keys):
    causation, correlation and command first, then the others by name."""
    named = (CAUSATION, CORRELATION, COMMAND)
    first = [(k, metadata[k]) for k in named if k in metadata]
    return first + sorted((k, v) for k, v in metadata.items() if k not in named)


ID_RULE: Final = (
    "give non-empty printable text (no control characters, no leading or trailing spaces)"
)


# The longest id: PostgreSQL's index of correlation ids takes at most 2704 bytes a row, and
# 500 characters of UTF-8 are at most 2000.
MAX_ID: Final = 500


def id_problem(value: str) -> str | None:
    """What makes ``value`` no usable causation or correlation id (None: it is one):
    non-empty printable text without spaces around it (what ``escli trace`` can be given),
    of at most ``MAX_ID`` characters."""
    if len(value) > MAX_ID:
        return f"it has {len(value)} characters; an id has at most {MAX_ID}"
    if not value or not value.isprintable() or value.strip() != value:
        return ID_RULE
    return None


def is_id(value: str) -> bool:
    return id_problem(value) is None


def shown_id(value: str) -> str:
    """``value`` as an error shows it: quoted, and a long one cut."""
    return repr(value) if len(value) <= 40 else f"{value[:20]!r}..."


def check_id(option: str, value: str) -> str:
    """``value`` when it is a usable id (``id_problem``), else a ``UsageError``."""
    problem = id_problem(value)
    if problem is not None:
        raise UsageError(f"{option} {shown_id(value)} is not an id: {problem}")
    return value


def parse_meta(pairs: Iterable[str]) -> dict[str, str]:
    """``--meta key=value`` words as a mapping; a malformed or reserved key, or a key given
    twice with different values (one would be dropped), is a ``UsageError`` naming it."""
    found: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise UsageError(f"--meta {pair!r} is not key=value")
        if _KEY.fullmatch(key) is None:
            raise UsageError(
                f"--meta key {key!r} must be 1-20 characters a-z, 0-9 (a CloudEvents "
                "extension name)"
            )
        if key in RESERVED:
            raise UsageError(
                f"--meta key {key!r} is reserved (a CloudEvents attribute or one escli "
                f"writes: {', '.join(sorted(RESERVED))})"
            )
        if not value.isprintable():
            raise UsageError(f"--meta {key} value {value!r} holds control characters")
        if found.get(key, value) != value:
            raise UsageError(
                f"--meta key {key!r} is given twice ({found[key]!r}, then {value!r}): give it once"
            )
        found[key] = value
    return found


class Why(NamedTuple):
    """What a dispatch says about why its events happen: the ids given (None: made up) and
    the free pairs (``parse_meta``'s)."""

    causation_id: str | None = None
    correlation_id: str | None = None
    pairs: Mapping[str, str] = {}

    def metadata(self, command: object, causation_id: str) -> dict[str, str]:
        """The metadata of the events of one dispatch of ``command``."""
        return {
            CAUSATION: causation_id,
            CORRELATION: self.correlation_id or causation_id,
            COMMAND: type(command).__name__,
            **self.pairs,
        }

    def sharing(self, causation_id: str) -> Why:
        """This, with the correlation id set (to ``causation_id`` when none is given): what
        the later commands of a script are dispatched with, and no given causation id (each
        command has its own)."""
        return Why(None, self.correlation_id or causation_id, self.pairs)
