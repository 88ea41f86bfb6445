"""The seq kind (Stevens / tcptrace time-sequence graph) checked against tcptrace's own
graphs (``tcptrace -S``) point for point, and against the table's flow-control episodes;
its interactive figure decimated without losing a marked segment."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tcpwatch.plot import render, seq
from tcpwatch.plot.choose import busiest, conn_rows
from tcpwatch.plot.decimate import keep
from tcpwatch.report.episodes import episodes
from tcpwatch.report.verify import tshark_fields

from ..conftest import PUBLIC, REPO
from ..reference.captures import analysed
from . import xpl

CAPTURES = REPO / "captures"
#: captures with data, both directions compared; every tcptrace graph of each must match
#: one tcpwatch connection (these have no port reuse, where the two split differently)
AGAINST_TCPTRACE = [
    CAPTURES / "lossy_bulk.pcap",  # SACKs, fast retransmissions, an out-of-order segment
    CAPTURES / "upstream_loss.pcap",  # loss before the capture point: holes filled later
    CAPTURES / "zero_window.pcap",  # zero windows, Linux's probes (keep-alives)
    CAPTURES / "zero_window_probe.pcap",  # RFC 9293 probes with a byte of data
    CAPTURES / "spurious_retransmission.pcap",
    CAPTURES / "window_full.pcap",
    CAPTURES / "half_close.pcap",
    CAPTURES / "rst_abort.pcap",  # the RST is not an ACK (tcptrace returns before drawing)
    CAPTURES / "ipv6_echo.pcap",
    PUBLIC / "chrissanders-packets" / "tcp_dupack.pcapng",  # SACK blocks, a hole
    PUBLIC / "chrissanders-packets" / "tcp_retransmissions.pcapng",
    PUBLIC / "chrissanders-packets" / "tcp_zerowindowrecovery.pcapng",
    PUBLIC / "chrissanders-packets" / "http_google.pcapng",
    PUBLIC / "suricata-verify" / "mqtt-limit-2.pcap",
    PUBLIC / "zeek" / "retransmit-fast009.pcap",  # SACKs and retransmissions, elsewhere
    PUBLIC / "tcpdump" / "tcp_rst_data.pcap",  # an RST with data: a bar, not an ACK
    PUBLIC / "arkime" / "no-syn-ack.pcap",  # SYN-ACKs not captured: tcptrace does not scale
]
MOD = 2**32


def _by_ports(segs: pd.DataFrame) -> dict[tuple[int, int], pd.DataFrame]:
    """Each connection's rows by (client port, server port)."""
    out: dict[tuple[int, int], pd.DataFrame] = {}
    for c in pd.unique(segs["conn"]):
        rows = conn_rows(segs, int(c))
        first = rows[rows["role"] == "client"].iloc[0]
        key = (int(first["sport"]), int(first["dport"]))
        assert key not in out, f"two connections on ports {key}: pick another capture"
        out[key] = rows
    return out


def _old_data_rule(d: seq.SeqData, sender: str) -> tuple[Counter, Counter]:
    """tcptrace's R and O marks as its rule predicts them from tcpwatch's data: of the
    segments Wireshark calls retransmitted or out-of-order (data below the highest
    sequence number sent), R where some byte was already seen in an earlier segment, O
    where none was (the segment fills a hole the capture never saw filled)."""
    s = d.segments[(d.segments["sender"] == sender) & (d.segments["len"] > 0)
                   & ~d.segments["syn"] & ~d.segments["fin"]]
    seqs, ends = s["seq"].to_numpy(), s["end"].to_numpy()
    old = (s["retransmission"] | s["out_of_order"]).to_numpy()
    usec = xpl.usec_of(d, s["row"].to_numpy())
    top = (ends + d.isn[sender]) % MOD
    r, o = Counter(), Counter()
    for i in np.flatnonzero(old):  # a few dozen segments
        seen = bool(np.any((seqs[:i] < ends[i]) & (ends[:i] > seqs[i])))
        (r if seen else o)[(int(usec[i]), int(top[i]))] += 1
    return r, o


def _texts(v: xpl.View, label: str) -> Counter:
    return Counter({(t, y): n for (text, t, y), n in v.texts.items() if text == label})


@pytest.mark.parametrize("capture", AGAINST_TCPTRACE, ids=lambda p: p.name)
def test_seq_graph_matches_tcptrace(capture: Path, tmp_path: Path) -> None:
    """Segments, the ACK line, the window line and SACK blocks equal tcptrace's, command
    for command, in tcptrace's coordinates (absolute microseconds, absolute sequence
    numbers); its zero-window (Z) and probe (P) marks equal ours; its retransmission (R)
    and out-of-order (O) marks split Wireshark's by its own rule."""
    assert capture.exists(), capture
    conns = _by_ports(analysed(capture))
    graphs = xpl.tcptrace_graphs(capture, tmp_path)
    assert len(graphs) == 2 * len(conns)
    for g in graphs:
        a, b = g.ports
        sender = "client" if (a, b) in conns else "server"
        d = seq.data(conns[(a, b) if sender == "client" else (b, a)], direction=sender)
        got, want = xpl.view(g), xpl.expected(d, sender,
                                              unscaled=not xpl.tcptrace_scales(d))
        assert got.segments == want.segments, g.title
        assert got.acks == want.acks, g.title
        assert got.window == want.window, g.title
        assert got.sacks == want.sacks, g.title
        # the times are the data's own: seconds since the connection's first segment
        s = d.segments
        assert np.allclose(s["t"] + d.conn.t0, xpl.usec_of(d, s["row"].to_numpy()) / 1e6,
                           rtol=0, atol=1e-6)

        isn = d.isn[sender]
        ak = d.acks[d.acks["zero"]]
        zero = Counter(zip(xpl.usec_of(d, ak["row"].to_numpy()).tolist(),
                           ((ak["winend"] + isn) % MOD).tolist(), strict=True))
        assert _texts(got, "Z") == zero, g.title
        pr = s[s["zero_window_probe"]]
        probes = Counter(zip(xpl.usec_of(d, pr["row"].to_numpy()).tolist(),
                             ((pr["end"] + isn) % MOD).tolist(), strict=True))
        assert _texts(got, "P") == probes, g.title
        r, o = _old_data_rule(d, sender)
        assert (_texts(got, "R"), _texts(got, "O")) == (r, o), g.title


def test_tcptrace_and_wireshark_name_old_data_differently(tmp_path: Path) -> None:
    """The rule above is not vacuous: on upstream_loss.pcap two retransmissions (Wireshark:
    old data, more than an RTT after the newest) fill holes the capture never saw, and
    tcptrace calls them out-of-order; on lossy_bulk.pcap Wireshark's out-of-order segment
    (within an RTT of the newest) resends bytes already seen, and tcptrace calls it R."""
    cases = {"upstream_loss.pcap": ("retransmission", "O"),
             "lossy_bulk.pcap": ("out_of_order", "R")}
    for name, (wireshark, letter) in cases.items():
        rows = next(iter(_by_ports(analysed(CAPTURES / name)).values()))
        d = seq.data(rows, direction="client")
        graph = next(g for g in xpl.tcptrace_graphs(CAPTURES / name, tmp_path / name[:5])
                     if re.search(rf":{rows['sport'].iloc[0]}_==>_", g.title))
        s = d.segments[d.segments[wireshark]]
        theirs = _texts(xpl.view(graph), letter)
        both = [(int(t), int(y)) for t, y in zip(
            xpl.usec_of(d, s["row"].to_numpy()), (s["end"] + d.isn["client"]) % MOD,
            strict=True) if (int(t), int(y)) in theirs]
        assert both, (name, wireshark, letter)


def test_window_scaled_where_tcptrace_does_not() -> None:
    """The one difference in the window line, by design: without the SYN-ACK tcptrace
    draws the client's raw window field; tcpwatch draws Wireshark's window, scaled by the
    shift the client's SYN announced (tcp.window_size 6144 for a field of 12)."""
    rows = conn_rows(analysed(PUBLIC / "arkime" / "no-syn-ack.pcap"), 0)
    d = seq.data(rows, direction="server")
    assert not xpl.tcptrace_scales(d)
    raw = rows["win_raw"].to_numpy()[d.acks["row"].to_numpy()]
    assert d.acks["win"].tolist() == [6144] * 3 and raw.tolist() == [12] * 3


@pytest.fixture(scope="module")
def lossy() -> pd.DataFrame:
    segs = analysed(CAPTURES / "lossy_bulk.pcap")
    return conn_rows(segs, busiest(segs, 1)[0])


def test_stalls_are_the_zero_window_episodes() -> None:
    """Shaded stalls = report/episodes.py's zero-window episodes (an open one reaching the
    end of the capture), with the stalled side as the sender."""
    seen = 0
    for capture in (CAPTURES / "zero_window.pcap", CAPTURES / "zero_window_probe.pcap",
                    CAPTURES / "window_full.pcap", PUBLIC / "ndpi" / "edonkey.pcap"):
        segs = analysed(capture)
        ep = episodes(segs)
        ep = ep[ep["kind"] == "zero_window"]
        for c in pd.unique(segs["conn"]):
            rows = conn_rows(segs, int(c))
            d = seq.data(rows, direction="both")
            mine = ep[ep["conn"] == c]
            assert len(d.stalls) == len(mine), capture
            stalled = np.where(mine["side"] == "client", "server", "client")
            assert d.stalls["sender"].tolist() == stalled.tolist()
            t0 = d.conn.t0
            assert np.allclose(d.stalls["start"] + t0, mine["start"].astype(float))
            end = mine["end"].astype(float).to_numpy()
            t_last = float(rows["ts"].max() - t0)
            assert np.allclose(d.stalls["end"], np.where(np.isnan(end), t_last, end - t0))
            assert ((d.stalls["frame_end"] == -1) == np.isnan(end)).all()
            seen += len(mine)
    assert seen == 5


def test_unwrap_keeps_rising_past_2_32() -> None:
    """A transfer past 4 GiB: relative numbers wrap in the table (uint32), not on the
    axis; an ACK just below the first byte seen is negative."""
    near = np.array([0, 2**32 - 1448, 2**32 - 10, 5, 1453, 2**32 - 4], dtype=np.uint32)
    assert seq.unwrap(near).tolist() == [0, -1448, -10, 5, 1453, -4]
    run = (np.arange(0, 6 * 2**31, 2**30, dtype=np.int64) % 2**32).astype(np.uint32)
    assert seq.unwrap(run).tolist() == list(range(0, 6 * 2**31, 2**30))


def test_figure_points_are_segments(lossy: pd.DataFrame) -> None:
    """Every trace's points carry their segment's frame and its hover text (the frame
    named in it); every marked segment is drawn; times since the connection's start."""
    for direction in ("client", "server", "both"):
        d = seq.data(lossy, direction=direction)
        fig = seq.figure(d)
        names = [t["name"] for t in fig["data"]]
        for trace in fig["data"]:
            frames, text = trace["customdata"], trace["text"]
            assert len(frames) == len(text) > 0, trace["name"]
            assert [int(re.match(r"frame (\d+) · t=", h)[1]) for h in text] == frames
        for m in seq.MARKS:
            marked = d.segments[d.segments[m.name]]
            for sender, part in marked.groupby("sender"):
                who = f" ({sender})" if direction == "both" else ""
                trace = fig["data"][names.index(f"{m.label}{who}")]
                assert sorted(trace["customdata"]) == sorted(part["frame"].tolist())
    fig = seq.figure(seq.data(lossy, direction="server"))
    syn = next(t for t in fig["data"] if t["name"] == "SYN")
    # the time since the connection's first segment, as tshark tells it (the capture's
    # first frame is that segment)
    t2 = tshark_fields(CAPTURES / "lossy_bulk.pcap", ["frame.time_relative"],
                       display_filter="frame.number == 2")["frame.time_relative"]
    assert syn["text"][0].startswith(f"frame 2 · t={float(t2.iloc[0]):.6f}s<br>server [S.]")


def test_decimation_keeps_extremes_and_marks(lossy: pd.DataFrame) -> None:
    """Per pixel column the lowest start, the highest end, the first and the last point,
    and every marked one; nothing else."""
    s = seq.data(lossy, direction="client").segments
    t, lo, hi = s["t"].to_numpy(), s["seq"].to_numpy(), s["end"].to_numpy()
    marked = s["retransmission"].to_numpy()
    kept = keep(t, lo, hi, marked=marked, max_points=50, columns=20)
    col = np.minimum(((t - t.min()) / (t.max() - t.min()) * 20).astype(int), 19)
    want = set(np.flatnonzero(marked))
    for c in np.unique(col):
        at = np.flatnonzero(col == c)
        want |= {at[0], at[-1], at[np.argmin(lo[at])], at[np.argmax(hi[at])]}
    assert set(kept.tolist()) == want
    assert len(kept) < len(s) / 2
    assert keep(t, lo, hi, marked=marked).tolist() == list(range(len(s)))  # small: all


def test_draws_png_svg_html(lossy: pd.DataFrame, tmp_path: Path) -> None:
    for direction, ext in (("client", ".png"), ("both", ".svg"), ("server", ".html")):
        out = render.render(lossy, ("seq",), tmp_path / f"s-{direction}{ext}",
                            direction=direction)
        assert out[0].stat().st_size > 10_000
