"""The mapping between a recorded event and a CloudEvent: attribute names, content types, the
attributes escli keeps, and ``EventError`` (an event that is not an escli event).

Mapping (a recorded event -> a structured-mode CloudEvent, in this member order)::

    specversion      "1.0"
    id               event_id (kept as is: exporting twice gives the same ids)
    source           source (the event's registered source)
    type             event_type
    subject          stream (``<domain>-<id>``)
    time             recorded_at, RFC 3339 as the SDK writes a datetime: ``Z`` for UTC,
                     microseconds only when non-zero
    datacontenttype  "application/json"
    typeversion      type_version (extension, string)
    generation       generation (extension, integer)
    causationid      metadata (``escli.stores.metadata``), each pair an extension attribute
    correlationid    of its own, a string: causation, correlation and command first, then
    command          the other pairs by name; none for an event without metadata
    ...
    data             data (the event's fields, a JSON object)

On import, every extension attribute that is not escli's own (``typeversion``,
``generation``) is read back as a metadata pair, in escli's own files and in other
producers' (``import --append``) alike: ``causationid``, ``correlationid``, ``command`` and
any other. A metadata value is a string: an extension attribute of another type (an
integer, a boolean) is refused with the attribute's name, rather than turned into text that
would export as a string and no longer round-trip.

``dataschema`` is not set: escli publishes no schema documents, and an event's schema is
named by ``type`` + ``typeversion`` (``escli domains DOMAIN`` shows its fields). A URI that
resolves to nothing would mislead.

Writing is ``escli.cloudevents.write``, reading ``escli.cloudevents.parser``, times
``escli.cloudevents.times``, SDK objects ``escli.cloudevents.sdk``.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Final

from escli.stores.metadata import (
    CAUSATION,
    CONTEXT_ATTRIBUTES,
    CORRELATION,
    id_problem,
    shown_id,
)

__all__ = [
    "BATCH_CONTENT_TYPE",
    "CONTENT_TYPE",
    "DATA_CONTENT_TYPE",
    "GENERATION",
    "IDS",
    "KEPT",
    "SPECVERSION",
    "TYPEVERSION",
    "EventError",
    "metadata_of",
    "not_json_data",
]

SPECVERSION: Final = "1.0"
CONTENT_TYPE: Final = "application/cloudevents+json"
BATCH_CONTENT_TYPE: Final = "application/cloudevents-batch+json"
DATA_CONTENT_TYPE: Final = "application/json"
TYPEVERSION: Final = "typeversion"
GENERATION: Final = "generation"
# The metadata escli trace finds events by: ids, as --causation-id and --correlation-id take.
IDS: Final = (CAUSATION, CORRELATION)
# The attributes (and members) escli keeps; an import refuses any other that is set.
KEPT: Final = (
    "specversion",
    "id",
    "source",
    "type",
    "subject",
    "time",
    "datacontenttype",
    TYPEVERSION,
    GENERATION,
    "data",
)


def not_json_data(content_type: str) -> str:
    """The one wording of a ``datacontenttype`` escli does not take: what it does take."""
    return (
        f"datacontenttype {content_type!r} is not {DATA_CONTENT_TYPE}: escli takes an "
        f"event's data as a JSON object in data, with datacontenttype {DATA_CONTENT_TYPE} "
        "or none (not text, nor data_base64)"
    )


class EventError(ValueError):
    """One event is not an escli event; the message says why (the caller adds where)."""


def metadata_of(event: dict[str, object], kept: Collection[str]) -> dict[str, str] | None:
    """The metadata an imported event carries: its extension attributes that are not in
    ``kept`` (escli's own, and a ``--stream`` template's), which must be strings; a context
    attribute escli does not keep is an ``EventError``. None when there are none."""
    found: dict[str, str] | None = None
    for name, value in event.items():
        if name in kept or value is None:
            continue
        if name == "data_base64":
            raise EventError(
                "data_base64 (binary data) cannot be imported: an escli event's data "
                "is a JSON object, in data"
            )
        if name in CONTEXT_ATTRIBUTES:
            raise EventError(
                f"attribute {name!r} has no place in an escli store, which keeps "
                f"{', '.join(KEPT[:-1])}, extension attributes (as metadata) and data; "
                "remove it"
            )
        if type(value) is not str:
            raise EventError(
                f"extension attribute {name!r} is not a string: escli keeps extension "
                "attributes as the event's metadata, whose values are strings"
            )
        if name in IDS and (problem := id_problem(value)) is not None:
            raise EventError(
                f"extension attribute {name!r} {shown_id(value)} is not an id: {problem}"
            )
        if found is None:
            found = {}
        found[name] = value
    return found
