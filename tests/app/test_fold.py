"""Replay: folding stored events into state, and refusing data that does not fit."""

from __future__ import annotations

import pytest
from escli_combat import Attack, EntityAttacked, Heal

from escli import Domain, StoreError, dispatch, fold, steps
from escli.app.fold import ends_early, replay_state, replay_steps
from escli.errors import NotFound, UnreadableEvent
from escli.stores.base import NewEvent, new_event_id
from escli.stores.memory import MemoryStore


def attacked(data: dict) -> NewEvent:  # type: ignore[type-arg]
    return NewEvent(
        "combat.EntityAttacked", "2.0", "events://escli/samples/combat", data, new_event_id()
    )


def test_replay_folds_to_the_state_dispatch_saw(combat: Domain) -> None:
    store = MemoryStore()
    results = [
        dispatch(combat, c, store)
        for c in (Attack("ogre", 150), Attack("ogre", 150), Heal("ogre", 100))
    ]
    state = fold(combat, "combat-ogre", store.read_data("combat-ogre"))
    assert state == results[-1].after
    assert (state.hitpoints, state.generation) == (700, 3)


def test_replay_can_stop_at_a_generation(combat: Domain) -> None:
    store = MemoryStore()
    for _ in range(4):
        dispatch(combat, Attack("ogre", 100), store)
    state = fold(combat, "combat-ogre", store.read_data("combat-ogre", to_generation=2))
    assert (state.hitpoints, state.generation) == (700, 2)


def test_steps_show_every_transition(combat: Domain) -> None:
    store = MemoryStore()
    dispatch(combat, Attack("ogre", 150), store)
    dispatch(combat, Heal("ogre", 50), store)
    walked = list(steps(combat, "combat-ogre", store.read("combat-ogre")))
    assert [(s.recorded.generation, s.before.hitpoints, s.after.hitpoints) for s in walked] == [
        (1, 900, 750),
        (2, 750, 800),
    ]
    assert walked[0].event == EntityAttacked("ogre", 150, "fists")
    assert [s.after.generation for s in walked] == [1, 2]


def test_replaying_does_not_change_the_shared_initial_state(combat: Domain) -> None:
    from escli_combat import BESTIARY

    store = MemoryStore()
    dispatch(combat, Attack("ogre", 150), store)
    fold(combat, "combat-ogre", store.read_data("combat-ogre"))
    assert BESTIARY["ogre"].generation == 0
    assert BESTIARY["ogre"].hitpoints == 900


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"entity_id": "ogre", "damage": "150", "weapon": "axe"},
            "field damage: expected an integer, got '150'",
        ),
        (
            {"entity_id": "ogre", "damage": 1.5, "weapon": "axe"},
            "field damage: expected an integer, got 1.5",
        ),
        (
            {"entity_id": "ogre", "damage": True, "weapon": "axe"},
            "field damage: expected an integer, got True",
        ),
        ({"entity_id": "ogre", "weapon": "axe"}, "field damage: missing"),
        (
            {"entity_id": "ogre", "damage": 1, "weapon": "axe", "crit": True},
            "field crit: not a field of EntityAttacked",
        ),
        (
            {"entity_id": 7, "damage": 1, "weapon": "axe"},
            "field entity_id: expected a string, got 7",
        ),
    ],
)
def test_stored_data_that_does_not_fit_names_stream_generation_and_field(
    combat: Domain,
    data: dict,
    message: str,  # type: ignore[type-arg]
) -> None:
    store = MemoryStore()
    first = attacked({"entity_id": "ogre", "damage": 1, "weapon": "axe"})
    store.append("combat-ogre", [first, attacked(data)], 0)
    with pytest.raises(StoreError) as caught:
        fold(combat, "combat-ogre", store.read_data("combat-ogre"))
    assert str(caught.value) == f"combat-ogre generation 2: combat.EntityAttacked {message}"
    with pytest.raises(StoreError, match="combat-ogre generation 2"):
        list(steps(combat, "combat-ogre", store.read("combat-ogre")))


def test_an_event_version_with_no_class_and_no_upcaster_says_what_to_do(combat: Domain) -> None:
    store = MemoryStore()
    store.append(
        "combat-ogre",
        [attacked({"entity_id": "ogre", "damage": 1})._replace(type_version="9.0")],
        0,
    )
    with pytest.raises(
        UnreadableEvent,
        match=r"generation 1: domain .combat. has no event type "
        r"combat\.EntityAttacked v9\.0 \(it has v[0-9.]+\): add an upcaster from it "
        r"\(@domain.upcaster\) or keep its old class; see the README's \"Changing a domain\"",
    ):
        fold(combat, "combat-ogre", store.read_data("combat-ogre"))


def test_a_gap_in_generations_is_a_store_error(combat: Domain) -> None:
    rows = [
        (1, "combat.EntityAttacked", "2.0", {"entity_id": "ogre", "damage": 1, "weapon": "axe"}),
        (3, "combat.EntityAttacked", "2.0", {"entity_id": "ogre", "damage": 1, "weapon": "axe"}),
    ]
    with pytest.raises(StoreError, match="expected generation 2, the store gave 3"):
        fold(combat, "combat-ogre", rows)


def test_stored_text_that_is_not_json_is_a_store_error(combat: Domain) -> None:
    rows = [(1, "combat.EntityAttacked", "2.0", '{"entity_id": "ogre", "damage": ')]
    with pytest.raises(StoreError, match="generation 1: stored data is not JSON"):
        fold(combat, "combat-ogre", rows)


def test_stored_text_and_its_parsed_data_fold_the_same(combat: Domain) -> None:
    """The typed decoder of stored text (msgspec), the plain one (a short fold's) and the
    decoder of parsed data agree, past 64 bits too."""
    import json

    rows = [
        (1, "combat.EntityAttacked", "2.0", '{"entity_id": "troll", "damage": 7, "weapon": "axe"}'),
        (
            2,
            "combat.EntityHealed",
            "1.0",
            '{"entity_id": "troll", "amount": 123456789012345678901}',
        ),
        (3, "combat.EntityAttacked", "2.0", b'{"entity_id": "troll", "damage": 1, "weapon": "x"}'),
    ]
    import escli.app.fold

    plain = fold(combat, "combat-troll", rows)
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setattr(escli.app.fold, "PLAIN_USES", 0)
        typed = fold(combat, "combat-troll", rows)
        parsed = fold(combat, "combat-troll", [(g, t, v, json.loads(d)) for g, t, v, d in rows])
    assert typed == parsed == plain
    assert (typed.hitpoints, typed.generation) == (1499, 3)


def test_a_long_fold_switches_decoders_and_still_names_a_bad_event(combat: Domain) -> None:
    from escli.domain.codec import PLAIN_USES

    good = '{"entity_id": "troll", "damage": 1, "weapon": "axe"}'
    rows = [(g, "combat.EntityAttacked", "2.0", good) for g in range(1, PLAIN_USES + 11)]
    assert fold(combat, "combat-troll", rows).hitpoints == 1500 - PLAIN_USES - 10
    bad = PLAIN_USES + 5
    spoilt = '{"entity_id": "troll", "damage": "1", "weapon": "axe"}'
    rows[bad - 1] = (bad, "combat.EntityAttacked", "2.0", spoilt)
    with pytest.raises(StoreError) as caught:
        fold(combat, "combat-troll", rows)
    assert str(caught.value) == (
        f"combat-troll generation {bad}: combat.EntityAttacked field damage: "
        "expected an integer, got '1'"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '{"entity_id": "troll", "damage": NaN, "weapon": "axe"}',
            "field damage: expected an integer, got nan",
        ),
        (
            '{"entity_id": "troll", "damage": 1e400, "weapon": "axe"}',
            "field damage: expected an integer, got inf",
        ),
        (
            '{"entity_id": "tr\\ud800", "damage": 1, "weapon": "axe"}',
            "field entity_id: contains a lone surrogate",
        ),
        (
            '{"entity_id": "troll", "damage": true, "weapon": "axe"}',
            "field damage: expected an integer, got True",
        ),
        (
            '{"entity_id": "troll", "damage": 1, "weapon": "axe", "x": 1}',
            "field x: not a field of EntityAttacked",
        ),
        ('{"entity_id": "troll", "weapon": "axe"}', "field damage: missing"),
        ("[1]", "field (data): expected an object, got [1]"),
        ("{", "stored data is not JSON"),
    ],
)
@pytest.mark.parametrize("path", ["plain", "typed"])
def test_stored_text_either_decoder_refuses_is_worded_as_ever(
    combat: Domain, text: str, message: str, path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import escli.app.fold

    if path == "typed":  # msgspec's from the first event, not after PLAIN_USES of them
        monkeypatch.setattr(escli.app.fold, "PLAIN_USES", 0)
    rows = [(1, "combat.EntityAttacked", "2.0", text)]
    with pytest.raises(StoreError, match="combat-troll generation 1: ") as caught:
        fold(combat, "combat-troll", rows)
    assert message in str(caught.value)


# -- the replay use case -----------------------------------------------------------------------


def test_replaying_a_stream_the_store_lacks_is_not_found_with_the_closest_names(
    combat: Domain,
) -> None:
    store = MemoryStore()
    dispatch(combat, Attack("ogre", 150), store)
    for replay in (replay_state, replay_steps):
        with pytest.raises(NotFound, match=r"'combat-orge' is not in the store; did you mean "):
            replay(combat, "combat-orge", store, store=store)
    # Up to generation 0 of a stream that exists is its initial state, not "not found".
    assert replay_state(combat, "combat-ogre", store, 0, store=store).generation == 0
    assert list(replay_steps(combat, "combat-ogre", store, 0, store=store)) == []


def test_replaying_past_the_end_stops_there_and_says_so(combat: Domain) -> None:
    store = MemoryStore()
    dispatch(combat, Attack("ogre", 150), store)
    dispatch(combat, Attack("ogre", 150), store)
    state = replay_state(combat, "combat-ogre", store, 99, store=store)
    assert [s.after.generation for s in replay_steps(combat, "combat-ogre", store, 99)] == [1, 2]
    assert state.generation == 2
    assert ends_early("combat-ogre", 2, 99) == (
        "combat-ogre ends at generation 2, before --to-generation 99"
    )
    assert ends_early("combat-ogre", 2, 2) is None
    assert ends_early("combat-ogre", 2, None) is None
