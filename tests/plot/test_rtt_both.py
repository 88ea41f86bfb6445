"""``rtt`` with direction both: every frame tshark gives a tcp.analysis.ack_rtt, each
labelled with the side whose data it times (the peer of the acknowledging segment), and
drawn as one trace per side."""

from __future__ import annotations

import pytest

import tcpwatch
from tcpwatch.plot import rtt
from tcpwatch.plot.choose import conn_rows
from tcpwatch.report.verify import tshark_fields

from ..conftest import REPO


@pytest.mark.parametrize("name", ["lossy_bulk.pcap", "handshake_echo_close.pcap"])
def test_both_directions_are_every_ack_rtt_tshark_has(name: str) -> None:
    path = REPO / "captures" / name
    rows = conn_rows(tcpwatch.analyze(path), 0)
    ref = tshark_fields(path, ["tcp.analysis.ack_rtt", "tcp.srcport"], "tcp.analysis.ack_rtt")
    client_port = str(rows.loc[rows["role"].astype(str) == "client", "sport"].iloc[0])
    d = rtt.data(rows, direction="both")
    got = dict(zip(d.points["frame"], d.points["dir"], strict=True))
    # an ACK the server sends times the client's data, and the other way round
    want = {int(f): ("server" if port == client_port else "client")
            for f, port in zip(ref["frame.number"], ref["tcp.srcport"], strict=True)}
    assert got == want and set(want.values()) == {"client", "server"}
    for side in ("client", "server"):
        one = rtt.data(rows, direction=side).points
        assert one["frame"].tolist() == d.points.loc[d.points["dir"] == side, "frame"].tolist()
    fig = rtt.figure(d)
    assert [len(tr["customdata"]) for tr in fig["data"]] == [
        int((d.points["dir"] == s).sum()) for s in ("client", "server")]
