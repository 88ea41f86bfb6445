"""nDPI's flow summaries for its test captures (captures/public/ndpi/*.expected.out, written
by ndpiReader for nDPI's own test suite): per TCP flow, the two endpoints (the first is
nDPI's client == ours), packets per direction and the flow's duration (first to last
packet, printed with 2 decimals).

nDPI's clock never goes back: a packet stamped earlier than one before it in the file is
taken at the latest time seen so far (avast.pcap is a merge whose timestamps step back at
frame 103, where flow 10 begins: its first packet is at 351.586 s, nDPI counts from 603.758 s
and prints 145.35 s where the packets span 397.52 s).  The comparison applies the same
clock to our timestamps.  Not compared: the bytes per direction (whole frame
lengths, Ethernet padding included; tcpwatch has no frame-length column)."""

from __future__ import annotations

import re

import pytest

import tcpwatch
from tcpwatch.vocab import Col

from ..conftest import PUBLIC

OUTPUTS = sorted((PUBLIC / "ndpi").glob("*.expected.out"))
FLOW = re.compile(r"^\s+\d+\s+TCP (?P<a>\S+):(?P<ap>\d+) <-> (?P<b>\S+):(?P<bp>\d+) .*?"
                  r"\[(?P<apk>\d+) pkts/\d+ bytes <-> (?P<bpk>\d+) pkts/\d+ bytes\]"
                  r"(?:.*?\[(?P<sec>[\d.]+) sec\])?")


def ndpi_flows(text: str) -> list[dict]:
    return [m.groupdict() for line in text.splitlines() if (m := FLOW.match(line))]


@pytest.mark.parametrize("out", OUTPUTS, ids=lambda p: p.name)
def test_ndpi_flows(out):
    flows = ndpi_flows(out.read_text())
    seg = tcpwatch.analyze(out.with_name(out.name.replace(".expected.out", ".pcap")))
    assert flows and len(flows) == seg[Col.CONN].nunique()
    for f in flows:
        client = (seg[Col.SRC].astype(str) == f["a"]) & (seg[Col.SPORT] == int(f["ap"])) \
            & (seg[Col.DST].astype(str) == f["b"]) & (seg[Col.DPORT] == int(f["bp"]))
        server = (seg[Col.SRC].astype(str) == f["b"]) & (seg[Col.SPORT] == int(f["bp"])) \
            & (seg[Col.DST].astype(str) == f["a"]) & (seg[Col.DPORT] == int(f["ap"]))
        flow = seg[client | server]
        assert set(seg.loc[client, Col.ROLE]) == {"client"}, f
        assert (int(client.sum()), int(server.sum())) == (int(f["apk"]), int(f["bpk"])), f
        if f["sec"] is not None:
            clock = seg[Col.TS_NS].cummax()[flow.index]
            seconds = (clock.max() - clock.min()) / 1e9
            assert f"{seconds:.2f}" == f["sec"], f


def test_every_ndpi_expectation_is_there():
    assert len(OUTPUTS) >= 2
    assert sum(len(ndpi_flows(p.read_text())) for p in OUTPUTS) >= 11


def test_the_one_flow_where_ndpis_clock_differs():
    """The definitional difference above, pinned: only avast's flow on port 54405 spans
    less on nDPI's monotonic clock than on its own packets' timestamps."""
    seg = tcpwatch.analyze(PUBLIC / "ndpi" / "avast.pcap")
    clock = seg[Col.TS_NS].cummax()
    differ = []
    for _, flow in seg.groupby(Col.CONN):
        own = (flow[Col.TS_NS].max() - flow[Col.TS_NS].min()) / 1e9
        ndpi = (clock[flow.index].max() - clock[flow.index].min()) / 1e9
        if f"{own:.2f}" != f"{ndpi:.2f}":
            port = int(flow.loc[flow[Col.ROLE] == "client", Col.SPORT].iloc[0])
            differ.append((port, f"{own:.2f}", f"{ndpi:.2f}"))
    assert differ == [(54405, "397.52", "145.35")]
