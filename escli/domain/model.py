"""The shapes of an event-sourced domain: events with metadata, states with a generation,
the aggregate's two pure functions, and the ``Domain`` that ties them together.

A domain module builds one ``Domain`` and registers its commands and events on it::

    domain = Domain("combat", source="events://escli/samples/combat", stream_field="entity_id")

    @domain.command
    @dataclass(frozen=True)
    class Attack:
        entity_id: str
        damage: int

    @domain.event(version="1.0")
    @dataclass(frozen=True)
    class EntityAttacked:
        entity_id: str
        damage: int

    @domain.aggregate
    class Combat:
        def initial_state(self, stream_id: str) -> Entity: ...
        def handle_command(self, state: Entity, command: object) -> list[object]: ...
        def apply_event(self, state: Entity, event: object) -> Entity: ...

Streams are named ``<domain>-<stream id>`` (``combat-ogre``), like EventStoreDB categories, so
a stream name alone says which domain folds it.
"""

from __future__ import annotations

import builtins
import dataclasses
import re
import typing
from collections.abc import Callable, Iterable, Sequence
from typing import Any, ClassVar, NamedTuple, Protocol, TypeVar, cast, overload

from escli.domain.calls import NotAState, calling, state_failure
from escli.domain.codec import check_storable
from escli.domain.projection import KeyFunction, Projection
from escli.domain.state import AggregateState, applied, applying, stamped
from escli.domain.upcasting import (
    CHANGING_A_DOMAIN,
    Chain,
    Reading,
    Upcaster,
    current_versions,
    resolve_type,
)
from escli.domain.upcasting import check as check_chains
from escli.domain.upcasting import version_key as version_key_of
from escli.errors import DomainError, InvalidInput, NotFound, UnreadableEvent

__all__ = [
    "Aggregate",
    "AggregateState",
    "Domain",
    "EventMeta",
    "applied",
    "applying",
    "domain_of",
    "event_meta",
    "kebab_case",
    "stamped",
]

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])
S = TypeVar("S", bound=AggregateState)


def _annotated_return(method: Any) -> type | None:
    """The dataclass ``method`` is annotated to return, or None (no annotation, one that
    does not resolve yet, or not a dataclass)."""
    if method is None:
        return None
    try:
        returned = typing.get_type_hints(method).get("return")
    except (NameError, TypeError):  # defined further down its module, or not a function
        return None
    return returned if isinstance(returned, type) and dataclasses.is_dataclass(returned) else None


class EventMeta(NamedTuple):
    """What ``#[derive(Event)]`` gave an event in the Rust crate: its type, version, source."""

    event_type: str
    version: str
    source: str


def domain_of(obj: object) -> Domain:
    """The domain a registered command or event (class or instance) belongs to."""
    domain = getattr(obj, "__escli_domain__", None)
    if domain is None:
        name = obj.__name__ if isinstance(obj, type) else type(obj).__name__
        raise TypeError(f"{name} is not registered with a Domain")
    return domain  # type: ignore[no-any-return]


def event_meta(event: object) -> EventMeta:
    """The metadata of an event instance or class registered with ``Domain.event``."""
    meta = getattr(event, "__escli_event__", None)
    if meta is None:
        name = event.__name__ if isinstance(event, type) else type(event).__name__
        raise TypeError(f"{name} is not an event: decorate it with @domain.event")
    return meta  # type: ignore[no-any-return]


class Aggregate(Protocol[S]):
    """The two pure functions of a domain, plus the state a stream starts from."""

    def initial_state(self, stream_id: str) -> S: ...

    def handle_command(self, state: S, command: Any) -> Sequence[Any]: ...

    def apply_event(self, state: S, event: Any) -> S: ...


_KEBAB = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def kebab_case(name: str) -> str:
    """``HealAll`` -> ``heal-all``; how command classes are named on the command line."""
    return _KEBAB.sub("-", name).lower()


class CommandSpec(NamedTuple):
    cls: type
    name: str
    stream_field: str


class Domain:
    """A named bundle of commands, events, a state type and an aggregate."""

    STREAM_SEPARATOR: ClassVar[str] = "-"

    def __init__(
        self,
        name: str,
        *,
        source: str,
        stream_field: str | None = None,
        type_prefix: str | None = None,
        description: str = "",
        snapshot_every: int = 500,
    ) -> None:
        if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
            raise ValueError(f"domain name {name!r} must be lower-case letters, digits or _")
        if (
            isinstance(snapshot_every, bool)
            or not isinstance(snapshot_every, int)
            or (snapshot_every < 0)
        ):
            raise ValueError(f"snapshot_every must be a whole number >= 0, got {snapshot_every!r}")
        self.name = name
        self.source = source
        # A fold that read this many events since the stream's last snapshot takes one (0:
        # never); see escli.app.snapshots.
        self.snapshot_every = snapshot_every
        self.description = description
        self.default_stream_field = stream_field
        self.type_prefix = name if type_prefix is None else type_prefix
        self.commands: dict[str, CommandSpec] = {}
        self.events: dict[tuple[str, str], type] = {}
        self.upcasters: list[Upcaster] = []
        self.projections: dict[str, Projection] = {}  # by name: see escli.domain.projection
        # Every upcaster's chain, by the (type, version) it reads; made (and checked) once,
        # when the domain loads or on first read, afresh after another registration.
        self._chains: dict[tuple[str, str], Chain] | None = None
        self._current: dict[str, str] | None = None
        self._aggregate: Aggregate[Any] | None = None
        # The folder of the domain's own code, for showing its failures (escli.domain.calls):
        # set by the registry that found it; else the package that defines the aggregate.
        self.home: str | None = None

    def __repr__(self) -> str:
        return f"Domain({self.name!r})"

    # -- registration (decorators) -------------------------------------------------------

    @overload
    def command(self, cls: type[T], /) -> type[T]: ...
    @overload
    def command(
        self, cls: None = None, /, *, stream_field: str | None = None
    ) -> Callable[[type[T]], type[T]]: ...

    def command(self, cls: Any = None, /, *, stream_field: str | None = None) -> Any:
        """Register a command dataclass; ``stream_field`` names the field that picks the stream."""

        def register(cls: type[T]) -> type[T]:
            if not dataclasses.is_dataclass(cls):
                raise TypeError(f"command {cls.__name__} must be a dataclass")
            names = [f.name for f in dataclasses.fields(cls)]
            chosen = stream_field or self.default_stream_field or (names[0] if names else None)
            if chosen not in names:
                raise TypeError(
                    f"command {cls.__name__} has no field {chosen!r} to name its stream"
                )
            check_storable(cls)  # a field escli cannot store: the domain does not load
            spec = CommandSpec(cls, kebab_case(cls.__name__), chosen)
            if spec.name in self.commands:
                raise TypeError(f"command {spec.name} is registered twice in {self.name}")
            self.commands[spec.name] = spec
            cls.__escli_domain__ = self  # type: ignore[attr-defined]
            return cls

        return register if cls is None else register(cls)

    @overload
    def event(self, cls: type[T], /) -> type[T]: ...
    @overload
    def event(
        self,
        cls: None = None,
        /,
        *,
        type: str | None = None,
        version: str = "1.0",
        source: str | None = None,
    ) -> Callable[[builtins.type[T]], builtins.type[T]]: ...

    def event(
        self,
        cls: Any = None,
        /,
        *,
        type: str | None = None,
        version: str = "1.0",
        source: str | None = None,
    ) -> Any:
        """Register an event dataclass and give it its type, type version and source.

        Defaults: type ``<domain>.<ClassName>``, version ``"1.0"``, the domain's source.
        """

        def register(cls: builtins.type[T]) -> builtins.type[T]:
            if not dataclasses.is_dataclass(cls):
                raise TypeError(f"event {cls.__name__} must be a dataclass")
            meta = EventMeta(
                event_type=type or f"{self.type_prefix}.{cls.__name__}",
                version=version,
                source=source or self.source,
            )
            check_storable(cls)  # a field escli cannot store: the domain does not load
            key = (meta.event_type, meta.version)
            if key in self.events:
                raise TypeError(f"event type {key[0]} v{key[1]} is registered twice")
            cls.__escli_event__ = meta  # type: ignore[attr-defined]
            cls.__escli_domain__ = self  # type: ignore[attr-defined]
            self.events[key] = cls
            self._chains = self._current = None
            return cls

        return register if cls is None else register(cls)

    def upcaster(
        self, event_type: str, version: str, *, to: str | tuple[str, str]
    ) -> Callable[[F], F]:
        """Register a pure function from ``event_type`` ``version``'s JSON data (a dict) to
        the data of ``to``: a later version of the same type (``to="2.0"``) or another
        (type, version) (``to=("EntityAttacked", "1.0")``, a rename). Type names are short
        (``EntityAttacked``) or full (``combat.EntityAttacked``). Chains are checked when the
        domain loads (``check_upcasters``); see ``escli.domain.upcasting``."""
        if isinstance(to, tuple):
            to_type, to_version = to
        else:
            to_type, to_version = None, to
        for name, value in (("type", event_type), ("version", version), ("to", to_version)):
            if not isinstance(value, str) or not value:
                raise TypeError(f"upcaster {name} must be a non-empty string, not {value!r}")

        def register(function: F) -> F:
            if not callable(function):
                raise TypeError(f"@domain.upcaster decorates a function, not {function!r}")
            self.upcasters.append(Upcaster(event_type, version, to_type, to_version, function))
            self._chains = None
            return function

        return register

    def projection(self, name: str, *, key: KeyFunction | None = None) -> Callable[[F], F]:
        """Register a projection: a pure function ``(row, event, meta) -> row`` that keeps
        one JSON row per key (the stream, unless ``key(event, meta)`` says otherwise),
        run as ``escli project <domain>.<name>``; see ``escli.domain.projection``."""

        def register(function: F) -> F:
            if name in self.projections:
                raise TypeError(f"projection {name} is registered twice in {self.name}")
            self.projections[name] = Projection(self, name, function, key)
            return function

        return register

    def check_upcasters(self) -> dict[tuple[str, str], Chain]:
        """Every upcaster's chain, by the (type, version) it reads, checked: a ``DomainError``
        at the first broken upcaster's ``def`` (the registry calls it when the domain loads)."""
        if self._chains is None:
            self._chains = check_chains(self, self.upcasters)
        return self._chains

    def reading(self, event_type: str, version: str) -> Reading | None:
        """How a stored ``event_type`` ``version`` is read: its class, or the chain of
        upcasters to a class; None if neither exists."""
        cls = self.events.get((event_type, version))
        if cls is not None:
            return Reading(cls, None)
        chain = self.check_upcasters().get((event_type, version))
        return None if chain is None else Reading(chain.cls, chain)

    def unreadable(self, event_type: str, version: str) -> str:
        """Why a stored ``event_type`` ``version`` cannot be read, and what to do."""
        held = sorted((v for t, v in self.events if t == event_type), key=version_key_of)
        has = f" (it has v{', v'.join(held)})" if held else ""
        return (
            f"domain {self.name!r} has no event type {event_type} v{version}{has}: add an "
            f"upcaster from it (@domain.upcaster) or keep its old class; see {CHANGING_A_DOMAIN}"
        )

    def current_version(self, event_type: str) -> str | None:
        """The current version of ``event_type`` (a short or full name): its highest
        registered one, or None if it has no class."""
        if self._current is None:
            self._current = current_versions(self.events)
        return self._current.get(resolve_type(self, event_type))

    def full_type(self, event_type: str) -> str:
        """The full event type a short (``EntityAttacked``) or full name means here."""
        return resolve_type(self, event_type)

    def aggregate(self, cls: type[T]) -> type[T]:
        """Register the aggregate class (instantiated once, with no arguments). The state
        class its ``initial_state`` is annotated to return has its fields checked as events'
        and commands' are; an unannotated one is checked when a state is first written."""
        state_class = _annotated_return(getattr(cls, "initial_state", None))
        if state_class is not None:
            check_storable(state_class)  # a field escli cannot store: the domain does not load
        self._aggregate = cast("Aggregate[Any]", cls())
        return cls

    # -- lookups -------------------------------------------------------------------------

    @property
    def has_aggregate(self) -> bool:
        return self._aggregate is not None

    @property
    def aggregate_impl(self) -> Aggregate[Any]:
        if self._aggregate is None:
            raise DomainError(
                f"domain {self.name!r} has no aggregate: decorate one with @domain.aggregate"
            )
        return self._aggregate

    def command_spec(self, name: str) -> CommandSpec:
        spec = self.commands.get(name) or self.commands.get(kebab_case(name))
        if spec is None:
            from escli.suggest import did_you_mean

            known = ", ".join(sorted(self.commands)) or "none"
            raise NotFound(
                f"domain {self.name!r} has no command {name!r}"
                f"{did_you_mean(name, self.commands)} (known: {known})"
            )
        return spec

    def spec_of(self, command: object) -> CommandSpec:
        spec = self.commands.get(kebab_case(type(command).__name__))
        if spec is None or spec.cls is not type(command):
            raise InvalidInput(f"{type(command).__name__} is not a command of domain {self.name!r}")
        return spec

    def event_class(self, event_type: str, version: str) -> type:
        """The class of ``event_type`` ``version`` itself (not through upcasters)."""
        cls = self.events.get((event_type, version))
        if cls is None:
            raise UnreadableEvent(self.unreadable(event_type, version))
        return cls

    def stream_of(self, command: object) -> str:
        """The stream a command goes to: ``<domain>-<value of its stream field>``."""
        value = getattr(command, self.spec_of(command).stream_field)
        return self.stream_name(str(value))

    def stream_name(self, stream_id: str) -> str:
        return f"{self.name}{self.STREAM_SEPARATOR}{stream_id}"

    def stream_id(self, stream: str) -> str:
        prefix = self.name + self.STREAM_SEPARATOR
        if not stream.startswith(prefix) or len(stream) == len(prefix):
            raise InvalidInput(f"stream {stream!r} does not belong to domain {self.name!r}")
        return stream[len(prefix) :]

    def initial_state(self, stream: str) -> Any:
        """The state ``stream`` starts from; the aggregate's failure is a ``DomainError``."""
        stream_id = self.stream_id(stream)
        context = f" (the initial state of {stream})"
        with calling(self, context):
            state = self.aggregate_impl.initial_state(stream_id)
        if not isinstance(state, AggregateState):
            raise state_failure(self, NotAState("initial_state", state), context)
        return state

    @staticmethod
    def domain_name_of(stream: str) -> str:
        """The domain a stream belongs to: the part before the first ``-``."""
        name, sep, rest = stream.partition(Domain.STREAM_SEPARATOR)
        if not sep or not name or not rest:
            raise InvalidInput(f"stream name {stream!r} is not of the form <domain>-<id>")
        return name

    def event_classes(self) -> Iterable[type]:
        return self.events.values()
