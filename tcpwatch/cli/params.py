"""What every command shares: its click settings and the path type of its options."""

from __future__ import annotations

from pathlib import Path

import click

#: -h beside --help, and each option's default in its help line
SETTINGS = {"help_option_names": ["-h", "--help"], "show_default": True}

#: a path, given to the command as a ``pathlib.Path`` and not checked here: the command
#: says in one line what is wrong with it
PATH = click.Path(path_type=Path, readable=False)


def command(name: str, help: str):
    """The decorator of a ``tcpwatch NAME`` command."""
    return click.command(name, help=help, context_settings=SETTINGS)


def list_or_none(ctx: click.Context, param: click.Parameter, value: tuple) -> list | None:
    """A repeatable parameter given no value is None; else a list (click gives a tuple)."""
    return list(value) if value else None
