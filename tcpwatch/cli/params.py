"""What every command shares: its click settings, the types of its options and the
checks that refuse a bad value before any work starts (one line, exit 2)."""

from __future__ import annotations

import math
from pathlib import Path

import click

#: -h beside --help, and each option's default in its help line
SETTINGS = {"help_option_names": ["-h", "--help"], "show_default": True}

#: a path, given to the command as a ``pathlib.Path`` and not checked here: the command
#: says in one line what is wrong with it
PATH = click.Path(path_type=Path, readable=False)

def _named(kind: click.IntRange, name: str) -> click.IntRange:
    """``kind`` saying ``'x' is not a valid NAME`` of a value that is no number."""
    kind.name = name
    return kind


#: a TCP port to listen on (0: any free port)
LISTEN_PORT = _named(click.IntRange(0, 65535), "port number")
#: a TCP port to capture or connect to
PORT = _named(click.IntRange(1, 65535), "port number")
#: a count: 1 or more
COUNT = _named(click.IntRange(min=1), "whole number")
class _Seconds(click.FloatRange):
    """A duration in seconds, more than 0 (NaN, which every comparison lets through, is
    refused too)."""

    name = "number of seconds"

    def convert(self, value, param, ctx):
        rv = super().convert(value, param, ctx)
        if math.isnan(rv):
            self.fail(f"{value!r} is not a number of seconds", param, ctx)
        return rv


#: seconds: more than 0
SECONDS = _Seconds(min=0, min_open=True)
#: how many connections a summary lists (0: all)
TOP_N = _named(click.IntRange(min=0), "whole number")

#: what the segment table can be written as (report/export.py writes them)
TABLE_FORMATS = (".csv", ".parquet", ".jsonl")


def command(name: str, help: str):
    """The decorator of a ``tcpwatch NAME`` command."""
    return click.command(name, help=help, context_settings=SETTINGS)


def list_or_none(ctx: click.Context, param: click.Parameter, value: tuple) -> list | None:
    """A repeatable parameter given no value is None; else a list (click gives a tuple)."""
    return list(value) if value else None


def writable(value: Path | None, formats) -> Path | None:
    """An output path: a known extension (one of ``formats``), a folder that exists, not a
    folder itself -- checked before the capture is read, so a bad name costs nothing and
    leaves no file."""
    if value is None:
        return None
    if value.suffix.lower() not in formats:
        raise click.BadParameter(f"unknown extension {value.suffix.lower() or '(none)'!r} of "
                                 f"{value} (use one of {', '.join(formats)})")
    if value.is_dir():
        raise click.BadParameter(f"{value} is a folder")
    if not value.absolute().parent.is_dir():
        raise click.BadParameter(f"no folder {value.absolute().parent} to write {value.name} in")
    return value


def table_output(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
    """``-o PATH``: :func:`writable` with the segment table's formats."""
    return writable(value, TABLE_FORMATS)
