"""The demo: a real TCP connection on loopback, captured and explained.

    python -m tcpwatch.scenarios.demo [--out captures/live/demo.pcap]

Starts a small echo server on 127.0.0.1 (a free port), captures that port with tcpdump,
connects, sends three messages and reads their echoes, half-closes, then prints the
segment table and the connection summary of what the capture holds.  Needs root
(tcpdump).
"""

from __future__ import annotations

import argparse
import os
import socket
from pathlib import Path

from ..pipeline import analyze
from ..report.summary import summarize_connections
from ..report.tables import console, render_connections, render_segments
from .run import client, server
from .tcpdump import tcpdump


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="scripts/demo")
    p.add_argument("--out", type=Path, default=Path("captures/live/demo.pcap"))
    a = p.parse_args(argv)
    out = console()
    if os.geteuid() != 0:
        raise SystemExit("the demo captures with tcpdump: run it as root (scripts/demo uses sudo)")
    a.out.parent.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    out.print(f"echo server on 127.0.0.1:{port}; capturing loopback port {port} into {a.out}")
    with server("127.0.0.1", port), tcpdump("lo", a.out, f"tcp port {port}"):
        client("echo", "127.0.0.1", str(port), "--msgs", "3", "--size", "64")
    seg = analyze(a.out)
    out.print(render_segments(seg, title="Every segment of the connection (relative seq/ack, "
                                          "window in bytes)"))
    out.print(render_connections(summarize_connections(seg)))
    out.print(f"Open it in Wireshark, or again with: tcpwatch analyze {a.out} --segments")


if __name__ == "__main__":
    main()
