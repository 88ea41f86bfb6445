"""``tcpwatch plot``: what it chooses, what it writes, and its refusals (one line, exit 2,
no file); the RTT graph's points are Wireshark's tcp.analysis.ack_rtt."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tcpwatch
from tcpwatch.plot import rtt
from tcpwatch.plot.choose import busiest, conn_rows

from ..conftest import PUBLIC, REPO, needs_tshark
from ..test_cli_values import tcpwatch_here

CAP = REPO / "captures"
TWO = PUBLIC / "chrissanders-packets" / "http_ip4and6.pcapng"  # conns 0 and 1


def plot(folder: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tcpwatch", "plot", *args], cwd=folder,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(("args", "words"), [
    ((str(CAP / "half_close.pcap"), "-o", "x.jpg"), ["unknown extension '.jpg'", ".png"]),
    ((str(CAP / "half_close.pcap"), "-o", "nowhere/x.png"), ["no folder"]),
    ((str(CAP / "half_close.pcap"), "-o", "x.png", "--kind", "pie"), ["'pie' is not one of"]),
    ((str(CAP / "half_close.pcap"), "-o", "x.png", "--conn", "7"),
     ["no connection 7", "it has connection 0"]),
    ((str(CAP / "half_close.pcap"), "-o", "x.png", "-Y", "tcp.flags.reset == 1"),
     ["no TCP connection to draw", "matches the filter"]),
    ((str(CAP / "README.md"), "-o", "x.png"), ["README.md"]),
    (("nothere.pcap", "-o", "x.png"), ["nothere.pcap"]),
])
def test_refusals(tmp_path: Path, args: tuple[str, ...], words: list[str]) -> None:
    res = tcpwatch_here(tmp_path, "plot", *args)
    assert res.returncode == 2, (res.returncode, res.stderr)
    lines = res.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("tcpwatch: error: "), res.stderr
    for w in words:
        assert w in lines[0], (w, lines[0])
    assert list(tmp_path.iterdir()) == []


def test_default_kind_and_busiest(tmp_path: Path) -> None:
    """No --kind: a short connection is a ladder, a long one seq + window; no --conn: the
    busiest connection (of those -Y selects)."""
    res = plot(tmp_path, str(CAP / "lossy_bulk.pcap"), "-o", "a.png")
    assert res.returncode == 0, res.stderr
    n = len(tcpwatch.analyze(CAP / "lossy_bulk.pcap"))  # one connection
    assert n > 60 and f"(conn 0, {n} segments: seq, window)" in res.stderr
    seg = tcpwatch.analyze(TWO)
    counts = seg.groupby("conn").size()
    res = plot(tmp_path, str(TWO), "-o", "b.svg")
    assert res.returncode == 0, res.stderr
    top = int(counts.idxmax())
    assert f"(conn {top}, {counts[top]} segments: ladder)" in res.stderr
    assert (tmp_path / "b.svg").read_text().lstrip().startswith("<?xml")
    other = 1 - top
    res = plot(tmp_path, str(TWO), "-o", "c.png", "-Y", f"tcp.stream == {other}")
    assert f"(conn {other}, {counts[other]} segments" in res.stderr


def test_several_conns_and_split(tmp_path: Path) -> None:
    res = plot(tmp_path, str(TWO), "-o", "g.png", "--conn", "0", "--conn", "1",
               "--kind", "rtt", "--kind", "ladder", "--split")
    assert res.returncode == 0, res.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "g-conn0-ladder.png", "g-conn0-rtt.png", "g-conn1-ladder.png", "g-conn1-rtt.png"]
    for p in tmp_path.iterdir():
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _tshark_rtt(path: Path) -> dict[int, float]:
    res = subprocess.run(["tshark", "-n", "-2", "-r", str(path), "-Y", "tcp.analysis.ack_rtt",
                          "-T", "fields", "-e", "frame.number", "-e", "tcp.analysis.ack_rtt"],
                         capture_output=True, text=True, timeout=60, check=True)
    return {int(f): float(v) for f, v in (ln.split("\t") for ln in res.stdout.splitlines())}


@needs_tshark
@pytest.mark.parametrize("name", ["lossy_bulk.pcap", "zero_window.pcap",
                                  "spurious_retransmission.pcap"])
def test_rtt_points_are_tsharks(name: str) -> None:
    """Each direction's RTT points are the frames where tshark has an ack_rtt, sent by the
    peer of the data's sender, with tshark's value."""
    path = CAP / name
    seg = tcpwatch.analyze(path)
    want = _tshark_rtt(path)
    rows = conn_rows(seg, busiest(seg, 1)[0])
    got: dict[int, float] = {}
    for direction in ("client", "server"):
        p = rtt.data(rows, direction=direction).points
        acker = "server" if direction == "client" else "client"
        roles = rows.set_index("frame").loc[p["frame"], "role"].astype(str)
        assert (roles == acker).all()
        got.update(zip(p["frame"].tolist(), (p["rtt_ms"] / 1e3).tolist(), strict=True))
    want = {f: v for f, v in want.items() if f in set(rows["frame"].tolist())}
    assert want and sorted(got) == sorted(want)
    np.testing.assert_allclose([got[f] for f in sorted(got)], [want[f] for f in sorted(got)],
                               atol=1e-6)
