"""Commands: orders a player gives. Each names its entity, and so its stream."""

from dataclasses import dataclass

from ._domain import domain


@domain.command
@dataclass(frozen=True)
class Spawn:
    """Bring an entity to life."""

    entity_id: str
    hitpoints: int


@domain.command
@dataclass(frozen=True)
class Attack:
    """Strike an entity; it dies at 0 hitpoints."""

    entity_id: str
    damage: int
    weapon: str = "fists"


@domain.command
@dataclass(frozen=True)
class Heal:
    """Give a living entity hitpoints, up to its maximum."""

    entity_id: str
    amount: int
