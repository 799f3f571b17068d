"""CloudEvents from other producers (``import --append``): how an event escli did not write
gets its stream, its type version and its place in the stream.

- Stream: the event's ``subject``, or, with ``--stream TEMPLATE``, the template filled in
  from the event's attributes (``'combat-{subject}'``, ``'{source}-{id}'``). A template is
  plain ``{attribute}`` fields only (a conversion, format spec, index or attribute access
  is named as not supported), checked once before the file is read; an event that has not
  an attribute the template names is an error, as is a stream that is not
  ``<domain>-<id>``. The template applies to every event
  of the file (subject or not). Naming an attribute changes nothing of what becomes of
  it: an extension attribute is kept as metadata, as every other one is (a string, or the
  event is refused), the context attributes as without a template.
- Type version: the ``typeversion`` extension; else the ``dataschema`` URI's last path
  segment when it is a version: ``v2.0`` or ``2.0`` (digits and dots, at least one dot), or
  ``v2`` (a ``v`` and digits: ``2.0``), e.g. ``https://example.com/schemas/attacked/v2.0``;
  else the domain's current version of the type. An old version is read through the
  domain's upcasters, as any import. ``dataschema`` is read for this only, not stored
  (escli stores no schema URIs, ``escli.cloudevents.mapping``).
- Place: an event without ``generation`` goes at the end of its stream, in file order. Its
  ``id`` is kept; an id the store holds already (in that stream, before the import) is
  skipped if the stored event is the same (type, version, source, time, data) and an
  error naming the id if not, so importing a file twice writes nothing the second time.
  An event with a ``generation`` is imported as without ``--append``.

- Time: ``time`` is kept; an event without one (``time`` is optional in CloudEvents) is
  recorded at the time of the import, when the store appends it (by the store's clock:
  on PostgreSQL its transaction's start). Importing it again skips
  it by its id whatever time it was given (``escli.stores.mirror.difference``). A plain
  import, of escli's own files, still requires ``time``: escli wrote one to every event.

Everything else (data that fits its class, the CloudEvents rules) is required as of any
imported event (``escli.cloudevents.parser``).
"""

from __future__ import annotations

import re
import string
from typing import TYPE_CHECKING, Final, NamedTuple

from escli.cloudevents.mapping import EventError
from escli.errors import UsageError

__all__ = ["FOREIGN_HINT", "Foreign", "current_version", "dataschema_version", "foreign_template"]

# Appended to a message about an attribute escli's own files always have and a file another
# producer wrote lacks (``typeversion``, ``generation``), without --append: what takes it.
FOREIGN_HINT: Final = "; for events escli did not write, use escli import --append"

if TYPE_CHECKING:
    from escli.domain.model import Domain

_VERSION_SEGMENT: Final = re.compile(r"v?([0-9]+(?:\.[0-9]+)+)|v([0-9]+)")
_FIELD: Final = re.compile(r"[a-z0-9]+")


class Foreign(NamedTuple):
    """How events escli did not write are read: ``template``'s fields (None: the subject)."""

    template: str | None = None
    fields: tuple[str, ...] = ()

    def stream(self, event: dict[str, object]) -> str | None:
        """The event's stream; None when there is no subject and no template."""
        if self.template is None:
            subject = event.get("subject")
            return subject if isinstance(subject, str) else None
        values: dict[str, object] = {}
        for name in self.fields:
            value = event.get(name)
            if value is None or name == "data":
                raise EventError(
                    f"--stream {self.template!r} names attribute {name!r}, which this event has not"
                )
            values[name] = value
        stream = self.template.format_map(values)
        name, sep, rest = stream.partition("-")
        if not (name and sep and rest):
            raise EventError(
                f"--stream {self.template!r} makes {stream!r}, not a <domain>-<id> stream"
            )
        return stream


def foreign_template(template: str | None) -> Foreign:
    """The ``Foreign`` of a ``--stream`` template (None: streams are subjects); a template
    that is not plain ``{attribute}`` fields is a ``UsageError``."""
    if template is None:
        return Foreign()
    fields: list[str] = []
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as e:
        raise UsageError(f"--stream {template!r} is not a template: {e}") from None
    for _, field, spec, conversion in parts:
        if field is None:
            continue
        unsupported = (
            f"the conversion !{conversion}" if conversion
            else f"the format spec :{spec}" if spec
            else "the index or attribute access" if "[" in field or "." in field
            else None
        )  # fmt: skip
        if unsupported is not None:
            raise UsageError(
                f"--stream {template!r}: {unsupported} in {{{field}}} is not supported; a "
                "template takes attributes as they are, as {subject} or {source}"
            )
        if _FIELD.fullmatch(field) is None:
            raise UsageError(
                f"--stream {template!r}: {{{field}}} "
                + ("names no attribute" if not field else "is not an attribute name")
                + "; attribute names are lower-case a-z and 0-9, as {subject} or {source}"
            )
        fields.append(field)
    if not fields:
        raise UsageError(f"--stream {template!r} names no attribute: every event would "
                         "go to one stream; use {subject} or another attribute")  # fmt: skip
    return Foreign(template, tuple(fields))


def dataschema_version(uri: object) -> str | None:
    """The type version a ``dataschema`` URI's last path segment names, or None."""
    if not isinstance(uri, str):
        return None
    path = uri.split("?", 1)[0].split("#", 1)[0].rstrip("/")
    match = _VERSION_SEGMENT.fullmatch(path.rsplit("/", 1)[-1])
    if match is None:
        return None
    return match.group(1) or f"{match.group(2)}.0"


def current_version(domain: Domain | None, event_type: str, skip_unknown: bool) -> str:
    """The version of an event that names none: its type's current one in ``domain``. A
    type the domain has not is an ``EventError`` (``skip_unknown``: a version no type has,
    so that the event is skipped); no domain, a version the parser reports as such."""
    version = None if domain is None else domain.current_version(event_type)
    if version is not None or domain is None or skip_unknown:
        return version or "?"
    known = ", ".join(sorted({t for t, _ in domain.events})) or "none"
    raise EventError(
        f"domain {domain.name!r} has no event type {event_type!r} (known: {known}); "
        "--skip-unknown skips such events"
    )
