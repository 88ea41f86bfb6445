"""Make a benchmark capture: real kernel TCP over a veth pair with random loss on the
receiver's input hook.

Four bulk transfers (segmentation offloads off, so the wire carries MSS-sized segments)
plus many short echo connections, captured headers-only by tcpdump on the sender's veth.
Two shapes (``KINDS``): ``bulk`` (2,000,000 segments, 4,000 short connections, 1 % loss)
and ``many`` (620,000 segments, 16,000 short connections, 0.3 % loss).  Captures are
cached outside the repository and reused while they exist.

    .venv/bin/python scripts/bench_capture.py PATH [--kind bulk|many]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tcpwatch.lab.scenarios.netns import python_in, random_loss_on_input, set_offloads, veth_lab
from tcpwatch.lab.scenarios.run import client, server
from tcpwatch.lab.scenarios.tcpdump import tcpdump

MSS_PAYLOAD = 1448  # 1500-byte MTU, IPv4, TCP timestamps
PARALLEL = 20


@dataclass(frozen=True)
class Kind:
    segments: int  # the target; the capture comes close
    short_conns: int
    loss_percent: float


KINDS = {"bulk": Kind(2_000_000, 4_000, 1.0), "many": Kind(620_000, 16_000, 0.3)}


def make(path: Path, kind: Kind) -> None:
    # measured here: a short connection is about 12 segments; bulk data draws about one
    # ACK per eight segments back (delayed and stretch ACKs)
    segments, short_conns = kind.segments, kind.short_conns
    bulk_segments = max(segments - short_conns * 12, 0)
    bulk_bytes = int(bulk_segments / 1.12 * MSS_PAYLOAD)
    tmp = path.with_suffix(".part")
    with veth_lab(240, tag="bench") as lab:
        for h in (lab.a, lab.b):
            set_offloads(h, on=False)
        random_loss_on_input(lab.b.netns, kind.loss_percent, 5001)
        random_loss_on_input(lab.b.netns, kind.loss_percent, 5002)
        with server(lab.b.addr, 5001, netns=lab.b.netns, sink=True), \
                server(lab.b.addr, 5002, netns=lab.b.netns), \
                tcpdump(lab.a.link, tmp, "tcp", netns=lab.a.netns, snaplen=96,
                        buffer_kib=262144):
            t0 = time.time()
            for _ in range(4):
                client("bulk", lab.b.addr, "5001", "--bytes", str(bulk_bytes // 4),
                       netns=lab.a.netns, timeout=900)
            # short connections, PARALLEL clients at once (a lost SYN costs one of them 1 s)
            procs = [subprocess.Popen(python_in(
                lab.a.netns, "-m", "tcpwatch.lab.scenarios.traffic", "echo", lab.b.addr, "5002",
                "--conns", str(short_conns // PARALLEL), "--msgs", "2", "--size", "200"))
                for _ in range(PARALLEL)]
            if any(p.wait(timeout=900) for p in procs):
                raise SystemExit("a short-connection client failed")
            print(f"traffic took {time.time() - t0:.1f}s", file=sys.stderr)
    tmp.rename(path)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("path", type=Path)
    p.add_argument("--kind", choices=list(KINDS), default="bulk")
    a = p.parse_args()
    a.path.parent.mkdir(parents=True, exist_ok=True)
    make(a.path, KINDS[a.kind])


if __name__ == "__main__":
    main()
