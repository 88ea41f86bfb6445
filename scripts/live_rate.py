"""How fast can tcpwatch live go? Short connections per second on loopback at which live
still sees every segment tcpdump sees, and the live process's CPU at 100 connections/s.

    sudo .venv/bin/python scripts/live_rate.py [--rates 100 200 400 ...] [--seconds 4]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.table import Table

import tcpwatch
from tcpwatch.report.tables import console
from tcpwatch.scenarios.tcpdump import tcpdump
from tcpwatch.servers.framing import LengthPrefixFramer

TICK = os.sysconf("SC_CLK_TCK")
PORT = 61250


def own_cpu(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime, not children


def drive(rate: float, seconds: float) -> int:
    import socket

    n = int(rate * seconds)
    t0 = time.monotonic()
    for i in range(n):
        wait = t0 + i / rate - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        f = LengthPrefixFramer()
        with socket.create_connection(("127.0.0.1", PORT), timeout=5) as s:
            s.sendall(f.encode(b"x"))
            got: list[bytes] = []
            while not got:
                got = f.feed(s.recv(64))
    return n


def run(rate: float, seconds: float, tmp: Path) -> tuple[int, int, float]:
    live = subprocess.Popen([sys.executable, "-m", "tcpwatch", "live", "--port", str(PORT),
                             "--serve", "thread", "--write", str(tmp / "live.pcap")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    live.stderr.readline()
    time.sleep(1.5)
    with tcpdump("lo", tmp / "ref.pcap", f"tcp port {PORT}"):
        c0 = own_cpu(live.pid)
        t0 = time.monotonic()
        drive(rate, seconds)
        elapsed = time.monotonic() - t0
        cpu = (own_cpu(live.pid) - c0) / elapsed
        time.sleep(1.0)
    live.send_signal(signal.SIGINT)
    live.wait(timeout=120)
    live.stderr.close()
    return (len(tcpwatch.read_segments(tmp / "live.pcap")),
            len(tcpwatch.read_segments(tmp / "ref.pcap")), cpu)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--rates", type=float, nargs="+", default=[100, 200, 400, 800, 1600])
    p.add_argument("--seconds", type=float, default=4.0)
    a = p.parse_args()
    table = Table(title="tcpwatch live vs tcpdump on loopback", title_justify="left")
    for c in ("connections/s", "segments tcpdump", "segments live", "all seen",
              "live CPU (share of a core)"):
        table.add_column(c, justify="right")
    for rate in a.rates:
        with tempfile.TemporaryDirectory() as tmp:
            got, want, cpu = run(rate, a.seconds, Path(tmp))
        table.add_row(f"{rate:g}", f"{want:,}", f"{got:,}", "yes" if got == want else "NO",
                      f"{100 * cpu:.0f} %")
    console().print(table)


if __name__ == "__main__":
    main()
