"""The connection summary, row by row, against the segment table of the same connection.

The reference here is deliberately plain: one Python loop per connection over its own
segments, sorted by frame.  The summary itself is whole-column (groupby/aggregate); the
mistake this guards against is an aggregate that lands on the wrong connection when
connections interleave (``groupby().tail(1)`` keeps file order, not connection order).
"""

from __future__ import annotations

import functools
import math

import numpy as np
import pandas as pd
import pytest

import tcpwatch
from tcpwatch.report.summary import summarize_connections
from tcpwatch.vocab import TcpFlag

from .conftest import PUBLIC, REPO, public_captures

#: captures with many interleaved connections (and a few plain ones for contrast)
CAPTURES = [
    PUBLIC / "chrissanders-packets" / "synscan.pcapng",  # 1,994 half-open, interleaved
    PUBLIC / "ndpi" / "avast.pcap",  # 10 connections, keep-alives, RSTs
    PUBLIC / "arkime" / "tcp_handshake_synthetic.pcap",  # 16 variants, port reuse
    PUBLIC / "chrissanders-packets" / "http_ip4and6.pcapng",
    REPO / "captures" / "many_short.pcap",
    REPO / "captures" / "echo_both_close.pcap",
    REPO / "captures" / "lossy_bulk.pcap",
    REPO / "captures" / "port_reuse.pcap",
]


@functools.cache
def annotated(path) -> pd.DataFrame:
    return tcpwatch.analyze(path)


def _endpoint(addr: str, port: int) -> str:
    return f"[{addr}]:{port}" if ":" in addr else f"{addr}:{port}"


def reference_row(g: pd.DataFrame) -> dict:
    """What the summary must say about one connection, from its own segments only."""
    g = g.sort_values("frame")
    client = (g["role"] == "client").to_numpy()
    f = g["flags"].to_numpy().astype(int)
    syn, ack = (f & TcpFlag.SYN) != 0, (f & TcpFlag.ACK) != 0
    fin, rst = (f & TcpFlag.FIN) != 0, (f & TcpFlag.RST) != 0
    head = g.iloc[0]
    if head["role"] == "client":
        c, s = _endpoint(head["src"], head["sport"]), _endpoint(head["dst"], head["dport"])
    else:
        c, s = _endpoint(head["dst"], head["dport"]), _endpoint(head["src"], head["sport"])
    last = g.iloc[-1]
    closers = [("client" if cl else "server") for cl, x in zip(client, fin | rst,
                                                                 strict=True) if x]
    win_c = g["win"][client & ~rst]
    win_s = g["win"][~client & ~rst]
    ev = g["events"].astype(str)
    return {
        "client": c, "server": s,
        "start": g["ts"].min(), "duration": g["ts"].max() - g["ts"].min(),
        "pkts_client": int(client.sum()), "pkts_server": int((~client).sum()),
        "bytes_client": int(g["len"][client].sum()), "bytes_server": int(g["len"][~client].sum()),
        "win_min_client": win_c.min() if len(win_c) else None,
        "win_max_client": win_c.max() if len(win_c) else None,
        "win_min_server": win_s.min() if len(win_s) else None,
        "win_max_server": win_s.max() if len(win_s) else None,
        "final_client": str(last["state_after_client"]),
        "final_server": str(last["state_after_server"]),
        "closed_first": closers[0] if closers else "",
        "any_syn": bool((client & syn & ~ack).any()),
        "rst_by": ("client" if client[np.argmax(rst)] else "server") if rst.any() else "",
        "retransmissions": int(ev.str.contains("retransmission").sum()),
        "fast_retransmissions": int(ev.str.contains("fast_retransmission").sum()),
        "dup_acks": int(ev.str.contains("duplicate_ack").sum()),
        "rtt_min": g["ack_rtt"].min(), "rtt_max": g["ack_rtt"].max(),
        "rtt_median": g["ack_rtt"].median(),
    }


def _same(a, b) -> bool:
    if a is None or (isinstance(a, float) and math.isnan(a)) or a is pd.NA:
        return b is None or b is pd.NA or (isinstance(b, float) and math.isnan(b))
    if isinstance(a, float | np.floating):
        return b is not pd.NA and b is not None and abs(float(a) - float(b)) < 1e-9
    return a == b


@pytest.mark.parametrize("path", CAPTURES, ids=lambda p: p.name)
def test_every_summary_row_describes_its_own_connection(path):
    seg = annotated(path)
    summary = summarize_connections(seg).set_index("conn")
    assert summary.index.tolist() == sorted(seg["conn"].unique().tolist())
    wrong = []
    for conn, g in seg.groupby("conn", sort=True):
        want = reference_row(g)
        got = summary.loc[conn]
        for col, value in want.items():
            if col == "any_syn":
                assert (got["handshake"] != "no") or not value, conn
                continue
            if col == "rst_by":
                if value:
                    assert got["ended"] == f"RST by {value}", (conn, got["ended"])
                continue
            if not _same(value, got[col]):
                wrong.append((conn, col, value, got[col]))
    assert not wrong, f"{len(wrong)} summary cells differ, first: {wrong[:10]}"


def test_interleaving_is_really_exercised():
    """The captures above interleave connections: a connection's last segment often
    comes after a later-numbered connection's last segment (in synscan.pcapng alone, 7
    times: the 14 connections the old summary got wrong)."""
    inversions = 0
    for path in CAPTURES:
        last_frame = annotated(path).groupby("conn")["frame"].max()
        inversions += int((last_frame.diff().dropna() < 0).sum())
    assert inversions >= 5


def test_synscan_connection_11_is_a_refused_syn():
    """The case from issue 11: a SYN answered by an RST; its last segment says
    CLOSED / CLOSED, and so must the summary."""
    seg = annotated(CAPTURES[0])
    row = summarize_connections(seg).set_index("conn").loc[11]
    last = seg[seg["conn"] == 11].iloc[-1]
    assert (row["final_client"], row["final_server"]) == ("CLOSED", "CLOSED")
    assert (str(last["state_after_client"]), str(last["state_after_server"])) == (
        "CLOSED", "CLOSED")
    assert row["ended"] == "RST by server" and row["conn_state"] == "REJ"


ALL_CAPTURES = sorted((REPO / "captures").glob("*.pcap")) + public_captures()


@pytest.mark.parametrize("path", ALL_CAPTURES, ids=lambda p: p.name)
def test_final_states_are_each_connections_last_segment(path):
    """On every capture in the suite: the summary's final states are the states after
    the last segment of that same connection."""
    seg = annotated(path)
    if seg.empty:
        assert summarize_connections(seg).empty
        return
    summary = summarize_connections(seg).set_index("conn")
    last = seg.loc[seg.groupby("conn")["frame"].idxmax()].set_index("conn")
    assert (summary["final_client"] == last["state_after_client"].astype(str)).all()
    assert (summary["final_server"] == last["state_after_server"].astype(str)).all()
