"""A store written by the combat sample before 2.0 (``EntityAttacked`` 1.0, no weapon) works
with the sample as it is now, on every read path of the CLI: the fold before a dispatch,
replay (whole, ``--steps``, ``--to-generation``), follow; and it is never rewritten."""

from __future__ import annotations

import json
from pathlib import Path

import escli_combat.events as combat_events
import pytest

from escli.stores.base import NewEvent, Store, new_event_id
from tests.conftest import Run, masked, snapshot

SOURCE = "events://escli/samples/combat"


def attacked_v1(damage: int, entity: str = "ogre") -> NewEvent:
    """An attack as the sample stored it at 1.0, before weapons."""
    return NewEvent(
        "combat.EntityAttacked",
        "1.0",
        SOURCE,
        {"entity_id": entity, "damage": damage},
        new_event_id(),
    )


@pytest.fixture
def old_fight(sqlite_store: Store) -> Store:
    sqlite_store.append("combat-ogre", [attacked_v1(300), attacked_v1(250)], 0)
    return sqlite_store


def test_a_dispatch_folds_old_events_through_the_upcaster_and_appends_a_current_one(
    escli: Run, old_fight: Store
) -> None:
    out = escli("dispatch", "combat", "attack", "ogre", "100", "--weapon", "axe", "--json")
    assert out.exit_code == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["state"]["before"]["hitpoints"] == 350
    assert result["state"]["after"]["hitpoints"] == 250
    stored = [(r.type_version, r.data) for r in old_fight.read("combat-ogre")]
    assert stored == [
        ("1.0", {"entity_id": "ogre", "damage": 300}),  # as written: never rewritten
        ("1.0", {"entity_id": "ogre", "damage": 250}),
        ("2.0", {"entity_id": "ogre", "damage": 100, "weapon": "axe"}),
    ]


def test_replay_steps_show_each_old_event_as_stored_and_as_read(
    escli: Run, old_fight: Store
) -> None:
    out = escli("replay", "combat-ogre", "--steps", "--to-generation", "1")
    assert out.exit_code == 0, out.stderr
    assert masked(out.stdout).splitlines()[:4] == [
        "combat-ogre  from generation 0",
        '    1  <id>  <time>  combat.EntityAttacked v1.0  {"entity_id": "ogre", "damage": 300}',
        '       → read as v2.0  {"entity_id": "ogre", "damage": 300, "weapon": "fists"}',
        "       hitpoints  900 → 600",
    ]
    steps = json.loads(escli("replay", "combat-ogre", "--steps", "--json").stdout)["steps"]
    assert [s["event"]["version"] for s in steps] == ["1.0", "1.0"]
    assert [s["event"]["upcast"] for s in steps] == [
        {
            "type": "combat.EntityAttacked",
            "version": "2.0",
            "data": {"entity_id": "ogre", "damage": damage, "weapon": "fists"},
        }
        for damage in (300, 250)
    ]


def test_follow_shows_what_an_old_event_was_read_as(escli: Run, old_fight: Store) -> None:
    out = escli("follow", "combat-ogre", "--from-generation", "2", "--limit", "1", "--json")
    assert out.exit_code == 0, out.stderr
    (shown,) = [json.loads(line) for line in out.stdout.splitlines()]
    assert (shown["generation"], shown["version"], shown["changed"]) == (
        2,
        "1.0",
        {"hitpoints": [600, 350]},
    )
    assert shown["upcast"]["data"] == {"entity_id": "ogre", "damage": 250, "weapon": "fists"}


def test_a_version_the_domain_cannot_read_stops_dispatch_with_what_to_do(
    escli: Run, sqlite_store: Store
) -> None:
    future = attacked_v1(1)._replace(type_version="3.0")
    sqlite_store.append("combat-ogre", [future], 0)
    before = snapshot(sqlite_store)
    for args in (("dispatch", "combat", "attack", "ogre", "1"), ("replay", "combat-ogre")):
        out = escli(*args)
        assert out.exit_code == 11
        assert out.stderr == (
            "Error: combat-ogre generation 1: domain 'combat' has no event type "
            "combat.EntityAttacked v3.0 (it has v2.0): add an upcaster from it "
            '(@domain.upcaster) or keep its old class; see the README\'s "Changing a domain"\n'
        )
    assert snapshot(sqlite_store) == before


def test_follow_goes_on_past_an_old_event_the_upcaster_cannot_read(
    escli: Run, sqlite_store: Store
) -> None:
    """As past any undecodable event: the problem is shown, the stream is no longer folded."""
    broken = attacked_v1(5)._replace(data={"damage": 5})  # no entity_id: 2.0 needs one
    sqlite_store.append("combat-ogre", [broken, attacked_v1(7)], 0)
    out = escli("follow", "combat-ogre", "--limit", "2", "--json")
    assert out.exit_code == 0, out.stderr
    first, second = (json.loads(line) for line in out.stdout.splitlines())
    assert first["changed"] is None
    assert first["problem"].startswith(str(Path(combat_events.__file__)) + ":")
    assert first["problem"].endswith(
        "domain 'combat': upcaster add_weapon (combat.EntityAttacked v1.0 -> v2.0) returned "
        "data whose entity_id does not fit EntityAttacked (combat.EntityAttacked v2.0): "
        f"missing, upcasting combat-ogre generation 1, event {broken.event_id}; the state of "
        "combat-ogre is no longer shown"
    )
    assert (second["generation"], second["changed"], second["problem"]) == (2, None, None)
