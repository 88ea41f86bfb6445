"""Time the window, throughput and rtt kinds on one big connection: data(), figure()
(Plotly JSON) and data + draw + savefig (PNG), each the best of a few runs.

    .venv/bin/python scripts/plot_bench.py [CAPTURE] [--segments N]

Without CAPTURE it records one: a real kernel bulk transfer over a veth pair between two
namespaces it makes (offloads off, so MSS-sized segments; 1 % loss on the receiver's
input), about N segments (default 10,000), captured by tcpdump on the sender's veth.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

MSS_PAYLOAD = 1448


def record(path: Path, segments: int) -> None:
    from tcpwatch.lab.scenarios.netns import random_loss_on_input, set_offloads, veth_lab
    from tcpwatch.lab.scenarios.run import client, server
    from tcpwatch.lab.scenarios.tcpdump import tcpdump

    nbytes = int(segments / 1.12 * MSS_PAYLOAD)  # about one ACK back per eight segments
    with veth_lab(233, tag="plotb") as lab:
        for h in (lab.a, lab.b):
            set_offloads(h, on=False)
        random_loss_on_input(lab.b.netns, 1.0, 5001)
        with server(lab.b.addr, 5001, netns=lab.b.netns, sink=True), \
                tcpdump(lab.a.link, path, "tcp", netns=lab.a.netns, snaplen=96):
            client("bulk", lab.b.addr, "5001", "--bytes", str(nbytes), netns=lab.a.netns,
                   timeout=300)


def best(fn, runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("capture", type=Path, nargs="?")
    p.add_argument("--segments", type=int, default=10_000)
    a = p.parse_args()
    import tcpwatch
    from tcpwatch.plot import rtt, throughput, window
    from tcpwatch.plot.choose import busiest, conn_rows
    from tcpwatch.plot.static import write_static

    with tempfile.TemporaryDirectory() as tmp:
        cap = a.capture or Path(tmp) / "bulk.pcap"
        if a.capture is None:
            record(cap, a.segments)
        segs = tcpwatch.analyze(cap)
        rows = conn_rows(segs, busiest(segs, 1)[0])
        print(f"{cap}: connection of {len(rows)} segments")
        for mod in (window, throughput, rtt):
            d = mod.data(rows, direction="client")
            fig = mod.figure(d)
            png = Path(tmp) / "x.png"
            t_data = best(lambda m=mod: m.data(rows, direction="client"))
            t_fig = best(lambda m=mod, d=d: json.dumps(m.figure(d)))
            t_png = best(lambda m=mod, png=png: write_static(
                png, [(m, m.data(rows, direction="client"))]))
            n = max(len(tr["customdata"]) for tr in fig["data"] if "customdata" in tr)
            print(f"{mod.__name__.rsplit('.', 1)[1]:>10}: data {t_data:.3f} s, figure+JSON "
                  f"{t_fig:.3f} s, data+draw+savefig PNG {t_png:.3f} s "
                  f"(largest hover trace {n} points)")


if __name__ == "__main__":
    main()
