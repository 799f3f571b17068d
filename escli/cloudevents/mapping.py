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
    data             data (the event's fields, a JSON object)

``dataschema`` is not set: escli publishes no schema documents, and an event's schema is
named by ``type`` + ``typeversion`` (``escli domains DOMAIN`` shows its fields). A URI that
resolves to nothing would mislead.

Writing is ``escli.cloudevents.write``, reading ``escli.cloudevents.parser``, times
``escli.cloudevents.times``, SDK objects ``escli.cloudevents.sdk``.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "BATCH_CONTENT_TYPE",
    "CONTENT_TYPE",
    "DATA_CONTENT_TYPE",
    "GENERATION",
    "KEPT",
    "SPECVERSION",
    "TYPEVERSION",
    "EventError",
]

SPECVERSION: Final = "1.0"
CONTENT_TYPE: Final = "application/cloudevents+json"
BATCH_CONTENT_TYPE: Final = "application/cloudevents-batch+json"
DATA_CONTENT_TYPE: Final = "application/json"
TYPEVERSION: Final = "typeversion"
GENERATION: Final = "generation"
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


class EventError(ValueError):
    """One event is not an escli event; the message says why (the caller adds where)."""
