from __future__ import annotations

import click

from escli.cli.app import App, pass_app

SHELLS = ("bash", "zsh", "fish")


@click.command()
@click.argument("shell", type=click.Choice(SHELLS))
@pass_app
def completion(app: App, shell: str) -> None:
    """Print the completion script for SHELL (bash, zsh or fish).

    Completion is dynamic: escli answers each Tab itself, so it completes what is there
    now: commands and options, domains, a domain's commands and their --field options,
    stream ids from the store (by prefix), store URL schemes, --to targets, and files
    where a file is expected. It never writes to a store and never prints an error.

    \b
    Install (then open a new shell):
      bash:  escli completion bash >> ~/.bashrc
      zsh:   escli completion zsh >> ~/.zshrc
      fish:  escli completion fish > ~/.config/fish/completions/escli.fish
    Or, for this shell only:  eval "$(escli completion bash)"
    """
    from click.shell_completion import get_completion_class

    from escli.cli import cli

    completer = get_completion_class(shell)
    assert completer is not None  # the three shells click ships with
    script = completer(cli, {}, "escli", "_ESCLI_COMPLETE").source()
    app.print_text(script)
