"""The bridge to the ``cloudevents`` SDK: a recorded event as an SDK ``CloudEvent``, an SDK
``CloudEvent`` as a domain event, and the SDK's own JSON text (the reference ``to_json`` is
tested against).

The only importer of the ``cloudevents`` SDK (``pip install 'escli[cloudevents]'``), and only
inside these functions: export, import and the dispatch sink write and read the JSON text
themselves (``escli.cloudevents.write``, ``escli.cloudevents.parser``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from escli.cloudevents.mapping import GENERATION, TYPEVERSION
from escli.cloudevents.parser import DomainLookup
from escli.cloudevents.write import attributes
from escli.domain.calls import failure, home_of
from escli.domain.codec import FieldError, decoder
from escli.domain.model import Domain
from escli.domain.upcasting import UpcastFailed, json_copy
from escli.errors import EscliError, InvalidInput, StoreError, missing_client
from escli.stores.base import RecordedEvent

if TYPE_CHECKING:
    from cloudevents.core.v1.event import CloudEvent

    from escli.domain.discovery import DomainRegistry

__all__ = ["from_cloudevent", "sdk_json", "to_cloudevent"]


def to_cloudevent(recorded: RecordedEvent) -> CloudEvent:
    """The recorded event as the SDK's ``CloudEvent`` (``cloudevents.core.v1.event``); the
    SDK is the ``cloudevents`` extra (``ClientMissing`` without it)."""
    try:
        from cloudevents.core.exceptions import BaseCloudEventException
        from cloudevents.core.v1.event import CloudEvent
    except ImportError as e:
        raise missing_client(
            "CloudEvent objects need the CloudEvents SDK", "'escli[cloudevents]'", e
        ) from e

    try:
        return CloudEvent(attributes(recorded), recorded.data)
    except BaseCloudEventException as e:
        raise StoreError(
            f"{recorded.stream} generation {recorded.generation}: "
            f"cannot be exported as CloudEvents: {e}"
        ) from e


def sdk_json(recorded: RecordedEvent) -> str:
    """The recorded event written by the SDK's own JSON format: the reference for ``to_json``."""
    from cloudevents.core.formats.json import JSONFormat

    return JSONFormat().write(to_cloudevent(recorded)).decode("utf-8")


def from_cloudevent(ce: Any, domains: DomainRegistry | Iterable[Domain]) -> Any:
    """The domain event an SDK ``CloudEvent`` carries, decoded strictly into its class.

    The event's subject names its stream, and so its domain; ``type`` and the ``typeversion``
    extension pick the class. An old version comes back as the current event, through the
    domain's upcasters (given a copy: the CloudEvent's data is left as it is), as an import
    checks it (``escli.cloudevents.parser``): ``InvalidInput`` when it is not an escli event
    or its (upcast) data does not fit; the author's ``DomainError`` when an upcaster fails."""
    subject = ce.get_subject()
    version = ce.get_extension(TYPEVERSION)
    data = ce.get_data()
    if subject is None or not isinstance(version, str):
        raise InvalidInput(
            f"CloudEvent {ce.get_id()} is not an escli event: it needs a subject and a "
            f"{TYPEVERSION} extension"
        )
    lookup = DomainLookup(domains)
    try:
        domain = lookup.get(Domain.domain_name_of(subject))
    except InvalidInput as e:
        raise InvalidInput(f"CloudEvent {ce.get_id()}: {e}") from e
    if domain is None:
        raise InvalidInput(
            f"CloudEvent {ce.get_id()}: no loaded domain has event type {ce.get_type()} v{version}"
        )
    reading = domain.reading(ce.get_type(), version)
    if reading is None:
        unreadable = domain.unreadable(ce.get_type(), version)
        raise InvalidInput(f"CloudEvent {ce.get_id()}: {unreadable}")
    chain = reading.chain
    # A library bridge, called per event: the domain's failures are translated, but nothing
    # redirects its prints (no CLI output is on stdout here, and a redirect per event would
    # cost a third of the call).
    try:
        if chain is None:
            return decoder(reading.cls)(data)
        # Upcast and checked in two steps (not chain_decoder(chain)), so that data that
        # does not fit is the data's FieldError, as a current version's is.
        upcast = chain(json_copy(data))
        return decoder(reading.cls)(upcast)
    except EscliError:
        raise
    except FieldError as e:
        what = ce.get_type() if chain is None else f"{ce.get_type()} v{version} upcast by "
        what += "" if chain is None else chain.describe()
        raise InvalidInput(
            f"CloudEvent {ce.get_id()}: {what} field {e.path or '(data)'}: {e.message}"
        ) from e
    except UpcastFailed as e:
        generation = ce.get_extension(GENERATION)
        at = "" if generation is None else f" generation {generation}"
        raise e.error(domain, f"{subject}{at}, event {ce.get_id()}") from e
    except (Exception, SystemExit) as e:
        found = failure(domain.name, home_of(domain), e, f" (decoding CloudEvent {ce.get_id()})")
        if found is None:
            raise
        raise found from e
