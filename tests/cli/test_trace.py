"""Why did this happen: every dispatch keeps its causation id, correlation id, command and
``--meta`` pairs with its events; ``escli trace ID`` draws them; they survive ``run``
scripts, ``copy``, ``export``/``import`` and NATS; bad ids and keys write nothing."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from tests.conftest import Run, masked, open_store, snapshot
from tests.nats_server import JetStreamPlace
from tests.stores.old_schemas import V1_BY_STREAM


def metadata(url: str, stream: str = "combat-ogre") -> list[dict[str, str]]:
    return [dict(r.metadata or {}) for r in open_store(url).read(stream)]


def test_a_dispatch_keeps_its_ids_command_and_pairs(escli: Run, store_url: str) -> None:
    out = escli(
        "dispatch", "combat", "attack", "ogre", "5",
        "--causation-id", "cmd-1", "--correlation-id", "order-7", "--meta", "user=ann",
    )  # fmt: skip
    assert out.exit_code == 0, out.stderr
    assert metadata(store_url) == [
        {"causationid": "cmd-1", "correlationid": "order-7", "command": "Attack", "user": "ann"}
    ]


def test_the_correlation_comes_from_the_environment(
    escli: Run, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ESCLI_CORRELATION_ID", "batch-3")
    escli("dispatch", "combat", "attack", "ogre", "5")
    escli("dispatch", "combat", "heal", "ogre", "5")
    found = metadata(store_url)
    assert [m["correlationid"] for m in found] == ["batch-3", "batch-3"]
    assert found[0]["causationid"] != found[1]["causationid"]


# (words, exit code, error): nothing is written.
BAD = [
    (["--meta", "Type=x"], "--meta key 'Type' must be 1-20 characters a-z, 0-9 (a CloudEvents "
     "extension name)"),
    (["--meta", "user"], "--meta 'user' is not key=value"),
    (["--meta", "averyveryverylongkey21=x"], "--meta key 'averyveryverylongkey21' must be 1-20 "
     "characters a-z, 0-9 (a CloudEvents extension name)"),
    (["--meta", "correlationid=x"], "--meta key 'correlationid' is reserved"),
    (["--meta", "subject=x"], "--meta key 'subject' is reserved"),
    (["--meta", "typeversion=x"], "--meta key 'typeversion' is reserved"),
    (["--correlation-id", ""], "--correlation-id '' is not an id: give non-empty printable "
     "text (no control characters, no leading or trailing spaces)"),
    (["--causation-id", "a\tb"], "--causation-id 'a\\tb' is not an id"),
    (["--causation-id", " x"], "--causation-id ' x' is not an id"),
    # PostgreSQL indexes correlation ids (a causation id is the default correlation)
    (["--correlation-id", "c" * 501], "--correlation-id 'cccccccccccccccccccc'... is not an "
     "id: it has 501 characters; an id has at most 500"),
    (["--causation-id", "c" * 501], "--causation-id 'cccccccccccccccccccc'... is not an id"),
]  # fmt: skip


@pytest.mark.parametrize(("words", "error"), BAD)
def test_bad_ids_and_keys_are_refused_before_anything_is_written(
    escli: Run, store_url: str, words: list[str], error: str
) -> None:
    before = snapshot(open_store(store_url))
    out = escli("dispatch", "combat", "attack", "ogre", "5", *words)
    assert out.exit_code == 2
    assert out.stderr.startswith(f"Error: {error}")
    assert out.stdout == ""
    assert snapshot(open_store(store_url)) == before


def dispatch_order(escli: Run) -> None:
    for words in (
        ["spawn", "wolf", "100", "--causation-id", "cmd-1"],
        ["attack", "wolf", "100", "--causation-id", "cmd-2"],
        ["spawn", "fox", "10", "--causation-id", "cmd-3"],
    ):
        out = escli("dispatch", "combat", *words, "--correlation-id", "order-7")
        assert out.exit_code == 0, out.stderr
    escli("dispatch", "combat", "attack", "ogre", "1")  # another piece of work


TREE = """\
correlation order-7
├── Spawn  combat-wolf  causation cmd-1
│   └── 1  <id>  <time>  combat.EntitySpawned v1.0
├── Attack  combat-wolf  causation cmd-2
│   ├── 2  <id>  <time>  combat.EntityAttacked v2.0
│   └── 3  <id>  <time>  combat.EntityDied v1.0
└── Spawn  combat-fox  causation cmd-3
    └── 1  <id>  <time>  combat.EntitySpawned v1.0
"""


@pytest.mark.parametrize("wanted", ["order-7", "cmd-2", "event id"])
def test_trace_draws_the_commands_and_events_of_a_correlation(
    escli: Run, store_url: str, wanted: str
) -> None:
    dispatch_order(escli)
    if wanted == "event id":
        wanted = open_store(store_url).read("combat-fox").__next__().event_id
    out = escli("trace", wanted)
    assert (out.exit_code, masked(out.stdout), out.stderr) == (0, TREE, "")


def test_trace_json_has_every_command_and_event(escli: Run) -> None:
    dispatch_order(escli)
    found = json.loads(escli("trace", "order-7", "--json").stdout)
    assert found["correlation"] == "order-7"
    assert [(c["causation"], c["command"], c["stream"]) for c in found["commands"]] == [
        ("cmd-1", "Spawn", "combat-wolf"),
        ("cmd-2", "Attack", "combat-wolf"),
        ("cmd-3", "Spawn", "combat-fox"),
    ]
    events = [e for c in found["commands"] for e in c["events"]]
    assert [(e["stream"], e["generation"], e["type"]) for e in events] == [
        ("combat-wolf", 1, "combat.EntitySpawned"),
        ("combat-wolf", 2, "combat.EntityAttacked"),
        ("combat-wolf", 3, "combat.EntityDied"),
        ("combat-fox", 1, "combat.EntitySpawned"),
    ]
    assert events[1]["metadata"] == {
        "causationid": "cmd-2",
        "correlationid": "order-7",
        "command": "Attack",
    }


def test_commands_given_one_causation_id_are_drawn_apart(escli: Run) -> None:
    # Two commands a process manager sends for one event both name that event as their cause.
    for words in (["spawn", "wolf", "100"], ["spawn", "fox", "10"]):
        out = escli("dispatch", "combat", *words, "--causation-id", "ev-9", "--correlation-id", "p")
        assert out.exit_code == 0, out.stderr
    assert masked(escli("trace", "p").stdout) == (
        "correlation p\n"
        "├── Spawn  combat-wolf  causation ev-9\n"
        "│   └── 1  <id>  <time>  combat.EntitySpawned v1.0\n"
        "└── Spawn  combat-fox  causation ev-9\n"
        "    └── 1  <id>  <time>  combat.EntitySpawned v1.0\n"
    )


def test_trace_of_an_unknown_id_is_not_found(escli: Run, store_url: str) -> None:
    escli("dispatch", "combat", "attack", "ogre", "1")
    out = escli("trace", "nothing-7")
    assert (out.exit_code, out.stderr) == (
        3,
        f"Error: no correlation, event or causation id 'nothing-7' with metadata in {store_url}\n",
    )


def test_event_shows_its_metadata(escli: Run, store_url: str) -> None:
    escli("dispatch", "combat", "attack", "ogre", "5", "--correlation-id", "o-1", "--meta", "a=b")
    (r,) = open_store(store_url).read("combat-ogre")
    out = escli("event", r.event_id)
    assert "metadata\n" in out.stdout
    assert "  correlationid  o-1\n" in out.stdout
    assert "  a              b\n" in out.stdout
    shown = json.loads(escli("event", r.event_id, "--json").stdout)
    assert shown["metadata"]["correlationid"] == "o-1"


def test_every_command_of_a_run_script_shares_one_correlation(escli: Run, store_url: str) -> None:
    script = "combat spawn wolf 100\ncombat attack wolf 30\ncombat attack ogre 1\n"
    assert escli("run", "-", input=script).exit_code == 0
    wolf, ogre = metadata(store_url, "combat-wolf"), metadata(store_url, "combat-ogre")
    first = wolf[0]["causationid"]
    assert {m["correlationid"] for m in wolf + ogre} == {first}
    assert len({m["causationid"] for m in wolf + ogre}) == 3
    assert [m["command"] for m in wolf + ogre] == ["Spawn", "Attack", "Attack"]


def test_one_causation_id_for_several_scripts_is_refused(escli: Run, tmp_path: Path) -> None:
    for name in ("a.txt", "b.txt"):
        (tmp_path / name).write_text("combat spawn wolf 100\n")
    files = [str(tmp_path / "a.txt"), str(tmp_path / "b.txt")]
    out = escli("run", *files, "--causation-id", "c-1")
    assert (out.exit_code, out.stdout) == (2, "")
    assert out.stderr == (
        "Error: --causation-id names one command, a script's first: give it one FILE, not 2"
        " (see 'escli run --help')\n"
    )


def test_a_run_script_takes_the_correlation_and_pairs_given(escli: Run, store_url: str) -> None:
    script = "combat spawn wolf 100\ncombat attack wolf 30\n"
    out = escli("run", "-", "--correlation-id", "nightly", "--meta", "job=7", input=script)
    assert out.exit_code == 0, out.stderr
    assert [(m["correlationid"], m["job"]) for m in metadata(store_url, "combat-wolf")] == [
        ("nightly", "7"),
        ("nightly", "7"),
    ]


def test_copy_to_postgres_keeps_the_metadata(
    escli: Run, store_url: str, postgres_schemas: object
) -> None:
    target = postgres_schemas()  # type: ignore[operator]
    escli("dispatch", "combat", "attack", "ogre", "5", "--correlation-id", "o-9", "--meta", "a=b")
    out = escli("copy", store_url, target, "combat-ogre")
    assert out.exit_code == 0, out.stderr
    assert metadata(target) == metadata(store_url)
    assert [r.event_id for r in open_store(target).correlated("o-9")] == [
        r.event_id for r in open_store(store_url).read("combat-ogre")
    ]


def test_export_then_import_keeps_the_metadata(escli: Run, tmp_path: Path) -> None:
    escli("dispatch", "combat", "attack", "ogre", "5", "--correlation-id", "o-9", "--meta", "a=b")
    escli("dispatch", "combat", "attack", "ogre", "6")
    exported = escli("export", "combat-ogre").stdout
    first = json.loads(exported.splitlines()[0])
    assert {k: first[k] for k in ("correlationid", "command", "a")} == {
        "correlationid": "o-9",
        "command": "Attack",
        "a": "b",
    }
    other = f"sqlite:///{tmp_path / 'other.db'}"
    path = tmp_path / "ogre.jsonl"
    path.write_text(exported)
    out = escli("import", str(path), "--store", other)
    assert out.exit_code == 0, out.stderr
    assert escli("export", "combat-ogre", "--store", other).stdout == exported


def test_an_old_v1_store_is_migrated_on_open_and_its_events_read_without_metadata(
    escli: Run, store_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "events.db"
    with closing(sqlite3.connect(path)) as conn:
        conn.executescript(V1_BY_STREAM)
        conn.execute(
            "INSERT INTO events VALUES ('combat-wolf', 1, 1, 'old-1', 'combat.EntitySpawned',"
            " '1.0', 'events://escli/samples/combat', '2024-01-01T00:00:00.000000+00:00',"
            ' \'{"entity_id": "wolf", "hitpoints": 100}\')'
        )
        conn.commit()
    ro = f"sqlite:///{path}?mode=ro"
    assert [r.metadata for r in open_store(ro).read("combat-wolf")] == [None]
    out = escli("trace", "old-1", "--store", ro)
    assert out.exit_code == 3
    assert "holds no metadata" in out.stderr
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("PRAGMA user_version").fetchone() == (1,)
    out = escli("dispatch", "combat", "attack", "wolf", "5", "--correlation-id", "new-1")
    assert out.exit_code == 0, out.stderr
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("PRAGMA user_version").fetchone() == (2,)
    assert [m.get("correlationid") for m in metadata(store_url, "combat-wolf")] == [None, "new-1"]
    assert escli("trace", "new-1").exit_code == 0


def sdk_line(event_id: str, **extensions: object) -> str:
    """A CloudEvent another producer wrote with the ``cloudevents`` SDK, with extensions."""
    from datetime import UTC, datetime

    from cloudevents.core.formats.json import JSONFormat
    from cloudevents.core.v1.event import CloudEvent

    attributes = {
        "id": event_id,
        "source": "https://alerts.example.com/arena",
        "type": "combat.EntityAttacked",
        "subject": "combat-ogre",
        "time": datetime(2026, 1, 1, tzinfo=UTC),
        **extensions,
    }
    data = {"entity_id": "ogre", "damage": 3, "weapon": "club"}
    return JSONFormat().write(CloudEvent(attributes, data)).decode() + "\n"


def test_foreign_extension_attributes_import_as_metadata(
    escli: Run, store_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "alerts.jsonl"
    path.write_text(
        sdk_line("a1", correlationid="alert-5", traceparent="00-abc-01")
        + sdk_line("a2", correlationid="alert-5")
    )
    out = escli("import", str(path), "--append")
    assert out.exit_code == 0, out.stderr
    assert metadata(store_url) == [
        {"correlationid": "alert-5", "traceparent": "00-abc-01"},
        {"correlationid": "alert-5"},
    ]
    assert [r.event_id for r in open_store(store_url).correlated("alert-5")] == ["a1", "a2"]


def test_a_foreign_extension_that_is_not_a_string_is_refused(
    escli: Run, store_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "alerts.jsonl"
    path.write_text(sdk_line("a1", priority=5))
    out = escli("import", str(path), "--append")
    assert out.exit_code == 4
    assert (
        "extension attribute 'priority' is not a string: escli keeps extension attributes as "
        "the event's metadata, whose values are strings" in out.stderr
    )
    assert metadata(store_url) == []


def test_nats_carries_the_metadata_to_a_follower(escli: Run, jetstream: JetStreamPlace) -> None:
    from escli.domain.discovery import load_domain
    from escli.jetstream.follow import Follower

    out = escli(
        "dispatch", "combat", "attack", "ogre", "5", "--to", jetstream.url,
        "--correlation-id", "o-3", "--causation-id", "c-3", "--meta", "user=ann",
    )  # fmt: skip
    assert out.exit_code == 0, out.stderr
    with Follower(jetstream.url, [load_domain("combat")]) as follower:
        followed = next(iter(follower))
    assert dict(followed.metadata or {}) == {
        "causationid": "c-3",
        "correlationid": "o-3",
        "command": "Attack",
        "user": "ann",
    }
    assert followed.cloud_event["correlationid"] == "o-3"
