"""The state of one entity, and the bestiary it starts from."""

from dataclasses import dataclass

from escli import AggregateState


@dataclass(frozen=True)
class Entity(AggregateState):
    entity_id: str
    hitpoints: int = 0
    max_hitpoints: int = 0
    alive: bool = False
    known: bool = False
    immortal: bool = False


BESTIARY: dict[str, Entity] = {
    "ogre": Entity("ogre", 900, 900, alive=True, known=True),
    "goblin": Entity("goblin", 120, 120, alive=True, known=True),
    "troll": Entity("troll", 1500, 1500, alive=True, known=True),
    "ghost": Entity("ghost", 300, 300, alive=True, known=True, immortal=True),
}
