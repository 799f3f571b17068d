"""`escli export`, `escli import`, `escli replay --file` and `dispatch --to cloudevents:`."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from escli.cloudevents.validate import validate_event
from tests.conftest import ROOT, Run, open_store, snapshot

SAMPLE = ROOT / "sample_streams" / "combat-ogre.jsonl"
LINES = SAMPLE.read_text(encoding="utf-8").splitlines()
EVENTS = [json.loads(line) for line in LINES]
IDS = [e["id"] for e in EVENTS]


def jsonl(events: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(e) + "\n" for e in events)


def batch(events: list[dict[str, Any]]) -> str:
    return "[\n" + ",\n".join(json.dumps(e) for e in events) + "\n]\n"


def changed(index: int, **changes: Any) -> list[dict[str, Any]]:
    """The sample's events with event ``index`` changed (a value of ... removes a member)."""
    events = [dict(e) for e in EVENTS]
    for name, value in changes.items():
        if value is ...:
            events[index].pop(name)
        else:
            events[index][name] = value
    return events


def records(store_url: str) -> list[tuple[Any, ...]]:
    """Every event of a store without its position, which an import does not keep."""
    return [r[:-1] for r in snapshot(open_store(store_url))]


# --------------------------------------------------------------------------------------------
# Export.


def fight(escli: Run) -> None:
    for args in (["attack", "ogre", "300"], ["heal", "ogre", "100"], ["attack", "goblin", "200"]):
        assert escli("dispatch", "combat", *args).exit_code == 0


def test_export_writes_one_event_per_line_that_the_validator_accepts(escli: Run) -> None:
    fight(escli)
    out = escli("export", "combat-ogre")
    assert out.exit_code == 0
    assert out.stderr == "exported 2 events (JSON Lines)\n"
    events = [json.loads(line) for line in out.stdout.splitlines()]
    assert [(e["type"], e["generation"], e["subject"]) for e in events] == [
        ("combat.EntityAttacked", 1, "combat-ogre"),
        ("combat.EntityHealed", 2, "combat-ogre"),
    ]
    assert all(p.severity != "error" for e in events for p in validate_event(e))


def test_exporting_twice_gives_the_same_bytes(escli: Run) -> None:
    fight(escli)
    assert escli("export", "--all").stdout == escli("export", "--all").stdout


def test_export_all_follows_the_store_order_and_a_batch_is_one_array(escli: Run) -> None:
    fight(escli)
    lines = escli("export", "--all").stdout.splitlines()
    out = escli("export", "--all", "--format", "batch")
    assert out.stdout == "[\n" + ",\n".join(lines) + "\n]\n"
    assert [e["subject"] for e in json.loads(out.stdout)] == [
        "combat-ogre",
        "combat-ogre",
        "combat-goblin",
        "combat-goblin",
    ]


def test_export_of_named_streams_goes_stream_by_stream(escli: Run) -> None:
    fight(escli)
    out = escli("export", "combat-goblin", "combat-ogre")
    assert [json.loads(x)["subject"] for x in out.stdout.splitlines()] == [
        "combat-goblin",
        "combat-goblin",
        "combat-ogre",
        "combat-ogre",
    ]


def test_export_json_to_a_file_prints_what_was_written(escli: Run, tmp_path: Path) -> None:
    fight(escli)
    path = tmp_path / "ogre.json"
    out = escli("export", "combat-ogre", "--format", "batch", "-o", str(path), "--json")
    assert (out.exit_code, out.stderr) == (0, "")
    assert json.loads(out.stdout) == {"file": str(path), "format": "batch", "events": 2}
    assert len(json.loads(path.read_text(encoding="utf-8"))) == 2


def test_export_json_to_stdout_is_a_usage_error(escli: Run) -> None:
    fight(escli)
    out = escli("export", "combat-ogre", "--json")
    assert (out.exit_code, out.stdout) == (2, "")
    assert json.loads(out.stderr) == {
        "error": "export --json prints a summary on stdout, which holds the events without -o; "
        "add -o FILE",
        "exit_code": 2,
    }


def test_format_event_writes_the_one_event(escli: Run) -> None:
    assert escli("dispatch", "combat", "heal", "troll", "1").exit_code == 5
    escli("dispatch", "combat", "attack", "troll", "10")
    out = escli("export", "combat-troll", "--format", "event")
    assert out.exit_code == 0
    assert json.loads(out.stdout)["data"] == {"entity_id": "troll", "damage": 10, "weapon": "fists"}
    assert out.stdout.count("\n") == 1


def test_format_event_with_more_than_one_event_is_a_usage_error_and_writes_no_file(
    escli: Run, tmp_path: Path
) -> None:
    fight(escli)
    target = tmp_path / "one.json"
    out = escli("export", "combat-ogre", "--format", "event", "-o", str(target))
    assert (out.exit_code, out.stdout) == (2, "")
    assert out.stderr == (
        "Error: --format event writes exactly one event, but there are more than one; "
        "use jsonl or batch\n"
    )
    assert not target.exists()
    assert list(tmp_path.iterdir()) == [tmp_path / "events.db"]


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        ([], 2, "name the streams to export, or give --all (not both)"),
        (["combat-ogre", "--all"], 2, "name the streams to export, or give --all (not both)"),
        (["combat-nobody"], 3, "stream 'combat-nobody' is not in the store"),
        (
            ["--all", "--format", "xml"],
            2,
            "Invalid value for '--format': 'xml' is not one of 'jsonl', 'batch', 'event'. "
            "(see 'escli export --help')",
        ),
    ],
)
def test_bad_export_arguments(escli: Run, args: list[str], code: int, message: str) -> None:
    fight(escli)
    out = escli("export", *args)
    assert (out.exit_code, out.stdout, out.stderr) == (code, "", f"Error: {message}\n")


def test_export_to_a_file(escli: Run, tmp_path: Path) -> None:
    fight(escli)
    target = tmp_path / "all.jsonl"
    out = escli("export", "--all", "-o", str(target))
    assert (out.exit_code, out.stdout) == (0, "")
    assert out.stderr == f"exported 4 events (JSON Lines) to {target}\n"
    assert target.read_text() == escli("export", "--all").stdout


# --------------------------------------------------------------------------------------------
# Import.


def test_import_appends_the_events_with_their_ids_times_and_generations(
    escli: Run, store_url: str
) -> None:
    out = escli("import", str(SAMPLE))
    assert (out.exit_code, out.stderr) == (0, "")
    assert out.stdout == (
        f"imported 6 events into 1 stream from {SAMPLE}\n  combat-ogre  generation 0 → 6\n"
    )
    stored = list(open_store(store_url).read("combat-ogre"))
    assert [r.event_id for r in stored] == IDS
    assert [r.generation for r in stored] == [1, 2, 3, 4, 5, 6]
    assert [r.recorded_at[:19] for r in stored] == [e["time"][:19] for e in EVENTS]
    assert escli("export", "combat-ogre").stdout.splitlines() == LINES


def test_importing_the_same_file_twice_writes_nothing_the_second_time(
    escli: Run, store_url: str
) -> None:
    escli("import", str(SAMPLE))
    before = snapshot(open_store(store_url))
    out = escli("import", str(SAMPLE))
    assert (out.exit_code, out.stderr) == (0, "")
    assert out.stdout == f"nothing to import: {SAMPLE} holds 6 events, all already stored\n"
    assert snapshot(open_store(store_url)) == before


def test_a_file_that_continues_a_stream_appends_only_what_is_new(
    escli: Run, tmp_path: Path, store_url: str
) -> None:
    first = tmp_path / "first.jsonl"
    first.write_text(jsonl(EVENTS[:4]))
    escli("import", str(first))
    out = escli("import", str(SAMPLE), "--json")
    data = json.loads(out.stdout)
    assert (data["imported"], data["already_stored"]) == (2, 4)
    assert data["streams"] == [
        {
            "stream": "combat-ogre",
            "generation": {"before": 4, "after": 6},
            "imported": 2,
            "already_stored": 4,
        }
    ]
    assert [r.event_id for r in open_store(store_url).read("combat-ogre")] == IDS


@pytest.mark.parametrize("write", [jsonl, batch], ids=["jsonl", "batch"])
def test_each_format_imports_and_is_detected(
    escli: Run, tmp_path: Path, store_url: str, write: Callable[[list[dict[str, Any]]], str]
) -> None:
    path = tmp_path / "events"
    path.write_text(write(EVENTS))
    out = escli("import", str(path), "--json")
    assert json.loads(out.stdout)["format"] == write.__name__
    assert [r.event_id for r in open_store(store_url).read("combat-ogre")] == IDS


def test_one_event_over_several_lines_is_an_event_file(
    escli: Run, tmp_path: Path, store_url: str
) -> None:
    path = tmp_path / "one.json"
    path.write_text(json.dumps(EVENTS[0], indent=2))
    out = escli("import", str(path), "--json")
    assert (json.loads(out.stdout)["format"], json.loads(out.stdout)["imported"]) == ("event", 1)


def test_import_reads_stdin(escli: Run, store_url: str) -> None:
    out = escli("import", "-", input=SAMPLE.read_text())
    assert out.stdout.startswith("imported 6 events into 1 stream from <stdin>\n")
    assert open_store(store_url).generation("combat-ogre") == 6


def test_a_dry_run_checks_everything_and_writes_nothing(escli: Run, store_url: str) -> None:
    out = escli("import", str(SAMPLE), "--dry-run")
    assert out.exit_code == 0
    assert out.stdout == (
        f"dry run: would import 6 events into 1 stream from {SAMPLE}; nothing written\n"
        "  combat-ogre  generation 0 → 6\n"
    )
    assert snapshot(open_store(store_url)) == []


def test_a_dry_run_reports_the_same_errors_as_an_import(escli: Run, tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(jsonl(changed(1, type="combat.EntityFrozen")))
    out = escli("import", str(path), "--dry-run")
    assert out.exit_code == 4
    assert out.stderr.startswith(f"Error: {path}:2: domain 'combat' has no event type")


def test_skip_unknown_skips_unknown_domains_and_types(
    escli: Run, tmp_path: Path, store_url: str
) -> None:
    shop = dict(EVENTS[0], id="s1", subject="shop-cart1", type="shop.ItemAdded", generation=1)
    frozen = dict(EVENTS[0], id="f1", type="combat.EntityFrozen", generation=7)
    path = tmp_path / "mixed.jsonl"
    path.write_text(jsonl([shop, *EVENTS, frozen]))
    out = escli("import", str(path))
    assert (out.exit_code, out.stdout) == (4, "")
    assert out.stderr == (
        f"Error: {path}:1: subject 'shop-cart1': unknown domain 'shop' (known: combat); "
        "--skip-unknown skips such events\n"
    )
    out = escli("import", str(path), "--skip-unknown")
    assert out.stdout == (
        f"imported 6 events into 1 stream from {path} (2 of unknown type skipped)\n"
        "  combat-ogre  generation 0 → 6\n"
    )
    assert open_store(store_url).generation("combat-ogre") == 6


def test_a_skipped_event_cannot_leave_a_gap_in_a_stream(escli: Run, tmp_path: Path) -> None:
    path = tmp_path / "gap.jsonl"
    path.write_text(jsonl(changed(2, type="combat.EntityFrozen")))
    out = escli("import", str(path), "--skip-unknown")
    assert out.exit_code == 4
    assert out.stderr == (
        f"Error: {path}:4: combat-ogre generation 4 does not follow generation 2; "
        "a stream's events must come in order, without gaps\n"
    )


def test_an_empty_file_has_nothing_to_import(escli: Run, tmp_path: Path) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_text("")
    out = escli("import", str(path))
    assert (out.exit_code, out.stdout) == (0, f"nothing to import: {path} holds no events\n")


# Each bad input: (what, format, events or raw text, location, message).
BAD: list[tuple[str, str, Any, str, str]] = [
    ("not JSON", "jsonl", LINES[0] + "\n" + "{nope}\n", ":2", "not JSON: Expecting property "
     "name enclosed in double quotes (column 2)"),
    ("missing id", "jsonl", changed(1, id=...), ":2", "required attribute 'id' is missing"),
    ("missing source", "jsonl", changed(1, source=...), ":2",
     "required attribute 'source' is missing"),
    ("missing type", "batch", changed(2, type=...), ": event 3",
     "required attribute 'type' is missing"),
    ("wrong specversion", "jsonl", changed(0, specversion="0.3"), ":1",
     "specversion '0.3' is not supported; it must be exactly '1.0'"),
    ("time without offset", "jsonl", changed(1, time="2026-11-26T12:52:09.974656"), ":2",
     "time '2026-11-26T12:52:09.974656' has no UTC offset; append 'Z' or '+hh:mm'"),
    ("data and data_base64", "batch", changed(1, data_base64="AAAA"), ": event 2",
     "event has both data and data_base64; keep only one"),
    ("upper-case extension", "jsonl", changed(1, typeVersion="1.0"), ":2",
     "attribute name 'typeVersion' may only use lower-case a-z and digits 0-9"),
    ("unknown type", "batch", changed(3, type="combat.EntityFrozen"), ": event 4",
     "domain 'combat' has no event type combat.EntityFrozen v1.0: add an upcaster from it "
     "(@domain.upcaster) or keep its old class; see the README's \"Changing a domain\" "
     "(known: combat.EntitySpawned "
     "v1.0, combat.EntityAttacked v2.0, combat.EntityHealed v1.0, combat.EntityDied v1.0); "
     "--skip-unknown skips such events"),
    ("generation order", "jsonl", changed(2, generation=5), ":3",
     "combat-ogre generation 5 does not follow generation 2; a stream's events must come "
     "in order, without gaps"),
    ("generation order", "batch", [EVENTS[1], EVENTS[0]], ": event 2",
     "combat-ogre generation 1 does not follow generation 2; a stream's events must come "
     "in order, without gaps"),
    ("generation gap", "jsonl", EVENTS[1:], ":1", "combat-ogre generation 2 does not "
     "continue the store, where combat-ogre is at generation 0"),
    ("cut off mid-line", "jsonl", "\n".join(LINES)[:-40], ":6",
     "not JSON: Expecting property name enclosed in double quotes (column 297); the last line "
     "has no newline: was the file cut off?"),
    ("duplicate member", "jsonl", LINES[0] + "\n" + LINES[1][:-1] + ', "id": "x"}\n', ":2",
     "duplicate member name 'id' at /id"),
    ("duplicate member", "batch", "[" + LINES[0] + ", " + LINES[1].replace(
        '"damage": 250', '"damage": 250, "damage": 1') + "]", ": event 2",
     "duplicate member name 'damage' at /data/damage"),
    ("data that does not fit", "jsonl", changed(1, data={"entity_id": "ogre", "damage": "x"}),
     ":2", "combat.EntityAttacked v1.0 upcast by add_weapon (combat.EntityAttacked v1.0 -> "
     "v2.0) field damage: expected an integer, got 'x'"),
    ("extra attribute", "jsonl", changed(1, dataschema="https://example.com/s.json"), ":2",
     "attribute 'dataschema' has no place in an escli store, which keeps specversion, id, "
     "source, type, subject, time, datacontenttype, typeversion, generation, extension "
     "attributes (as metadata) and data; remove it"),
    ("missing generation", "jsonl", changed(1, generation=...), ":2",
     "extension attribute 'generation' (the event's place in its stream) is missing; for "
     "events escli did not write, use escli import --append"),
    ("bad subject", "jsonl", changed(1, subject="ogre"), ":2",
     "subject 'ogre' does not name an escli stream: <domain>-<id>"),
    ("repeated id", "jsonl", changed(1, id=IDS[0]), ":2", f"event id {IDS[0]} repeats line 1"),
    ("empty line", "text", LINES[0] + "\n\n" + LINES[1] + "\n", ":2",
     "empty line; JSON Lines has one event on every line"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("fmt", "content", "where", "message"),
    [case[1:] for case in BAD],
    ids=[f"{case[0]} ({case[1]})" for case in BAD],
)
def test_bad_input_is_a_located_error_and_changes_nothing(
    escli: Run, tmp_path: Path, store_url: str, fmt: str, content: Any, where: str, message: str
) -> None:
    escli("dispatch", "combat", "attack", "troll", "10")
    before = snapshot(open_store(store_url))
    path = tmp_path / "bad.jsonl"
    if isinstance(content, str):
        path.write_text(content)
    else:
        path.write_text(batch(content) if fmt == "batch" else jsonl(content))
    out = escli("import", str(path))
    assert (out.exit_code, out.stdout) == (4, "")
    assert out.stderr == f"Error: {path}{where}: {message}\n"
    assert snapshot(open_store(store_url)) == before


def test_an_id_stored_with_other_content_is_an_error(escli: Run, tmp_path: Path) -> None:
    escli("import", str(SAMPLE))
    path = tmp_path / "edited.jsonl"
    path.write_text(jsonl(changed(1, data={"entity_id": "ogre", "damage": 1})))
    out = escli("import", str(path))
    assert (out.exit_code, out.stderr) == (
        4,
        f"Error: {path}:2: event {IDS[1]} is already stored at combat-ogre generation 2 "
        "with another data\n",
    )


def test_an_id_stored_elsewhere_is_an_error(escli: Run, tmp_path: Path, store_url: str) -> None:
    escli("import", str(SAMPLE))
    moved = [dict(e, subject="combat-troll") for e in EVENTS[:2]]
    path = tmp_path / "moved.jsonl"
    path.write_text(jsonl(moved))
    before = snapshot(open_store(store_url))
    out = escli("import", str(path))
    assert out.stderr == (
        f"Error: {path}:1: event id {IDS[0]} is already stored, at combat-ogre generation 1\n"
    )
    assert snapshot(open_store(store_url)) == before


def test_a_stream_that_moved_on_in_the_store_is_an_error(escli: Run, store_url: str) -> None:
    escli("dispatch", "combat", "attack", "ogre", "1")
    (stored,) = open_store(store_url).read("combat-ogre")
    out = escli("import", str(SAMPLE))
    assert out.stderr == (
        f"Error: {SAMPLE}:1: combat-ogre generation 1 is already taken in the store by event "
        f"{stored.event_id}\n"
    )


def test_an_unreadable_file_is_invalid_input(escli: Run, tmp_path: Path) -> None:
    out = escli("import", str(tmp_path / "missing.jsonl"))
    assert (out.exit_code, out.stderr) == (
        4,
        f"Error: cannot read {tmp_path / 'missing.jsonl'}: No such file or directory\n",
    )


# --------------------------------------------------------------------------------------------
# Replay from a file.

OGRE_AFTER_THE_FIGHT = (
    "combat-ogre  generation 6\n"
    "  entity_id      ogre\n"
    "  hitpoints      1200\n"
    "  max_hitpoints  1200\n"
    "  alive          true\n"
    "  known          true\n"
    "  immortal       false\n"
)


def test_the_sample_fight_replays_from_its_file_with_no_store(escli: Run, store_url: str) -> None:
    out = escli("replay", "--file", str(SAMPLE))
    assert (out.exit_code, out.stderr, out.stdout) == (0, "", OGRE_AFTER_THE_FIGHT)
    assert not Path(store_url.removeprefix("sqlite:///")).exists()


def test_the_sample_fight_is_a_valid_cloudevents_file_of_a_fight() -> None:
    from tests.cloudevents.test_events import SCHEMA, assert_spec_valid

    for line in LINES:
        assert_spec_valid(line, schema=SCHEMA is not None)
    assert [e["type"].removeprefix("combat.") for e in EVENTS] == [
        "EntityAttacked",
        "EntityAttacked",
        "EntityHealed",
        "EntityAttacked",
        "EntityDied",
        "EntitySpawned",
    ]


def test_replay_file_steps_and_to_generation(escli: Run) -> None:
    out = escli("replay", "--file", str(SAMPLE), "--to-generation", "5", "--steps", "--json")
    data = json.loads(out.stdout)
    assert (data["generation"], data["state"]["alive"]) == (5, False)
    assert [s["event"]["id"] for s in data["steps"]] == IDS[:5]


def test_replay_file_reads_a_batch_and_needs_a_stream_when_there_are_several(
    escli: Run, tmp_path: Path
) -> None:
    troll_text = (ROOT / "sample_streams" / "combat-troll.jsonl").read_text(encoding="utf-8")
    troll = [json.loads(line) for line in troll_text.splitlines()]
    path = tmp_path / "both.json"
    path.write_text(batch(EVENTS + troll))
    out = escli("replay", "--file", str(path))
    assert (out.exit_code, out.stderr) == (
        2,
        f"Error: {path} holds 2 streams (combat-ogre, combat-troll): name the one to replay\n",
    )
    assert escli("replay", "combat-ogre", "--file", str(path)).stdout == OGRE_AFTER_THE_FIGHT
    out = escli("replay", "combat-troll", "--file", str(path), "--json")
    assert json.loads(out.stdout)["state"]["hitpoints"] == 800


@pytest.mark.parametrize(
    ("content", "args", "code", "message"),
    [
        (jsonl(EVENTS[2:]), [], 4, "{path}:1: combat-ogre starts at generation 3; a replay "
         "needs its events from generation 1"),
        (jsonl(EVENTS), ["combat-troll"], 3, "{path} holds no events of combat-troll (it holds "
         "combat-ogre)"),
        ("", [], 4, "{path} holds no events"),
        (jsonl(changed(1, time="yesterday")), [], 4, "{path}:2: time 'yesterday' is not an RFC "
         "3339 timestamp (e.g. '2026-11-26T12:30:00Z')"),
    ],
)  # fmt: skip
def test_replay_file_checks_the_file_as_import_does(
    escli: Run, tmp_path: Path, content: str, args: list[str], code: int, message: str
) -> None:
    path = tmp_path / "f.jsonl"
    path.write_text(content)
    out = escli("replay", *args, "--file", str(path))
    assert (out.exit_code, out.stdout) == (code, "")
    assert out.stderr == "Error: " + message.format(path=path) + "\n"


def test_replay_without_stream_or_file_is_a_usage_error(escli: Run) -> None:
    out = escli("replay")
    assert (out.exit_code, out.stderr) == (
        2,
        "Error: Missing argument 'STREAM'. (see 'escli replay --help')\n",
    )


# --------------------------------------------------------------------------------------------
# dispatch --to cloudevents:


def test_dispatch_appends_the_stored_events_to_a_cloudevents_file(
    escli: Run, tmp_path: Path
) -> None:
    target = tmp_path / "events.jsonl"
    for damage in ("500", "500"):
        out = escli("dispatch", "combat", "attack", "ogre", damage, "--to", f"cloudevents:{target}")
        assert out.exit_code == 0
        assert f"\n  ok  cloudevents:{target}  generations " in out.stdout
    assert target.read_text() == escli("export", "combat-ogre").stdout
    assert [json.loads(x)["type"] for x in target.read_text().splitlines()] == [
        "combat.EntityAttacked",
        "combat.EntityAttacked",
        "combat.EntityDied",
    ]


def test_cloudevents_dash_writes_to_stdout_before_the_result(escli: Run) -> None:
    out = escli("dispatch", "combat", "attack", "ogre", "1", "--to", "cloudevents:-", "--json")
    event_line, result = out.stdout.splitlines()
    assert json.loads(event_line)["data"] == {"entity_id": "ogre", "damage": 1, "weapon": "fists"}
    assert json.loads(result)["targets"] == [
        {
            "target": "cloudevents:-",
            "ok": True,
            "from_generation": 1,
            "to_generation": 1,
            "error": None,
        }
    ]


def test_a_cloudevents_target_that_cannot_be_opened_stops_before_the_store(
    escli: Run, tmp_path: Path, store_url: str
) -> None:
    bad = tmp_path / "no" / "such" / "dir.jsonl"
    out = escli("dispatch", "combat", "attack", "ogre", "1", "--to", f"cloudevents:{bad}")
    assert (out.exit_code, out.stderr) == (
        4,
        f"Error: cloudevents:{bad}: cannot open {bad}: no such directory {bad.parent}\n",
    )
    assert snapshot(open_store(store_url)) == []


# --------------------------------------------------------------------------------------------
# Progress.


def test_progress_is_drawn_for_long_runs_on_a_terminal_only() -> None:
    from rich.console import Console

    from escli.cli.progress import EventProgress

    def draw(total: int | None, done: int, terminal: bool) -> str:
        text = io.StringIO()
        progress = EventProgress(Console(file=text, force_terminal=terminal, width=120))
        progress.start("exporting", total)
        for n in range(0, done + 1, 4096):
            progress.update(n)
        progress.update(done)
        progress.finish()
        return text.getvalue()

    drawn = draw(20_000, 20_000, terminal=True)
    assert "exporting" in drawn and "20,000 events" in drawn and "events/s" in drawn
    assert "checking" not in drawn
    assert draw(None, 12_000, terminal=True) != ""  # total unknown: shown once past 10,000
    assert draw(5_000, 5_000, terminal=True) == ""
    assert draw(20_000, 20_000, terminal=False) == ""


def test_a_non_terminal_gets_no_progress_even_for_many_events(
    escli: Run, tmp_path: Path, store_url: str
) -> None:
    from escli.stores.base import NewEvent

    store = open_store(store_url)
    event = ("combat.EntityAttacked", "1.0", "events://escli/samples/combat")
    store.append(
        "combat-ogre",
        [NewEvent(*event, {"entity_id": "ogre", "damage": 0}, f"id{n}") for n in range(10_500)],
        0,
    )
    target = tmp_path / "many.jsonl"
    out = escli("export", "--all", "-o", str(target))
    assert out.stderr == f"exported 10500 events (JSON Lines) to {target}\n"
    out = escli("import", str(target), "--store", f"sqlite:///{tmp_path / 'copy.db'}")
    assert (out.stderr, out.stdout.splitlines()[0]) == (
        "",
        f"imported 10500 events into 1 stream from {target}",
    )


def test_json_nested_too_deeply_is_invalid_input_not_a_crash(escli: Run, tmp_path: Path) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000)
    for args in (["import", str(deep)], ["replay", "--file", str(deep)]):
        out = escli(*args)
        assert (out.exit_code, out.stderr) == (
            4,
            f"Error: {deep}: JSON nested too deeply to be an event\n",
        ), args
