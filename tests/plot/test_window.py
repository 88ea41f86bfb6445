"""The window graph against tshark on the same frames: its bytes in flight are
tcp.analysis.bytes_in_flight, its window line tcp.window_size, its shaded episodes cover
exactly the frames tshark flags zero_window / window_full, its window-scale note is
tcp.window_size_scalefactor;."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import tcpwatch
from tcpwatch.plot import window
from tcpwatch.plot.choose import conn_rows
from tcpwatch.report.verify import tshark_fields

from ..conftest import REPO

CAPTURES = ["zero_window.pcap", "window_full.pcap", "lossy_bulk.pcap",
            "zero_window_probe.pcap"]
FIELDS = ["tcp.stream", "tcp.analysis.bytes_in_flight", "tcp.window_size",
          "tcp.analysis.zero_window", "tcp.analysis.window_full",
          "tcp.window_size_scalefactor", "tcp.flags.syn", "tcp.flags.reset"]


def _tshark(path) -> pd.DataFrame:
    ref = tshark_fields(path, FIELDS)
    ref["frame"] = ref["frame.number"].astype(int)
    return ref.set_index("frame")


def _flagged(ref: pd.DataFrame, field: str) -> set[int]:
    return set(ref.index[ref[field] != ""].tolist())


@pytest.fixture(scope="module", params=CAPTURES)
def case(request):
    path = REPO / "captures" / request.param
    segs = tcpwatch.analyze(path)
    assert segs["conn"].nunique() == 1, "these scenario captures hold one connection"
    rows = conn_rows(segs, 0)
    return rows, window.data(rows, direction="both"), _tshark(path)


def test_bytes_in_flight_and_window_are_tsharks(case):
    _, d, ref = case
    bif = ref["tcp.analysis.bytes_in_flight"]
    assert set(d.flight["frame"]) == set(bif.index[bif != ""])
    assert d.flight["bytes_in_flight"].tolist() == bif.loc[d.flight["frame"]].astype(int).tolist()
    # every segment but a RST draws the window of its sender (as its peer's limit)
    not_rst = ref.index[ref["tcp.flags.reset"].isin(["0", "False"])]
    assert sorted(d.window["frame"]) == sorted(not_rst)
    assert (d.window["win"].tolist()
            == ref.loc[d.window["frame"], "tcp.window_size"].astype(int).tolist())
    assert d.window.groupby("dir")["t"].is_monotonic_increasing.all()


def test_marks_are_the_frames_tshark_flags(case):
    _, d, ref = case
    for kind, field in (("zero_window", "tcp.analysis.zero_window"),
                        ("window_full", "tcp.analysis.window_full")):
        assert set(d.marks.loc[d.marks["kind"] == kind, "frame"]) == _flagged(ref, field)


def test_shaded_episodes_cover_exactly_the_flagged_frames(case):
    rows, d, ref = case
    t = rows["ts"].to_numpy() - d.conn.t0
    role = rows["role"].astype(str).to_numpy()
    frame = rows["frame"].to_numpy()
    for kind, field in (("zero_window", "tcp.analysis.zero_window"),
                        ("window_full", "tcp.analysis.window_full")):
        covered = np.zeros(len(rows), dtype=bool)
        edge = np.zeros(len(rows), dtype=bool)
        for _, e in d.episodes[d.episodes["kind"] == kind].iterrows():
            end = np.inf if np.isnan(e["end"]) else e["end"]
            # a zero window lasts until the window update (not itself zero); a
            # window-full run from its first to its last flagged segment
            inside = (t >= e["start"]) & ((t < end) if kind == "zero_window" else (t <= end))
            covered |= inside & (role == e["side"])
            edge |= ((t == e["start"]) | (t == end)) & (role == e["side"])
        flagged = _flagged(ref, field)
        got = set(frame[covered].tolist())
        # an unflagged segment is shaded only when the capture stamps it with the very
        # microsecond an episode starts or ends (segments sent back to back)
        assert flagged <= got and got - flagged <= set(frame[edge].tolist()), kind
    assert ("zero_window" in set(d.episodes["kind"])) == bool(_flagged(
        ref, "tcp.analysis.zero_window"))


def test_window_scale_note_is_tsharks_scale_factor(case):
    rows, d, ref = case
    for side in ("client", "server"):
        frames = rows.loc[rows["role"].astype(str) == side, "frame"]
        factor = ref.loc[frames, "tcp.window_size_scalefactor"]
        factor = factor[ref.loc[frames, "tcp.flags.syn"].isin(["0", "False"])]
        shift = d.scale[side]
        want = "-1" if shift is None else "-2" if shift == -2 else str(1 << shift)
        assert set(factor) == {want}, side
        if shift is not None and shift >= 0:
            assert f"{side} shift {shift} (×{1 << shift})" in d.scale_note


def test_zero_window_scenario_shows_the_stall_of_the_servers_data():
    """captures/zero_window.pcap: the client's window closes, the server's data stalls
    until the client's window update; the probes sit on the closed window."""
    rows = conn_rows(tcpwatch.analyze(REPO / "captures" / "zero_window.pcap"), 0)
    d = window.data(rows, direction="server")
    zw = d.episodes[d.episodes["kind"] == "zero_window"]
    assert len(zw) == 1 and zw["side"].iloc[0] == "client" and zw["probes"].iloc[0] == 2
    probes = d.marks[d.marks["kind"] == "probe"]
    assert len(probes) == 2 and (probes["y"] == 0).all()
    assert ((probes["t"] > zw["start"].iloc[0]) & (probes["t"] < zw["end"].iloc[0])).all()
    assert set(d.window["dir"]) == {"server"} and set(d.flight["dir"]) == {"server"}


def test_no_handshake_seen_says_so(case):
    rows, _, _ = case
    mid = rows[~rows["flag_str"].astype(str).str.contains("S")].reset_index(drop=True)
    d = window.data(mid, direction="client")
    assert d.scale == {"client": None, "server": None}
    assert d.scale_note == "window scale unknown: no handshake seen"


def test_figure_is_plotly_json_with_frames_on_every_point(case):
    _, d, _ = case
    fig = json.loads(json.dumps(window.figure(d)))
    traced = [tr for tr in fig["data"] if "customdata" in tr]
    assert traced and all(isinstance(f, int) for tr in traced for f in tr["customdata"])
    n_shapes = len(fig["layout"].get("shapes", []))
    assert n_shapes == len(d.episodes)
