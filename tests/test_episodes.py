"""Flow-control episodes (report/episodes.py, whole-column) against a plain reference: one
Python loop per direction over its own segments in frame order, and per zero-window
episode a loop over the peer's segments for the probes.  On real captures with zero-window
episodes (probes, an episode still open at the end, window-full runs, none at all), and on
the same captures with their timestamps shuffled, so that probes after an episode can
carry times inside it (the probe count must follow the rule, not the usual order)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest

import tcpwatch
from tcpwatch.engine.arrays import SegmentArrays
from tcpwatch.report.episodes import EPISODE_COLUMNS, episodes
from tcpwatch.vocab import TcpFlag

from .conftest import PUBLIC, REPO

CAPTURES = [
    REPO / "captures" / "zero_window_probe.pcap",  # two episodes, six probes
    REPO / "captures" / "zero_window.pcap",
    REPO / "captures" / "half_close.pcap",
    REPO / "captures" / "window_full.pcap",
    REPO / "captures" / "rst_abort.pcap",  # no episode at all
    PUBLIC / "ndpi" / "edonkey.pcap",  # a zero window still open at the end
    PUBLIC / "chrissanders-packets" / "tcp_zerowindowrecovery.pcapng",
]


def _runs(on: list[bool]):
    """(first, last) index of each run of True."""
    start = None
    for i, v in enumerate([*on, False]):
        if v and start is None:
            start = i
        elif not v and start is not None:
            yield start, i - 1
            start = None


def plain_episodes(a: SegmentArrays) -> pd.DataFrame:
    rows: dict[tuple[int, int], list[int]] = {}
    for i in sorted(range(len(a)), key=lambda i: (a.conn[i], a.sender[i], a.frame[i])):
        rows.setdefault((int(a.conn[i]), int(a.sender[i])), []).append(i)
    probe, full = a.has("keep_alive", "zero_window_probe"), a.has("window_full")
    closing = int(TcpFlag.SYN | TcpFlag.FIN | TcpFlag.RST)
    zero_rows, full_rows = [], []
    for (conn, sender), idx in sorted(rows.items()):
        side, peer = ("client", "server") if sender == 0 else ("server", "client")
        zero = [a.win_raw[i] == 0 and not a.flags[i] & closing for i in idx]
        for s, e in _runs(zero):
            start = a.ts[idx[s]]
            end = a.ts[idx[e + 1]] if e + 1 < len(idx) else math.nan
            until = math.inf if math.isnan(end) else end
            probes = sum(1 for j in rows.get((conn, 1 - sender), [])
                         if probe[j] and a.frame[j] > a.frame[idx[s]] and a.ts[j] <= until)
            zero_rows.append({"conn": conn, "kind": "zero_window", "side": side,
                              "stalled": f"{side}'s window closed: {peer} stalled",
                              "start": start, "end": end, "duration": end - start,
                              "segments": e - s + 1, "probes": probes})
        for s, e in _runs([bool(full[i]) for i in idx]):
            start, end = a.ts[idx[s]], a.ts[idx[e]]
            full_rows.append({"conn": conn, "kind": "window_full", "side": side,
                              "stalled": f"{side} filled {peer}'s window", "start": start,
                              "end": end, "duration": end - start, "segments": e - s + 1,
                              "probes": 0})
    return pd.DataFrame(zero_rows + full_rows, columns=list(EPISODE_COLUMNS)).sort_values(
        ["conn", "start"], kind="stable").reset_index(drop=True)


@pytest.mark.parametrize("path", CAPTURES, ids=lambda p: p.name)
def test_episodes_equal_plain_loop(path):
    a = SegmentArrays.from_frame(tcpwatch.analyze(path))
    pd.testing.assert_frame_equal(episodes(a), plain_episodes(a), check_exact=True)


def test_probes_counted_by_time_not_by_order():
    """Timestamps shuffled across the capture: a probe sent after the window update may
    carry a time before it (counted, as the rule says), one inside may carry a later
    time (not counted)."""
    a = SegmentArrays.from_frame(tcpwatch.analyze(CAPTURES[0]))
    counted = set()
    for seed in range(40):
        ts = np.random.default_rng(seed).permutation(a.ts)
        shuffled = dataclasses.replace(a, ts=ts)
        got = episodes(shuffled)
        pd.testing.assert_frame_equal(got, plain_episodes(shuffled), check_exact=True)
        counted.update(got.loc[got["kind"] == "zero_window", "probes"].tolist())
    assert len(counted) > 2  # the shuffles did move probes in and out of the episodes


@pytest.mark.parametrize("step", [0.5, 2.0, 10.0])
def test_probes_at_the_same_time_as_the_update(step):
    """Timestamps rounded down to ``step`` seconds: probes tie with the window update's
    time (counted: no later than the update)."""
    a = SegmentArrays.from_frame(tcpwatch.analyze(CAPTURES[0]))
    coarse = dataclasses.replace(a, ts=np.floor(a.ts / step) * step)
    pd.testing.assert_frame_equal(episodes(coarse), plain_episodes(coarse), check_exact=True)
