"""The ``tcpwatch`` command: a typer app; every TcpwatchError is one line and an exit code."""

from __future__ import annotations

import sys
import warnings
from typing import Annotated

import typer
from rich.console import Console

from .. import __version__
from ..errors import TcpwatchError
from ..vocab import ExitStatus
from . import analyze as analyze_cmd
from . import live as live_cmd
from . import record as record_cmd
from . import serve as serve_cmd
from . import states as states_cmd
from . import verify as verify_cmd

app = typer.Typer(
    name="tcpwatch",
    help="Watch real TCP connections and explain them segment by segment.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("analyze", help=analyze_cmd.HELP)(analyze_cmd.analyze)
app.command("serve", help=serve_cmd.HELP)(serve_cmd.serve)
app.command("record", help=record_cmd.RECORD_HELP)(record_cmd.record)
app.command("replay", help=record_cmd.REPLAY_HELP)(record_cmd.replay)
app.command("verify", help=verify_cmd.HELP)(verify_cmd.verify)
app.command("states", help=states_cmd.HELP)(states_cmd.states)
app.command("live", help=live_cmd.HELP)(live_cmd.live)


def _version(value: bool) -> None:
    if value:
        print(f"tcpwatch {__version__}")
        raise typer.Exit(ExitStatus.OK)


@app.callback()
def _root(
    version: Annotated[bool, typer.Option(
        "--version", callback=_version, is_eager=True, help="print the version and exit")
    ] = False,
) -> None:
    """Watch real TCP connections and explain them segment by segment."""

err = Console(stderr=True, highlight=False, soft_wrap=True)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app, mapping errors to one stderr line and an exit status."""
    show_tb = "--traceback" in (argv if argv is not None else sys.argv)
    args = [a for a in (argv if argv is not None else sys.argv[1:]) if a != "--traceback"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            # without standalone mode click returns a typer.Exit's code instead of exiting
            rv = app(args=args, prog_name="tcpwatch", standalone_mode=False)
            code = rv if isinstance(rv, int) else ExitStatus.OK
        except TcpwatchError as exc:
            if show_tb:
                raise
            err.print(f"tcpwatch: error: {exc}", markup=False)
            code = ExitStatus.BAD_INPUT
        except (KeyboardInterrupt, typer.Abort):
            err.print("tcpwatch: interrupted", markup=False)
            code = ExitStatus.INTERRUPTED
        except typer.Exit as exc:
            code = exc.exit_code
        except typer.TyperException as exc:  # usage errors: click's own message
            exc.show()
            code = ExitStatus.BAD_INPUT
        finally:
            for w in caught:
                err.print(f"tcpwatch: warning: {w.message}", markup=False)
    sys.exit(int(code))
