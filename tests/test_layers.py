"""Imports run one way: no cycle among escli's modules, and every import points down the
layers (``STYLE.md``, issue 12).

Every module under ``escli/`` is parsed (``ast``, nothing is imported) and each import it
can run is an edge: at module level and inside functions alike, since an import inside a
function closes a cycle as surely when it runs. Only imports under ``if TYPE_CHECKING:``
are left out: they never run. ``from package import name`` is an edge to the submodule
``package.name`` when there is one, else to the package; importing a submodule is not
counted as an edge to its parent packages (Python runs their ``__init__`` first, but that
is how packages work, not a cycle).

The layers, top to bottom; a module may import its own package and anything below it:

    escli/__main__                                     (``python -m escli``)
    cli, testing, escli/__init__                       (side by side)
    scripts
    app
    sinks
    jetstream                                          (beside cloudevents; may import it)
    cloudevents
    stores
    domain
    jsontext, text, times, urls, suggest               (one tier: they may import each other)
    errors
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

from tests.conftest import ROOT

PACKAGE = ROOT / "escli"

# Higher imports lower. Top-level modules and packages of escli, by name.
RANKS: dict[str, float] = {
    "errors": 0,
    "jsontext": 1,
    "text": 1,
    "times": 1,
    "urls": 1,
    "suggest": 1,
    "domain": 2,
    "stores": 3,
    "cloudevents": 4,
    "jetstream": 4.5,
    "sinks": 5,
    "app": 6,
    "scripts": 7,
    "cli": 8,
    "testing": 8,
    "__init__": 8,
    "__main__": 9,  # ``python -m escli``: runs the CLI
}
# The tier of small helpers below the domain: one group, whose members may import each other.
HELPERS = frozenset(name for name, rank in RANKS.items() if rank == 1)

# Imports that break the layering today, in files other helpers of issue 12 own; each is
# (importer, imported). The coordinator empties this list as the branches merge.
ALLOWED_UPWARD: frozenset[tuple[str, str]] = frozenset()

# Cycles that exist today, as the sorted modules of each; emptied like ALLOWED_UPWARD.
ALLOWED_CYCLES: frozenset[frozenset[str]] = frozenset()


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    """Every module of escli, by dotted name."""
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _is_type_checking(test: ast.expr) -> bool:
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


def _runtime_imports(tree: ast.AST) -> Iterable[ast.Import | ast.ImportFrom]:
    """The import statements of ``tree`` that can run: all but those under
    ``if TYPE_CHECKING:`` (its ``else:`` runs, so it is searched)."""
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(node.orelse)
        else:
            stack.extend(ast.iter_child_nodes(node))


def imported(name: str, path: Path, known: Mapping[str, Path] | frozenset[str]) -> set[str]:
    """The escli modules that module ``name`` (at ``path``) imports at run time."""
    is_package = path.name == "__init__.py"
    targets: set[str] = set()
    for node in _runtime_imports(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
            continue
        base = node.module or ""
        if node.level:  # relative: from the module's own package up
            package = name.split(".") if is_package else name.split(".")[:-1]
            package = package[: len(package) - (node.level - 1)]
            base = ".".join([*package, *([base] if base else [])])
        for alias in node.names:
            submodule = f"{base}.{alias.name}"
            targets.add(submodule if submodule in known else base)
    return {target for target in targets if target in known and target != name}


def import_graph() -> dict[str, set[str]]:
    found = modules()
    return {name: imported(name, path, found) for name, path in found.items()}


def cycles(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """The strongly connected components of ``graph`` that hold a cycle (more than one
    node, or one that imports itself), each sorted; Tarjan's algorithm, without recursion."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.get(root, ()))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in graph.get(node, ()):
                    found.append(sorted(component))
    return sorted(found)


def layer(module: str) -> str:
    """The layer a module belongs to: the top-level module or package under escli."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def may_import(importer: str, target: str) -> bool:
    """Whether the layering lets ``importer`` import ``target``."""
    mine, theirs = layer(importer), layer(target)
    if mine == theirs or (mine in HELPERS and theirs in HELPERS):
        return True
    return RANKS[mine] > RANKS[theirs]


def upward_imports(graph: Mapping[str, Iterable[str]]) -> list[tuple[str, str]]:
    return sorted(
        (importer, target)
        for importer, targets in graph.items()
        for target in targets
        if not may_import(importer, target)
    )


# -- the rules, on escli ------------------------------------------------------------------


def test_every_layer_is_ranked() -> None:
    assert {layer(name) for name in modules()} <= set(RANKS)


def test_no_import_cycle_among_escli_modules() -> None:
    found = [c for c in cycles(import_graph()) if frozenset(c) not in ALLOWED_CYCLES]
    assert not found, "import cycles:\n" + "\n".join("  " + " <-> ".join(c) for c in found)


def test_imports_point_down_the_layers() -> None:
    found = [edge for edge in upward_imports(import_graph()) if edge not in ALLOWED_UPWARD]
    assert not found, "imports up the layers:\n" + "\n".join(f"  {a} -> {b}" for a, b in found)


def test_the_allow_lists_hold_only_what_is_still_there() -> None:
    """An entry that no longer happens is taken off, so the lists only ever shrink."""
    graph = import_graph()
    assert set(upward_imports(graph)) >= ALLOWED_UPWARD
    assert {frozenset(c) for c in cycles(graph)} >= ALLOWED_CYCLES


# -- the finder itself, on made-up graphs ---------------------------------------------------


@pytest.mark.parametrize(
    ("graph", "expected"),
    [
        ({"a": {"b"}, "b": {"c"}, "c": set()}, []),
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}}, [["a", "b", "c"]]),
        ({"a": {"a"}}, [["a"]]),
        (
            {"a": {"b"}, "b": {"a"}, "c": {"d"}, "d": {"c", "e"}, "e": set()},
            [["a", "b"], ["c", "d"]],
        ),
        ({"a": {"b", "c"}, "b": {"d"}, "c": {"d"}, "d": set()}, []),  # a diamond is no cycle
        ({"x": {"y"}, "y": {"z"}, "z": {"y"}}, [["y", "z"]]),  # x only leads into it
    ],
)
def test_the_cycle_finder_finds_exactly_the_cycles(
    graph: dict[str, set[str]], expected: list[list[str]]
) -> None:
    assert cycles(graph) == expected


def test_imports_inside_functions_count_and_type_checking_ones_do_not(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    source = tmp_path / "pkg" / "low.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "import pkg.sib\n"
        "if TYPE_CHECKING:\n"
        "    from pkg.high import Thing\n"
        "else:\n"
        "    from pkg import other\n"
        "def later():\n"
        "    from .high import thing\n"
        "    from . import sub\n"
    )
    known = frozenset({"pkg", "pkg.low", "pkg.high", "pkg.sib", "pkg.other", "pkg.sub"})
    assert imported("pkg.low", source, known) == {"pkg.sib", "pkg.other", "pkg.high", "pkg.sub"}
    source.write_text("if TYPE_CHECKING:\n    from pkg.high import Thing\n")
    assert imported("pkg.low", source, known) == set()


def test_a_cycle_through_an_import_inside_a_function_is_found() -> None:
    graph = {"escli.app.a": {"escli.app.b"}, "escli.app.b": {"escli.app.a"}}  # b's in a function
    assert cycles(graph) == [["escli.app.a", "escli.app.b"]]


def test_the_layering_refuses_an_upward_import_and_allows_the_rest() -> None:
    assert may_import("escli.cli.dispatch", "escli.app.dispatch")
    assert may_import("escli.domain.model", "escli.domain.calls")
    assert may_import("escli.suggest", "escli.text")
    assert may_import("escli.jetstream.follow", "escli.cloudevents.parser")
    assert may_import("escli.sinks.nats", "escli.jetstream.connection")
    assert not may_import("escli.cloudevents.parser", "escli.jetstream.connection")
    assert not may_import("escli.domain.model", "escli.stores.base")
    assert not may_import("escli.errors", "escli.text")
    assert not may_import("escli.app.fold", "escli.scripts.running")
    assert not may_import("escli.cli.app", "escli.testing")
    assert upward_imports({"escli.stores.base": {"escli.app.fold", "escli.errors"}}) == [
        ("escli.stores.base", "escli.app.fold")
    ]
