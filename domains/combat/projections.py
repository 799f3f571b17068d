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
    seen = meta.time  # one new row an event, its last_seen in it
    match event:
        case EntitySpawned(_, hitpoints):
            return {**row, "hitpoints": hitpoints, "alive": True, "last_seen": seen}
        case EntityAttacked(_, damage, _):
            return {
                **row,
                "hitpoints": max(0, row["hitpoints"] - damage),
                "blows_taken": row["blows_taken"] + 1,
                "damage_taken": row["damage_taken"] + damage,
                "last_seen": seen,
            }
        case EntityHealed(_, amount):
            return {**row, "hitpoints": row["hitpoints"] + amount, "last_seen": seen}
        case EntityDied():
            return {**row, "hitpoints": 0, "alive": False, "last_seen": seen}
    return {**row, "last_seen": seen}
