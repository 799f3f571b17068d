from escli import Domain

domain = Domain(
    "combat",
    source="events://escli/samples/combat",
    stream_field="entity_id",
    description="Entities that are spawned, attacked, healed, and die.",
)
