"""The throughput graph against tshark: the bytes it counts are tshark's tcp.len summed by
``-z io,stat``, and its moving averages are Wireshark's rule (tcp_stream_dialog.cpp
fillThroughput, time-based) worked through literally, one segment at a time, on tshark's
own fields; ``tcpwatch plot`` writes this part's kinds as PNG, SVG and HTML. (Every kind
on every capture: tests/plot/test_every_capture.py.)"""

from __future__ import annotations

import re
import subprocess

import numpy as np
import pandas as pd
import pytest

import tcpwatch
from tcpwatch.plot import throughput
from tcpwatch.plot.choose import busiest, conn_rows
from tcpwatch.report.verify import tshark_fields

from ..conftest import REPO

CAPTURES = ["lossy_bulk.pcap", "zero_window.pcap", "window_full.pcap"]
BIN_NS = 1_000_000  # io,stat interval: 1 ms


def _io_stat(path, bin_s: float, match: str) -> list[int]:
    """tshark's SUM(tcp.len) per interval of the frames ``match`` selects."""
    out = subprocess.run(["tshark", "-n", "-q", "-r", str(path), "-z",
                          f"io,stat,{bin_s},SUM(tcp.len)tcp.len && {match}"],
                         capture_output=True, text=True, check=True).stdout
    return [int(m.group(1)) for m in re.finditer(r"<>\s*[\d.]+\s*\|\s*(\d+)\s*\|", out)]


@pytest.fixture(scope="module", params=CAPTURES)
def case(request):
    path = REPO / "captures" / request.param
    segs = tcpwatch.analyze(path)
    assert segs["frame"].iloc[0] == 1, "io,stat counts from the capture's first frame"
    ref = tshark_fields(path, ["tcp.len", "tcp.ack", "tcp.flags.ack", "tcp.srcport"],
                        "tcp.stream == 0")
    return path, segs, conn_rows(segs, busiest(segs, 1)[0]), ref


@pytest.mark.parametrize("direction", ["client", "server"])
def test_bytes_per_interval_are_io_stats(case, direction):
    path, segs, rows, _ = case
    d = throughput.data(rows, direction=direction)
    sender = rows[rows["role"].astype(str) == direction].iloc[0]
    ref = _io_stat(path, BIN_NS / 1e9, f"ip.src=={sender['src']} && "
                   f"tcp.srcport=={sender['sport']}")
    ts_ns = rows.set_index("frame").loc[d.segments["frame"], "ts_ns"].to_numpy()
    bins = (ts_ns - int(segs["ts_ns"].iloc[0])) // BIN_NS
    ours = np.bincount(bins, weights=d.segments["len"].to_numpy(), minlength=len(ref))
    assert ours.astype(int).tolist() == ref
    assert sum(ref) > 0


def _wireshark_ma(times, lens, window_s):
    """fillThroughput's loop for one direction, transcribed: (times, bits/s) points."""
    pkt_t, pkt_len, out_t, out_v = [], [], [], []
    oldest, total = 0, 0
    for ts, seglen in zip(times, lens, strict=True):
        pkt_t.append(ts)
        pkt_len.append(seglen)
        while oldest < len(pkt_t) and ts - pkt_t[oldest] > window_s:
            total -= pkt_len[oldest]
            out_v.append(total * 8.0 / window_s)
            out_t.append(pkt_t[oldest] + window_s)
            oldest += 1
        total += seglen
        value = total * 8.0 / window_s
        if out_t and ts <= out_t[-1]:
            out_v[-1] = value
        else:
            out_v.append(value)
            out_t.append(ts)
    return np.array(out_t), np.array(out_v)


def _acked(ref: pd.DataFrame) -> list[int]:
    """Goodput's bytes per reverse segment: the cumulative ACK's advance (wrap-aware)."""
    acks = ref["tcp.ack"].astype(np.int64).tolist()
    is_ack = ref["tcp.flags.ack"].isin(["1", "True"]).tolist()
    last = next((a for a, f in zip(acks, is_ack, strict=True) if f), 0)
    out = []
    for a, f in zip(acks, is_ack, strict=True):
        diff = (a - last) % (1 << 32)
        if f and diff < (1 << 31):
            out.append(diff)
            last = a
        else:
            out.append(0)
    return out


@pytest.mark.parametrize("window_s", [None, 1.0])
def test_moving_averages_follow_wiresharks_loop_on_tsharks_fields(case, window_s):
    _, _, rows, ref = case
    ref = ref.copy()
    ref["frame"] = ref["frame.number"].astype(int)
    t_of = dict(zip(rows["frame"], rows["ts"] - rows["ts"].iloc[0], strict=True))
    ref["t"] = ref["frame"].map(t_of)
    for direction in ("client", "server"):
        d = throughput.data(rows, direction=direction, window=window_s)
        port = rows.loc[rows["role"].astype(str) == direction, "sport"].iloc[0]
        fwd = ref[ref["tcp.srcport"] == str(port)]
        rev = ref[ref["tcp.srcport"] != str(port)]
        for what, part, lens in (("throughput", fwd, fwd["tcp.len"].astype(int).tolist()),
                                 ("goodput", rev, _acked(rev))):
            want_t, want_v = _wireshark_ma(part["t"].tolist(), lens, d.window)
            got = d.rates[d.rates["what"] == what]
            assert np.allclose(got["t"], want_t, rtol=0, atol=1e-9), (direction, what)
            assert np.allclose(got["bps"], want_v, rtol=1e-12), (direction, what)
            assert want_v.max() > 0 or what == "goodput"


def test_auto_window_is_wiresharks_second_or_a_tenth_of_a_short_connection():
    assert throughput.auto_window(3600.0) == throughput.auto_window(10.0) == 1.0
    assert throughput.auto_window(1.5) == 0.1
    assert throughput.auto_window(0.0068) == 0.0005
    assert throughput.auto_window(0.0) == 1e-6


def test_png_svg_and_html_files(tmp_path, name="zero_window.pcap"):
    """``tcpwatch plot --split`` writes each kind of this part to its own PNG, SVG and
    HTML; the HTML carries every segment's frame number for the hover."""
    from click.testing import CliRunner

    from tcpwatch.cli.main import app

    path = REPO / "captures" / name
    for ext in ("png", "svg", "html"):
        out = tmp_path / f"g.{ext}"
        args = ["plot", str(path), "-d", "both", "-o", str(out), "--split"]
        for kind in ("window", "throughput", "rtt"):
            args += ["--kind", kind]
        res = CliRunner().invoke(app, args)
        assert res.exit_code == 0, res.output
        for kind in ("window", "throughput", "rtt"):
            f = tmp_path / f"g-{kind}.{ext}"
            assert f.stat().st_size > 1000
    html = (tmp_path / "g-window.html").read_text()
    rows = conn_rows(tcpwatch.analyze(path), 0)
    first_data = int(rows.loc[rows["bytes_in_flight"].notna(), "frame"].iloc[0])
    assert '"customdata":[' in html and f"frame {first_data} " in html
