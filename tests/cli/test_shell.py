"""`escli shell`'s lines: run as the CLI runs them against one open store, `use` contexts
and the dispatch rewrite, `:save` as an `escli run` script, piped lines and exit codes.
What is typed at the prompt is in test_shell_prompt.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from escli.cli import cli
from escli.cli.workbench import Workbench
from tests.conftest import Run, open_store

# A domain whose stream field is not its commands' first field.
SHOP = """
from dataclasses import dataclass
from typing import Any

from escli import AggregateState, Domain

domain = Domain("shop", source="test://shop", stream_field="cart")


@domain.command
@dataclass(frozen=True)
class AddItem:
    quantity: int
    cart: str


@domain.event(version="1.0")
@dataclass(frozen=True)
class ItemAdded:
    quantity: int
    cart: str


@dataclass(frozen=True)
class Cart(AggregateState):
    items: int = 0


@domain.aggregate
class Shop:
    def initial_state(self, stream_id: str) -> Cart:
        return Cart()

    def handle_command(self, state: Cart, command: Any) -> list[Any]:
        return [ItemAdded(command.quantity, command.cart)]

    def apply_event(self, state: Cart, event: Any) -> Cart:
        return state.evolve(items=state.items + event.quantity)
"""


@pytest.fixture
def shop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "domains"
    folder.mkdir()
    (folder / "shop.py").write_text(SHOP)
    monkeypatch.setenv("ESCLI_DOMAINS", str(folder))
    return folder


def events(store_url: str, stream: str) -> list[dict[str, object]]:
    return [r.data for r in open_store(store_url).read(stream)]


# -- lines run as the CLI runs them ---------------------------------------------------------


def test_a_line_prints_and_fails_exactly_as_the_cli_command(escli: Run) -> None:
    alone = escli("dispatch", "combat", "attack", "ghost", "5")
    in_shell = escli("shell", input="dispatch combat attack ghost 5\n")
    assert alone.exit_code == 5
    assert (in_shell.exit_code, in_shell.stdout, in_shell.stderr) == (
        alone.exit_code,
        alone.stdout,
        alone.stderr,
    )
    assert escli("shell", input="domains\n").stdout == escli("domains").stdout


def test_piped_lines_share_one_session_and_a_leading_escli_is_dropped(
    escli: Run, store_url: str
) -> None:
    out = escli("shell", input="use combat-ogre\nattack 150\nescli heal ogre 50\n")
    assert out.exit_code == 0, out.stderr
    assert "combat-ogre  generation 0 → 1\n" in out.stdout
    assert "combat-ogre  generation 1 → 2\n" in out.stdout
    assert events(store_url, "combat-ogre") == [
        {"entity_id": "ogre", "damage": 150, "weapon": "fists"},
        {"entity_id": "ogre", "amount": 50},
    ]


def test_the_store_is_opened_once_for_all_lines_and_closed_when_the_shell_ends(
    store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from escli import stores

    opened = []
    real = stores.open_store

    def counting(url: str) -> object:
        opened.append(url)
        return real(url)

    monkeypatch.setattr(stores, "open_store", counting)
    monkeypatch.setenv("NO_COLOR", "1")
    lines = "dispatch combat attack ogre 1\nuse combat-ogre\nattack 2\nreplay combat-ogre\n"
    result = CliRunner().invoke(cli, ["shell", "--store", store_url], input=lines)
    assert result.exit_code == 0, result.stderr
    assert opened == [store_url]
    assert not (tmp_path / "events.db-wal").exists()  # closed: SQLite folded its log in


def test_a_piped_failure_stops_the_shell_with_its_exit_code(escli: Run, store_url: str) -> None:
    out = escli("shell", input="dispatch combat attack ghost 5\ndispatch combat spawn imp 10\n")
    assert out.exit_code == 5
    assert out.stderr == "Error: ghost is immortal: attacks pass through it\n"
    assert events(store_url, "combat-imp") == []


def test_keep_going_runs_every_line_and_exits_with_the_first_failure_s_code(
    escli: Run, store_url: str
) -> None:
    lines = "dispatch combat attack ghost 5\nnope\ndispatch combat spawn imp 10\n"
    out = escli("shell", "--keep-going", input=lines)
    assert out.exit_code == 5
    assert out.stderr == (
        "Error: ghost is immortal: attacks pass through it\n"
        "Error: No such command 'nope'. (see 'escli --help')\n"
    )
    assert events(store_url, "combat-imp") == [{"entity_id": "imp", "hitpoints": 10}]


def test_blank_lines_and_comments_are_skipped_and_exit_leaves(escli: Run, store_url: str) -> None:
    lines = "\n   \n# a comment\ndispatch combat spawn imp 10  # trailing\nexit\nnope\n"
    out = escli("shell", input=lines)
    assert (out.exit_code, out.stderr) == (0, "")
    assert events(store_url, "combat-imp") == [{"entity_id": "imp", "hitpoints": 10}]


def test_an_unclosed_quote_is_a_usage_error_and_the_shell_goes_on(escli: Run) -> None:
    out = escli("shell", "--keep-going", input="dispatch combat spawn 'imp 10\ndomains\n")
    assert out.exit_code == 2
    assert out.stderr == "Error: cannot read the line: No closing quotation\n"
    assert out.stdout == escli("domains").stdout


def test_json_on_one_line_does_not_leak_into_the_next(escli: Run) -> None:
    out = escli("shell", input="dispatch combat spawn imp 10 --json\nstreams\n")
    assert out.exit_code == 0, out.stderr
    first, *rest = out.stdout.splitlines()
    assert first.startswith('{"stream": "combat-imp"')
    assert rest == escli("streams").stdout.splitlines()


def test_store_and_domains_in_a_line_are_refused_as_the_shell_s_own(escli: Run) -> None:
    out = escli("shell", "--keep-going", input="streams --store memory:\nstreams --domains=x\n")
    assert out.exit_code == 2
    assert out.stderr == (
        "Error: --store is the shell's own: start another shell with escli shell --store URL "
        "--domains PATH\n"
        "Error: --domains is the shell's own: start another shell with escli shell --store URL "
        "--domains PATH\n"
    )


def test_a_shell_inside_the_shell_is_refused(escli: Run) -> None:
    out = escli("shell", input="shell\n")
    assert (out.exit_code, out.stderr) == (2, "Error: already in the shell\n")


def test_a_bug_shows_its_traceback_and_does_not_end_the_shell(
    escli: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr("escli.app.dispatch.dispatch", broken)
    out = escli("shell", "--keep-going", input="dispatch combat spawn imp 10\ndomains\n")
    assert out.exit_code == 1
    assert "Traceback (most recent call last):" in out.stderr
    assert out.stderr.rstrip().endswith("RuntimeError: boom")
    assert out.stdout == escli("domains").stdout


def test_a_system_exit_from_a_line_is_its_exit_code_not_the_shell_s_end(
    escli: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    def exiting(*args: object, **kwargs: object) -> None:
        raise SystemExit(3)

    monkeypatch.setattr("escli.app.dispatch.dispatch", exiting)
    out = escli("shell", "--keep-going", input="dispatch combat spawn imp 10\ndomains\n")
    assert out.exit_code == 3
    assert out.stdout == escli("domains").stdout


# -- contexts and the rewrite ---------------------------------------------------------------


def test_use_sets_and_clears_the_context(bench: Workbench) -> None:
    assert bench.prompt() == "escli> "
    assert bench.run_line("use combat") == 0
    assert (bench.context.domain, bench.context.stream, bench.prompt()) == (
        "combat",
        None,
        "escli combat> ",
    )
    assert bench.run_line("use combat-big-ogre") == 0
    assert (bench.context.stream_id, bench.prompt()) == ("big-ogre", "escli combat-big-ogre> ")
    assert bench.run_line("use") == 0
    assert bench.context.domain is None


def test_use_of_an_unknown_domain_is_not_found_and_keeps_the_context(escli: Run) -> None:
    lines = "use combat\nuse nothing\nuse combat-\nspawn imp 1\n"
    out = escli("shell", "--keep-going", input=lines)
    assert out.exit_code == 3
    assert out.stderr == (
        "Error: unknown domain 'nothing' (known: combat)\n"
        "Error: use combat-: the stream id after '-' is missing\n"
    )
    assert "combat-imp  generation 0 → 1" in out.stdout


@pytest.mark.parametrize(
    ("line", "dispatched"),
    [
        ("attack 150", "attack ogre 150"),
        ("attack 150 axe", "attack ogre 150 axe"),
        ("attack --damage 5", "attack ogre --damage 5"),
        ("attack 150 --dry-run", "attack ogre 150 --dry-run"),
        ("attack -- 150", "attack ogre -- 150"),
        # the line names its stream itself: by name, or with every field given
        ("attack --entity-id troll 150", "attack --entity-id troll 150"),
        ("attack --entity-id=troll 150", "attack --entity-id=troll 150"),
        ("attack troll 150 axe", "attack troll 150 axe"),
        ("attack troll --weapon axe 150", "attack troll --weapon axe 150"),
        # not all fields: the id still goes in, and troll is then the damage
        ("attack troll 150", "attack ogre troll 150"),
    ],
)
def test_a_stream_context_puts_its_id_in_unless_the_line_names_the_stream(
    bench: Workbench, line: str, dispatched: str
) -> None:
    bench.use(["combat-ogre"])
    assert bench.rewrite(line.split()) == ["dispatch", "combat", *dispatched.split()]


def test_a_domain_context_rewrites_only_the_domain_s_commands(bench: Workbench) -> None:
    assert bench.rewrite(["attack", "ogre", "1"]) == ["attack", "ogre", "1"]  # no context
    bench.use(["combat"])
    assert bench.rewrite(["attack", "ogre", "1"]) == ["dispatch", "combat", "attack", "ogre", "1"]
    assert bench.rewrite(["streams"]) == ["streams"]
    assert bench.rewrite(["fly", "ogre"]) == ["fly", "ogre"]


def test_a_stream_field_that_is_not_first_is_given_by_name(shop: Path, bench: Workbench) -> None:
    bench.use(["shop-c1"])
    assert bench.rewrite(["add-item", "3"]) == ["dispatch", "shop", "add-item", "--cart", "c1", "3"]
    assert bench.rewrite(["add-item", "3", "c2"]) == ["dispatch", "shop", "add-item", "3", "c2"]
    assert bench.run_line("add-item 3") == 0
    assert events(bench.app.store_url, "shop-c1") == [{"quantity": 3, "cart": "c1"}]


# -- :save ----------------------------------------------------------------------------------


def test_save_writes_the_successful_dispatches_as_a_script_that_runs_on_a_fresh_store(
    escli: Run, store_url: str, tmp_path: Path
) -> None:
    script = tmp_path / "demo.yaml"
    lines = (
        "use combat\n"
        "spawn dragon 1000\n"
        "use combat-dragon\n"
        "attack 400 'big axe'\n"
        "attack --dry-run 1\n"
        "dispatch combat heal dragon 100 --json\n"
        "attack --help\n"
        f"# rejected, so left out\nheal 0\n:save {script}\n"
    )
    out = escli("shell", "--keep-going", input=lines)
    assert out.exit_code == 5
    assert out.stderr.endswith(f"saved 3 steps to {script}: escli run {script}\n")
    assert script.read_text() == (
        "# Saved from escli shell; run it with: escli run FILE\n"
        "domain: combat\n"
        "steps:\n"
        "  - run: spawn dragon 1000\n"
        "  - run: attack dragon 400 'big axe'\n"
        "  - run: heal dragon 100\n"
    )
    fresh = f"sqlite:///{tmp_path / 'fresh.db'}"
    again = escli("run", str(script), "--store", fresh)
    assert again.exit_code == 0, again.stdout + again.stderr
    assert again.stdout.endswith("3 passed, 0 failed\n")
    assert events(fresh, "combat-dragon") == events(store_url, "combat-dragon")


def test_save_names_each_step_s_domain_when_the_session_used_several(
    escli: Run, shop: Path, tmp_path: Path
) -> None:
    script = tmp_path / "two.yaml"
    lines = f"use shop-c1\nadd-item 2\nuse combat\nspawn imp 5\n:save {script}\n"
    assert escli("shell", input=lines).exit_code == 0
    assert script.read_text() == (
        "# Saved from escli shell; run it with: escli run FILE\n"
        "steps:\n"
        "  - run: shop add-item --cart c1 2\n"
        "  - run: combat spawn imp 5\n"
    )
    fresh = f"sqlite:///{tmp_path / 'fresh.db'}"
    assert escli("run", str(script), "--store", fresh).exit_code == 0
    assert events(fresh, "shop-c1") == [{"quantity": 2, "cart": "c1"}]


def test_save_quotes_what_yaml_would_misread(bench: Workbench, tmp_path: Path) -> None:
    assert bench.run_line("dispatch combat spawn 'a: b #c' 5") == 0
    script = tmp_path / "odd.yaml"
    bench.save([str(script)])
    assert script.read_text().splitlines()[-1] == """  - run: 'spawn ''a: b #c'' 5'"""
    runner = CliRunner()
    fresh = f"sqlite:///{tmp_path / 'fresh.db'}"
    result = runner.invoke(cli, ["run", str(script), "--store", fresh])
    assert result.exit_code == 0, result.output
    assert events(fresh, "combat-a: b #c") == [{"entity_id": "a: b #c", "hitpoints": 5}]


def test_save_with_nothing_dispatched_or_no_file_is_a_usage_error(escli: Run) -> None:
    out = escli("shell", "--keep-going", input=":save x.yaml\n:save\n")
    assert out.exit_code == 2
    assert out.stderr == (
        "Error: :save: nothing to save: no dispatch has succeeded yet\n"
        "Error: :save takes one FILE (a .yaml script for escli run)\n"
    )
    assert not Path("x.yaml").exists()


def test_save_to_a_file_that_cannot_be_written_is_invalid_input(escli: Run, tmp_path: Path) -> None:
    lines = f"dispatch combat spawn imp 5\n:save {tmp_path}/missing/x.yaml\n"
    out = escli("shell", input=lines)
    assert out.exit_code == 4
    assert out.stderr == f"Error: {tmp_path}/missing/x.yaml: No such file or directory\n"


def test_the_shell_s_own_json_holds_for_every_line(escli: Run) -> None:
    out = escli("shell", "--json", input="dispatch combat spawn imp 5\nnope\n")
    assert out.exit_code == 2
    assert out.stdout.startswith('{"stream": "combat-imp"')
    assert out.stderr.startswith('{"error": "No such command')


def test_a_script_run_in_a_shell_started_with_store_uses_the_shell_s_store(
    escli: Run, store_url: str, tmp_path: Path
) -> None:
    # As `escli run --store URL` does: the store given on the command line wins over the
    # script's own store: and over $ESCLI_STORE (the escli fixture sets it to store_url).
    script = tmp_path / "s.yaml"
    script.write_text(f"store: sqlite:///{tmp_path / 'own.db'}\nsteps: [combat spawn imp 5]\n")
    shells = f"sqlite:///{tmp_path / 'shell.db'}"
    out = escli("shell", "--store", shells, input=f"run {script}\n")
    assert out.exit_code == 0, out.stderr
    assert events(shells, "combat-imp") == [{"entity_id": "imp", "hitpoints": 5}]
    assert not (tmp_path / "own.db").exists()
    assert events(store_url, "combat-imp") == []
