"""Events: facts that happened to an entity.

``EntityAttacked`` is at version 2.0: it gained ``weapon``. Fights recorded before that (1.0,
no weapon) are read through the upcaster ``add_weapon``: stored events are never rewritten.
"""

from dataclasses import dataclass
from typing import Any

from ._domain import domain


@domain.event(version="1.0")
@dataclass(frozen=True)
class EntitySpawned:
    entity_id: str
    hitpoints: int


@domain.event(version="2.0")
@dataclass(frozen=True)
class EntityAttacked:
    entity_id: str
    damage: int
    weapon: str


@domain.upcaster("EntityAttacked", "1.0", to="2.0")
def add_weapon(data: dict[str, Any]) -> dict[str, Any]:
    """Before 2.0 every blow was struck with bare hands."""
    return {**data, "weapon": "fists"}


@domain.event(version="1.0")
@dataclass(frozen=True)
class EntityHealed:
    """What was healed: less than asked for near full health."""

    entity_id: str
    amount: int


@domain.event(version="1.0")
@dataclass(frozen=True)
class EntityDied:
    entity_id: str
