"""The snapshot commands and options: listed fresh or stale, dropped, turned off, set by the
project file; and replay and dispatch give the same states with and without them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import Run, open_store


def fight(escli: Run, blows: int, *options: str) -> None:
    assert escli("dispatch", "combat", "spawn", "wolf", "100000", *options).exit_code == 0
    for _ in range(blows):
        assert escli("dispatch", "combat", "attack", "wolf", "1", *options).exit_code == 0


def test_snapshots_lists_what_dispatch_took_and_drop_forgets_them(escli: Run) -> None:
    fight(escli, 11, "--snapshot-every", "5")
    listed = json.loads(escli("snapshots", "--json").stdout)
    assert [(s["stream"], s["generation"], s["status"]) for s in listed] == [
        ("combat-wolf", 10, "fresh"),
        ("combat-wolf", 5, "fresh"),
    ]
    shown = escli("snapshots").stdout.splitlines()
    assert shown[0].split() == ["stream", "generation", "bytes", "taken", "age", "status"]
    assert shown[1].split()[:2] == ["combat-wolf", "10"] and shown[1].endswith("fresh")
    dropped = escli("snapshot", "drop", "combat-wolf")
    assert (dropped.exit_code, dropped.stderr) == (0, "dropped 2 snapshots\n")
    none = escli("snapshots")
    assert (none.stdout, none.stderr.startswith("no snapshots in ")) == ("", True)


def test_a_snapshot_of_other_code_is_listed_stale(escli: Run, store_url: str) -> None:
    fight(escli, 5, "--snapshot-every", "5")
    store = open_store(store_url)
    kept = store.snapshot("combat-wolf")  # type: ignore[attr-defined]
    store.save_snapshot(kept._replace(fingerprint="other code"))  # type: ignore[attr-defined]
    listed = json.loads(escli("snapshots", "--json").stdout)
    assert [s["status"] for s in listed] == ["stale"]


def test_no_snapshots_takes_none_and_replay_is_the_same_either_way(escli: Run) -> None:
    fight(escli, 12, "--no-snapshots")
    assert json.loads(escli("snapshots", "--json").stdout) == []
    plain = json.loads(escli("replay", "combat-wolf", "--json", "--no-snapshots").stdout)
    first = json.loads(escli("replay", "combat-wolf", "--json", "--snapshot-every", "4").stdout)
    assert [s["generation"] for s in json.loads(escli("snapshots", "--json").stdout)] == [13]
    again = json.loads(escli("replay", "combat-wolf", "--json").stdout)
    assert plain == first == again
    middle = escli("replay", "combat-wolf", "--json", "--to-generation", "7").stdout
    assert json.loads(middle)["state"]["hitpoints"] == 100000 - 6


def test_the_project_file_sets_snapshot_every(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, escli: Run
) -> None:
    monkeypatch.delenv("ESCLI_STORE")
    (tmp_path / "escli.toml").write_text("snapshot-every = 3\n")
    monkeypatch.chdir(tmp_path)
    fight(escli, 3)
    listed = json.loads(escli("snapshots", "--json").stdout)
    assert [s["generation"] for s in listed] == [3]
    (tmp_path / "escli.toml").write_text("snapshot-every = -1\n")
    bad = escli("dispatch", "combat", "attack", "wolf", "1")
    assert bad.exit_code == 13 and "snapshot-every must be a whole number" in bad.stderr


def test_snapshot_every_must_be_a_whole_number(escli: Run) -> None:
    out = escli("dispatch", "combat", "spawn", "wolf", "1", "--snapshot-every", "-2")
    assert out.exit_code == 2 and "--snapshot-every" in out.stderr


def test_take_verify_and_drop(escli: Run, store_url: str) -> None:
    fight(escli, 3, "--no-snapshots")
    taken = escli("snapshot", "take", "combat-wolf")
    assert (taken.exit_code, taken.stdout) == (0, "combat-wolf  snapshot at generation 4\n")
    verified = escli("snapshot", "verify", "--all")
    assert (verified.exit_code, verified.stdout) == (
        0,
        "combat-wolf  snapshot at generation 4: agrees\n",
    )
    # A snapshot that decodes, at its generation, by this code, yet holds another state: the
    # fold depends on something its fingerprint cannot see. verify says where.
    store = open_store(store_url)
    kept = store.snapshot("combat-wolf")  # type: ignore[attr-defined]
    store.save_snapshot(  # type: ignore[attr-defined]
        kept._replace(state=kept.state.replace('"hitpoints":99997', '"hitpoints":5'))
    )
    differs = escli("snapshot", "verify", "combat-wolf", "--json")
    assert differs.exit_code == 14
    assert json.loads(differs.stdout)["difference"] == {
        "field": "hitpoints",
        "snapshot": "5",
        "full_fold": "99997",
    }
    assert "hitpoints is 5 from the snapshot, 99997 from generation 0" in differs.stderr
    assert escli("snapshot", "drop", "--all").stderr == "dropped 1 snapshot\n"
    assert escli("snapshot", "verify", "combat-wolf").stdout == "combat-wolf  snapshot: none\n"


@pytest.mark.parametrize("args", [["take"], ["verify", "combat-wolf", "--all"]])
def test_a_stream_or_all_not_both(escli: Run, args: list[str]) -> None:
    out = escli("snapshot", *args)
    assert (out.exit_code, out.stderr) == (2, "Error: give a STREAM or --all (not both)\n")


def test_verbose_says_how_dispatch_and_replay_folded(escli: Run) -> None:
    fight(escli, 3, "--snapshot-every", "5")  # generation 4: no snapshot yet
    took = escli("dispatch", "combat", "attack", "wolf", "1", "-v", "--snapshot-every", "5")
    assert took.exit_code == 0
    assert took.stderr == (
        "combat-wolf: folded 4 events from generation 0; took a snapshot at generation 5\n"
    )
    replayed = escli("replay", "combat-wolf", "--verbose")
    assert replayed.stderr == "combat-wolf: folded 0 events from the snapshot at generation 5\n"
    assert escli("replay", "combat-wolf").stderr == ""


def test_follow_new_shows_only_what_comes_after_the_end(escli: Run) -> None:
    fight(escli, 2)
    refused = escli("follow", "--all", "--new")
    assert refused.exit_code == 2 and "follow: --new needs a STREAM" in refused.stderr
    both = escli("follow", "combat-wolf", "--new", "--from-generation", "2")
    assert both.exit_code == 2 and "not both" in both.stderr
