"""Odd values given to the commands that find, trace and project (``events``, ``view``,
``project --rebuild --stream``, ``dispatch``'s why options): each is one clean error line
with the exit code of its kind, or an answer; never a traceback, a store error for a
number SQL cannot hold, or a success that did nothing it was asked."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import Run, open_store, snapshot

HUGE = "9" * 30  # past any 64-bit integer

# (arguments after the store's two events, exit code, what the one error line says)
CASES = [
    # SQLite holds 64-bit integers: a larger number is a usage error, not a store error.
    (["events", "--limit", HUGE], 2, "--limit"),
    (["events", "--after", HUGE], 2, "--after"),
    # a data condition past 64 bits is compared in Python; no event's damage is that big
    (["events", f"--where=damage>={HUGE}"], 0, "no events match"),
    (["events", f"--where=damage<{HUGE}", "--limit", "1"], 0, ""),
    # --since and --until are RFC 3339, which Python's fromisoformat reads more than
    *(
        (["events", "--since", time], 4, f"--since {time!r} is not a time")
        for time in ("2026-W01-1", "2026-01-01T00Z", "2026-01-01T00:00:00,5Z")
    ),
    (["events", "--until", "2026-01-01T00:00:00.1234567Z"], 4, "past the microsecond"),
    (["events", "--since", "2026-01-01 00:00:00Z"], 0, ""),  # a space for the T: RFC 3339 too
    (["events", "--since", "2026-01-01t00:00:00.5z"], 0, ""),
    (["events", "--since", "2026-01-01T00:00Z"], 0, ""),  # no seconds: read as :00
    # many conditions: SQLite's expression tree is at most 1,000 deep (it was a store error)
    (["events", *(f"--where=f{n}>=1" for n in range(2000))], 0, "no events match"),
    (["events", *(f"--where=damage>={n % 3}" for n in range(2000))], 0, "combat-ogre"),
    # --rebuild --stream names a stream of the projection's domain
    (["project", "combat.roster", "--rebuild", "--stream", ""], 4, "not of domain 'combat'"),
    (["project", "combat.roster", "--rebuild", "--stream", "ogre"], 4, "not of domain"),
    (["project", "combat.roster", "--rebuild", "--stream", "other-ogre"], 4, "not of domain"),
    # project takes a NAME or --all
    (["project"], 2, "project: give a projection NAME or --all, one of them"),
    (["project", "combat.roster", "--all"], 2, "--all, not both"),
    # a --stream template is a usage error however it is wrong (it was exit 4 for one
    # naming no attribute, exit 2 for the others)
    (["import", "-", "--append", "--stream", ""], 2, "names no attribute"),
    (["import", "-", "--append", "--stream", "combat-{{subject}}"], 2, "names no attribute"),
    (["import", "-", "--append", "--stream", "combat-{"], 2, "is not a template"),
    # a conversion, a format spec, an index or an attribute access is named as unsupported
    (["import", "-", "--append", "--stream", "combat-{subject!r}"], 2,
     "the conversion !r in {subject} is not supported"),
    (["import", "-", "--append", "--stream", "combat-{subject:>10}"], 2,
     "the format spec :>10 in {subject} is not supported"),
    (["import", "-", "--append", "--stream", "combat-{subject.x}"], 2,
     "the index or attribute access in {subject.x} is not supported"),
    (["import", "-", "--append", "--stream", "combat-{subject[0]}"], 2,
     "the index or attribute access in {subject[0]} is not supported"),
    (["import", "-", "--append", "--stream", "combat-{Subject}"], 2,
     "{Subject} is not an attribute name; attribute names are lower-case a-z and 0-9"),
    (["import", "-", "--append", "--stream", "combat-{}"], 2, "{} names no attribute"),
    # one --meta key, one value: a second would drop the first silently
    (
        ["dispatch", "combat", "attack", "ogre", "1", "--meta", "k=1", "--meta", "k=2"],
        2,
        "--meta key 'k' is given twice ('1', then '2'): give it once",
    ),
    # --sort names a field
    (["view", "combat.roster", "--sort", ""], 2, "--sort"),
    (["view", "combat.roster", "--sort", "-"], 2, "--sort"),
]  # fmt: skip


@pytest.mark.parametrize(("args", "code", "says"), CASES, ids=[" ".join(c[0])[:80] for c in CASES])
def test_an_odd_value_is_one_line_with_its_exit_code(
    escli: Run, store_url: str, args: list[str], code: int, says: str
) -> None:
    assert escli("dispatch", "combat", "attack", "ogre", "5").exit_code == 0
    assert escli("project", "combat.roster").exit_code == 0
    before = snapshot(open_store(store_url))
    out = escli(*args)
    assert out.exit_code == code, out.stdout + out.stderr
    if code:
        assert out.stderr.count("\n") == 1 and says in out.stderr, out.stderr
    else:
        assert says in out.stdout + out.stderr
    assert snapshot(open_store(store_url)) == before


def test_a_bad_correlation_id_from_the_environment_names_the_variable(
    escli: Run, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ESCLI_CORRELATION_ID", " padded ")
    out = escli("dispatch", "combat", "attack", "ogre", "5")
    assert out.exit_code == 2
    assert out.stderr.startswith("Error: ESCLI_CORRELATION_ID ' padded ' is not an id"), out.stderr
    assert list(open_store(store_url).read("combat-ogre")) == []
    # given as the option, the option is named
    out = escli("dispatch", "combat", "attack", "ogre", "5", "--correlation-id", " ")
    assert out.stderr.startswith("Error: --correlation-id ' ' is not an id"), out.stderr


def test_a_prefix_too_short_says_how_long_one_must_be(escli: Run, store_url: str) -> None:
    assert escli("dispatch", "combat", "attack", "ogre", "5").exit_code == 0
    (event,) = open_store(store_url).read("combat-ogre")
    for prefix in (event.event_id[:3], ""):
        out = escli("event", prefix)
        assert out.exit_code == 3
        assert out.stderr.count("\n") == 1, out.stderr
        assert "a short id is 4 characters or more" in out.stderr, out.stderr
    assert escli("event", event.event_id[:4]).exit_code == 0


@pytest.mark.parametrize("value", ["", " cmd-2", "cmd-2 "])
@pytest.mark.parametrize("name", ["causationid", "correlationid"])
def test_an_exported_line_whose_id_is_spoilt_is_refused(
    escli: Run, store_url: str, tmp_path: Path, name: str, value: str
) -> None:
    """Lines as escli writes them take the parser's fast path: it refuses what the general
    path refuses, a causation or correlation id that is not an id."""
    for n in range(3):
        escli("dispatch", "combat", "attack", "ogre", "5", "--causation-id", f"cmd-{n}")
    exported = tmp_path / "ogre.jsonl"
    assert escli("export", "combat-ogre", "-o", str(exported)).exit_code == 0
    lines = exported.read_text(encoding="utf-8").splitlines(keepends=True)
    field = "cmd-1" if name == "causationid" else json.loads(lines[1])[name]
    assert f'"{name}": "{field}"' in lines[1]
    lines[1] = lines[1].replace(f'"{name}": "{field}"', f'"{name}": "{value}"')
    exported.write_text("".join(lines), encoding="utf-8")
    other = f"sqlite:///{tmp_path / 'other.db'}"
    out = escli("import", str(exported), "--store", other)
    assert out.exit_code == 4, out.stdout + out.stderr
    assert out.stderr == (
        f"Error: {exported}:2: extension attribute {name!r} {value!r} is not an id: give "
        "non-empty printable text (no control characters, no leading or trailing spaces)\n"
    )
    assert list(open_store(other).read("combat-ogre")) == []


@pytest.mark.parametrize(
    ("prefix", "high"),
    [
        ("abcd", "abce"),
        ("abc\ud7ff", "abc\ue000"),  # past the surrogates, which UTF-8 cannot hold
        ("abc\U0010ffff", "abd"),  # the last code point has no successor: the one before
        ("ab\U0010ffff\U0010ffff", "ac"),
        ("\U0010ffff" * 4, "\U0010ffff" * 4),  # no successor at all: an empty range
    ],
)
def test_the_range_of_ids_a_prefix_begins_is_text_a_store_can_take(prefix: str, high: str) -> None:
    from escli.stores.search import id_range

    assert id_range(prefix) == (prefix, high)
    high.encode("utf-8")


@pytest.mark.parametrize("prefix", ["abc\ud7ff", "abc\U0010ffff", "\U0010ffff" * 4])
def test_a_prefix_ending_at_the_edge_of_unicode_is_no_event(escli: Run, prefix: str) -> None:
    assert escli("dispatch", "combat", "attack", "ogre", "5").exit_code == 0
    out = escli("event", prefix)
    assert out.exit_code == 3, out.stderr
    assert out.stderr.startswith(f"Error: no event {prefix!r}"), out.stderr


@pytest.mark.parametrize("prefix", ["abc\ud7ff", "abc\U0010ffff", "\U0010ffff" * 4])
def test_a_prefix_ending_at_the_edge_of_unicode_is_no_event_on_postgres(
    postgres_url: str, prefix: str
) -> None:
    store = open_store(postgres_url)
    assert store.find_events_by_id_prefix(prefix, 5) == []


@pytest.mark.parametrize(
    "line",
    [
        "event abcd\x00",
        "trace a\x00b",
        "events --type a\x00b",
        "events --where a=\x00",
        "events --stream a\x00",
        "streams a\x00*",
        "view combat.roster --key a\x00",
        "dispatch combat spawn a\x00b 10",
    ],
)
def test_a_nul_in_a_shell_line_is_invalid_input_not_a_store_error(
    postgres_schemas: Callable[[], str], line: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No command line holds a NUL (a process's arguments cannot), but a shell's piped line
    can: refused as input before any store sees it (PostgreSQL cannot keep one in text,
    which was a store error, exit 7)."""
    from click.testing import CliRunner

    from escli.cli import cli

    postgres_url = postgres_schemas()
    monkeypatch.setenv("ESCLI_NO_PROJECT", "1")
    monkeypatch.setenv("NO_COLOR", "1")
    result = CliRunner().invoke(
        cli, ["shell", "--store", postgres_url], input=line + "\n", catch_exceptions=False
    )
    assert result.exit_code == 4, result.stderr
    assert result.stderr.count("\n") == 1 and "holds a NUL character" in result.stderr
    assert list(open_store(postgres_url).read_all()) == []
