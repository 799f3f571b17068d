from __future__ import annotations

from typing import Any, NoReturn

import click

from escli.cli.app import App, common_options, inline_views_option, pass_app, snapshot_options
from escli.cli.complete import (
    complete_command_word,
    complete_commands,
    complete_domains,
    complete_targets,
    complete_words,
)
from escli.cli.why import why_of, why_options

HELP = ("--help", "-h")


class DomainCommand(click.Command):
    """A command whose ``--help`` teaches the domain it is given: ``dispatch DOMAIN --help``
    lists the domain's commands, ``dispatch DOMAIN COMMAND --help`` shows that command's
    fields and an example; with no domain it is click's own help.

    The words are parsed once without the help flag, so that ``--domains`` and ``--store``
    are applied before the domain is looked up; a line that does not parse that way (no
    domain given) gets click's help as before."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        asked = _help_words(args)
        if not asked or ctx.resilient_parsing:
            return super().parse_args(ctx, args)
        rest = [word for i, word in enumerate(args) if i not in asked]
        try:
            super().parse_args(ctx, rest)
        except click.UsageError:
            self._own_help(ctx)
        domain_name = ctx.params.get("domain_name")
        if domain_name is None:
            self._own_help(ctx)
        from escli.cli.render_help import command_help, domain_help

        app = ctx.ensure_object(App)
        domain = app.registry.get(domain_name)
        command_name = ctx.params.get("command_name")
        if command_name is None:
            app.print_lines(domain_help(domain, ctx.command_path))
        else:
            spec = domain.command_spec(command_name)
            app.print_lines(command_help(domain, spec, ctx.command_path))
        ctx.exit(0)

    def _own_help(self, ctx: click.Context) -> NoReturn:
        """click's help of the command (it has no help option of click's own: one would
        take ``-h`` as help wherever it stood, ``--weapon -h`` too)."""
        click.echo(ctx.get_help(), color=ctx.color)
        ctx.exit(0)

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        records = [r for p in self.get_params(ctx) if (r := p.get_help_record(ctx))]
        records.append(("-h, --help", "Show this message and exit."))
        with formatter.section("Options"):
            formatter.write_dl(records)

    def shell_complete(self, ctx: click.Context, incomplete: str) -> list[Any]:
        """An option being typed after the command: the command's ``--field`` options too."""
        found = super().shell_complete(ctx, incomplete)
        domain_name, command_name = ctx.params.get("domain_name"), ctx.params.get("command_name")
        if not (domain_name and command_name):
            return found
        try:
            app = ctx.ensure_object(App)
            domain = app.registry.get(domain_name)
            spec = domain.command_spec(command_name)
        except Exception:  # completion never prints an error (escli.cli.complete)
            return found
        words = list(ctx.params.get("words") or ())
        return complete_command_word(app, domain, spec, words, incomplete) + found


# The options of dispatch that take no value: after any other option, -h is its value
# (``--weapon -h``), and after ``--`` every word is an argument.
_FLAGS = frozenset({"--dry-run", "--json", "--no-snapshots", *HELP})


def _help_words(args: list[str]) -> set[int]:
    """Where in ``args`` help is asked for: ``-h``/``--help`` before ``--`` and not the
    value of the option before it (``--store --help`` is a store URL, if an odd one)."""
    asked = set()
    for i, word in enumerate(args):
        if word == "--":
            break
        before = args[i - 1] if i else ""
        takes_value = before.startswith("-") and "=" not in before and before not in _FLAGS
        if word in HELP and not takes_value:
            asked.add(i)
    return asked


@click.command(
    cls=DomainCommand,
    add_help_option=False,  # DomainCommand's own: see _help_words
    context_settings={"ignore_unknown_options": True, "allow_interspersed_args": True},
)
@click.argument("domain_name", metavar="DOMAIN", shell_complete=complete_domains)
@click.argument("command_name", metavar="COMMAND", required=False, shell_complete=complete_commands)
@click.argument(
    "words", metavar="ARGS...", nargs=-1, type=click.UNPROCESSED, shell_complete=complete_words
)
@click.option(
    "--dry-run", is_flag=True, help="Handle the command and show the result; write nothing."
)
@click.option(
    "--to",
    "targets",
    metavar="URL",
    multiple=True,
    shell_complete=complete_targets,
    help="Also send the appended events to this target (a store URL; cloudevents:FILE to "
    "append them to FILE as CloudEvents JSON Lines, cloudevents:- is stdout; or "
    "nats://HOST:PORT to publish them to NATS JetStream); repeatable. "
    "Targets get the events only after the store accepted them.",
)
@click.option(
    "--retry",
    metavar="N",
    type=click.IntRange(min=0),
    default=0,
    help="When the stream moved before the append (a concurrent writer), read it again and "
    "handle the command again, up to N times (waits grow, with jitter; none starts after "
    "10 s). A rejection is never retried.",
)
@click.option(
    "--project",
    "projection_names",
    metavar="NAME",
    multiple=True,
    help="Update projection NAME (combat.roster) in the dispatch's own transaction "
    "(repeatable; SQLite and PostgreSQL). Default: the project file's projections.",
)
@inline_views_option
@why_options
@snapshot_options
@common_options
@pass_app
def dispatch(
    app: App,
    domain_name: str,
    command_name: str | None,
    words: tuple[str, ...],
    dry_run: bool,
    targets: tuple[str, ...],
    retry: int,
    no_snapshots: bool,
    snapshot_every: int | None,
    projection_names: tuple[str, ...],
    views_url: str | None,
    causation_id: str | None,
    correlation_id: str | None,
    meta: tuple[str, ...],
) -> None:
    """Handle a command and append the events it emits to its stream.

    Reads the stream, folds it to state, handles COMMAND, and appends all its events in one
    write that expects the generation it read (a concurrent writer makes it fail, nothing
    written). ARGS fill the command's fields in order, or by name as --field value.
    'escli dispatch DOMAIN --help' lists a domain's commands, and
    'escli dispatch DOMAIN COMMAND --help' shows a command's fields and an example.
    Every event keeps why it happened in its metadata: a causation id (the command's),
    a correlation id (the piece of work) and the command's name ('escli trace ID').

    \b
    Example:
      escli dispatch combat attack ogre 150
      escli dispatch combat spawn --entity-id dragon --hitpoints 2000
      escli dispatch combat heal ogre 50 --to sqlite:///mirror.db
      escli dispatch combat attack ogre 50 --correlation-id order-7 --meta user=ann
    """
    from escli.app.dispatch import dispatch as run
    from escli.cli.render import dispatch_json, dispatch_view
    from escli.domain.words import build_command
    from escli.errors import DeliveryIncomplete, UsageError

    domain = app.registry.get(domain_name)
    if command_name is None:
        raise UsageError(
            f"missing COMMAND for domain {domain.name!r} (its commands: "
            f"{', '.join(domain.commands)}; see 'escli dispatch {domain.name} --help')"
        )
    command = build_command(domain, command_name, words)
    why = why_of(causation_id, correlation_id, meta)
    sinks = app.open_targets(app.default_targets(targets))
    policy = app.snapshot_policy(use=not no_snapshots, every=0 if no_snapshots else snapshot_every)
    projections = app.inline_projections(projection_names, views_url)
    result = run(
        domain,
        command,
        app.store,
        sinks=sinks,
        dry_run=dry_run,
        snapshots=policy,
        retry=retry,
        projections=projections,
        why=why,
    )
    if result.folded is not None:
        app.detail(result.folded.summary(result.stream))
    for caught in result.projected:
        s = "" if caught.events == 1 else "s"
        app.detail(
            f"{caught.name}: {caught.events} event{s} projected, checkpoint {caught.position}"
        )
    if app.json:
        app.print_json(dispatch_json(result))
    else:
        app.print_lines(dispatch_view(result))
    failed = [d for d in result.deliveries if not d.ok]
    if failed:
        raise DeliveryIncomplete(
            f"stored in {app.store.url} at generations {result.recorded[0].generation}"
            f"..{result.recorded[-1].generation}; pending for "
            + ", ".join(f"{d.target} ({d.from_generation}..{d.to_generation})" for d in failed)
            + ": escli publish --pending --to URL sends them"
        )
