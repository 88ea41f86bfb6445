"""The same real packets in every container form give the same segment table."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import tcpwatch
from tcpwatch.lab.scenarios.run import client, server
from tcpwatch.lab.scenarios.tcpdump import tcpdump
from tcpwatch.report.parity import compare_with_tshark

from .conftest import REPO, needs_tshark
from .pcapgen import read_pcap, write_pcap, write_pcapng

FIELDS = [c for c in tcpwatch.SEGMENT_COLUMNS if c != "ts"]
#: what does not depend on capture times (an SPB has none)
TIMELESS = [c for c in FIELDS if c not in ("ts_ns", "ack_rtt", "events", "dup_ack_num",
                                           "dup_ack_frame", "bytes_in_flight", "acked_frame")]


@pytest.fixture(scope="module")
def lo_capture(tmp_path_factory):
    if os.geteuid() != 0:
        pytest.skip("needs root (tcpdump)")
    path = tmp_path_factory.mktemp("fmt") / "lo.pcap"
    with server("127.0.0.1", 61011), tcpdump("lo", path, "tcp port 61011"):
        client("echo", "127.0.0.1", "61011", "--conns", "4", "--size", "5000")
    return path


def _same(a: pd.DataFrame, b: pd.DataFrame, ts_tol: float = 1e-6) -> None:
    assert len(a) == len(b) > 0
    for c in FIELDS:
        assert a[c].astype(str).tolist() == b[c].astype(str).tolist(), c
    assert np.allclose(a["ts"], b["ts"], atol=ts_tol, rtol=0)


@pytest.mark.parametrize("big", [False, True], ids=["little", "big"])
@pytest.mark.parametrize("nano", [False, True], ids=["usec", "nsec"])
def test_pcap_byte_orders_and_resolutions(lo_capture, tmp_path, big, nano):
    lt, _snap, recs = read_pcap(lo_capture)
    out = tmp_path / "x.pcap"
    write_pcap(out, lt, recs, big=big, nano=nano)
    _same(tcpwatch.analyze(lo_capture), tcpwatch.analyze(out))


@pytest.mark.parametrize("big", [False, True], ids=["little", "big"])
@pytest.mark.parametrize("tsresol", [6, 9], ids=["usec", "nsec"])
def test_pcapng_blocks(lo_capture, tmp_path, big, tsresol):
    lt, _snap, recs = read_pcap(lo_capture)
    out = tmp_path / "x.pcapng"
    write_pcapng(out, lt, recs, big=big, tsresol=tsresol, kinds=("epb", "opb"))
    _same(tcpwatch.analyze(lo_capture), tcpwatch.analyze(out))


def test_pcapng_simple_packet_blocks_have_no_time(lo_capture, tmp_path):
    lt, _snap, recs = read_pcap(lo_capture)
    out = tmp_path / "spb.pcapng"
    write_pcapng(out, lt, recs, kinds=("epb", "spb"))
    a, b = tcpwatch.analyze(lo_capture), tcpwatch.analyze(out)
    assert a[TIMELESS].astype(str).equals(b[TIMELESS].astype(str))
    assert b["ts"].isna().sum() == len(recs) // 2  # SPBs carry no timestamp


@needs_tshark
def test_editcap_pcapng(lo_capture, tmp_path):
    """editcap's own pcapng (with its options and comments) reads the same, matches tshark."""
    out = tmp_path / "editcap.pcapng"
    subprocess.run(["editcap", "-F", "pcapng", "--capture-comment", "made by editcap",
                    str(lo_capture), str(out)], check=True, capture_output=True)
    seg = tcpwatch.analyze(out)
    _same(tcpwatch.analyze(lo_capture), seg)
    assert compare_with_tshark(seg, out).empty


def test_small_chunks_give_the_same_table(lo_capture, tmp_path):
    """Records cut at every chunk boundary are carried over correctly."""
    whole = tcpwatch.analyze(lo_capture)
    for size in (97, 1000, 4096):
        _same(whole, tcpwatch.analyze(lo_capture, chunk_size=size), ts_tol=0)
    lt, _snap, recs = read_pcap(lo_capture)
    png = tmp_path / "x.pcapng"
    write_pcapng(png, lt, recs)
    _same(whole, tcpwatch.analyze(png, chunk_size=333))


def test_stdin(lo_capture):
    """``tcpwatch analyze -`` reads the capture from a pipe."""
    with open(lo_capture, "rb") as f:
        res = subprocess.run([sys.executable, "-m", "tcpwatch", "analyze", "-", "-o",
                              str(lo_capture.with_suffix(".csv"))], stdin=f,
                             capture_output=True, text=True, cwd=REPO)
    assert res.returncode == 0, res.stderr
    got = pd.read_csv(lo_capture.with_suffix(".csv"))
    want = tcpwatch.analyze(lo_capture)
    assert got["frame"].tolist() == want["frame"].tolist()
    assert got["rel_seq"].tolist() == want["rel_seq"].tolist()
