"""`escli dispatch`: exact output, JSON, dry runs, and every kind of bad input."""

from __future__ import annotations

import json

import pytest

from tests.conftest import Run, open_store, snapshot


def test_the_first_attack_takes_the_ogre_from_900_to_750(escli: Run) -> None:
    out = escli("dispatch", "combat", "attack", "ogre", "150")
    assert out.exit_code == 0
    assert out.stderr == ""
    assert out.stdout == (
        "combat-ogre  generation 0 → 1\n"
        "events\n"
        '    1  combat.EntityAttacked v2.0  {"entity_id": "ogre", "damage": 150, '
        '"weapon": "fists"}\n'
        "state\n"
        "  entity_id      ogre\n"
        "  hitpoints      900 → 750\n"
        "  max_hitpoints  900\n"
        "  alive          true\n"
        "  known          true\n"
        "  immortal       false\n"
    )


def test_five_attacks_show_generations_one_to_five(escli: Run) -> None:
    headers, hitpoints = [], []
    for _ in range(5):
        out = escli("dispatch", "combat", "attack", "ogre", "150", "--json")
        data = json.loads(out.stdout)
        headers.append((data["generation"]["before"], data["generation"]["after"]))
        hitpoints.append(data["state"]["after"]["hitpoints"])
    assert headers == [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5)]
    assert hitpoints == [750, 600, 450, 300, 150]


def test_fields_can_be_given_by_name(escli: Run, store_url: str) -> None:
    out = escli("dispatch", "combat", "spawn", "--hitpoints", "2000", "--entity-id", "dragon")
    assert out.exit_code == 0
    assert "combat.EntitySpawned v1.0" in out.stdout
    out = escli("dispatch", "combat", "attack", "dragon", "--damage=500")
    assert "hitpoints      2000 → 1500" in out.stdout


def test_json_output_is_one_object_with_the_whole_transition(escli: Run) -> None:
    out = escli("dispatch", "combat", "attack", "ogre", "900", "--json")
    data = json.loads(out.stdout)
    assert data["stream"] == "combat-ogre"
    assert data["command"] == "Attack"
    assert data["dry_run"] is False
    assert [(e["generation"], e["type"], e["version"], e["data"]) for e in data["events"]] == [
        (
            1,
            "combat.EntityAttacked",
            "2.0",
            {"entity_id": "ogre", "damage": 900, "weapon": "fists"},
        ),
        (2, "combat.EntityDied", "1.0", {"entity_id": "ogre"}),
    ]
    assert [e["position"] for e in data["events"]] == [1, 2]
    assert data["events"][0]["source"] == "events://escli/samples/combat"
    assert data["state"]["before"]["hitpoints"] == 900
    assert data["state"]["after"] == {
        "generation": 2,
        "entity_id": "ogre",
        "hitpoints": 0,
        "max_hitpoints": 900,
        "alive": False,
        "known": True,
        "immortal": False,
    }


def test_a_dry_run_shows_the_outcome_and_writes_nothing(escli: Run, store_url: str) -> None:
    out = escli("dispatch", "combat", "attack", "ogre", "150", "--dry-run")
    assert out.exit_code == 0
    assert out.stdout.splitlines()[0] == "combat-ogre  generation 0 → 1  (dry run: nothing written)"
    assert "hitpoints      900 → 750" in out.stdout
    assert list(open_store(store_url).streams()) == []


def test_the_store_can_be_chosen_with_an_option(escli: Run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    other = f"sqlite:///{tmp_path / 'other.db'}"
    assert escli("dispatch", "combat", "attack", "ogre", "1", "--store", other).exit_code == 0
    assert open_store(other).generation("combat-ogre") == 1


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["dispatch", "nope", "attack", "ogre", "1"], 3, "unknown domain 'nope' (known: combat)"),
        (
            ["dispatch", "combat", "kick", "ogre"],
            3,
            "domain 'combat' has no command 'kick' (known: attack, heal, spawn)",
        ),
        (
            ["dispatch", "combat", "attack", "ogre"],
            2,
            "attack: missing DAMAGE (usage: attack ENTITY_ID DAMAGE [WEAPON])",
        ),
        (
            ["dispatch", "combat", "attack", "ogre", "1", "axe", "2"],
            2,
            "attack: unexpected extra argument(s) '2' (usage: attack ENTITY_ID DAMAGE [WEAPON])",
        ),
        (
            ["dispatch", "combat", "attack", "ogre", "--power", "3"],
            2,
            "attack has no option --power (options: --entity-id, --damage, --weapon)",
        ),
        (
            ["dispatch", "combat", "attack", "ogre", "abc"],
            4,
            "attack damage: expected an integer, got 'abc'",
        ),
        (
            ["dispatch", "combat", "attack", "ghost", "10"],
            5,
            "ghost is immortal: attacks pass through it",
        ),
        (["dispatch", "combat", "attack", "ogre", "0"], 5, "damage must be positive, got 0"),
        (
            ["dispatch", "combat", "attack", "ogre", "1", "--store", "ftp://x"],
            4,
            "unknown store URL scheme 'ftp' in 'ftp://x' (known: sqlite, memory, postgresql, "
            "esdb[+discover], kurrentdb[+discover], kdb[+discover])",
        ),
        (
            ["dispatch", "combat"],
            2,
            "missing COMMAND for domain 'combat' (its commands: spawn, attack, heal; "
            "see 'escli dispatch combat --help')",
        ),
        (["launch"], 2, "No such command 'launch'. (see 'escli --help')"),
    ],
)
def test_bad_input_is_one_line_with_its_exit_code_and_writes_nothing(
    escli: Run, store_url: str, args: list[str], code: int, message: str
) -> None:
    escli("dispatch", "combat", "attack", "ogre", "150")
    before = snapshot(open_store(store_url))
    out = escli(*args)
    assert (out.exit_code, out.stderr, out.stdout) == (code, f"Error: {message}\n", "")
    assert snapshot(open_store(store_url)) == before


def test_a_corrupt_store_file_is_a_store_error_and_stays_as_it_was(escli: Run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "corrupt.db"
    path.write_bytes(b"garbage" * 1000)
    out = escli("dispatch", "combat", "attack", "ogre", "1", "--store", f"sqlite:///{path}")
    assert out.exit_code == 7
    assert out.stderr.startswith(f"Error: store {path} is not a readable escli store")
    assert out.stderr.count("\n") == 1
    assert path.read_bytes() == b"garbage" * 1000


def test_a_read_only_store_is_a_store_error_and_unchanged(escli: Run, store_url: str) -> None:
    escli("dispatch", "combat", "attack", "ogre", "150")
    before = snapshot(open_store(store_url))
    out = escli("dispatch", "combat", "attack", "ogre", "150", "--store", store_url + "?mode=ro")
    assert out.exit_code == 7
    assert out.stderr.endswith("is read-only; nothing was written\n")
    assert snapshot(open_store(store_url)) == before


def test_a_store_target_receives_the_same_events_with_the_same_ids(
    escli: Run, store_url: str, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    mirror = f"sqlite:///{tmp_path / 'mirror.db'}"
    for _ in range(2):
        out = escli("dispatch", "combat", "attack", "ogre", "150", "--to", mirror)
        assert out.exit_code == 0, out.stderr
    assert out.stdout.endswith(f"  ok  {mirror}  generations 2..2\n")
    # Everything but the position, which each store assigns itself.
    assert [r[:-1] for r in open_store(mirror).read("combat-ogre")] == [
        r[:-1] for r in open_store(store_url).read("combat-ogre")
    ]
    assert open_store(mirror).generation("combat-ogre") == 2


def test_a_target_that_fails_is_reported_with_its_own_exit_code_after_storing(
    escli: Run, store_url: str, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    from escli import dispatch, load_domain

    mirror = f"sqlite:///{tmp_path / 'mirror.db'}"
    combat = load_domain("combat")
    dispatch(combat, combat.command_spec("attack").cls("ogre", 1), open_store(mirror))
    out = escli("dispatch", "combat", "attack", "ogre", "150", "--to", mirror)
    assert out.exit_code == 9
    [theirs] = open_store(mirror).read("combat-ogre")
    [ours] = open_store(store_url).read("combat-ogre")
    assert (
        f"  FAILED  {mirror}  generations 1..1 pending: combat-ogre has diverged in {mirror}: "
        f"generation 1 is event {theirs.event_id} there, not {ours.event_id}; nothing was "
        "written\n"
    ) in out.stdout
    assert out.stderr == (
        f"Error: stored in {store_url} at generations 1..1; pending for {mirror} (1..1): "
        "escli publish --pending --to URL sends them\n"
    )
    assert open_store(store_url).generation("combat-ogre") == 1


def test_a_bad_target_url_stops_before_anything_is_written(escli: Run, store_url: str) -> None:
    out = escli("dispatch", "combat", "attack", "ogre", "150", "--to", "gopher://x")
    assert out.exit_code == 4
    assert out.stderr.startswith("Error: unknown store URL scheme 'gopher'")
    assert open_store(store_url).generation("combat-ogre") == 0
