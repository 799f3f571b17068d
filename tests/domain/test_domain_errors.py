"""A domain author's mistake is the author's error (exit 11), shown with the domain's own
frames only, never escli's or click's; nothing is written; escli's stdout stays its own."""

from __future__ import annotations

import json
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

from escli import open_store
from escli.errors import DomainError
from escli.stores.base import NewEvent, new_event_id
from escli.testing import given
from tests.conftest import Outcome, Run, snapshot

PROBE = """\
from dataclasses import dataclass
from escli import AggregateState, Domain
{imports}

domain = Domain("probe", source="events://test/probe", stream_field="thing_id")


@dataclass(frozen=True)
class Thing(AggregateState):
    thing_id: str
    pokes: int = 0


@domain.command
@dataclass(frozen=True)
class Poke:
    thing_id: str


@domain.event
@dataclass(frozen=True)
class Poked:
    thing_id: str


@domain.event
@dataclass(frozen=True)
class Weighed:
    thing_id: str
    grams: int = 0
    ratio: float = 0.0


@domain.aggregate
class Probe:
    def initial_state(self, stream_id):
        {initial}

    def handle_command(self, state, command):
        {handle}

    def apply_event(self, state, event):
        {apply}
"""

HEALTHY = {
    "imports": "",
    "initial": "return Thing(stream_id)",
    "handle": "return [Poked(command.thing_id)]",
    "apply": "return state.evolve(pokes=state.pokes + 1)",
}


def probe(folder: Path, **changes: str) -> Path:
    """The probe domain in ``folder``, with some of its code replaced; a line marked
    ``# here`` is where it should fail."""
    folder.mkdir(exist_ok=True)
    path = folder / "probe.py"
    path.write_text(PROBE.format(**{**HEALTHY, **changes}))
    return path


def line_of(path: Path, marker: str = "# here") -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if marker in line)


def error_lines(out: Outcome) -> list[str]:
    """stderr's lines; under ``--json`` the one error object read back as the same lines."""
    lines = out.stderr.splitlines()
    if lines and lines[-1].startswith("{"):  # --json: one object, the frames in "traceback"
        error = json.loads(lines[-1])
        assert error["exit_code"] == out.exit_code, error
        lines = ["Error: " + error["error"], *error.get("traceback", "").splitlines()]
    return lines


def assert_domain_error(out: Outcome, path: Path, line: int, what: str) -> list[str]:
    """Exit 11, an ``Error:`` line naming the file, line and domain, then the domain's own
    frames only: every frame shown is in the domain's folder. Returns the frames' lines."""
    assert out.exit_code == 11, out.stderr
    lines = error_lines(out)
    at = next(i for i, line in enumerate(lines) if line.startswith("Error: "))
    first, rest = lines[at], lines[at + 1 :]
    assert first.startswith(f"Error: {path}:{line}: domain 'probe'"), first
    assert what in first, first
    frames = [x for x in rest if x.lstrip().startswith('File "')]
    for frame in frames:
        assert f'File "{path.parent}{"/"}' in frame, out.stderr
    assert "click" not in out.stderr and "/escli/" not in out.stderr, out.stderr
    return frames


def seed(store_url: str, stream: str = "probe-t1", count: int = 2) -> None:
    event = NewEvent("probe.Poked", "1.0", "events://test/probe", {"thing_id": "t1"}, "")
    store = open_store(store_url)
    try:
        store.append(stream, [event._replace(event_id=new_event_id()) for _ in range(count)], 0)
    finally:
        store.close()


def held(store_url: str) -> list[tuple[object, ...]]:
    store = open_store(store_url)
    try:
        return snapshot(store)
    finally:
        store.close()


@dataclass(frozen=True)
class Broken:
    name: str
    changes: dict[str, str]
    what: str  # in the Error line
    frames: int  # how many of the domain's frames the traceback shows
    marker: str = "# here"


DISPATCH_FAILURES = [
    Broken(
        "syntax error",
        {"imports": "def broken(:  # here"},
        "does not import: SyntaxError: ",
        1,  # the line of the error, as Python shows it
    ),
    Broken("raise at import", {"imports": "1 / 0  # here"}, "does not import: ZeroDivision", 1),
    Broken(
        "sys.exit at import",
        {"imports": "import sys; sys.exit(3)  # here"},
        "does not import: SystemExit: 3",
        1,
    ),
    Broken(
        "handle raises",
        {"handle": "return [Poked(command.thing_id)][5]  # here"},
        "Probe.handle_command raised IndexError: list index out of range (handling Poke)",
        1,
    ),
    Broken(
        "handle calls sys.exit",
        {"imports": "import sys", "handle": "sys.exit(3)  # here"},
        "Probe.handle_command raised SystemExit: 3",
        1,
    ),
    Broken(
        "handle returns one event",
        {"handle": "return Poked(command.thing_id)"},
        "Probe.handle_command returned one Poked, not a list: return [Poked(...)]",
        0,
        marker="def handle_command",
    ),
    Broken(
        "handle returns None",
        {"handle": "pass"},
        "Probe.handle_command returned None, not a list of events",
        0,
        marker="def handle_command",
    ),
    Broken(
        "handle returns what is not an event",
        {"handle": 'return ["poke"]'},
        "returned 'poke' (a str), which is not an event of domain 'probe'",
        0,
        marker="def handle_command",
    ),
    Broken(
        "apply raises",
        {"apply": "return state.evolve(pokes=1 / 0)  # here"},
        "Probe.apply_event raised ZeroDivisionError: division by zero",
        1,
    ),
    Broken(
        "apply misuses evolve (raised inside escli, on the domain's behalf)",
        {"apply": "return state.evolve(pokez=1)  # here"},
        "Probe.apply_event raised TypeError: Thing has no field 'pokez'",
        1,
    ),
    Broken(
        "initial_state raises",
        {"initial": "raise KeyError(stream_id)  # here"},
        "Probe.initial_state raised KeyError: 't1' (the initial state of probe-t1)",
        1,
    ),
]


@pytest.mark.parametrize("broken", DISPATCH_FAILURES, ids=lambda b: b.name)
def test_a_broken_domain_fails_dispatch_with_its_own_frames_and_writes_nothing(
    escli: Run, tmp_path: Path, store_url: str, broken: Broken
) -> None:
    path = probe(tmp_path / "domains", **broken.changes)
    out = escli("dispatch", "probe", "poke", "t1", "--domains", str(path.parent))
    frames = assert_domain_error(out, path, line_of(path, broken.marker), broken.what)
    assert len(frames) == broken.frames, out.stderr
    if broken.frames and "SyntaxError" not in broken.what:
        assert "Traceback (most recent call last):" in out.stderr
    assert out.stdout == ""
    assert held(store_url) == []


def test_a_syntax_error_shows_the_line_and_its_caret(escli: Run, tmp_path: Path) -> None:
    path = probe(tmp_path / "domains", imports="def broken(:  # here")
    out = escli("domains", "probe", "--domains", str(path.parent))
    assert out.stderr.splitlines()[1:] == [
        f'  File "{path}", line 3',
        "    def broken(:  # here",
        "               ^",
        "SyntaxError: invalid syntax",
    ]


@pytest.mark.parametrize(
    "args",
    [
        ["replay", "probe-t1"],
        ["replay", "probe-t1", "--json"],
        ["replay", "probe-t1", "--steps"],
        ["replay", "probe-t1", "--steps", "--json"],
        ["replay", "probe-t1", "--to-generation", "2"],
        ["follow", "probe-t1", "--limit", "2"],
        ["dispatch", "probe", "poke", "t1"],
    ],
    ids=" ".join,
)
def test_apply_event_raising_while_folding_is_the_domains_error(
    escli: Run, tmp_path: Path, store_url: str, args: list[str]
) -> None:
    path = probe(
        tmp_path / "domains",
        apply="return state.evolve(pokes=state.pokes + 1 / (1 - state.generation))  # here",
    )
    seed(store_url, count=3)
    before = held(store_url)
    out = escli(*args, "--domains", str(path.parent))
    what = "Probe.apply_event raised ZeroDivisionError: division by zero (folding probe-t1 at"
    assert_domain_error(out, path, line_of(path), what)
    stderr = "\n".join(error_lines(out))
    assert re.search(r"^Error: .* \(folding probe-t1 at generation 2\)$", stderr, re.M)
    assert held(store_url) == before
    if "--json" in args:
        assert out.stdout == ""


def test_a_script_step_that_breaks_the_domain_ends_run_with_its_error(
    escli: Run, tmp_path: Path, store_url: str
) -> None:
    path = probe(tmp_path / "domains", handle="return [Poked(command.thing_id)][5]  # here")
    script = tmp_path / "script.txt"
    script.write_text("probe poke t1\n")
    out = escli("run", str(script), "--keep-going", "--domains", str(path.parent))
    assert_domain_error(out, path, line_of(path), "Probe.handle_command raised IndexError")
    assert held(store_url) == []


def test_a_scenario_that_breaks_the_domain_ends_test_with_its_error(
    escli: Run, tmp_path: Path
) -> None:
    path = probe(tmp_path / "domains", apply="return state.evolve(pokes=1 / 0)  # here")
    scenarios = tmp_path / "probe.scenarios.yaml"
    scenarios.write_text(
        "scenarios:\n"
        "  - name: poking\n"
        "    when: probe poke t1\n"
        "    then: {events: [{type: Poked}]}\n"
    )
    out = escli("test", str(scenarios), "--domains", str(path.parent))
    assert_domain_error(out, path, line_of(path), "Probe.apply_event raised ZeroDivisionError")


def test_a_domain_that_fails_to_import_fails_a_script_with_its_error(
    escli: Run, tmp_path: Path
) -> None:
    path = probe(tmp_path / "domains", imports="1 / 0  # here")
    script = tmp_path / "script.txt"
    script.write_text("probe poke t1\n")
    out = escli("run", str(script), "--domains", str(path.parent))
    assert_domain_error(out, path, line_of(path), "does not import: ZeroDivisionError")


@pytest.mark.parametrize("command", [["import"], ["replay", "--file"]], ids=" ".join)
def test_an_event_class_that_fails_while_decoding_a_file_is_the_domains_error(
    escli: Run, tmp_path: Path, store_url: str, command: list[str]
) -> None:
    path = probe(tmp_path / "domains")
    text = path.read_text().replace(
        "class Poked:\n    thing_id: str\n",
        "class Poked:\n    thing_id: str\n\n"
        "    def __post_init__(self):\n"
        "        raise RuntimeError('no')  # here\n",
    )
    path.write_text(text)
    events = tmp_path / "probe-t1.jsonl"
    event = {
        "specversion": "1.0",
        "id": "e1",
        "source": "events://test/probe",
        "type": "probe.Poked",
        "subject": "probe-t1",
        "time": "2026-01-01T00:00:00Z",
        "datacontenttype": "application/json",
        "typeversion": "1.0",
        "generation": 1,
        "data": {"thing_id": "t1"},
    }
    events.write_text(json.dumps(event) + "\n" + json.dumps({**event, "id": "e2", "generation": 2}))
    out = escli(*command, str(events), "--domains", str(path.parent))
    assert_domain_error(out, path, line_of(path), "Poked.__post_init__ raised RuntimeError: no")
    assert held(store_url) == []


# -- what handle_command emits is checked as stored data is, before the append -------------

EMITTED_BADLY = [
    ("Poked(5)", "Poked whose thing_id does not fit its annotation: expected a string, got 5"),
    ('Weighed("t1", "5")', "Weighed whose grams does not fit its annotation: expected an integer"),
    (
        'Weighed("t1", True)',
        "whose grams does not fit its annotation: expected an integer, got True",
    ),
    ('Weighed("t1", float("nan"))', "whose grams does not fit its annotation: expected an integer"),
    (
        'Weighed("t1", 1, float("inf"))',
        "whose ratio does not fit its annotation: expected a finite",
    ),
    ('Weighed("t1", 1, "1.5")', "whose ratio does not fit its annotation: expected a number"),
    (
        'Poked("\\ud800")',
        "whose thing_id does not fit its annotation: contains a lone surrogate U+D800",
    ),
    ('Weighed("t1", 10**5000)', "whose grams does not fit its annotation: an integer of more than"),
    ('Weighed("t1", {1})', "Weighed that cannot be stored: escli cannot encode {1}"),
]


@pytest.mark.parametrize(("emitted", "what"), EMITTED_BADLY, ids=[e for e, _ in EMITTED_BADLY])
@pytest.mark.parametrize("json_output", [False, True], ids=["text", "json"])
def test_an_event_that_does_not_fit_its_annotations_is_the_domains_error_and_not_stored(
    escli: Run, tmp_path: Path, store_url: str, emitted: str, what: str, json_output: bool
) -> None:
    path = probe(tmp_path / "domains", handle=f"return [Poked(command.thing_id), {emitted}]")
    out = escli(
        "dispatch",
        "probe",
        "poke",
        "t1",
        *(["--json"] * json_output),
        "--domains",
        str(path.parent),
    )
    frames = assert_domain_error(out, path, line_of(path, "def handle_command"), what)
    assert frames == []
    assert "Probe.handle_command handling Poke returned " in error_lines(out)[0]
    assert out.stdout == ""
    assert held(store_url) == []


def test_a_stream_stays_readable_after_a_refused_event(
    escli: Run, tmp_path: Path, store_url: str
) -> None:
    healthy = str(probe(tmp_path / "healthy").parent)
    nan = 'return [Weighed(command.thing_id, float("nan"))]'
    broken = str(probe(tmp_path / "broken", handle=nan).parent)
    assert escli("dispatch", "probe", "poke", "t1", "--domains", healthy).exit_code == 0
    assert escli("dispatch", "probe", "poke", "t1", "--domains", broken).exit_code == 11
    for args in (["replay", "probe-t1", "--json"], ["dispatch", "probe", "poke", "t1", "--json"]):
        out = escli(*args, "--domains", healthy)
        assert out.exit_code == 0, out.stderr
    assert json.loads(out.stdout)["events"][0]["generation"] == 2


def test_run_test_and_the_library_check_what_handle_command_emits(
    escli: Run, tmp_path: Path, store_url: str
) -> None:
    from escli import dispatch, load_domain

    path = probe(tmp_path / "domains", handle='return [Weighed(command.thing_id, "5")]')
    folder = str(path.parent)
    what = "Weighed whose grams does not fit its annotation: expected an integer, got '5'"
    where = line_of(path, "def handle_command")
    script = tmp_path / "script.txt"
    script.write_text("probe poke t1\n")
    assert_domain_error(
        escli("run", str(script), "--keep-going", "--domains", folder), path, where, what
    )
    scenarios = tmp_path / "probe.scenarios.yaml"
    scenarios.write_text(
        "scenarios:\n  - name: weighing\n    when: probe poke t1\n"
        "    then: {events: [{type: Weighed}]}\n"
    )
    assert_domain_error(escli("test", str(scenarios), "--domains", folder), path, where, what)
    assert held(store_url) == []
    domain = load_domain("probe", [path.parent])
    store = open_store("memory:")
    with pytest.raises(DomainError, match=what):
        dispatch(domain, domain.commands["poke"].cls("t1"), store)
    assert snapshot(store) == []
    with pytest.raises(DomainError, match=what):
        given(domain=domain).when(domain.commands["poke"].cls("t1"))


# -- apply_event and initial_state return a state ------------------------------------------

NOT_A_STATE = "not a state (an instance of an AggregateState dataclass)"


@pytest.mark.parametrize(
    ("method", "changes", "returned"),
    [
        ("apply_event", {"apply": "return None"}, "None"),
        ("apply_event", {"apply": "return 5"}, "5 (a int)"),
        ("apply_event", {"apply": "return event"}, "Poked(thing_id='t1') (a Poked)"),
        ("initial_state", {"initial": "return None"}, "None"),
        ("initial_state", {"initial": "return {}"}, "{} (a dict)"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
@pytest.mark.parametrize(
    "args",
    [
        ["dispatch", "probe", "poke", "t1"],
        ["dispatch", "probe", "poke", "t1", "--json"],
        ["replay", "probe-t1"],
        ["replay", "probe-t1", "--json"],
        ["replay", "probe-t1", "--steps"],
        ["follow", "probe-t1", "--limit", "1"],
    ],
    ids=" ".join,
)
def test_a_method_that_returns_no_state_is_the_domains_error(
    escli: Run,
    tmp_path: Path,
    store_url: str,
    method: str,
    changes: dict[str, str],
    returned: str,
    args: list[str],
) -> None:
    path = probe(tmp_path / "domains", **changes)
    if args[0] != "dispatch":
        seed(store_url, count=1)
    before = held(store_url)
    out = escli(*args, "--domains", str(path.parent))
    what = f"Probe.{method} returned {returned}, {NOT_A_STATE}"
    assert assert_domain_error(out, path, line_of(path, f"def {method}"), what) == []
    assert held(store_url) == before
    if "--json" in args:
        assert out.stdout == ""


def test_run_and_test_refuse_an_apply_event_that_returns_no_state(
    escli: Run, tmp_path: Path, store_url: str
) -> None:
    path = probe(tmp_path / "domains", apply="return None")
    folder = str(path.parent)
    what = f"Probe.apply_event returned None, {NOT_A_STATE} (handling Poke)"
    where = line_of(path, "def apply_event")
    script = tmp_path / "script.txt"
    script.write_text("probe poke t1\n")
    assert_domain_error(escli("run", str(script), "--domains", folder), path, where, what)
    scenarios = tmp_path / "probe.scenarios.yaml"
    scenarios.write_text(
        "scenarios:\n  - name: poking\n    when: probe poke t1\n"
        "    then: {events: [{type: Poked}]}\n"
    )
    assert_domain_error(escli("test", str(scenarios), "--domains", folder), path, where, what)
    assert held(store_url) == []


def test_apply_event_may_return_the_state_unchanged_or_another_state_class(
    escli: Run, tmp_path: Path
) -> None:
    """The generation is stamped on a copy of an unchanged state; a state of another
    ``AggregateState`` class (a state machine of classes) is a state too."""
    path = probe(tmp_path / "domains", apply="return state")
    folder = str(path.parent)
    for _ in range(2):
        out = escli("dispatch", "probe", "poke", "t1", "--json", "--domains", folder)
        assert out.exit_code == 0, out.stderr
    out = escli("replay", "probe-t1", "--json", "--domains", folder)
    assert json.loads(out.stdout)["generation"] == 2
    assert json.loads(out.stdout)["state"]["pokes"] == 0
    path.write_text(
        path.read_text().replace(
            "        return state\n",
            "        return Done(state.thing_id, state.pokes + 1)\n",
        )
        + "\n\n@dataclass(frozen=True)\nclass Done(Thing):\n    pass\n"
    )
    other = str(probe(tmp_path / "other").parent)
    (Path(other) / "probe.py").write_text(path.read_text())
    out = escli("replay", "probe-t1", "--json", "--domains", other)
    assert out.exit_code == 0, out.stderr
    assert (json.loads(out.stdout)["generation"], json.loads(out.stdout)["state"]["pokes"]) == (
        2,
        2,
    )


def test_a_rejection_of_several_lines_is_one_error_line(escli: Run, tmp_path: Path) -> None:
    path = probe(
        tmp_path / "domains",
        imports="from escli import CommandRejected",
        handle="raise CommandRejected('not today\\n  nor tomorrow\\r\\n\\nask later\\n')",
    )
    folder = str(path.parent)
    out = escli("dispatch", "probe", "poke", "t1", "--domains", folder)
    assert (out.exit_code, out.stderr) == (5, "Error: not today; nor tomorrow; ask later\n")
    out = escli("dispatch", "probe", "poke", "t1", "--json", "--domains", folder)
    assert json.loads(out.stderr) == {"error": "not today; nor tomorrow; ask later", "exit_code": 5}


def probe_event(generation: int, thing_id: str = "t1") -> dict[str, object]:
    return {
        "specversion": "1.0",
        "id": f"e{generation}",
        "source": "events://test/probe",
        "type": "probe.Poked",
        "subject": "probe-t1",
        "time": "2026-01-01T00:00:00Z",
        "datacontenttype": "application/json",
        "typeversion": "1.0",
        "generation": generation,
        "data": {"thing_id": thing_id},
    }


def probe_with_post_init(folder: Path, body: str) -> Path:
    """The probe domain whose ``Poked`` runs ``body`` in its ``__post_init__``."""
    path = probe(folder)
    path.write_text(
        path.read_text().replace(
            "class Poked:\n    thing_id: str\n",
            f"class Poked:\n    thing_id: str\n\n    def __post_init__(self):\n        {body}\n",
        )
    )
    return path


@pytest.mark.parametrize(
    ("fmt", "where"),
    [("jsonl", "{file}:2"), ("batch", "{file}: event 2"), ("event", "{file}")],
)
def test_the_library_raises_an_event_classs_failure_as_domain_error_at_its_event(
    tmp_path: Path, fmt: str, where: str
) -> None:
    from escli import load_domain
    from escli.cloudevents.formats import read_events
    from escli.cloudevents.importing import import_file

    path = probe_with_post_init(
        tmp_path / "domains", "if self.thing_id == 'bad': raise KeyError(self.thing_id)  # here"
    )
    domain = load_domain("probe", [path.parent])
    events = [probe_event(1), probe_event(2, "bad")] if fmt != "event" else [probe_event(1, "bad")]
    file = tmp_path / "probe.json"
    if fmt == "jsonl":
        file.write_text("".join(json.dumps(e) + "\n" for e in events))
    else:
        file.write_text(json.dumps(events if fmt == "batch" else events[0]))
    store = open_store("memory:")
    for attempt in (
        lambda: read_events(str(file), [domain]),
        lambda: import_file(str(file), [domain], store),
    ):
        with pytest.raises(DomainError) as caught:
            attempt()
        assert str(caught.value) == (
            f"{path}:{line_of(path)}: domain 'probe': Poked.__post_init__ raised KeyError: "
            f"'bad' (decoding the event at {where.format(file=file)})"
        )
        assert isinstance(caught.value.__cause__, KeyError)
    assert snapshot(store) == []


@pytest.mark.parametrize("command", [["import"], ["replay", "--file"]], ids=" ".join)
def test_what_an_event_class_prints_while_a_file_is_read_goes_to_stderr(
    escli: Run, tmp_path: Path, command: list[str]
) -> None:
    path = probe_with_post_init(tmp_path / "domains", "print('decoding', self.thing_id)")
    file = tmp_path / "probe-t1.jsonl"
    file.write_text("".join(json.dumps(probe_event(g)) + "\n" for g in (1, 2)))
    out = escli(*command, str(file), "--json", "--domains", str(path.parent))
    assert out.exit_code == 0, out.stderr
    json.loads(out.stdout)
    assert out.stderr.count("decoding t1\n") >= 2


# -- stdout is escli's ---------------------------------------------------------------------


def test_what_a_domain_prints_goes_to_stderr_and_json_stays_json(
    escli: Run, tmp_path: Path, store_url: str
) -> None:
    path = probe(
        tmp_path / "domains",
        imports="print('hello from import')",
        initial="print('starting'); return Thing(stream_id)",
        handle="print('handling'); return [Poked(command.thing_id)]",
        apply="print('applying'); return state.evolve(pokes=state.pokes + 1)",
    )
    folder = str(path.parent)
    out = escli("dispatch", "probe", "poke", "t1", "--json", "--domains", folder)
    assert out.exit_code == 0, out.stderr
    assert json.loads(out.stdout)["stream"] == "probe-t1"
    assert out.stderr == "hello from import\nstarting\nhandling\napplying\n"
    out = escli("replay", "probe-t1", "--json", "--domains", folder)
    assert json.loads(out.stdout)["state"]["pokes"] == 1
    out = escli("replay", "probe-t1", "--steps", "--json", "--domains", folder)
    assert json.loads(out.stdout)["state"]["pokes"] == 1
    assert "applying" in out.stderr
    out = escli("domains", "probe", "--json", "--domains", folder)
    assert json.loads(out.stdout)["name"] == "probe"
    assert out.stderr == "starting\n"


# -- helper modules beside the domains ---------------------------------------------------


def test_a_domain_imports_a_helper_module_beside_it(escli: Run, tmp_path: Path) -> None:
    path = probe(
        tmp_path / "domains",
        imports="from probe_words import shout",
        handle="return [Poked(shout(command.thing_id))]",
    )
    (path.parent / "probe_words.py").write_text("def shout(text):\n    return text.upper()\n")
    out = escli("dispatch", "probe", "poke", "t1", "--json", "--domains", str(path.parent))
    assert out.exit_code == 0, out.stderr
    assert json.loads(out.stdout)["events"][0]["data"] == {"thing_id": "T1"}


def test_a_helper_module_is_skipped_by_listing_with_a_note(escli: Run, tmp_path: Path) -> None:
    path = probe(tmp_path / "domains", imports="import probe_notes")
    helper = path.parent / "probe_notes.py"
    helper.write_text("NOTE = 1\n")
    out = escli("domains", "--domains", str(path.parent))
    assert out.exit_code == 0, out.stderr
    assert [line.split()[0] for line in out.stdout.splitlines()[1:]] == ["combat", "probe"]
    assert out.stderr == (
        f"{helper}: no `domain` in it, skipped (a helper module for its siblings)\n"
    )
    out = escli("dispatch", "probe_notes", "poke", "t1", "--domains", str(path.parent))
    assert out.exit_code == 3
    assert "probe_notes.py has no `domain` (a helper module" in out.stderr


@pytest.mark.parametrize("helper", ["aa_once", "zz_once"], ids=["listed first", "listed last"])
def test_a_helper_module_runs_once_and_is_the_module_its_sibling_imports(
    escli: Run, tmp_path: Path, helper: str
) -> None:
    path = probe(tmp_path / "domains", imports=f"import {helper}\nHELPER = {helper}")
    (path.parent / f"{helper}.py").write_text(f"print('importing {helper}')\n")
    out = escli("domains", "--domains", str(path.parent))
    assert out.exit_code == 0, out.stderr
    assert out.stderr.count(f"importing {helper}") == 1, out.stderr
    out = escli("dispatch", "probe", "poke", "t1", "--domains", str(path.parent))
    assert out.exit_code == 0, out.stderr
    assert f"importing {helper}" not in out.stderr
    import sys

    from escli import DomainRegistry

    registry = DomainRegistry([path.parent])
    registry.load_all()
    domain_module = sys.modules[type(registry.get("probe").aggregate_impl).__module__]
    assert domain_module.HELPER is sys.modules[helper]


def test_listing_shows_the_domains_that_load_and_fails_with_the_broken_one(
    escli: Run, tmp_path: Path
) -> None:
    path = probe(tmp_path / "domains", imports="1 / 0  # here")
    out = escli("domains", "--domains", str(path.parent))
    assert [line.split()[0] for line in out.stdout.splitlines()[1:]] == ["combat"]
    assert_domain_error(out, path, line_of(path), "does not import: ZeroDivisionError")


def test_a_failing_helper_shows_the_helpers_frames_too(escli: Run, tmp_path: Path) -> None:
    path = probe(
        tmp_path / "domains",
        imports="from probe_math import halve",
        handle="return [Poked(halve(command.thing_id))]  # caller",
    )
    helper = path.parent / "probe_math.py"
    helper.write_text("def halve(text):\n    return text / 2  # here\n")
    out = escli("dispatch", "probe", "poke", "t1", "--domains", str(path.parent))
    assert out.exit_code == 11, out.stderr
    first = out.stderr.splitlines()[0]
    assert first.startswith(f"Error: {helper}:2: domain 'probe': Probe.handle_command raised ")
    frames = [x.strip() for x in out.stderr.splitlines() if x.lstrip().startswith('File "')]
    assert frames == [
        f'File "{path}", line {line_of(path, "# caller")}, in handle_command',
        f'File "{helper}", line 2, in halve',
    ]


def test_a_helper_name_in_two_domains_folders_is_refused(escli: Run, tmp_path: Path) -> None:
    first = tmp_path / "one"
    second = tmp_path / "two"
    for folder, name in ((first, "alpha"), (second, "beta")):
        folder.mkdir()
        (folder / "clash_words.py").write_text("def where():\n    return __file__\n")
        (folder / f"{name}.py").write_text(
            PROBE.format(**{**HEALTHY, "imports": "from clash_words import where"}).replace(
                'Domain("probe"', f'Domain("{name}"'
            )
        )
    out = escli("domains", "--domains", str(first), "--domains", str(second))
    assert out.exit_code == 11, out.stderr
    assert re.search(
        r"two/beta.py: 'clash_words' is imported from .*one/clash_words.py, not from the "
        r"'clash_words' beside it: two domains folders hold a module of that name; rename one",
        out.stderr,
    ), out.stderr


# -- the library --------------------------------------------------------------------------


def test_the_library_raises_domain_error_with_the_original_as_its_cause(
    tmp_path: Path,
) -> None:
    from escli import dispatch, load_domain

    path = probe(tmp_path / "domains", handle="return [Poked(command.thing_id)][5]  # here")
    domain = load_domain("probe", [path.parent])
    command = domain.commands["poke"].cls("t1")
    with pytest.raises(DomainError) as caught:
        dispatch(domain, command, open_store("memory:"))
    assert isinstance(caught.value.__cause__, IndexError)
    assert caught.value.traceback.splitlines()[-1] == "IndexError: list index out of range"


def test_escli_testing_lets_the_original_exception_reach_pytest(tmp_path: Path) -> None:
    from escli import load_domain

    path = probe(tmp_path / "domains", handle="return [Poked(command.thing_id)][5]  # here")
    domain = load_domain("probe", [path.parent])
    with pytest.raises(IndexError):
        given(domain=domain).when(domain.commands["poke"].cls("t1"))


def test_escli_testing_refuses_a_handle_command_that_returns_one_event(tmp_path: Path) -> None:
    from escli import load_domain

    path = probe(tmp_path / "domains", handle="return Poked(command.thing_id)")
    domain = load_domain("probe", [path.parent])
    with pytest.raises(DomainError, match="returned one Poked, not a list"):
        given(domain=domain).when(domain.commands["poke"].cls("t1"))


def test_a_command_rejected_by_the_domain_stays_exit_5(escli: Run, tmp_path: Path) -> None:
    path = probe(
        tmp_path / "domains",
        imports="from escli import CommandRejected",
        handle="raise CommandRejected('not today')",
    )
    out = escli("dispatch", "probe", "poke", "t1", "--domains", str(path.parent))
    assert (out.exit_code, out.stderr) == (5, "Error: not today\n")


def test_an_escli_bug_keeps_its_whole_traceback() -> None:
    """Only failures raised through a domain's files are the author's."""
    from escli.domain.calls import failure

    try:
        textwrap.dedent(None)  # type: ignore[arg-type]
    except TypeError as e:
        assert failure("probe", str(Path(__file__).parent / "nowhere"), e) is None


def test_a_domain_attribute_that_is_not_a_domain_is_the_authors_error(
    escli: Run, tmp_path: Path
) -> None:
    folder = tmp_path / "domains"
    folder.mkdir()
    (folder / "probe.py").write_text("domain = 'probe'\n")
    out = escli("dispatch", "probe", "poke", "t1", "--domains", str(folder))
    assert (out.exit_code, out.stderr) == (
        11,
        f"Error: {folder / 'probe.py'}: `domain` is str 'probe', not an escli Domain\n",
    )


def test_an_installed_domain_that_fails_to_import_shows_its_packages_frames(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from escli import DomainRegistry

    package = tmp_path / "site" / "ghostpkg"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("from ghostpkg.parts import domain\n")
    (package / "parts.py").write_text("import json\n\njson.loads('{')  # here\n")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    registry = DomainRegistry()
    monkeypatch.setattr(registry, "_entry_points", {"ghost": "ghostpkg:domain"})
    with pytest.raises(DomainError) as caught:
        registry.get("ghost")
    assert str(caught.value) == (
        f"{package / 'parts.py'}:3: domain 'ghost' does not import: "
        "json.decoder.JSONDecodeError: Expecting property name enclosed in double quotes: "
        "line 1 column 2 (char 1)"
    )
    frames = [x for x in caught.value.traceback.splitlines() if x.lstrip().startswith("File")]
    assert frames == [
        f'  File "{package / "__init__.py"}", line 1, in <module>',
        f'  File "{package / "parts.py"}", line 3, in <module>',
    ]


def test_listing_as_json_with_a_broken_domain_prints_nothing_on_stdout(
    escli: Run, tmp_path: Path
) -> None:
    path = probe(tmp_path / "domains", imports="1 / 0  # here")
    out = escli("domains", "--json", "--domains", str(path.parent))
    assert (out.exit_code, out.stdout) == (11, "")
    error = json.loads(out.stderr.splitlines()[0])
    assert error["exit_code"] == 11
    assert "does not import: ZeroDivisionError" in error["error"]


def test_from_cloudevent_raises_an_event_classs_failure_as_domain_error(tmp_path: Path) -> None:
    from cloudevents.core.v1.event import CloudEvent

    from escli import load_domain
    from escli.cloudevents.sdk import from_cloudevent

    path = probe_with_post_init(tmp_path / "domains", "raise KeyError(self.thing_id)  # here")
    domain = load_domain("probe", [path.parent])
    event = probe_event(1)
    attributes = {k: v for k, v in event.items() if k not in ("data", "time")}
    ce = CloudEvent(attributes, event["data"])
    with pytest.raises(DomainError) as caught:
        from_cloudevent(ce, [domain])
    assert str(caught.value) == (
        f"{path}:{line_of(path)}: domain 'probe': Poked.__post_init__ raised KeyError: "
        f"'t1' (decoding CloudEvent {event['id']})"
    )
    assert isinstance(caught.value.__cause__, KeyError)
