"""How fast can tcpwatch live go? Short connections per second on loopback at which live
still sees every segment tcpdump sees, and the live process's CPU at 100 connections/s.
With --soak S: 100 connections/s for S seconds, and live's CPU and memory in each 20 s
window (flat when every batch costs what the batch holds and closed connections are
forgotten; --keep adds -o, which keeps every row).

    sudo .venv/bin/python scripts/live_rate.py [--rates 100 200 400 ...] [--seconds 4]
    sudo .venv/bin/python scripts/live_rate.py --soak 120
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.table import Table

import tcpwatch
from tcpwatch.lab.scenarios.tcpdump import tcpdump
from tcpwatch.lab.servers.framing import LengthPrefixFramer
from tcpwatch.report.fit import console

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


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        return next(int(ln.split()[1]) for ln in f if ln.startswith("VmRSS:")) / 1024


def start_live(tmp: Path, *extra: str) -> subprocess.Popen:
    live = subprocess.Popen([sys.executable, "-m", "tcpwatch", "live", "--port", str(PORT),
                             "--serve", "thread", "--write", str(tmp / "live.pcap"), *extra],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    live.stderr.readline()
    time.sleep(1.5)
    return live


def drive_parallel(rate: float, seconds: float, clients: int) -> None:
    """``clients`` processes share the rate (one Python client tops out near 2,000/s)."""
    if clients <= 1:
        drive(rate, seconds)
        return
    with multiprocessing.Pool(clients) as pool:
        pool.starmap(drive, [(rate / clients, seconds)] * clients)


def run(rate: float, seconds: float, tmp: Path, clients: int = 1
        ) -> tuple[int, int, float, float]:
    live = start_live(tmp)
    with tcpdump("lo", tmp / "ref.pcap", f"tcp port {PORT}"):
        c0 = own_cpu(live.pid)
        t0 = time.monotonic()
        drive_parallel(rate, seconds, clients)
        elapsed = time.monotonic() - t0
        cpu = (own_cpu(live.pid) - c0) / elapsed
        time.sleep(1.0)
    live.send_signal(signal.SIGINT)
    live.wait(timeout=120)
    live.stderr.close()
    return (len(tcpwatch.read_segments(tmp / "live.pcap")),
            len(tcpwatch.read_segments(tmp / "ref.pcap")), cpu, int(rate * seconds) / elapsed)


def soak(seconds: float, tmp: Path, keep: bool, window: float = 20.0,
         rate: float = 100.0) -> None:
    """--keep: with -o, so live keeps every segment's row for the table it writes."""
    live = start_live(tmp, *(["-o", str(tmp / "live.parquet")] if keep else []))
    table = Table(title=f"tcpwatch live at {rate:g} connections/s for {seconds:g} s",
                  title_justify="left")
    for c in ("window", "segments so far", "live CPU (share of a core)", "live RSS MB"):
        table.add_column(c, justify="right")
    t_start = time.monotonic()
    while time.monotonic() - t_start < seconds:
        c0, t0 = own_cpu(live.pid), time.monotonic()
        drive(rate, window)
        cpu = (own_cpu(live.pid) - c0) / (time.monotonic() - t0)
        segs = len(tcpwatch.read_segments(tmp / "live.pcap"))
        table.add_row(f"{t0 - t_start:.0f}-{time.monotonic() - t_start:.0f} s", f"{segs:,}",
                      f"{100 * cpu:.1f} %", f"{rss_mb(live.pid):.0f}")
    live.send_signal(signal.SIGINT)
    live.wait(timeout=300)
    live.stderr.close()
    console().print(table)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--rates", type=float, nargs="+", default=[100, 200, 400, 800, 1600])
    p.add_argument("--seconds", type=float, default=4.0)
    p.add_argument("--soak", type=float, default=0.0)
    p.add_argument("--clients", type=int, default=1, help="client processes")
    p.add_argument("--keep", action="store_true", help="--soak with -o (every row kept)")
    a = p.parse_args()
    if a.soak:
        with tempfile.TemporaryDirectory() as tmp:
            soak(a.soak, Path(tmp), a.keep)
        return
    table = Table(title="tcpwatch live vs tcpdump on loopback", title_justify="left")
    for c in ("connections/s asked", "reached", "segments tcpdump", "segments live", "all seen",
              "live CPU (share of a core)"):
        table.add_column(c, justify="right")
    for rate in a.rates:
        with tempfile.TemporaryDirectory() as tmp:
            got, want, cpu, reached = run(rate, a.seconds, Path(tmp), a.clients)
        table.add_row(f"{rate:g}", f"{reached:,.0f}", f"{want:,}", f"{got:,}",
                      "yes" if got == want else "NO", f"{100 * cpu:.0f} %")
    console().print(table)


if __name__ == "__main__":
    main()
