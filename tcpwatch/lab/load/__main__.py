"""``python -m tcpwatch.lab.load MODEL [options]`` (what ``scripts/loadtest`` runs)."""

from __future__ import annotations

import argparse
import json

from ..servers.models import MODELS
from .run import Options, as_dict, loadtest, render


def main(argv: list[str] | None = None) -> None:
    d = Options()
    p = argparse.ArgumentParser(prog="scripts/loadtest",
                                description="A bundled server under load and abuse, on "
                                            "loopback (127.0.0.1) only.")
    p.add_argument("model", choices=list(MODELS))
    p.add_argument("--clients", type=int, default=d.clients, help="concurrent clients")
    p.add_argument("--messages", type=int, default=d.messages, help="messages per client")
    p.add_argument("--slow", type=int, default=d.slow, help="of the clients, slow ones")
    p.add_argument("--abrupt", type=int, default=d.abrupt,
                   help="extra clients resetting connections mid-message")
    p.add_argument("--burst", type=int, default=d.burst, help="short connections at once")
    p.add_argument("--burst-timeout", type=float, default=d.burst_timeout,
                   help="seconds a burst connection may wait for its echo")
    p.add_argument("--flood-cap", type=int, default=d.flood_cap,
                   help="bytes the never-reader sends at most")
    p.add_argument("--flood-idle", type=float, default=d.flood_idle,
                   help="seconds without progress that mean the server pushes back")
    p.add_argument("--probes", type=int, default=d.probes,
                   help="timed echoes beside the half-closed client")
    p.add_argument("--backlog", type=int, help="the server's listen backlog (default: its own)")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--json", action="store_true", help="print the report as one JSON object")
    a = p.parse_args(argv)
    o = Options(a.clients, a.messages, a.slow, a.abrupt, a.burst, a.burst_timeout, a.flood_cap,
                a.flood_idle, a.probes, a.backlog, a.seed)
    r = loadtest(a.model, o)
    print(json.dumps(as_dict(r)) if a.json else render(r), flush=True)


if __name__ == "__main__":
    main()
