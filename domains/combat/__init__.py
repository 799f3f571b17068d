"""The combat sample: entities that are spawned, attacked, healed, and die.

Rules:
- A few entities are known from the start (the bestiary), so the first command on an empty
  store works: ``ogre`` has 900 hitpoints, ``ghost`` is immortal.
- Attacking or healing needs a positive amount and a living, known entity.
- Hitpoints never go below 0; the blow that reaches 0 also emits ``EntityDied``.
- Healing never goes above the entity's maximum; healing at full health is rejected.
- Spawning makes an unknown or dead entity alive with the given hitpoints.

Streams are ``combat-<entity id>``. The ``roster`` projection keeps one row per entity
(``escli project combat.roster``, ``escli view combat.roster``).
"""

from ._domain import domain
from .aggregate import Combat
from .commands import Attack, Heal, Spawn
from .events import EntityAttacked, EntityDied, EntityHealed, EntitySpawned
from .projections import roster
from .state import BESTIARY, Entity

__all__ = [
    "BESTIARY",
    "Attack",
    "Combat",
    "Entity",
    "EntityAttacked",
    "EntityDied",
    "EntityHealed",
    "EntitySpawned",
    "Heal",
    "Spawn",
    "domain",
    "roster",
]
