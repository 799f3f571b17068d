"""Scenarios that test a projection: ``project`` names it, its ``given`` events (and the
``when`` command's, if it has one) are projected in memory, and ``then_rows`` is the view
they must make::

    - name: a goblin spawned at noon is on the roster
      project: combat.roster
      given:
        - stream: combat-goblin
          type: EntitySpawned
          data: {entity_id: goblin, hitpoints: 30}
          time: 2026-05-01T12:00:00Z
      then_rows:
        combat-goblin: {entity: goblin, hitpoints: 30, alive: true, blows_taken: 0,
                        damage_taken: 0, last_seen: "2026-05-01T12:00:00.000000+00:00"}
        combat-ogre: null                # no row for this key

Decisions:

- **The projection**: ``<domain>.<name>``, or a bare ``<name>`` of the scenario's domain
  (its ``domain:``, else the file's, else its ``when`` command's). The scenario is of the
  projection's domain: its given events, their streams and its ``when`` command are, or it
  is an error at load.
- **Given events on several streams**: a given event's ``stream:`` (a full stream name of
  the domain, ``combat-goblin``) puts it there; one without goes to the ``when`` command's
  stream, as in every scenario (a scenario without ``when`` must name each event's stream).
  They are stored and projected in file order; the framework counts each stream's
  generations.
- **The clock**: ``meta.time`` is what a store gives a projection, the stored form
  ``YYYY-MM-DDTHH:MM:SS.ffffff+HH:MM``. A scenario's clock starts at ``SCENARIO_CLOCK``
  (2000-01-01T00:00:00.000000+00:00) and stands still: a given event's ``time:`` (RFC
  3339, ``2026-05-01T12:00:00Z``) sets it for that event and those after it, the ``when``
  command's included. Positions run 1, 2, ... in the same order. The time is the
  projection's only: the store records the given events at its own now, as it always did.
- **``then_rows`` is the whole view, exactly**: every key with a row must be listed (a row
  the scenario did not expect fails it), each row equal as JSON (``RowsExpectation``);
  ``null`` means "no row for this key". One form, no partial match: a view is small in a
  scenario, and a row that should not be there is what such a test is for.
- **In memory, as a catch-up runs it**: ``escli.app.projections.project_rows`` with the
  same decoding (upcasters first, only the classes the annotation names), whatever store
  the scenario's ``when`` runs in. A ``when`` rejected as ``then`` expects emits nothing:
  the rows are the given events'.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from escli.app.batches import project_rows
from escli.app.dispatch import DispatchResult
from escli.app.projections import find_projection
from escli.cloudevents.mapping import EventError
from escli.cloudevents.times import stored_time
from escli.domain.discovery import DomainRegistry
from escli.domain.model import Domain
from escli.domain.projection import Projection
from escli.errors import DomainError, EscliError, InvalidInput
from escli.scripts.expectations import RowsExpectation
from escli.scripts.yaml_text import Where, YList, YMap
from escli.stores.base import NewEvent
from escli.stores.views import LogRow

__all__ = [
    "SCENARIO_CLOCK",
    "GivenEvent",
    "expected_rows",
    "given_events",
    "scenario_rows",
]

SCENARIO_CLOCK = "2000-01-01T00:00:00.000000+00:00"


class GivenEvent(NamedTuple):
    """A scenario's given event: the stream it goes to, as the store is given it, and the
    time a projection sees it at (``meta.time``)."""

    stream: str
    event: NewEvent
    time: str


def _shown(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def projection_named(
    registry: DomainRegistry, value: Any, where: Where, domain_name: str | None
) -> Projection:
    """The projection a scenario's ``project:`` names, of the scenario's domain if it has
    one (``domain_name``)."""
    if not isinstance(value, str) or not value:
        raise InvalidInput(f"{where}: project must be a projection's name, got {_shown(value)}")
    name = value
    if "." not in name:
        if domain_name is None:
            raise InvalidInput(
                f"{where}: projection {name!r} names no domain and the scenario has none: "
                f"write <domain>.{name}"
            )
        name = f"{domain_name}.{name}"
    try:
        projection = find_projection(registry, name)
    except DomainError:
        raise  # the domain's own failure, not the scenario's
    except EscliError as e:
        raise InvalidInput(f"{where}: {e}") from e
    if domain_name is not None and projection.domain.name != domain_name:
        raise InvalidInput(
            f"{where}: projection {projection.full_name} reads domain "
            f"{projection.domain.name!r}, not the scenario's domain {domain_name!r}"
        )
    _ = projection.classes  # an annotation that is not the domain's classes: the author's, now
    return projection


def expected_rows(
    registry: DomainRegistry, item: YMap, domain_name: str | None, when_domain: Domain | None
) -> RowsExpectation:
    """A scenario's ``project`` and ``then_rows``: the projection, of the scenario's domain
    (``domain_name``, else its ``when`` command's), and the rows it must make."""
    where = item.value_where["project"]
    scenario_domain = domain_name or (when_domain.name if when_domain is not None else None)
    projection = projection_named(registry, item["project"], where, scenario_domain)
    if when_domain is not None and when_domain is not projection.domain:
        raise InvalidInput(
            f"{item.value_where['when']}: the when command is of domain {when_domain.name!r}; "
            f"{projection.full_name} reads domain {projection.domain.name!r}"
        )
    return then_rows(item["then_rows"], item.value_where["then_rows"], projection)


def given_events(
    items: YList,
    domain: Domain,
    own_stream: str | None,
    read: Callable[[Any, Where, Domain], NewEvent],
) -> list[GivenEvent]:
    """A scenario's given events, each ``read`` (checked and made a store's event), placed
    on its stream and timed by the scenario's clock."""
    given = []
    clock = SCENARIO_CLOCK
    for i, item in enumerate(items):
        where = items.item_where[i]
        event = read(item, where, domain)
        stream, clock = given_place(item, where, domain, own_stream, clock)
        given.append(GivenEvent(stream, event, clock))
    return given


def given_place(
    item: YMap, where: Where, domain: Domain, own_stream: str | None, clock: str
) -> tuple[str, str]:
    """The stream and time of a given event: its ``stream:``, else ``own_stream`` (the
    ``when`` command's); its ``time:`` in the stored form, else ``clock``."""
    if "stream" in item:
        stream, stream_where = item["stream"], item.value_where["stream"]
        if not isinstance(stream, str):
            raise InvalidInput(f"{stream_where}: stream must be a string, got {_shown(stream)}")
        try:
            domain.stream_id(stream)
        except InvalidInput as e:
            raise InvalidInput(
                f"{stream_where}: stream {stream!r} is not of domain {domain.name!r} "
                f"(its streams are {domain.stream_name('<id>')})"
            ) from e
    elif own_stream is None:
        raise InvalidInput(
            f"{where}: a given event needs a stream: in a scenario without when "
            f"({domain.stream_name('<id>')})"
        )
    else:
        stream = own_stream
    if "time" in item:
        time, time_where = item["time"], item.value_where["time"]
        if not isinstance(time, str):
            raise InvalidInput(f"{time_where}: time must be RFC 3339 text, got {_shown(time)}")
        try:
            clock = stored_time(time)
        except EventError as e:
            raise InvalidInput(f"{time_where}: {e} (2026-05-01T12:00:00Z, say)") from e
    return stream, clock


def then_rows(value: Any, where: Where, projection: Projection) -> RowsExpectation:
    """A scenario's ``then_rows``: key -> a row (a mapping) or null (no row)."""
    if not isinstance(value, YMap):
        raise InvalidInput(
            f"{where}: then_rows must be a mapping of key -> row (or null), got {_shown(value)}"
        )
    rows: dict[str, dict[str, Any] | None] = {}
    for key, row in value.items():
        if not key:
            raise InvalidInput(f"{value.key_where[key]}: a row's key is a non-empty string")
        if row is not None and not isinstance(row, dict):
            raise InvalidInput(
                f"{value.value_where[key]}: the row of {key!r} must be a mapping (a JSON "
                f"object) or null for no row, got {_shown(row)}"
            )
        rows[key] = None if row is None else json.loads(json.dumps(row))
    return RowsExpectation(projection, rows)


def scenario_rows(
    projection: Projection, given: Sequence[GivenEvent], result: DispatchResult | None
) -> dict[str, dict[str, Any]]:
    """The view ``projection`` makes of the given events and those ``result`` recorded, in
    that order, at positions 1, 2, ... (see the module docstring)."""
    log: list[LogRow] = []
    generations: dict[str, int] = {}

    def add(stream: str, event: NewEvent, time: str) -> None:
        generation = generations[stream] = generations.get(stream, 0) + 1
        # JSON text, as an SQL store gives it: an upcaster changes a copy, not the given.
        data = json.dumps(event.data, ensure_ascii=False)
        log.append(
            (
                len(log) + 1,
                stream,
                generation,
                event.event_id,
                event.event_type,
                event.type_version,
                time,
                data,
            )
        )

    for placed in given:
        add(placed.stream, placed.event, placed.time)
    clock = given[-1].time if given else SCENARIO_CLOCK
    if result is not None:
        for recorded in result.recorded:
            add(result.stream, recorded.as_new(), clock)
    return project_rows(projection, log)
