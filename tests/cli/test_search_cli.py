"""`escli streams PATTERN`, `escli events` and `escli event ID`: exact output, and one clear
Error line (and its exit code) for every bad input."""

from __future__ import annotations

import json

import pytest

from escli.stores.base import NewEvent
from tests.conftest import Run, open_store

SOURCE = "events://escli/samples/combat"


def event(event_id: str, time: str, event_type: str, version: str, **data: object) -> NewEvent:
    return NewEvent(event_type, version, SOURCE, dict(data), event_id, time)


@pytest.fixture
def game(store_url: str) -> None:
    """An ogre attacked twice and an orc attacked once, in 2024 (short times are dates)."""
    store = open_store(store_url)
    attack = "combat.EntityAttacked"
    store.append(
        "combat-ogre",
        [
            event(
                "hit-1",
                "2024-03-04T10:00:00Z",
                attack,
                "2.0",
                entity_id="ogre",
                damage=150,
                weapon="axe",
            ),
            event(
                "hit-2",
                "2024-03-04T11:00:00Z",
                attack,
                "2.0",
                entity_id="ogre",
                damage=50,
                weapon="axe",
            ),
        ],
        0,
    )
    store.append(
        "combat-orc",
        [
            event(
                "hit-3",
                "2024-03-04T12:00:00Z",
                attack,
                "2.0",
                entity_id="orc",
                damage=300,
                weapon="fists",
            )
        ],
        0,
    )


def test_streams_with_a_pattern_lists_the_matches_and_counts_them(escli: Run, game: None) -> None:
    out = escli("streams", "combat-o?c")
    assert (out.exit_code, out.stdout, out.stderr) == (
        0,
        "stream      generation  events\ncombat-orc           1  1\n",
        "1 stream match\n",
    )


def test_streams_limit_shows_the_first_and_counts_them_all(escli: Run, game: None) -> None:
    out = escli("streams", "--domain", "combat", "--limit", "1")
    assert (out.stdout, out.stderr) == (
        "stream       generation  events\ncombat-ogre           2  2\n",
        "1 of 2 matching streams shown (--limit N shows more)\n",
    )


def test_streams_without_a_pattern_lists_as_before(escli: Run, game: None) -> None:
    assert escli("streams").stderr == ""


def test_events_finds_by_type_and_data_across_streams(escli: Run, game: None) -> None:
    out = escli("events", "--type", "combat.EntityAttacked", "--where", "damage>=100")
    assert out.exit_code == 0
    assert out.stdout.splitlines() == [
        "position  stream       gen  id     time        type                        data",
        "       1  combat-ogre    1  hit-1  2024-03-04  combat.EntityAttacked v2.0  "
        '{"entity_id": "ogre", "damage": 150, "weapon": "axe"}',
        "       3  combat-orc     1  hit-3  2024-03-04  combat.EntityAttacked v2.0  "
        '{"entity_id": "orc", "damage": 300, "weapon": "fists"}',
    ]


def test_events_says_when_more_match_than_the_limit_and_where_to_go_on(
    escli: Run, game: None
) -> None:
    out = escli("events", "--stream", "combat-*", "--limit", "2")
    assert len(out.stdout.splitlines()) == 3
    assert out.stderr == "the first 2 shown; more match (--limit N, or --after 2 for the next)\n"
    assert [e["id"] for e in json.loads(escli("events", "--after", "2", "--json").stdout)] == [
        "hit-3"
    ]


def test_events_in_a_time_window_as_json_lines(escli: Run, game: None) -> None:
    out = escli(
        "events",
        "--since",
        "2024-03-04T12:00:00+01:00",
        "--until",
        "2024-03-04T12:00Z",
        "--format",
        "jsonl",
    )
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert [(e["id"], e["time"]) for e in lines] == [("hit-2", "2024-03-04T11:00:00Z")]


def test_events_that_match_nothing_say_so_on_stderr(escli: Run, game: None) -> None:
    out = escli("events", "--where", "weapon=sword")
    assert (out.exit_code, out.stdout, out.stderr) == (0, "", "no events match\n")


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (
            ["streams", "combat-[o"],
            4,
            "pattern 'combat-[o': the [ at character 8 is never closed (write [[] for a literal [)",
        ),
        (
            ["events", "--stream", "combat-[o"],
            4,
            "--stream 'combat-[o': the [ at character 8 is never closed "
            "(write [[] for a literal [)",
        ),
        (
            ["streams", "bank-b[9-0]"],
            4,
            "pattern 'bank-b[9-0]': the range 9-0 in [9-0] runs backwards (from the lower "
            "character to the higher, as in [0-9]; put - first or last for a literal -)",
        ),
        (
            ["events", "--stream", "combat-[!z-a]*"],
            4,
            "--stream 'combat-[!z-a]*': the range z-a in [!z-a] runs backwards (from the lower "
            "character to the higher, as in [0-9]; put - first or last for a literal -)",
        ),
        (
            ["events", "--since", "yesterday"],
            4,
            "--since 'yesterday' is not a time: give RFC 3339 with an offset "
            "(2024-03-04T14:03:27Z, 2024-03-04T15:03:27+01:00) or a date (2024-03-04)",
        ),
        (
            ["events", "--until", "2024-03-04T10:00"],
            4,
            "--until '2024-03-04T10:00' has no offset: add Z (UTC), or one such as +01:00",
        ),
        (
            ["events", "--where", "damage"],
            2,
            "--where 'damage': expected FIELD=VALUE (or !=, >=, <=, >, <)",
        ),
        (
            ["events", "--where", "damage=="],
            2,
            "--where 'damage==': one operator goes between FIELD and VALUE (a text that starts "
            'with = is given as JSON: damage="=")',
        ),
        (
            ["events", "--where", "damage=>5"],
            2,
            "--where 'damage=>5': one operator goes between FIELD and VALUE (a text that starts "
            'with > is given as JSON: damage=">5")',
        ),
        (
            ["events", "--where", "damage>= "],
            2,
            "--where 'damage>= ': no value after >= (the empty text is damage>=\"\")",
        ),
        (
            ["events", "--since", "2024-03-05", "--until", "2024-03-04"],
            2,
            "--since 2024-03-05 is not before --until 2024-03-04: nothing can match",
        ),
        (
            ["events", "--domain", "combat-ogre"],
            4,
            "--domain 'combat-ogre': a domain's name has no '-' (its streams are DOMAIN-ID; a "
            "stream is chosen with a pattern)",
        ),
        (["event", "nope"], 3, "no event 'nope' in {store}"),
        (
            ["event", "hit"],
            3,
            "no event 'hit' in {store} (a short id is 4 characters or more)",
        ),  # too short to be a prefix
        (
            ["event", "…5f3e2a1"],  # a time-ordered UUID as a table shows it: by its end
            2,
            "'…5f3e2a1' is an id shortened for a table (not its start); give the whole id"
            " (escli events --json shows it) or its first 4 or more characters",
        ),
        (
            ["event", "hit-"],
            2,
            "'hit-' begins the ids of several events: hit-1 (combat-ogre), hit-2 (combat-ogre),"
            " hit-3 (combat-orc); give more of the id",
        ),
    ],
)
def test_bad_input_is_one_error_line_with_its_exit_code(
    escli: Run, game: None, store_url: str, args: list[str], code: int, message: str
) -> None:
    out = escli(*args)
    assert (out.exit_code, out.stdout, out.stderr) == (
        code,
        "",
        f"Error: {message.format(store=store_url)}\n",
    )


def test_event_shows_it_whole_and_the_state_change_it_made(escli: Run, game: None) -> None:
    out = escli("event", "hit-2")
    assert (out.exit_code, out.stderr) == (0, "")
    assert out.stdout == (
        "combat-ogre  generation 2  position 2\n"
        "  id       hit-2\n"
        "  type     combat.EntityAttacked\n"
        "  version  2.0\n"
        f"  source   {SOURCE}\n"
        "  time     2024-03-04T11:00:00Z\n"
        "data\n"
        "  {\n"
        '    "entity_id": "ogre",\n'
        '    "damage": 50,\n'
        '    "weapon": "axe"\n'
        "  }\n"
        "state  generation 1 → 2\n"
        "  entity_id      ogre\n"
        "  hitpoints      750 → 700\n"
        "  max_hitpoints  900\n"
        "  alive          true\n"
        "  known          true\n"
        "  immortal       false\n"
    )


def test_the_short_id_a_table_shows_finds_its_event(escli: Run, game: None) -> None:
    assert escli("dispatch", "combat", "attack", "troll", "5").exit_code == 0
    row = escli("events", "--stream", "combat-troll").stdout.splitlines()[1]
    short = row.split()[3]
    assert len(short) < 36
    out = escli("event", short)
    assert out.exit_code == 0
    assert out.stdout.startswith("combat-troll  generation 1  position 4\n  id       " + short)


def test_event_as_json_has_the_states_and_what_changed(escli: Run, game: None) -> None:
    shown = json.loads(escli("event", "hit-1", "--json").stdout)
    assert (shown["id"], shown["stream"], shown["generation"]) == ("hit-1", "combat-ogre", 1)
    assert shown["state"]["before"]["hitpoints"] == 900
    assert shown["changed"] == {"hitpoints": [900, 750]}


def test_event_of_a_domain_escli_cannot_load_is_shown_without_its_state(
    escli: Run, store_url: str
) -> None:
    open_store(store_url).append(
        "shop-cart1", [event("sold-1", "2024-03-04T10:00:00Z", "shop.Sold", "1.0", sku="x")], 0
    )
    out = escli("event", "sold-1")
    assert out.exit_code == 0
    assert out.stdout.splitlines()[-1].startswith("state not shown: unknown domain 'shop'")
