"""Stored records at their current version: an old event read through its domain's
upcasters, as ``export --upcast`` writes it and ``copy --upcast`` copies it (issue 13).

Decisions:

- **What changes**: the type, the type version and the data become the current class's
  (the data is ``encode`` of the event the chain decodes, so it is what a current event of
  that class would store). The id, the generation, the time and the source stay: the
  source says where the event came from, which an upcast does not change.
- **What stays as stored**: an event whose (type, version) has its class. It is not decoded
  and encoded again: its bytes are the domain's current form already, and re-encoding would
  only cost time (and could change a stored number's spelling).
- **What is refused**: a stream of a domain escli does not know (``check``, before a record
  is read: ``NotFound``, or ``InvalidInput`` for a stream name that names no domain), and an
  event with neither a class nor an upcaster (``UnreadableEvent``, as the fold raises it).
  An upcaster that fails is the author's ``DomainError`` naming the stream, generation and
  event id.
- **Cost**: per (domain, type, version), the reading is looked up once and its chain's
  decoder is the cached one (``chain_decoder``); per old event, a shallow copy of its data
  (an upcaster may change the dict it is given, and a memory store hands out its own), the
  author's functions, the decoding, and ``encode``. A current event costs two dict reads.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, NamedTuple

from escli.domain.calls import calling
from escli.domain.codec import StoredDecoder, encode
from escli.domain.model import Domain
from escli.domain.upcasting import UpcastFailed, chain_decoder
from escli.errors import InvalidInput, NotFound, UnreadableEvent, in_context
from escli.stores.base import RecordedEvent

if TYPE_CHECKING:
    from escli.domain.discovery import DomainRegistry

__all__ = ["CurrentRecords"]


class _Upcast(NamedTuple):
    """How one stored (type, version) is made current (None for one that has its class)."""

    decode: StoredDecoder  # the chain's
    event_type: str
    version: str


class CurrentRecords:
    """Turns records of the domains of ``registry`` into their current versions (see the
    module docstring); ``upcast`` counts the records it changed."""

    def __init__(self, registry: DomainRegistry) -> None:
        self.registry = registry
        self.upcast = 0
        self._domains: dict[str, Domain] = {}
        self._how: dict[tuple[str, str, str], _Upcast | None] = {}

    def domain(self, stream: str) -> Domain:
        """The domain of ``stream``; ``NotFound`` (``InvalidInput`` for a name that is not
        ``<domain>-<id>``) saying that the stream cannot be upcast."""
        name = stream.partition(Domain.STREAM_SEPARATOR)[0]
        found = self._domains.get(name)
        if found is None:
            try:
                found = self._domains[name] = self.registry.for_stream(stream)
            except (NotFound, InvalidInput) as e:  # a domain that fails to load: its own error
                raise in_context(e, f"cannot upcast {stream}") from e
        return found

    def check(self, streams: Iterable[str]) -> None:
        """Refuse, before anything is read, a stream whose domain is unknown."""
        for stream in streams:
            self.domain(stream)

    def __call__(self, records: Iterable[RecordedEvent]) -> Iterator[RecordedEvent]:
        """``records``, each at its current version (a generator: close it, or the read it
        wraps, when done)."""
        current = self.record
        for record in records:
            yield current(record)

    def record(self, r: RecordedEvent) -> RecordedEvent:
        """``r`` at its current version; ``r`` itself when it is current already."""
        domain = self.domain(r.stream)
        key = (domain.name, r.event_type, r.type_version)
        if key in self._how:
            how = self._how[key]
        else:
            how = self._how[key] = _reading(domain, r)
        if how is None:
            return r
        where = f"{r.stream} generation {r.generation}, event {r.event_id}"
        with calling(domain, f" (upcasting {where})"):  # a __post_init__ that raises
            try:
                event = how.decode(dict(r.data))
            except UpcastFailed as e:
                raise e.error(domain, where) from e
        data = encode(event)
        self.upcast += 1
        return r._replace(event_type=how.event_type, type_version=how.version, data=data)


def _reading(domain: Domain, r: RecordedEvent) -> _Upcast | None:
    reading = domain.reading(r.event_type, r.type_version)
    if reading is None:
        unreadable = domain.unreadable(r.event_type, r.type_version)
        raise UnreadableEvent(f"{r.stream} generation {r.generation}: {unreadable}")
    if reading.chain is None:
        return None
    # Data handed over as dicts: the plain decoder (msgspec's typed one reads text only).
    event_type, version = reading.chain.target
    return _Upcast(chain_decoder(reading.chain, typed=False), event_type, version)
