"""Commands: orders a player gives. Each names its entity, and so its stream."""

from dataclasses import dataclass

from ._domain import domain


@domain.command
@dataclass(frozen=True)
class Spawn:
    entity_id: str
    hitpoints: int


@domain.command
@dataclass(frozen=True)
class Attack:
    entity_id: str
    damage: int
    weapon: str = "fists"


@domain.command
@dataclass(frozen=True)
class Heal:
    entity_id: str
    amount: int
