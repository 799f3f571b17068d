"""Events: facts that happened to an entity."""

from dataclasses import dataclass

from ._domain import domain


@domain.event(version="1.0")
@dataclass(frozen=True)
class EntitySpawned:
    entity_id: str
    hitpoints: int


@domain.event(version="1.0")
@dataclass(frozen=True)
class EntityAttacked:
    entity_id: str
    damage: int


@domain.event(version="1.0")
@dataclass(frozen=True)
class EntityHealed:
    """``amount`` is what was healed, which may be less than asked for near full health."""

    entity_id: str
    amount: int


@domain.event(version="1.0")
@dataclass(frozen=True)
class EntityDied:
    entity_id: str
