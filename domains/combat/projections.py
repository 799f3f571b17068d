"""Read models across the combat streams: run with ``escli project combat.roster`` and read
with ``escli view combat.roster``."""

from typing import Any

from escli import Meta

from ._domain import domain
from .events import EntityAttacked, EntityDied, EntityHealed, EntitySpawned
from .state import BESTIARY


@domain.projection("roster")
def roster(
    row: dict[str, Any] | None,
    event: EntitySpawned | EntityAttacked | EntityHealed | EntityDied,
    meta: Meta,
) -> dict[str, Any] | None:
    """Every entity: its hitpoints, whether it is alive, the blows and damage it took, and
    when it was last seen."""
    if row is None:
        known = BESTIARY.get(event.entity_id)
        row = {
            "entity": event.entity_id,
            "hitpoints": known.hitpoints if known else 0,
            "alive": known.alive if known else False,
            "blows_taken": 0,
            "damage_taken": 0,
        }
    match event:
        case EntitySpawned(_, hitpoints):
            row = {**row, "hitpoints": hitpoints, "alive": True}
        case EntityAttacked(_, damage, _):
            row = {
                **row,
                "hitpoints": max(0, row["hitpoints"] - damage),
                "blows_taken": row["blows_taken"] + 1,
                "damage_taken": row["damage_taken"] + damage,
            }
        case EntityHealed(_, amount):
            row = {**row, "hitpoints": row["hitpoints"] + amount}
        case EntityDied():
            row = {**row, "hitpoints": 0, "alive": False}
    return {**row, "last_seen": meta.time}
