"""``escli pending`` lists what each target lacks; ``publish --pending`` without ``--to``
sends every target its own, and then nothing is pending."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Run, open_store
from tests.pg_login_server import PasswordAsker


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


# Nothing listens on port 1: a NATS target there is down.
DOWN_NATS = "nats://127.0.0.1:1"
NATS_DOWN = "cannot reach NATS at 127.0.0.1:1: connection refused"


def pending_for_two(escli: Run, tmp_path: Path) -> str:
    """combat-w1 pending for a NATS target that is down and for a SQLite target that was
    broken when it was dispatched and is writable now (its URL)."""
    mirror = tmp_path / "mirror.db"
    mirror.mkdir()  # a folder where the target's file should be: the delivery fails
    out = escli("dispatch", "combat", "spawn", "w1", "5", "--to", DOWN_NATS, "--to", str(mirror))
    assert out.exit_code == 9, out.stderr
    mirror.rmdir()
    return f"sqlite:///{mirror}"


def test_publish_pending_sends_every_reachable_target_its_own_and_names_the_rest(
    escli: Run, tmp_path: Path
) -> None:
    mirror = pending_for_two(escli, tmp_path)
    out = escli("publish", "--pending")
    assert out.exit_code == 9
    assert out.stdout == (  # tried first, it stops no other target
        f"{DOWN_NATS}  FAILED  {NATS_DOWN}\n{mirror}  combat-w1  generations 1..1  1 event sent\n"
    )
    assert out.stderr == (
        f"Error: 1 of 2 targets failed: {DOWN_NATS}; what is pending for it stays pending "
        "('escli pending' lists it)\n"
    )
    assert open_store(mirror).generation("combat-w1") == 1
    left = json.loads(escli("pending", "--json").stdout)
    assert [(p["target"], p["stream"]) for p in left] == [(DOWN_NATS, "combat-w1")]


def test_publish_pending_json_names_the_target_of_each_range_and_each_failure(
    escli: Run, tmp_path: Path
) -> None:
    mirror = pending_for_two(escli, tmp_path)
    out = escli("publish", "--pending", "--json")
    assert out.exit_code == 9
    assert json.loads(out.stdout) == [
        {"target": DOWN_NATS, "error": NATS_DOWN, "exit_code": 8},
        {
            "target": mirror,
            "stream": "combat-w1",
            "from_generation": 1,
            "to_generation": 1,
            "events": 1,
            "stored": None,
        },
    ]
    assert json.loads(out.stderr)["exit_code"] == 9


def test_publish_pending_to_one_target_that_is_down_fails_as_publish_to_it_does(
    escli: Run,
) -> None:
    out = escli("dispatch", "combat", "spawn", "w1", "5", "--to", DOWN_NATS)
    assert out.exit_code == 9
    for command in (("publish", "--pending"), ("publish", "--pending", "--to", DOWN_NATS)):
        out = escli(*command)
        assert (out.exit_code, out.stdout, out.stderr) == (8, "", f"Error: {NATS_DOWN}\n")


def test_a_pending_target_that_cannot_be_opened_keeps_no_other_from_its_events(
    escli: Run, store_url: str, tmp_path: Path
) -> None:
    mirror = f"sqlite:///{tmp_path / 'mirror.db'}"
    assert escli("dispatch", "combat", "spawn", "w1", "5").exit_code == 0
    store = open_store(store_url)
    store.set_pending("bogus://x", "combat-w1", 1, 1)  # recorded by who knows what
    store.set_pending(mirror, "combat-w1", 1, 1)
    out = escli("publish", "--pending", "--json")
    assert out.exit_code == 9
    [refused, sent] = json.loads(out.stdout)
    assert (refused["target"], refused["exit_code"]) == ("bogus://x", 4)
    assert refused["error"].startswith("unknown store URL scheme 'bogus'")
    assert (sent["target"], sent["events"]) == (mirror, 1)
    assert open_store(mirror).generation("combat-w1") == 1


@pytest.fixture
def asker(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[PasswordAsker]:
    """A server that records the password libpq sends it; no password to be found in the
    environment (no PGPASSWORD, no password file) unless the test sets one."""
    monkeypatch.delenv("PGPASSWORD", raising=False)
    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "no-pgpass"))
    with PasswordAsker() as server:
        yield server


def no_password(server: PasswordAsker) -> str:
    """The error of a target tried without the password its pending record masks."""
    return (
        f"PostgreSQL at 127.0.0.1:{server.port} refused the login: connection to server at "
        f'"127.0.0.1", port {server.port} failed: fe_sendauth: no password supplied; its '
        "password is not recorded with what is pending, so it was tried without one: escli "
        "publish --pending --to URL, with the password, sends it"
    )


def test_publish_pending_never_logs_in_with_the_mask_of_a_password(
    escli: Run, asker: PasswordAsker, monkeypatch: pytest.MonkeyPatch
) -> None:
    given, recorded = asker.url("postgres:secret"), asker.url("postgres:***")
    assert escli("dispatch", "combat", "spawn", "gob5", "50", "--to", given).exit_code == 9
    assert asker.passwords == ["secret"]
    out = escli("publish", "--pending")
    assert asker.passwords == ["secret"], "the mask was sent as the password"
    assert (out.exit_code, out.stderr) == (7, f"Error: {no_password(asker)}\n")
    monkeypatch.setenv("PGPASSWORD", "from-the-environment")  # libpq's, as for any URL
    assert escli("publish", "--pending").exit_code == 7
    assert asker.passwords == ["secret", "from-the-environment"]
    assert escli("publish", "--pending", "--to", given).exit_code == 7
    assert asker.passwords[-1] == "secret"
    listed = json.loads(escli("pending", "--json").stdout)
    assert [(p["target"], p["stream"]) for p in listed] == [(recorded, "combat-gob5")]


def test_a_target_whose_password_was_masked_is_one_failed_line_among_the_others(
    escli: Run, asker: PasswordAsker, tmp_path: Path
) -> None:
    mirror = tmp_path / "mirror.db"
    mirror.mkdir()  # broken for the dispatch
    given = asker.url("postgres:secret")
    out = escli("dispatch", "combat", "spawn", "gob5", "50", "--to", given, "--to", str(mirror))
    assert out.exit_code == 9
    mirror.rmdir()
    out = escli("publish", "--pending")
    assert out.exit_code == 9
    assert out.stdout.splitlines() == [
        f"{asker.url('postgres:***')}  FAILED  {no_password(asker)}",
        f"sqlite:///{mirror}  combat-gob5  generations 1..1  1 event sent",
    ]
    assert asker.passwords == ["secret"]
