"""``escli pending`` lists what each target lacks; ``publish --pending`` without ``--to``
sends every target its own, and then nothing is pending."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import Run, open_store


def test_pending_lists_each_target_and_publish_pending_sends_them_all(
    escli: Run, store_url: str, tmp_path: Path
) -> None:
    a, b = (f"sqlite:///{tmp_path / name}" for name in ("a.db", "b.db"))
    assert escli("dispatch", "combat", "attack", "ogre", "5").exit_code == 0
    store = open_store(store_url)
    store.set_pending(a, "combat-ogre", 1, 1)
    assert escli("dispatch", "combat", "attack", "troll", "5").exit_code == 0
    store.set_pending(b, "combat-troll", 1, 1)
    listed = json.loads(escli("pending", "--json").stdout)
    assert [
        (p["target"], p["stream"], p["from_generation"], p["to_generation"]) for p in listed
    ] == [
        (a, "combat-ogre", 1, 1),
        (b, "combat-troll", 1, 1),
    ]
    assert all(p["since"] for p in listed)  # the first lacking event's time
    shown = escli("pending", "--to", a).stdout.splitlines()
    assert shown[0].split() == ["target", "stream", "generations", "since"]
    assert shown[1].split()[:3] == [a, "combat-ogre", "1..1"] and len(shown) == 2
    sent = escli("publish", "--pending")
    assert sent.exit_code == 0, sent.stderr
    assert open_store(a).generation("combat-ogre") == 1
    assert open_store(b).generation("combat-troll") == 1
    assert json.loads(escli("pending", "--json").stdout) == []
    none = escli("publish", "--pending")
    assert (none.exit_code, none.stderr) == (0, "nothing pending for any target\n")
    refused = escli("publish", "combat-ogre")
    assert refused.exit_code == 2 and "--to URL names the target" in refused.stderr


# A PostgreSQL server that is down: nothing listens on port 1 (binding it takes root).
DOWN_POSTGRES = "postgresql://postgres:{}@127.0.0.1:1/test?schema=x"


def test_pending_to_names_a_target_as_publish_does_password_and_all(escli: Run) -> None:
    down = DOWN_POSTGRES.format("secret")
    assert escli("dispatch", "combat", "spawn", "gob5", "50", "--to", down).exit_code == 9
    shown = DOWN_POSTGRES.format("***")
    for given in (down, shown):
        listed = json.loads(escli("pending", "--to", given, "--json").stdout)
        assert [(p["target"], p["stream"]) for p in listed] == [(shown, "combat-gob5")]
    other = escli("pending", "--to", DOWN_POSTGRES.format("other").replace("=x", "=y"))
    assert (other.exit_code, other.stdout) == (0, "")


def test_pending_to_a_relative_path_finds_what_dispatch_recorded(
    escli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "reldir.db").mkdir()  # a folder where the target's file should be: it fails
    out = escli("dispatch", "combat", "spawn", "w1", "5", "--to", "sqlite:///reldir.db")
    assert out.exit_code == 9
    canonical = f"sqlite:///{tmp_path / 'reldir.db'}"
    for given in ("sqlite:///reldir.db", "reldir.db", canonical):
        shown = escli("pending", "--to", given).stdout.splitlines()
        assert [line.split()[:3] for line in shown[1:]] == [[canonical, "combat-w1", "1..1"]]


@pytest.mark.parametrize(
    ("given", "refused"),
    [
        ("", "Error: the --to URL is empty: name a target"),
        ("bogus://x", "Error: unknown store URL scheme 'bogus'"),
        ("memory:", "Error: memory: cannot be a --to target"),
    ],
)
def test_pending_to_refuses_a_url_that_names_no_target(
    escli: Run, given: str, refused: str
) -> None:
    for command in (("pending",), ("publish", "--pending")):
        out = escli(*command, "--to", given)
        assert out.exit_code == 4 and out.stderr.startswith(refused), (command, out.stderr)
