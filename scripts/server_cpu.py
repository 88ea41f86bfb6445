"""CPU seconds a bundled server uses while idle for 10 s and while serving 1,000 requests.

    .venv/bin/python scripts/server_cpu.py [--models nonblock select ...] [--idle 10]

Each request is one connection carrying one length-framed echo.  CPU time is the
server process's utime + stime from /proc (its children included, for ``fork``).
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import subprocess
import sys
import time

from rich.table import Table

from tcpwatch.lab.servers.framing import LengthPrefixFramer
from tcpwatch.report.fit import console

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # utime, stime, cutime, cstime (fields 14-17 of proc(5))
    return sum(int(x) for x in fields[11:15]) / TICK


def request(addr, framer) -> None:
    with socket.create_connection(addr, timeout=10) as s:
        s.sendall(framer.encode(b"ping"))
        got: list[bytes] = []
        while not got:
            data = s.recv(64)
            if not data:
                raise ConnectionError("closed early")
            got = framer.feed(data)


def measure(model: str, idle: float, requests: int) -> tuple[float, float, float]:
    proc = subprocess.Popen([sys.executable, "-m", "tcpwatch", "serve", model, "--port", "0"],
                            stdout=subprocess.PIPE, text=True)
    try:
        m = re.search(r"listening on ([\d.]+):(\d+)", proc.stdout.readline())
        addr = (m.group(1), int(m.group(2)))
        time.sleep(0.5)  # let start-up finish
        c0 = cpu_seconds(proc.pid)
        time.sleep(idle)
        c1 = cpu_seconds(proc.pid)
        t0 = time.perf_counter()
        for _ in range(requests):
            request(addr, LengthPrefixFramer())
        wall = time.perf_counter() - t0
        c2 = cpu_seconds(proc.pid)  # at once: a busy poller would charge any wait here
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=15)
    return c1 - c0, c2 - c1, wall


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--models", nargs="+", default=["nonblock", "select", "thread", "fork"])
    p.add_argument("--idle", type=float, default=10.0)
    p.add_argument("--requests", type=int, default=1000)
    a = p.parse_args()
    table = Table(title=f"CPU seconds: idle {a.idle:g} s, then {a.requests:,} requests",
                  title_justify="left")
    for c in ("model", "idle CPU s", f"CPU s for {a.requests:,} requests", "requests wall s"):
        table.add_column(c, justify="left" if c == "model" else "right")
    for model in a.models:
        idle_cpu, busy_cpu, wall = measure(model, a.idle, a.requests)
        table.add_row(model, f"{idle_cpu:.2f}", f"{busy_cpu:.2f}", f"{wall:.2f}")
    console().print(table)


if __name__ == "__main__":
    main()
