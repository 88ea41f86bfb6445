"""Measure the seq kind on one big connection: data(), draw + savefig (PNG, SVG), figure()
(CPU seconds, best of three, so a busy machine does not inflate them), the points each
interactive trace keeps, and that every marked segment is kept.

``--make N`` first records one bulk transfer of about N segments (real kernel TCP over a
veth pair, 1 % loss on the receiver's input hook, headers only; needs root):

    .venv/bin/python scripts/bench_seq_plot.py /tmp/bulk10k.pcap --make 10000
    .venv/bin/python scripts/bench_seq_plot.py /tmp/bulk1m.pcap --make 1000000 --no-static
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

MSS_PAYLOAD = 1448


def make(path: Path, segments: int) -> None:
    from tcpwatch.lab.scenarios.netns import random_loss_on_input, set_offloads, veth_lab
    from tcpwatch.lab.scenarios.run import client, server
    from tcpwatch.lab.scenarios.tcpdump import tcpdump

    # about one ACK per eight data segments comes back (delayed and stretch ACKs)
    nbytes = int(segments / 1.12 * MSS_PAYLOAD)
    with veth_lab(247, tag="seqb") as lab:
        for h in (lab.a, lab.b):
            set_offloads(h, on=False)
        random_loss_on_input(lab.b.netns, 1.0, 5001)
        with server(lab.b.addr, 5001, netns=lab.b.netns, sink=True), \
                tcpdump(lab.a.link, path, "tcp", netns=lab.a.netns, snaplen=96,
                        buffer_kib=262144):
            client("bulk", lab.b.addr, "5001", "--bytes", str(nbytes), netns=lab.a.netns,
                   timeout=900)


def best(fn, n: int = 3) -> tuple[float, object]:
    times, out = [], None
    for _ in range(n):
        t = time.process_time()
        out = fn()
        times.append(time.process_time() - t)
    return min(times), out


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("path", type=Path)
    p.add_argument("--make", type=int, metavar="SEGMENTS")
    p.add_argument("--no-static", action="store_true", help="skip PNG/SVG")
    a = p.parse_args()
    if a.make:
        make(a.path, a.make)
    warnings.simplefilter("ignore")
    import tcpwatch
    from tcpwatch.plot import seq
    from tcpwatch.plot.choose import busiest, conn_rows
    from tcpwatch.plot.static import write_static

    segs = tcpwatch.analyze(a.path)
    rows = conn_rows(segs, busiest(segs, 1)[0])
    del segs
    print(f"{len(rows)} segments in the connection")
    t_data, d = best(lambda: seq.data(rows, direction="client"))
    print(f"data(): {t_data:.3f} s CPU")
    if not a.no_static:
        for ext in (".png", ".svg"):
            out = a.path.with_suffix(f".seq{ext}")
            t_draw, _ = best(lambda out=out: write_static(out, [(seq, d)]))
            print(f"draw + savefig {ext}: {t_draw:.3f} s CPU; data + draw + savefig "
                  f"{t_data + t_draw:.3f} s")
    t_fig, fig = best(lambda: seq.figure(d))
    print(f"figure(): {t_fig:.3f} s CPU")
    print("points per trace:", {t["name"]: len(t["customdata"]) for t in fig["data"]})
    names = [t["name"] for t in fig["data"]]
    for m in seq.MARKS:
        want = set(d.segments.loc[d.segments[m.name], "frame"].tolist())
        got = set(fig["data"][names.index(m.label)]["customdata"]) if m.label in names else set()
        print(f"{m.name}: {len(want)} marked, {'all kept' if want == got else 'MISSING'}")
        if want != got:
            sys.exit(1)


if __name__ == "__main__":
    main()
