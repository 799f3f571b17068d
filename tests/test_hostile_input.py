"""Hostile and odd input: each is one clean error (exit 4, naming the value or its place),
quickly, with nothing written; and nothing escli cannot store or export gets in."""

from __future__ import annotations

import json
import math
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from escli import open_store
from escli.domain.codec import MAX_INT_DIGITS, FieldError, check_value, decode, decoder
from escli.domain.words import parse_text
from escli.errors import InvalidInput
from escli.scripts.yaml_text import MAX_ALIASES, MAX_DEPTH, MAX_NODES, parse_yaml
from escli.stores.base import NewEvent
from tests.conftest import Run, snapshot

METER = textwrap.dedent(
    """
    from dataclasses import dataclass
    from typing import Any
    from escli import AggregateState, Domain

    domain = Domain("meter", source="events://example/meter", stream_field="meter_id")

    @dataclass(frozen=True)
    class Meter(AggregateState):
        meter_id: str
        total: float = 0.0

    @domain.command
    @dataclass(frozen=True)
    class Read:
        meter_id: str
        value: float

    @domain.event
    @dataclass(frozen=True)
    class Measured:
        meter_id: str
        value: float
        note: Any = None

    @domain.aggregate
    class Meters:
        def initial_state(self, stream_id):
            return Meter(stream_id)

        def handle_command(self, state, command):
            return [Measured(command.meter_id, command.value)]

        def apply_event(self, state, event):
            return state.evolve(total=state.total + event.value)
    """
)


@pytest.fixture(autouse=True)
def in_tmp_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Relative paths (-o out.jsonl, sqlite:///mirror.db) land in the test's own folder."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def meter(tmp_path: Path) -> str:
    """A --domains folder holding ``meter``, a domain with a float field."""
    folder = tmp_path / "domains"
    folder.mkdir()
    (folder / "meter.py").write_text(METER)
    return str(folder)


def stored(store_url: str) -> list[tuple[object, ...]]:
    store = open_store(store_url)
    try:
        return snapshot(store)
    finally:
        store.close()


def seeded(escli: Run, store_url: str) -> list[tuple[object, ...]]:
    """One event in the store, so that "nothing written" is more than an empty store."""
    assert escli("dispatch", "combat", "attack", "ogre", "5").exit_code == 0
    return stored(store_url)


# -- floats: only finite numbers, everywhere ------------------------------------------------


NON_FINITE = ["nan", "NaN", "inf", "-inf", "Infinity", "1e400", "-1e400"]


@pytest.mark.parametrize("word", NON_FINITE)
def test_a_non_finite_float_on_the_command_line_is_refused(
    escli: Run, meter: str, store_url: str, word: str
) -> None:
    out = escli("dispatch", "meter", "read", "m1", "--value", word, "--domains", meter)
    assert (out.exit_code, out.stderr) == (
        4,
        f"Error: read value: expected a finite number, got {word!r}\n",
    )
    assert stored(store_url) == []


@pytest.mark.parametrize("word", ["1.5", "-2", "3.", ".5", "1e3", "+1.25E-2"])
def test_a_decimal_number_on_the_command_line_is_a_float(word: str) -> None:
    assert parse_text(float, word, "value") == float(word)


@pytest.mark.parametrize("word", [" 1.5", "1_000.0", "0x10", "\u0661.5", "1.5 "])
def test_a_float_on_the_command_line_is_plain_ascii_decimal(word: str) -> None:
    with pytest.raises(FieldError, match="expected a number"):
        parse_text(float, word, "value")


@pytest.mark.parametrize("value", ["1e400", ".nan", ".inf", "-.inf", "1.0e+400"])
def test_a_non_finite_float_in_a_script_is_refused(
    escli: Run, meter: str, store_url: str, value: str
) -> None:
    out = escli(
        "run",
        "-",
        "--domains",
        meter,
        input=f"- {{domain: meter, command: read, args: {{meter_id: m1, value: {value}}}}}\n",
    )
    assert out.exit_code == 4
    assert out.stderr.startswith("Error: -:1:")
    assert "expected a finite number" in out.stderr
    assert stored(store_url) == []


def test_a_non_finite_float_in_a_scenarios_given_event_is_refused(
    escli: Run, meter: str, tmp_path: Path
) -> None:
    scenarios = tmp_path / "meter.scenarios.yaml"
    scenarios.write_text(
        "scenarios:\n"
        "  - name: overflow\n"
        "    given: [{type: Measured, data: {meter_id: m1, value: .inf}}]\n"
        "    when: meter read m1 1\n"
        "    then: {state: {total: .inf}}\n"
    )
    out = escli("test", str(scenarios), "--domains", meter)
    assert (out.exit_code, out.stderr) == (
        4,
        f"Error: {scenarios}:3:58: expected a finite number, got inf\n",
    )


def event_line(generation: int, value: str) -> str:
    return (
        f'{{"specversion": "1.0", "id": "e{generation}", "source": "events://example/meter", '
        '"type": "meter.Measured", "subject": "meter-m1", "time": "2024-01-01T00:00:00Z", '
        f'"datacontenttype": "application/json", "typeversion": "1.0", "generation": {generation}, '
        f'"data": {{"meter_id": "m1", "value": {value}}}}}'
    )


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("1e400", "field value: expected a finite number, got inf"),
        ("-1e400", "field value: expected a finite number, got -inf"),
        ("NaN", "not JSON: NaN is not valid JSON"),
        ("Infinity", "not JSON: Infinity is not valid JSON"),
    ],
)
def test_import_of_a_non_finite_float_is_refused(
    escli: Run, meter: str, store_url: str, tmp_path: Path, value: str, message: str
) -> None:
    before = seeded(escli, store_url)
    path = tmp_path / "meter.jsonl"
    path.write_text(event_line(1, "1.5") + "\n" + event_line(2, value) + "\n")
    out = escli("import", str(path), "--domains", meter)
    assert out.exit_code == 4, out.stderr
    assert out.stderr.startswith(f"Error: {path}:2: ")
    assert message in out.stderr
    assert stored(store_url) == before


def test_a_stored_nan_is_undecodable_data_not_a_state(
    escli: Run, meter: str, store_url: str
) -> None:
    store = open_store(store_url)
    try:
        data = {"meter_id": "m1", "value": math.nan}
        store.append("meter-m1", [NewEvent("meter.Measured", "1.0", "s", data, "e1")], 0)
    finally:
        store.close()
    out = escli("replay", "meter-m1", "--domains", meter)
    assert out.exit_code == 7
    assert "expected a finite number, got nan" in out.stderr


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_every_field_type_refuses_a_non_finite_float(value: float) -> None:
    for tp, data in [
        (float, value),
        (float | None, value),
        (list[float], [1.0, value]),
        (dict[str, float], {"k": value}),
        (Any, {"k": [value]}),
    ]:
        with pytest.raises(FieldError, match="expected a finite number"):
            check_value(tp, data, "f")


# -- strings: no lone surrogates -------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["dispatch", "combat", "spawn", "og\udcffre", "10"],
        ["replay", "combat-\udcff"],
        ["export", "combat-\udcff", "-o", "out.jsonl"],
        ["publish", "combat-\udcff", "--to", "sqlite:///mirror.db"],
    ],
    ids=["dispatch", "replay", "export", "publish"],
)
def test_a_byte_that_is_not_utf8_in_an_argument_is_refused(
    escli: Run, store_url: str, args: list[str]
) -> None:
    before = seeded(escli, store_url)
    # Python hands a command-line byte that is not UTF-8 on as a lone surrogate.
    out = escli(*args)
    shown = next(a for a in args if "\udcff" in a).replace("\udcff", "\\xff")
    assert (out.exit_code, out.stderr) == (4, f"Error: argument '{shown}' is not UTF-8 text\n")
    assert stored(store_url) == before


def test_a_lone_surrogate_in_a_command_line_word_is_refused_by_the_codec() -> None:
    with pytest.raises(
        FieldError, match=r"^entity_id: contains a lone surrogate U[+]DCFF at index 2, which UTF-8"
    ):
        parse_text(str, "og\udcffre", "entity_id")


def test_a_lone_surrogate_in_a_yaml_arg_is_refused(combat: Any) -> None:
    from escli.domain.discovery import DomainRegistry
    from escli.scripts.loading import load_script

    text = '- {domain: combat, command: spawn, args: {entity_id: "og\\udcffre", hitpoints: 5}}\n'
    with pytest.raises(InvalidInput, match=r"^s.yaml:1:\d+: .*(surrogate|Unicode)"):
        load_script(text, "s.yaml", DomainRegistry([]))


@given(
    st.text(st.sampled_from(["a", "\u00e9", "\ud800", "\udcff", "\U0001f600"]), max_size=4),
    st.integers() | st.just(10**MAX_INT_DIGITS),
)
def test_the_fast_path_refuses_what_the_general_checks_refuse(name: str, count: int) -> None:
    from dataclasses import make_dataclass

    fast = make_dataclass("Fast", [("name", str), ("count", int)], frozen=True)
    # a __post_init__ keeps a class off the fast path
    general = make_dataclass(
        "General",
        [("name", str), ("count", int)],
        namespace={"__post_init__": lambda self: None},
        frozen=True,
    )

    def verdict(cls: type) -> str:
        try:
            decoder(cls)({"name": name, "count": count})
        except FieldError as e:
            return e.message
        return "taken"

    assert verdict(fast) == verdict(general)


# -- integers Python cannot write --------------------------------------------------------------


def test_an_integer_of_5000_digits_on_the_command_line_is_refused(
    escli: Run, store_url: str
) -> None:
    before = seeded(escli, store_url)
    out = escli("dispatch", "combat", "attack", "ogre", "1" + "0" * 4999)
    assert (out.exit_code, out.stderr) == (
        4,
        f"Error: attack damage: an integer of 5000 digits is past the limit of {MAX_INT_DIGITS}\n",
    )
    assert stored(store_url) == before


STEP = "- {domain: combat, command: attack, args: {entity_id: ogre, damage: "


@pytest.mark.parametrize(
    ("number", "message"),
    [
        ("1" + "0" * 4999, "an integer of 5000 digits is past the limit of 4300"),
        # YAML 1.1 reads 1:0:0:... in base 60: a short text, an integer too long to write
        ("1" + ":0" * 3000, "an integer of more than 4300 digits is past the limit"),
    ],
    ids=["decimal", "sexagesimal"],
)
def test_an_integer_too_long_to_write_in_a_script_is_refused(
    escli: Run, store_url: str, number: str, message: str
) -> None:
    out = escli("run", "-", input=STEP + number + "}}\n")
    assert (out.exit_code, out.stderr) == (4, f"Error: -:1:{len(STEP) + 1}: {message}\n")
    assert stored(store_url) == []


def test_a_huge_integer_in_data_is_refused_by_the_codec() -> None:
    @dataclass_frozen
    class Hit:
        damage: int

    with pytest.raises(FieldError, match="more than"):
        decode(Hit, {"damage": 10 ** (MAX_INT_DIGITS + 5)})
    assert decode(Hit, {"damage": 10**100}).damage == 10**100


def dataclass_frozen(cls: type) -> Any:
    from dataclasses import dataclass

    return dataclass(frozen=True)(cls)


# -- YAML that expands, nests or holds what no script may --------------------------------------


def billion_laughs() -> str:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    return "\n".join([*lines, "steps: [*a9]", ""])


@pytest.mark.parametrize("stdin", [False, True])
def test_a_billion_laughs_script_is_refused_within_a_second(
    escli: Run, tmp_path: Path, stdin: bool
) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(billion_laughs())
    started = time.monotonic()
    out = escli("run", "-", input=billion_laughs()) if stdin else escli("run", str(path))
    assert time.monotonic() - started < 1
    source = "-" if stdin else str(path)
    assert (out.exit_code, out.stderr) == (
        4,
        f"Error: {source}:6:10: expands to more than {MAX_NODES:,} values (aliases included)\n",
    )


def test_a_billion_laughs_scenario_file_is_refused_within_a_second(
    escli: Run, tmp_path: Path
) -> None:
    path = tmp_path / "bomb.scenarios.yaml"
    path.write_text("scenarios: []\n" + billion_laughs().replace("steps:", "x:"))
    started = time.monotonic()
    out = escli("test", str(path))
    assert time.monotonic() - started < 1
    assert out.exit_code == 4
    assert out.stderr.startswith(f"Error: {path}:7:")
    assert "expands to more than" in out.stderr


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("steps:\n" + "".join("  " * i + "- x:\n" for i in range(1, 40)), "nested deeper than"),
        ("steps: " + "[" * 5000 + "]" * 5000, f"nested deeper than {MAX_DEPTH} levels"),
        ("a: &a " + "[" * 60 + "]" * 60 + "\nsteps: [[[[[[[[*a]]]]]]]]\n", "nested deeper"),
        ("steps: &a [*a]\n", "alias *a repeats a value that holds it"),
        ("x: &x 1\nsteps: [" + ", ".join(["*x"] * (MAX_ALIASES + 1)) + "]\n", "aliases"),
        ("steps:\n  - x: &x '" + "y" * 1_000_000 + "'\n" + "  - *x\n" * 4, "characters"),
    ],
    ids=["deep-blocks", "deep-flow", "deep-through-alias", "cycle", "aliases", "characters"],
)
def test_yaml_past_the_bounds_is_refused_located(text: str, message: str) -> None:
    started = time.monotonic()
    with pytest.raises(InvalidInput, match=r"^s\.yaml:\d+:\d+: ") as caught:
        parse_yaml(text, "s.yaml")
    assert message in str(caught.value)
    assert time.monotonic() - started < 1


def test_yaml_within_the_bounds_is_read() -> None:
    nested: Any = "x"
    for _ in range(MAX_DEPTH - 1):
        nested = [nested]
    assert parse_yaml(json.dumps({"deep": nested}), "s.yaml") == {"deep": nested}


@pytest.mark.parametrize(
    ("text", "where", "character"),
    [
        ("- combat attack og\x00re 5\n", "1:19", "U+0000, a NUL"),
        ("combat attack og\x1bre 5\n", "1:17", "U+001B, a control character"),
        ('- "combat attack og\\x00re 5"\n', "1:3", "U+0000, a NUL"),
        ("- 'combat attack ogre 5'\n- \"x\\x7f\"\n", "2:3", "U+007F, a control character"),
    ],
)
def test_characters_no_script_may_hold_are_refused_located(
    escli: Run, store_url: str, text: str, where: str, character: str
) -> None:
    out = escli("run", "-", input=text)
    assert (out.exit_code, out.stderr) == (
        4,
        f"Error: -:{where}: {character}, is not allowed in a script\n",
    )
    assert stored(store_url) == []


@pytest.mark.parametrize("text", ["- combat attack og\udcffre 5\n", "combat attack og\udcffre 5"])
def test_a_lone_surrogate_in_a_scripts_text_is_refused(text: str) -> None:
    from escli.domain.discovery import DomainRegistry
    from escli.scripts.loading import load_script

    with pytest.raises(InvalidInput, match=r"^s.yaml:1:\d+: U[+]DCFF, a lone surrogate"):
        load_script(text, "s.yaml", DomainRegistry([]))


def test_a_script_on_stdin_that_is_not_utf8_is_refused(escli: Run, store_url: str) -> None:
    out = escli("run", "-", input=b"- combat attack og\xffre 5\n")  # type: ignore[arg-type]
    assert (out.exit_code, out.stderr) == (
        4,
        "Error: -: not UTF-8 text (invalid start byte at byte 18)\n",
    )
    assert stored(store_url) == []


def test_a_yaml_date_is_text_to_a_script() -> None:
    assert parse_yaml("when: 2024-01-01\n", "s.yaml") == {"when": "2024-01-01"}


def test_a_yaml_value_that_does_not_fit_its_tag_is_refused_located() -> None:
    with pytest.raises(InvalidInput, match=r"^s\.yaml:1:4: 'abc' is not a int"):
        parse_yaml("x: !!int abc\n", "s.yaml")


# -- generations ---------------------------------------------------------------------------------


GENERATION_COMMANDS = pytest.mark.parametrize(
    "args",
    [
        ["replay", "combat-ogre", "--to-generation"],
        ["follow", "combat-ogre", "--from-generation"],
        ["publish", "combat-ogre", "--to", "sqlite:///mirror.db", "--from-generation"],
    ],
    ids=["replay", "follow", "publish"],
)


@GENERATION_COMMANDS
@pytest.mark.parametrize(
    "value", [str(2**31), str(2**63), "1" + "0" * 4999, "+99999999999999999999"]
)
def test_a_generation_past_the_largest_escli_keeps_is_invalid_input(
    escli: Run, store_url: str, args: list[str], value: str
) -> None:
    before = seeded(escli, store_url)
    out = escli(*args, value)
    shown = value if len(value) <= 30 else f"{value[:12]}...({len(value)} characters)"
    assert (out.exit_code, out.stderr) == (
        4,
        f"Error: {args[-1]}: {shown!r} is past the largest generation escli keeps, "
        f"{2**31 - 1} (CloudEvents writes a generation as a signed 32-bit integer)\n",
    )
    assert stored(store_url) == before


@GENERATION_COMMANDS
def test_a_generation_below_the_first_is_a_usage_error(
    escli: Run, store_url: str, args: list[str]
) -> None:
    before = seeded(escli, store_url)
    out = escli(*args, "-1")
    minimum = 0 if args[-1] == "--to-generation" else 1
    assert out.exit_code == 2
    assert out.stderr.startswith(
        f"Error: Invalid value for '{args[-1]}': -1 is not in the range x>={minimum}."
    )
    assert stored(store_url) == before


def test_the_largest_generation_is_taken(escli: Run, store_url: str) -> None:
    seeded(escli, store_url)
    out = escli("replay", "combat-ogre", "--to-generation", str(2**31 - 1), "--json")
    assert out.exit_code == 0
    assert json.loads(out.stdout)["generation"] == 1


@pytest.mark.parametrize("stdin", [False, True])
def test_a_script_longer_than_a_script_may_be_is_refused_unread(escli: Run, stdin: bool) -> None:
    from escli.scripts.yaml_text import MAX_CHARS

    started = time.monotonic()
    source = "-" if stdin else "/dev/zero"  # endless: read only as far as the bound
    out = escli("run", source, input="#" * (MAX_CHARS + 1) if stdin else None)
    assert (out.exit_code, out.stderr) == (
        4,
        f"Error: {source}: more than {MAX_CHARS:,} characters; too long for a script\n",
    )
    assert time.monotonic() - started < 2
