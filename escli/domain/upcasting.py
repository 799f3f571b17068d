"""Upcasters: how a domain reads the events it stored at versions it no longer has a class for.

Only the current class of an event is kept. An upcaster is a pure function from one
(type, version)'s JSON data to the next's, registered with ``@domain.upcaster``::

    @domain.upcaster("EntityAttacked", "1.0", to="2.0")
    def add_weapon(data: dict) -> dict:
        return {**data, "weapon": "fists"}

    @domain.upcaster("EntityHit", "1.0", to=("EntityAttacked", "1.0"))   # a rename
    def renamed(data: dict) -> dict:
        return data

Decisions (issue 13):

- **Checked when the domain loads** (``check``): every chain ends at a registered event
  class; no gap (an upcaster to a (type, version) that has neither a class nor an upcaster),
  no cycle, no two upcasters from one (type, version), no upcaster from a (type, version)
  that still has its class (which would win?), no upcaster that goes back to an earlier
  version of its own type. Each is a one-line ``DomainError`` at the upcaster's ``def``.
- **One-to-one**: an upcaster returns one dict; it never splits or drops an event, so the
  generations of a stream stay what they were.
- **The dict is the upcaster's own**: read from the stored text, or copied from a store's
  or a caller's dict (``json_copy``), so an upcaster may change it and return it
  (``data["weapon"] = "fists"; return data``, as the Python ``eventsourcing`` library's
  upcasters do) or return a new one; the store's events are never touched.
- **Type names**: a name with a ``.`` is a full event type; a bare one is the type of the
  registered class of that name, else ``<type prefix>.<name>`` (a type whose class is gone).
- **Versions** are ordered as dotted numbers (``"1.10"`` after ``"1.9"``); a version that is
  not one sorts after every number, by its text. The current version of a type is its highest
  registered one, never the last registered.
- **Cost**: a chain is composed once per (type, version), and the decoder built on it is
  cached as the current classes' are (``escli.domain.codec.chain_decoder``); per event, an
  upcast is a dict read, the author's functions, and the same checked decoding a current
  event gets.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple, cast

from escli.domain.codec import FieldError, StoredDecoder, decoder, refusal
from escli.errors import DomainError, UnreadableEvent
from escli.jsontext import loads_plain, typed_refusals

if TYPE_CHECKING:
    from escli.domain.model import Domain

__all__ = [
    "CHANGING_A_DOMAIN",
    "Chain",
    "Reading",
    "UpcastFailed",
    "Upcaster",
    "chain_decoder",
    "check",
    "current_versions",
    "json_copy",
    "resolve_type",
    "upcast",
    "version_key",
]

# The README section that teaches this: named by every error that sends a user there.
CHANGING_A_DOMAIN = 'the README\'s "Changing a domain"'

Key = tuple[str, str]  # (event type, version)
_NUMBER = re.compile(r"\d+(\.\d+)*")


def version_key(version: str) -> tuple[int, tuple[int, ...], str]:
    """The order of type versions: dotted numbers numerically, then any other text."""
    if _NUMBER.fullmatch(version):
        return (0, tuple(int(part) for part in version.split(".")), "")
    return (1, (), version)


class Upcaster(NamedTuple):
    """One registered upcaster, as its decorator was given it (names not yet resolved)."""

    event_type: str
    version: str
    to_type: str | None  # None: the same type
    to_version: str
    function: Callable[[dict[str, Any]], dict[str, Any]]

    @property
    def name(self) -> str:
        return getattr(self.function, "__name__", repr(self.function))

    @property
    def where(self) -> str:
        """``FILE:LINE`` of the upcaster's ``def`` (for errors that point at it)."""
        code = getattr(self.function, "__code__", None)
        return "" if code is None else f"{code.co_filename}:{code.co_firstlineno}"


class Step(NamedTuple):
    """An upcaster with its names resolved: from ``source`` to ``target``."""

    upcaster: Upcaster
    source: Key
    target: Key

    def describe(self) -> str:
        """``add_weapon (combat.EntityAttacked v1.0 -> v2.0)``."""
        (ft, fv), (tt, tv) = self.source, self.target
        to = f"v{tv}" if tt == ft else f"{tt} v{tv}"
        return f"{self.upcaster.name} ({ft} v{fv} -> {to})"


class UpcastFailed(Exception):
    """An upcaster raised, returned what is not a dict, or returned data that does not
    decode into its target class; the reader adds where (stream, generation, event id)."""

    def __init__(
        self,
        step: Step,
        problem: str,
        cause: BaseException | None = None,
        field: FieldError | None = None,
    ) -> None:
        super().__init__(f"upcaster {step.describe()} {problem}")
        self.step = step
        self.problem = problem
        self.cause = cause  # what the upcaster raised
        self.field = field  # where its result does not fit the class

    def error(self, domain: Domain, where: str) -> UnreadableEvent:
        """The author's error, ``where`` (``combat-ogre generation 3, event ID``) after it:
        an ``UnreadableEvent`` (a ``DomainError``, exit 11), as for an event with no
        upcaster at all, so that a reader that goes on past an unreadable stream (``follow``)
        goes on past this one too; an upcaster that raised is shown with its frames."""
        from escli.domain.calls import failure, home_of

        context = f" (upcaster {self.step.describe()}, upcasting {where})"
        if self.cause is not None:
            found = failure(domain.name, home_of(domain), self.cause, context)
            if found is not None:
                return UnreadableEvent(str(found), found.traceback)
        at = self.step.upcaster.where
        prefix = f"{at}: " if at else ""
        return UnreadableEvent(f"{prefix}domain {domain.name!r}: {self}, upcasting {where}")


class Chain(NamedTuple):
    """The upcasters that take one stored (type, version) to a registered class, in order."""

    steps: tuple[Step, ...]
    cls: type  # the class the last step's target is

    @property
    def source(self) -> Key:
        return self.steps[0].source

    @property
    def target(self) -> Key:
        return self.steps[-1].target

    def __call__(self, data: Any) -> dict[str, Any]:
        """``data`` (a dict of JSON values, which may be changed) at the chain's target."""
        for step in self.steps:
            try:
                data = step.upcaster.function(data)
            except (Exception, SystemExit) as e:  # the author's bug, shown with its frames
                raise UpcastFailed(step, f"raised {type(e).__name__}: {e}", e) from e
            if data.__class__ is not dict:
                data = self.checked(step, data)
        return cast("dict[str, Any]", data)

    @staticmethod
    def checked(step: Step, data: Any) -> dict[str, Any]:
        """What ``step``'s upcaster returned, as a dict; ``UpcastFailed`` if it is none."""
        if not isinstance(data, Mapping):
            raise UpcastFailed(
                step,
                f"returned {_describe(data)}, not a dict: an upcaster takes one "
                "event's data to one event's data",
            )
        return dict(data)

    def describe(self) -> str:
        return ", then ".join(step.describe() for step in self.steps)


def json_copy(value: Any) -> Any:
    """A copy of JSON values (dicts and lists copied all the way down): what an upcaster is
    handed when the data is a store's or a caller's own dict, which it may change."""
    kind = value.__class__
    if kind is dict:
        return {k: json_copy(v) for k, v in value.items()}
    if kind is list:
        return [json_copy(v) for v in value]
    return value


class Reading(NamedTuple):
    """How a domain reads one stored (type, version): into ``cls``, through ``chain`` when
    it is an old version (None: the class's own)."""

    cls: type
    chain: Chain | None


def _describe(value: Any) -> str:
    text = repr(value)
    return f"{text[:40]}{'...' if len(text) > 40 else ''} (a {type(value).__name__})"


def resolve_type(domain: Domain, name: str) -> str:
    """The full event type ``name`` means in ``domain`` (see the module's decisions)."""
    if "." in name:
        return name
    for (event_type, _version), cls in domain.events.items():
        if cls.__name__ == name:
            return event_type
    return f"{domain.type_prefix}.{name}"


def _at(upcaster: Upcaster, domain: Domain, problem: str) -> DomainError:
    prefix = f"{upcaster.where}: " if upcaster.where else ""
    return DomainError(f"{prefix}domain {domain.name!r}: upcaster {problem}")


def current_versions(events: Iterable[Key]) -> dict[str, str]:
    """Each event type's current version: the highest registered."""
    current: dict[str, str] = {}
    for event_type, version in events:
        held = current.get(event_type)
        if held is None or version_key(version) > version_key(held):
            current[event_type] = version
    return current


def check(domain: Domain, upcasters: Iterable[Upcaster]) -> dict[Key, Chain]:
    """Every upcaster's chain, checked (see the module's decisions); the first problem is a
    ``DomainError`` at the upcaster's ``def``."""
    steps: dict[Key, Step] = {}
    for upcaster in upcasters:
        source_type = resolve_type(domain, upcaster.event_type)
        target_type = (
            source_type if upcaster.to_type is None else resolve_type(domain, upcaster.to_type)
        )
        step = Step(upcaster, (source_type, upcaster.version), (target_type, upcaster.to_version))
        if step.source in steps:
            other = steps[step.source].upcaster
            raise _at(
                upcaster,
                domain,
                f"{step.describe()}: {other.name} upcasts {source_type} v{upcaster.version} "
                "already; keep one",
            )
        if step.source in domain.events:
            raise _at(
                upcaster,
                domain,
                f"{step.describe()} upcasts a version that still has its class "
                f"({domain.events[step.source].__name__}): remove the class, or the upcaster",
            )
        if source_type == target_type and version_key(upcaster.to_version) <= version_key(
            upcaster.version
        ):
            raise _at(
                upcaster,
                domain,
                f"{step.describe()} does not go to a later version: an upcaster takes an "
                "event forward",
            )
        steps[step.source] = step
    chains: dict[Key, Chain] = {}
    for source in steps:
        path: list[Step] = []
        seen: set[Key] = set()
        key = source
        while key not in domain.events:
            if key in chains:  # the rest of the way is known
                done = chains[key]
                path.extend(done.steps)
                key = done.target
                break
            if key in seen:
                raise _at(
                    path[-1].upcaster,
                    domain,
                    f"{path[-1].describe()} closes a cycle: "
                    + " -> ".join(f"{t} v{v}" for t, v in [s.source for s in path] + [key]),
                )
            seen.add(key)
            if key not in steps:
                last = path[-1]
                raise _at(
                    last.upcaster,
                    domain,
                    f"{last.describe()} leads to {key[0]} v{key[1]}, which has no event class "
                    "and no upcaster: register the class, or an upcaster from it",
                )
            path.append(steps[key])
            key = steps[key].target
        chains[source] = Chain(tuple(path), domain.events[key])
    return chains


# -- decoding through a chain ----------------------------------------------------------------


_DECODERS: dict[tuple[Chain, bool], StoredDecoder] = {}


def chain_decoder(chain: Chain, *, typed: bool = True) -> StoredDecoder:
    """The cached decoder of data stored at ``chain``'s source: the JSON text read into
    Python values, upcast, and decoded into the chain's class with every check a current
    event's data gets (one verdict). ``UpcastFailed`` where an upcaster fails or its result
    does not fit the class; stored text that is not JSON raises ``json.JSONDecodeError``.

    ``typed``: msgspec reads the text and converts the upcast values
    (``escli.domain.typed.converter``: the replay hot path, where a 1.0 stream must replay at
    90% of the speed of a current one); else the plain path (a short fold, which need not
    import msgspec)."""
    key = (chain, typed)
    made = _DECODERS.get(key)
    if made is not None:
        return made
    cls, last = chain.cls, chain.steps[-1]

    def not_fitting(data: Any, error: Exception) -> UpcastFailed:
        e = error if isinstance(error, FieldError) else refusal(cls, data, error)
        target_type, target_version = last.target
        where = f"whose {e.path} " if e.path else "that "
        return UpcastFailed(
            last,
            f"returned data {where}does not fit {cls.__name__} "
            f"({target_type} v{target_version}): {e.message}",
            field=e,
        )

    if not typed:
        values = decoder(cls)

        def from_values(data: Any) -> Any:
            data = chain(json_copy(data))
            try:
                return values(data)
            except FieldError as e:
                raise not_fitting(data, e) from None

        def from_text(text: Any) -> Any:
            data = chain(loads_plain(text))
            try:
                return values(data)
            except FieldError as e:
                raise not_fitting(data, e) from None

        made = _DECODERS[key] = StoredDecoder(cls, None, from_text, from_values, ())
        return made

    from escli.domain.typed import converter
    from escli.jsontext import typed_decoder

    loads = typed_decoder(Any)
    check, shadow, _, make = converter(cls)
    new = object.__new__
    refused = typed_refusals()
    # One step (the usual chain) is called straight, and the text path is one function: a
    # loop, the namedtuples' lookups and a call per part cost more than the author's
    # function (replay of a 1.0 stream runs through here, measured for issue 13).
    single = chain.steps[0].upcaster.function if len(chain.steps) == 1 else None

    def typed_values(data: Any) -> Any:
        data = json_copy(data)  # a store's own dict: the upcaster may change its argument
        if single is None:
            data = chain(data)
        else:
            try:
                data = single(data)
            except (Exception, SystemExit) as e:  # the author's bug, shown with its frames
                raise UpcastFailed(last, f"raised {type(e).__name__}: {e}", e) from e
            if data.__class__ is not dict:
                data = chain.checked(last, data)
        try:
            check(data, shadow)
            if make is not None:
                return make(data)
            event: Any = new(cls)
            event.__dict__.update(data)
            return event
        except refused as e:
            raise not_fitting(data, e) from None

    def typed_text(text: Any) -> Any:
        try:
            data = loads(text)
        except ValueError:  # msgspec's refusal: Python's words (json.JSONDecodeError) for it
            data = loads_plain(text)
        if single is None:
            data = chain(data)
        else:
            try:
                data = single(data)
            except (Exception, SystemExit) as e:  # the author's bug, shown with its frames
                raise UpcastFailed(last, f"raised {type(e).__name__}: {e}", e) from e
            if data.__class__ is not dict:
                data = chain.checked(last, data)
        try:
            check(data, shadow)
            if make is not None:
                return make(data)
            event: Any = new(cls)
            event.__dict__.update(data)
            return event
        except refused as e:
            raise not_fitting(data, e) from None

    made = _DECODERS[key] = StoredDecoder(cls, None, typed_text, typed_values, ())
    return made


def upcast(domain: Domain, event_type: str, version: str, data: Any) -> Any:
    """The event of ``domain``'s current class that data stored at ``event_type`` ``version``
    (JSON text or a dict of JSON values) reads as: through its chain of upcasters when it is
    an old version, else decoded by its class. ``UnreadableEvent`` if the domain has neither,
    ``UpcastFailed`` where an upcaster fails, ``FieldError`` where current data does not fit.
    (Export and copy ``--upcast``, scenario ``given`` events and ``escli.testing`` call it;
    the fold has its own loop.)"""
    reading = domain.reading(event_type, version)
    if reading is None:
        raise UnreadableEvent(domain.unreadable(event_type, version))
    if data.__class__ is str or data.__class__ is bytes:
        data = loads_plain(data)
    if reading.chain is None:
        return decoder(reading.cls)(data)
    return chain_decoder(reading.chain)(data)
