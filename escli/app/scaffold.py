"""``escli init --domain NAME``: a new domain module, its scenario file and its pytest file,
written so that ``escli test`` and ``pytest`` pass on them as generated.

The domain is small and complete (a thing that is created, then counted up): two commands,
two events, a state, an aggregate with a rule each way, so that every part a domain has is
there to be renamed rather than looked up. Decisions:

- **One file per domain** (``domains/NAME.py``): the smallest thing that works; it can grow
  into a package (``domains/NAME/__init__.py``) later without escli noticing.
- **Nothing is overwritten**: every file is checked first, and one that exists stops the
  whole scaffold before anything is written.
- **NAME is a Python module name** (lower case, digits, ``_``), because the file's name is the
  domain's name and the tests import it: not a keyword (``class``), and no module Python
  already finds (``json``, ``yaml``, the standard library's and what is installed), which
  the generated test's ``from NAME import ...`` would import instead.
- **Planned, then written**: ``planned_scaffold`` checks every name and file and returns
  the texts, so that ``escli init`` can check all it will do (the project file, the store
  URL) before it writes the first file.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from escli.errors import InvalidInput

__all__ = ["Scaffold", "planned_scaffold", "scaffold_domain", "write_scaffold"]

_NAME = re.compile(r"[a-z][a-z0-9_]*")


@dataclass(frozen=True)
class Scaffold:
    """What was written: the domain module, the scenario file and the pytest file."""

    domain: str
    scenarios: str
    tests: str

    @property
    def paths(self) -> list[str]:
        return [self.domain, self.scenarios, self.tests]


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_") if part)


def _check_name(name: str) -> None:
    import importlib.util
    import keyword
    import sys

    problem = None
    if not _NAME.fullmatch(name):
        problem = "lower case letters, digits and _, starting with a letter"
    elif keyword.iskeyword(name) or keyword.issoftkeyword(name):
        problem = "not a Python keyword"
    elif name in sys.stdlib_module_names or name in {"escli", "tests", "domains"}:
        problem = "not a module Python has already"
    else:
        from escli.domain.discovery import domain_folders

        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            spec = None
        origin = os.path.dirname(os.path.abspath(spec.origin)) if spec and spec.origin else ""
        # A domain of a folder this process loaded is on sys.path too; it is not installed.
        if spec is not None and origin not in domain_folders():
            problem = "not a module that is installed already"
    if problem:
        raise InvalidInput(
            f"domain name {name!r} must be a Python module name: {problem} (the file's name "
            "is the domain's, and its tests import it)"
        )


def planned_scaffold(folder: str, names: list[str]) -> dict[str, str]:
    """The files of new domains ``names`` under ``folder`` (path -> text), checked and not
    written: ``InvalidInput`` for a bad or repeated name, or a file that exists."""
    files: dict[str, str] = {}
    for name in names:
        _check_name(name)
        values = {"name": name, "Name": _camel(name), "id": f"{name}_id"}
        for path, template in (
            (os.path.join(folder, "domains", f"{name}.py"), DOMAIN),
            (os.path.join(folder, "scenarios", f"{name}.yaml"), SCENARIOS),
            (os.path.join(folder, "tests", f"test_{name}.py"), TESTS),
        ):
            if path in files:
                raise InvalidInput(f"domain {name!r} is named twice; nothing was written")
            if os.path.exists(path):
                raise InvalidInput(f"{path} already exists; nothing was written")
            files[path] = template.format(**values)
    return files


def write_scaffold(files: dict[str, str]) -> list[Scaffold]:
    """Write what ``planned_scaffold`` planned; each domain's three files."""
    for path, text in files.items():
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "x", encoding="utf-8") as f:
            f.write(text)
    paths = list(files)
    return [Scaffold(*paths[i : i + 3]) for i in range(0, len(paths), 3)]


def scaffold_domain(folder: str, name: str) -> Scaffold:
    """Write ``domains/NAME.py``, ``scenarios/NAME.yaml`` and ``tests/test_NAME.py`` under
    ``folder``; ``InvalidInput`` (nothing written) for a bad name or a file that exists."""
    return write_scaffold(planned_scaffold(folder, [name]))[0]


DOMAIN = '''\
"""The {name} domain: a {name} is created, then counted up.

Commands are orders (Create, Increment); events are facts (Created, Incremented); the
aggregate decides with handle_command and remembers with apply_event. Rename freely.
"""

from dataclasses import dataclass

from escli import AggregateState, CommandRejected, Domain

domain = Domain(
    "{name}",
    source="events://example/{name}",
    stream_field="{id}",
    description="A {name} that is created, then counted up.",
)


@dataclass(frozen=True)
class {Name}(AggregateState):
    """The state of one {name}: generation comes from AggregateState, never set it."""

    {id}: str
    title: str = ""
    count: int = 0
    created: bool = False


@domain.command
@dataclass(frozen=True)
class Create:
    """Create a {name} with its title."""

    {id}: str
    title: str


@domain.command
@dataclass(frozen=True)
class Increment:
    """Count a {name} up by BY (1 unless told)."""

    {id}: str
    by: int = 1


@domain.event(version="1.0")
@dataclass(frozen=True)
class Created:
    """A {name} was created."""

    {id}: str
    title: str


@domain.event(version="1.0")
@dataclass(frozen=True)
class Incremented:
    """A {name} was counted up."""

    {id}: str
    by: int


@domain.aggregate
class {Name}Aggregate:
    def initial_state(self, stream_id: str) -> {Name}:
        return {Name}(stream_id)

    def handle_command(self, state: {Name}, command: Create | Increment) -> list[object]:
        match command:
            case Create({id}, title):
                if state.created:
                    raise CommandRejected(f"{{{id}}} already exists")
                return [Created({id}, title)]
            case Increment({id}, by):
                if not state.created:
                    raise CommandRejected(f"{{{id}}} does not exist: create it first")
                if by <= 0:
                    raise CommandRejected(f"by must be positive, got {{by}}")
                return [Incremented({id}, by)]
        raise CommandRejected(f"unknown command {{command!r}}")

    def apply_event(self, state: {Name}, event: Created | Incremented) -> {Name}:
        match event:
            case Created(_, title):
                return state.evolve(title=title, created=True)
            case Incremented(_, by):
                return state.evolve(count=state.count + by)
        return state
'''

SCENARIOS = """\
# The {name} rules as given/when/then:  escli test scenarios/
domain: {name}
scenarios:
  - name: a new {name} is created with its title
    when: create first "The first one"
    then:
      events: [{{type: Created, data: {{title: The first one}}}}]
      state: {{created: true, count: 0}}
      generation: 1

  - name: counting up adds to the count
    given:
      - {{type: Created, data: {{{id}: first, title: One}}}}
      - {{type: Incremented, data: {{{id}: first, by: 2}}}}
    when: increment first
    then:
      events: [{{type: Incremented, data: {{by: 1}}}}]
      state: {{count: 3}}

  - name: a {name} that does not exist cannot be counted
    when: increment nobody 1
    then:
      error: {{kind: rejected, message: does not exist}}
"""

TESTS = '''\
"""The {name} rules, as given/when/then with no store, and its scenario file."""

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "domains"))  # the domain modules, as escli finds them

from {name} import Create, Created, Increment, Incremented  # noqa: E402

from escli.testing import given, scenarios_from  # noqa: E402


def test_a_new_{name}_is_created_with_its_title():
    given().when(Create("first", "One")).then(Created("first", "One")).then_state(
        created=True, count=0, generation=1
    )


def test_counting_up_adds_to_the_count():
    given(Created("first", "One"), Incremented("first", 2)).when(Increment("first")).then(
        Incremented("first", 1)
    ).then_state(count=3, generation=3)


def test_creating_twice_is_rejected():
    given(Created("first", "One")).when(Create("first", "Again")).then_rejected(
        "already exists"
    )


@pytest.mark.parametrize(
    "scenario",
    scenarios_from(HERE.parent / "scenarios" / "{name}.yaml", [str(HERE.parent / "domains")]),
    ids=str,
)
def test_the_scenario_file(scenario):
    scenario.check()
'''
