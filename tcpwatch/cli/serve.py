"""``tcpwatch serve MODEL``: run one of the bundled echo servers."""

from __future__ import annotations

import sys

import click

from ..lab.servers.framing import DEFAULT_MAX, FRAMERS
from ..lab.servers.models import MODELS, run
from .params import COUNT, LISTEN_PORT, command

HELP = f"""Run a bundled echo server: MODEL is one of {", ".join(MODELS)}
(fork per connection, detached thread per connection, non-blocking busy poll, epoll).
Stops cleanly on Ctrl-C or SIGTERM. select and nonblock stop reading a client that
has 64 KiB of echo unsent and read it again at 16 KiB (backpressure).

Each message is echoed back framed as it came. Framing (--framing): length (the
default) is a 4-byte big-endian length, then that many bytes; line ends each message
with a newline, which may not occur inside it; fixed is 64-byte messages.

\b
Examples:
  tcpwatch serve thread --port 9000
  tcpwatch serve fork --port 9000 --close-after 1    # the server closes first
  tcpwatch serve select --framing line --port 9001"""


@command("serve", HELP)
@click.argument("model", type=click.Choice(list(MODELS)), metavar="MODEL",
                help=f"serving model: {', '.join(MODELS)}")
@click.option("--host", default="127.0.0.1", help="address to listen on")
@click.option("--port", type=LISTEN_PORT, metavar="PORT", default=9000,
              help="port (0: any free port)")
@click.option("--framing", type=click.Choice(list(FRAMERS)), default="length",
              help=f"message framing: {', '.join(FRAMERS)}")
@click.option("--max-frame", type=COUNT, metavar="BYTES", default=DEFAULT_MAX,
              help="largest message accepted, in bytes (1 or more)")
@click.option("--close-after", type=COUNT, metavar="N",
              help="close each connection after echoing N messages (the server closes first)")
@click.option("--backlog", type=COUNT, metavar="N",
              help="listen backlog: connections the kernel completes before the server "
                   "accepts them (default: the system's maximum, net.core.somaxconn)")
def serve(model: str, host: str, port: int, framing: str, max_frame: int,
          close_after: int | None, backlog: int | None) -> None:
    def listening(h: str, p: int) -> None:
        print(f"tcpwatch serve: {model} echo server listening on {h}:{p} "
              f"({framing} framing)", flush=True)

    run(model, host, port, framing, max_frame, on_listening=listening, close_after=close_after,
        backlog=backlog)
    print("tcpwatch serve: stopped", file=sys.stderr, flush=True)
