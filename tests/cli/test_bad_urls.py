"""Odd store and target URLs are invalid input (exit 4) naming the value, before anything is
written: never a traceback, a success that keeps nothing, or a connection error."""

from __future__ import annotations

from pathlib import Path

import pytest

from escli import open_store
from tests.conftest import Run, snapshot

ATTACK = ("dispatch", "combat", "attack", "ogre", "150")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            (*ATTACK, "--store", "postgresql://postgres@127.0.0.1:99999/x"),
            "bad PostgreSQL store URL 'postgresql://postgres@127.0.0.1:99999/x': port '99999' is "
            "not a number from 1 to 65535",
        ),
        (
            (*ATTACK, "--to", "postgres://postgres@a:5432,b:0/x"),
            "bad PostgreSQL store URL 'postgres://postgres@a:5432,b:0/x': port '0' is not a "
            "number from 1 to 65535",
        ),
        (
            (*ATTACK, "--store", "esdb://127.0.0.1:abc?Tls=false"),
            "bad EventStoreDB URL 'esdb://127.0.0.1:abc?Tls=false': port 'abc' is not a number "
            "from 1 to 65535",
        ),
        (
            (*ATTACK, "--to", "esdb+discover://a:2113,[::1]:70000?Tls=false"),
            "bad EventStoreDB URL 'esdb+discover://a:2113,[::1]:70000?Tls=false': port '70000' "
            "is not a number from 1 to 65535",
        ),
        (
            (*ATTACK, "--store", "esdb://admin:pw@h:2113?TlsCaFile=/no/such/ca.pem"),
            "bad EventStoreDB URL 'esdb://admin:***@h:2113?TlsCaFile=/no/such/ca.pem': "
            "TlsCaFile '/no/such/ca.pem' is not a file (no such file)",
        ),
        (
            (*ATTACK, "--store", "esdb://admin:pw@h:2113?TlsCaFile=/"),
            "bad EventStoreDB URL 'esdb://admin:***@h:2113?TlsCaFile=/': TlsCaFile '/' is not a "
            "file",
        ),
        (
            (*ATTACK, "--to", "kdb://admin:pw@h:2113?UserCertFile=/no/cert.pem&UserKeyFile=/"),
            "bad EventStoreDB URL 'kdb://admin:***@h:2113?UserCertFile=/no/cert.pem&UserKeyFile=/'"
            ": UserCertFile '/no/cert.pem' is not a file (no such file)",
        ),
        (
            (*ATTACK, "--to", "nats://127.0.0.1:0"),
            "bad NATS URL 'nats://127.0.0.1:0': port '0' is not a number from 1 to 65535",
        ),
        # A query parameter given twice: the client would keep one of them without a word.
        (
            (*ATTACK, "--store", "postgresql://postgres:pw@127.0.0.1:1/x?schema=a&schema=b"),
            "bad PostgreSQL store URL 'postgresql://postgres:***@127.0.0.1:1/x?schema=a&schema=b'"
            ": query parameter 'schema' is given twice; give it once",
        ),
        (
            (*ATTACK, "--to", "postgres://h/x?sslmode=disable&SSLMODE=require"),
            "bad PostgreSQL store URL 'postgres://h/x?sslmode=disable&SSLMODE=require': query "
            "parameter 'SSLMODE' is given twice; give it once",
        ),
        (
            (
                "copy",
                "sqlite:///events.db",
                "postgresql://h/x?password=pw1&%70assword=pw2",
                "--all",
            ),
            "bad PostgreSQL store URL 'postgresql://h/x?password=***&%70assword=***': query "
            "parameter '%70assword' is given twice; give it once",
        ),
        (
            (*ATTACK, "--store", "esdb://127.0.0.1:1?Tls=false&tls=true"),
            "bad EventStoreDB URL 'esdb://127.0.0.1:1?Tls=false&tls=true': query parameter "
            "'tls' is given twice; give it once",
        ),
        (
            (*ATTACK, "--to", "nats://127.0.0.1:1?stream=A&stream=B"),
            "bad NATS URL 'nats://127.0.0.1:1?stream=A&stream=B': query parameter 'stream' is "
            "given twice; give it once",
        ),
        (
            (*ATTACK, "--store", "sqlite:///x.db?mode=ro&mode=rw"),
            "bad SQLite store URL 'sqlite:///x.db?mode=ro&mode=rw': query parameter 'mode' is "
            "given twice; give it once",
        ),
        (
            (*ATTACK, "--store", "sqlite:///a%00b.db"),
            "bad SQLite store URL 'sqlite:///a%00b.db': its path 'a\\x00b.db' holds a NUL "
            "character",
        ),
        (
            (*ATTACK, "--store", ""),
            "the store URL is empty: name a store (sqlite:///PATH, postgresql://..., esdb://...; "
            "memory: for one that is gone when the command ends)",
        ),
        (
            (*ATTACK, "--to", ""),
            "the --to URL is empty: name a target (a store URL, cloudevents:FILE or nats://...)",
        ),
        (
            (*ATTACK, "--to", "memory:"),
            "memory: cannot be a --to target: it is gone when the command ends",
        ),
        (
            ("copy", "sqlite:///events.db", "", "--all"),
            "the copy target URL is empty: name a store (sqlite:///PATH, postgresql://..., "
            "esdb://...; memory: for one that is gone when the command ends)",
        ),
        (
            ("copy", "sqlite:///events.db", "memory:", "--all"),
            "memory: cannot be a copy target: it is gone when the command ends",
        ),
        (
            ("copy", "", "sqlite:///copy.db", "--all"),
            "the copy source URL is empty: name a store (sqlite:///PATH, postgresql://..., "
            "esdb://...; memory: for one that is gone when the command ends)",
        ),
    ],
)
def test_an_odd_url_is_invalid_input_naming_it_and_nothing_is_written(
    escli: Run,
    store_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    args: tuple[str, ...],
    message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    assert escli("dispatch", "combat", "attack", "troll", "10").exit_code == 0
    store = open_store(store_url)
    before = snapshot(store)
    out = escli(*args)
    assert (out.exit_code, out.stdout, out.stderr) == (4, "", f"Error: {message}\n")
    assert snapshot(store) == before
    store.close()


def test_an_empty_escli_store_variable_counts_as_unset(
    escli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ESCLI_STORE", "")
    assert escli(*ATTACK).exit_code == 0
    assert (tmp_path / ".escli" / "events.db").is_file()


def test_a_cloudevents_file_name_may_hold_what_looks_like_a_repeated_query(
    escli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    out = escli(*ATTACK, "--to", "cloudevents:out?a=1&a=2.jsonl")
    assert out.exit_code == 0, out
    assert (tmp_path / "out?a=1&a=2.jsonl").read_text().count("\n") == 1


def test_a_file_named_memory_is_a_sqlite_target_not_the_memory_store(
    escli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    out = escli(*ATTACK, "--to", "memory")
    assert out.exit_code == 0
    assert f"  ok  sqlite:///{tmp_path / 'memory'}  generations 1..1" in out.stdout
