"""``tcpwatch serve MODEL``: run one of the bundled echo servers."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from ..lab.servers.framing import DEFAULT_MAX, FRAMERS
from ..lab.servers.models import MODELS, run

HELP = f"""Run a bundled echo server: MODEL is one of {", ".join(MODELS)}
(fork per connection, detached thread per connection, non-blocking busy poll, epoll).
Stops cleanly on Ctrl-C or SIGTERM."""


def serve(
    model: Annotated[str, typer.Argument(help=f"serving model: {', '.join(MODELS)}")],
    host: Annotated[str, typer.Option("--host", help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="port (0: any free port)")] = 9000,
    framing: Annotated[str, typer.Option(
        "--framing", help=f"message framing: {', '.join(FRAMERS)}")] = "length",
    max_frame: Annotated[int, typer.Option(
        "--max-frame", help="largest message accepted, in bytes")] = DEFAULT_MAX,
    close_after: Annotated[int | None, typer.Option(
        "--close-after", help="close each connection after echoing N messages "
        "(the server closes first)")] = None,
) -> None:
    if model not in MODELS:
        raise typer.BadParameter(f"unknown model {model!r} (one of {', '.join(MODELS)})")
    if framing not in FRAMERS:
        raise typer.BadParameter(f"unknown framing {framing!r} (one of {', '.join(FRAMERS)})")

    def listening(h: str, p: int) -> None:
        print(f"tcpwatch serve: {model} echo server listening on {h}:{p} "
              f"({framing} framing)", flush=True)

    run(model, host, port, framing, max_frame, on_listening=listening, close_after=close_after)
    print("tcpwatch serve: stopped", file=sys.stderr, flush=True)
