"""Wireshark parity of the analysis stage: every flag, frame for frame, with precision and
recall 1.00 against tshark -2 -- on every recorded scenario and every public capture --
and bytes_in_flight, acked_frame, dup-ack numbers and ack_rtt (within 1 µs)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import tcpwatch
from tcpwatch.engine.registry import FLAGS
from tcpwatch.report.verify import tshark_fields

from ..conftest import REPO, needs_tshark, public_captures

CAPTURES = sorted((REPO / "captures").glob("*.pcap")) + public_captures()
NUMBERS = {"bytes_in_flight": "tcp.analysis.bytes_in_flight",
           "acked_frame": "tcp.analysis.acks_frame",
           "dup_ack_num": "tcp.analysis.duplicate_ack_num",
           "dup_ack_frame": "tcp.analysis.duplicate_ack_frame"}


def merged(path) -> pd.DataFrame:
    seg = tcpwatch.analyze(path)
    ref = tshark_fields(path, [f.field for f in FLAGS] + list(NUMBERS.values())
                        + ["tcp.analysis.ack_rtt"], display_filter="tcp && !icmp && !icmpv6")
    ref["frame"] = ref["frame.number"].astype(int)
    m = seg.merge(ref, on="frame", how="outer", indicator=True)
    assert (m["_merge"] == "both").all()
    return m


@needs_tshark
@pytest.mark.parametrize("path", CAPTURES, ids=lambda p: p.name)
def test_flags_numbers_and_rtt_equal_tshark(path):
    m = merged(path)
    ours_events = m["events"].astype(str).str.split(";")
    for flag in FLAGS:
        ours = ours_events.apply(lambda names, n=flag.name: n in names).to_numpy()
        theirs = (m[flag.field] != "").to_numpy()
        tp = (ours & theirs).sum()
        precision = tp / ours.sum() if ours.sum() else 1.0
        recall = tp / theirs.sum() if theirs.sum() else 1.0
        assert (precision, recall) == (1.0, 1.0), (
            flag.name, m.loc[ours != theirs, "frame"].tolist()[:10])
    for col, field in NUMBERS.items():
        want = pd.to_numeric(m[field].str.split(",").str[0], errors="coerce").fillna(-1)
        got = m[col].astype("float").fillna(-1)
        assert (want.to_numpy() == got.to_numpy()).all(), (col, m.loc[want != got, "frame"]
                                                            .tolist()[:10])
    want = pd.to_numeric(m["tcp.analysis.ack_rtt"], errors="coerce").to_numpy()
    got = m["ack_rtt"].to_numpy(dtype=float)
    assert (np.isnan(want) == np.isnan(got)).all()
    both = ~np.isnan(want)
    assert np.all(np.abs(want[both] - got[both]) <= 1e-6)


def test_the_flags_are_exercised():
    """The parity above must not hold only because nothing happens: the recorded
    scenarios and public captures carry every flag (tests/analysis/test_flag_coverage.py
    counts them against tshark)."""
    counts = {f.name: 0 for f in FLAGS}
    for path in CAPTURES:
        ev = tcpwatch.analyze(path)["events"].astype(str).str.split(";")
        for name in counts:
            counts[name] += int(ev.apply(lambda names, n=name: n in names).sum())
    exercised = {n for n, c in counts.items() if c > 0}
    assert exercised == {f.name for f in FLAGS}, counts
