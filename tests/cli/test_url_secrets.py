"""No password ever shown: every scheme x every awkward password character (as written and
percent-encoded) x every output that names a URL. Hosts are loopback port 1, where nothing
listens, so every URL that is accepted fails fast and its error is printed too."""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import closing
from urllib.parse import quote

import pytest

from escli import open_store
from tests.conftest import Outcome, Run
from tests.test_urls import AWKWARD

HALVES = ("S3c", "retPW")  # the password is S3c<char>retPW: neither half may be printed

URLS = {
    "postgresql": "postgresql://postgres:{pw}@127.0.0.1:1/x",
    "postgres": "postgres://postgres:{pw}@127.0.0.1:1/x?schema=s",
    "esdb": "esdb://admin:{pw}@127.0.0.1:1?Tls=false",
    "esdb+discover": "esdb+discover://admin:{pw}@127.0.0.1:1?Tls=false",
    "kurrentdb": "kurrentdb://admin:{pw}@127.0.0.1:1",
    "nats": "nats://user:{pw}@127.0.0.1:1?stream=S",
    "sqlite": "sqlite://user:{pw}@host/x.db",
    "memory": "memory://user:{pw}@x",
    "cloudevents": "cloudevents://user:{pw}@x.jsonl",
    # libpq refuses these with a message that echoes the URI it was given, password and all.
    "postgresql-echoed": "postgresql://postgres:{pw}@[::1/x",
    "postgres-echoed": "postgres://postgres:{pw}@[::1/x?schema=s",
}
ECHOED = {"postgresql-echoed", "postgres-echoed"}
STORES = {"postgresql", "postgres", "esdb", "esdb+discover", "kurrentdb", "sqlite", "memory"}
STORES |= ECHOED
TARGETS = set(URLS) - {"memory"}
CREDENTIALS = set(URLS) - {"sqlite", "memory", "cloudevents"}
SPAWN = ("dispatch", "combat", "attack", "ogre", "150")


def store_error(escli: Run, url: str, store_url: str) -> list[Outcome]:
    return [escli(*SPAWN, "--store", url)]


def json_output(escli: Run, url: str, store_url: str) -> list[Outcome]:
    out = escli(*SPAWN, "--to", url, "--json")
    if out.exit_code in (0, 9):
        json.loads(out.stdout)  # the targets' URLs inside are what is checked
    return [out]


def publish(escli: Run, url: str, store_url: str) -> list[Outcome]:
    assert escli(*SPAWN).exit_code == 0
    return [escli("publish", "combat-ogre", "--to", url)]


def failed_line_and_pending(escli: Run, url: str, store_url: str) -> list[Outcome]:
    """A dispatch whose target fails (its FAILED line and the error naming what is pending),
    then publish --pending to it; the pending keys the store holds are checked too."""
    outcomes = [escli(*SPAWN, "--to", url), escli("publish", "--pending", "--to", url)]
    with closing(open_store(store_url)) as store:
        keys = "\n".join(p.target for p in store.pending())
    return [*outcomes, Outcome(0, keys, "")]


def copy(escli: Run, url: str, store_url: str) -> list[Outcome]:
    assert escli(*SPAWN).exit_code == 0
    return [escli("copy", store_url, url, "--all")]


def init(escli: Run, url: str, store_url: str) -> list[Outcome]:
    return [escli("init", "--store", url)]


def export(escli: Run, url: str, store_url: str) -> list[Outcome]:
    return [escli("export", "--all", "--store", url)]


def follow(escli: Run, url: str, store_url: str) -> list[Outcome]:
    return [escli("follow", url, "--limit", "1")]


PATHS: dict[str, tuple[Callable[[Run, str, str], list[Outcome]], set[str]]] = {
    "store error": (store_error, STORES),
    "target FAILED line, pending listing": (failed_line_and_pending, TARGETS),
    "--json": (json_output, TARGETS),
    "publish": (publish, TARGETS),
    "follow": (follow, {"nats"}),
    "copy": (copy, STORES - {"memory"}),  # memory: as a copy target is refused as such
    "init": (init, ECHOED),
    "export": (export, ECHOED),
}

CASES = [
    pytest.param(
        scheme, char, encoded, path, id=f"{scheme}-{char!r}-{'%' if encoded else 'raw'}-{path}"
    )
    for path, (_, schemes) in PATHS.items()
    for scheme in URLS
    if scheme in schemes
    for char in AWKWARD
    # Schemes that take no credentials refuse them encoded or not: once is enough there.
    for encoded in ((False, True) if scheme in CREDENTIALS else (False,))
]


@pytest.mark.parametrize(("scheme", "char", "encoded", "path"), CASES)
def test_no_output_ever_shows_a_password(
    escli: Run, store_url: str, scheme: str, char: str, encoded: bool, path: str
) -> None:
    password = HALVES[0] + (quote(char, safe="") if encoded else char) + HALVES[1]
    url = URLS[scheme].format(pw=password)
    run, _ = PATHS[path]
    outcomes = run(escli, url, store_url)
    for out in outcomes:
        printed = out.stdout + out.stderr
        assert not any(half in printed for half in HALVES), printed
    last = outcomes[0] if path.startswith("target FAILED") else outcomes[-1]
    # Refused (4), store error (7), unreachable (8) or not delivered (9): never a success
    # that went nowhere, never a traceback (the runner would raise).
    assert last.exit_code in (4, 7, 8, 9), last
    if not encoded and char != ":":
        assert "percent-encode" in last.stderr or "takes no user name" in last.stderr


@pytest.mark.parametrize("scheme", sorted(TARGETS - {"sqlite", "cloudevents"} - ECHOED))
def test_a_target_that_fails_is_named_masked_in_the_failed_line_and_pending(
    escli: Run, store_url: str, scheme: str
) -> None:
    url = URLS[scheme].format(pw="S3c%3FretPW")
    shown = {
        "nats": "nats://127.0.0.1:1?stream=S",
        "postgresql": "postgresql://postgres:***@127.0.0.1:1/x",
        "postgres": "postgres://postgres:***@127.0.0.1:1/x?schema=s",
    }.get(scheme, URLS[scheme].format(pw="***"))
    out = escli(*SPAWN, "--to", url)
    if scheme in ("esdb", "esdb+discover", "kurrentdb"):
        # The EventStoreDB clients read the password out of the URL undecoded: refused.
        assert (out.exit_code, out.stderr) == (
            4,
            f"Error: bad EventStoreDB URL {shown!r}: the EventStoreDB clients cannot take a user "
            "name or password holding '/', '?', '#' or '@' (nor a user name holding ':')\n",
        )
        return
    assert out.exit_code == 9
    assert f"  FAILED  {shown}  generations 1..1 pending: " in out.stdout
    assert f"pending for {shown} (1..1)" in out.stderr
    with closing(open_store(store_url)) as store:
        assert [p.target for p in store.pending()] == [shown]
