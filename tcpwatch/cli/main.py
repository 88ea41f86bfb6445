"""The ``tcpwatch`` command: a click group; every TcpwatchError is one line and an exit code."""

from __future__ import annotations

import sys
import warnings

import click

from .. import __version__
from ..errors import TcpwatchError
from ..vocab import ExitStatus
from . import analyze as analyze_cmd
from . import columns as columns_cmd
from . import live as live_cmd
from . import plot as plot_cmd
from . import record as record_cmd
from . import report as report_cmd
from . import serve as serve_cmd
from . import states as states_cmd
from . import verify as verify_cmd
from .params import SETTINGS


def _version(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        print(f"tcpwatch {__version__}")
        ctx.exit(ExitStatus.OK)


@click.group("tcpwatch", no_args_is_help=True, context_settings=SETTINGS)
@click.option("--version", is_flag=True, callback=_version, expose_value=False, is_eager=True,
              help="print the version and exit")
def app() -> None:
    """Watch real TCP connections and explain them segment by segment."""


for cmd in (analyze_cmd.analyze, serve_cmd.serve, record_cmd.record, record_cmd.replay,
            verify_cmd.verify, states_cmd.states, live_cmd.live, columns_cmd.columns,
            plot_cmd.plot, report_cmd.report):
    app.add_command(cmd)


def usage_line(exc: click.ClickException) -> str:
    """Click's message on one line, with where to read more: ``Invalid value for
    '--port': 70000 is not in the range 0<=x<=65535. (tcpwatch serve -h)``."""
    text = " ".join(exc.format_message().split())
    ctx = getattr(exc, "ctx", None)
    if ctx is not None and ctx.command_path:
        text += f" ({ctx.command_path} -h)"
    return text


def _say(line: str) -> None:
    """One line on stderr, as it is (no markup, no wrapping)."""
    print(line, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app, mapping errors to one stderr line and an exit status."""
    show_tb = "--traceback" in (argv if argv is not None else sys.argv)
    args = [a for a in (argv if argv is not None else sys.argv[1:]) if a != "--traceback"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            # without standalone mode click returns an Exit's code instead of exiting
            rv = app.main(args=args, prog_name="tcpwatch", standalone_mode=False)
            code = rv if isinstance(rv, int) else ExitStatus.OK
        except TcpwatchError as exc:
            if show_tb:
                raise
            _say(f"tcpwatch: error: {exc}")
            code = ExitStatus.BAD_INPUT
        except (KeyboardInterrupt, click.Abort):
            _say("tcpwatch: interrupted")
            code = ExitStatus.INTERRUPTED
        except click.exceptions.Exit as exc:
            code = exc.exit_code
        except click.exceptions.NoArgsIsHelpError as exc:  # `tcpwatch` alone: the help
            exc.show()
            code = ExitStatus.BAD_INPUT
        except click.ClickException as exc:  # a bad value or usage: one line too
            _say(f"tcpwatch: error: {usage_line(exc)}")
            code = ExitStatus.BAD_INPUT
        finally:
            for w in caught:
                _say(f"tcpwatch: warning: {w.message}")
    sys.exit(int(code))
