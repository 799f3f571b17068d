from __future__ import annotations

import click

from escli.cli.app import App, F, common_options, pass_app
from escli.cli.complete import complete_streams


@click.command()
@click.argument("stream", required=False, shell_complete=complete_streams)
@common_options
@pass_app
def snapshots(app: App, stream: str | None) -> None:
    """List the snapshots the store keeps: STREAM's, or every stream's.

    A snapshot is a stream's state at a generation, kept so that a fold starts there. It is
    used only while it is fresh: made by the domain's code as it is now (its fingerprint),
    over the very event the store still holds at its generation. A stale one is never used;
    the next fold that reads enough events takes a new one. See 'escli snapshot' to take,
    drop or verify them.

    \b
    Example:
      escli snapshots
      escli snapshots combat-ogre --json
    """
    from escli.app.snapshots import list_snapshots
    from escli.cli.render_snapshots import snapshots_json, snapshots_view

    found = list_snapshots(app.store, app.registry, stream)
    if app.json:
        app.print_json(snapshots_json(found))
    elif not found:
        app.note(f"no snapshots in {app.store.url}")
    else:
        app.print(snapshots_view(found))


@click.group()
def snapshot() -> None:
    """Take, drop or verify the snapshots of a stream (or of --all).

    \b
    Example:
      escli snapshot take combat-ogre
      escli snapshot verify --all
      escli snapshot drop --all
    """


def _streams(app: App, stream: str | None, every: bool) -> list[str]:
    """STREAM, or with --all every stream of the store whose domain is known here."""
    from escli.errors import UsageError

    if (stream is None) == (not every):
        raise UsageError("give a STREAM or --all (not both)")
    if stream is not None:
        return [stream]
    known = set(app.registry.names())
    names = [info.stream for info in app.store.streams()]
    return [name for name in names if name.partition("-")[0] in known]


def _targets(f: F) -> F:
    """STREAM, or ``--all``: the streams a snapshot subcommand works on."""
    f = click.option("--all", "every", is_flag=True, help="Every stream of the store.")(f)
    return click.argument("stream", required=False, shell_complete=complete_streams)(f)


@snapshot.command()
@_targets
@common_options
@pass_app
def take(app: App, stream: str | None, every: bool) -> None:
    """Fold STREAM (or --all) and keep its state as a snapshot now.

    \b
    Example:
      escli snapshot take combat-ogre
    """
    from escli.app.snapshots import take_now

    for name in _streams(app, stream, every):
        taken = take_now(app.registry.for_stream(name), app.store, name)
        generation = None if taken is None else taken.generation
        if app.json:
            app.print_json({"stream": name, "generation": generation, "taken": taken is not None})
        elif taken is None:
            app.note(f"{name}: no snapshot taken (empty, or its state cannot be one)")
        else:
            app.print_lines([f"{name}  snapshot at generation {generation}"])


@snapshot.command()
@_targets
@common_options
@pass_app
def drop(app: App, stream: str | None, every: bool) -> None:
    """Forget the snapshots of STREAM (or --all): the next folds read from generation 0.

    \b
    Example:
      escli snapshot drop --all
    """
    from escli.stores.snapshots import Snapshots

    store = app.store
    dropped = 0
    if isinstance(store, Snapshots):
        if every and stream is None:
            dropped = store.drop_snapshots(None)
        else:
            dropped = sum(store.drop_snapshots(n) for n in _streams(app, stream, every))
    if app.json:
        app.print_json({"dropped": dropped})
    else:
        app.note(f"dropped {dropped} snapshot{'' if dropped == 1 else 's'}")


@snapshot.command()
@_targets
@common_options
@pass_app
def verify(app: App, stream: str | None, every: bool) -> None:
    """Fold STREAM (or --all) from generation 0 and from its newest snapshot, and compare.

    A snapshot that gives another state than the full fold is an error (exit code 14)
    naming the first field that differs: the fold depends on something the snapshot's
    fingerprint does not see (code outside the domain's modules, the time, a random number).
    Drop the snapshots, and make the fold depend on the events alone.

    \b
    Example:
      escli snapshot verify --all
    """
    from escli.app.snapshots import verify as check
    from escli.errors import SnapshotMismatch

    differing = []
    for name in _streams(app, stream, every):
        found = check(app.registry.for_stream(name), app.store, name)
        difference = None
        if found.difference is not None:
            path, ours, theirs = found.difference
            difference = {"field": path, "snapshot": repr(ours), "full_fold": repr(theirs)}
            differing.append(
                f"{name} at generation {found.generation}: {path} is {ours!r} "
                f"from the snapshot, {theirs!r} from generation 0"
            )
        if app.json:
            app.print_json(
                {
                    "stream": name,
                    "generation": found.generation,
                    "status": found.status,
                    "difference": difference,
                }
            )
        else:
            at = "" if found.generation is None else f" at generation {found.generation}"
            app.print_lines([f"{name}  snapshot{at}: {found.status}"])
    if differing:
        raise SnapshotMismatch(
            "; ".join(differing) + " (escli snapshot drop, then make the fold depend on "
            "the events alone)"
        )
