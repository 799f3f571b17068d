"""The combat rules: two pure functions over ``Entity``."""

from escli import CommandRejected

from ._domain import domain
from .commands import Attack, Heal, Spawn
from .events import EntityAttacked, EntityDied, EntityHealed, EntitySpawned
from .state import BESTIARY, Entity

Event = EntitySpawned | EntityAttacked | EntityHealed | EntityDied


def _require_alive(state: Entity) -> None:
    if not state.known:
        raise CommandRejected(
            f"{state.entity_id} is unknown: spawn it first (escli dispatch combat spawn "
            f"{state.entity_id} HITPOINTS)"
        )
    if not state.alive:
        raise CommandRejected(f"{state.entity_id} is dead: spawn it again to bring it back")


def _require_positive(what: str, value: int) -> None:
    if value <= 0:
        raise CommandRejected(f"{what} must be positive, got {value}")


@domain.aggregate
class Combat:
    def initial_state(self, stream_id: str) -> Entity:
        return BESTIARY.get(stream_id) or Entity(stream_id)

    def handle_command(self, state: Entity, command: Spawn | Attack | Heal) -> list[Event]:
        match command:
            case Spawn(entity_id, hitpoints):
                _require_positive("hitpoints", hitpoints)
                if state.alive:
                    raise CommandRejected(
                        f"{entity_id} is already alive with {state.hitpoints} hitpoints"
                    )
                return [EntitySpawned(entity_id, hitpoints)]
            case Attack(entity_id, damage, weapon):
                _require_positive("damage", damage)
                _require_alive(state)
                if state.immortal:
                    raise CommandRejected(f"{entity_id} is immortal: attacks pass through it")
                if damage >= state.hitpoints:
                    return [EntityAttacked(entity_id, damage, weapon), EntityDied(entity_id)]
                return [EntityAttacked(entity_id, damage, weapon)]
            case Heal(entity_id, amount):
                _require_positive("amount", amount)
                _require_alive(state)
                missing = state.max_hitpoints - state.hitpoints
                if missing == 0:
                    raise CommandRejected(
                        f"{entity_id} is already at full health ({state.hitpoints} hitpoints)"
                    )
                return [EntityHealed(entity_id, min(amount, missing))]
        raise TypeError(f"combat cannot handle {command!r}")

    def apply_event(self, state: Entity, event: Event) -> Entity:
        match event:
            case EntityAttacked(_, damage, _):
                return state.evolve(hitpoints=max(0, state.hitpoints - damage))
            case EntityHealed(_, amount):
                return state.evolve(hitpoints=min(state.max_hitpoints, state.hitpoints + amount))
            case EntityDied():
                return state.evolve(hitpoints=0, alive=False)
            case EntitySpawned(_, hitpoints):
                return state.evolve(
                    hitpoints=hitpoints, max_hitpoints=hitpoints, alive=True, known=True
                )
        raise TypeError(f"combat cannot apply {event!r}")
