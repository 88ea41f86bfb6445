"""``tcpwatch serve MODEL``: run one of the bundled echo servers."""

from __future__ import annotations

import sys

import click

from ..lab.servers.framing import DEFAULT_MAX, FRAMERS
from ..lab.servers.models import MODELS, run
from .params import command

HELP = f"""Run a bundled echo server: MODEL is one of {", ".join(MODELS)}
(fork per connection, detached thread per connection, non-blocking busy poll, epoll).
Stops cleanly on Ctrl-C or SIGTERM."""


@command("serve", HELP)
@click.argument("model", help=f"serving model: {', '.join(MODELS)}")
@click.option("--host", default="127.0.0.1", help="address to listen on")
@click.option("--port", type=click.INT, default=9000, help="port (0: any free port)")
@click.option("--framing", default="length", help=f"message framing: {', '.join(FRAMERS)}")
@click.option("--max-frame", type=click.INT, default=DEFAULT_MAX,
              help="largest message accepted, in bytes")
@click.option("--close-after", type=click.INT, metavar="N",
              help="close each connection after echoing N messages (the server closes first)")
def serve(model: str, host: str, port: int, framing: str, max_frame: int,
          close_after: int | None) -> None:
    if model not in MODELS:
        raise click.BadParameter(f"unknown model {model!r} (one of {', '.join(MODELS)})")
    if framing not in FRAMERS:
        raise click.BadParameter(f"unknown framing {framing!r} (one of {', '.join(FRAMERS)})")

    def listening(h: str, p: int) -> None:
        print(f"tcpwatch serve: {model} echo server listening on {h}:{p} "
              f"({framing} framing)", flush=True)

    run(model, host, port, framing, max_frame, on_listening=listening, close_after=close_after)
    print("tcpwatch serve: stopped", file=sys.stderr, flush=True)
