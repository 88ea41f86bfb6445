"""compare.py and shrink.py on committed captures: the comparisons agree where tcpwatch
is right and name the exact (frame, column) where it is made wrong; a cut capture holds
exactly the frames asked for."""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest

import tcpwatch
from tcpwatch.lab.difftest.compare import (
    check,
    live_differences,
    replay_live,
    tshark_disagreements,
)
from tcpwatch.lab.difftest.shrink import streams, write_frames
from tcpwatch.report.verify import tshark_fields

from ..conftest import REPO, needs_tshark

LOSSY = REPO / "captures" / "lossy_bulk.pcap"


@pytest.fixture(scope="module")
def lossy() -> pd.DataFrame:
    return tcpwatch.analyze(LOSSY)


@needs_tshark
def test_a_right_table_agrees(lossy):
    assert len(lossy) > 300 and lossy["events"].astype(str).str.len().gt(0).sum() > 20
    assert tshark_disagreements(lossy, LOSSY).empty


@needs_tshark
def test_every_wrong_value_is_named(lossy):
    seg = lossy.copy()
    seg["tsval"], seg["tsecr"] = lossy["tsecr"], lossy["tsval"]  # the mutation
    seg.loc[10, "rel_seq"] += 1
    seg.loc[20, "win"] = 0
    flagged = int(np.flatnonzero(seg["events"].astype(str) != "")[0])
    seg["events"] = seg["events"].astype(str)
    seg.loc[flagged, "events"] = ""
    seg = seg.drop(index=30)
    diff = tshark_disagreements(seg, LOSSY)
    swapped = (lossy["tsval"] != lossy["tsecr"]).fillna(False) & (lossy.index != 30)
    by_col = diff.groupby("column")["frame"].agg(set).to_dict()
    assert by_col.pop("tsval") == by_col.pop("tsecr") == set(lossy.loc[swapped, "frame"])
    assert by_col == {"rel_seq": {int(lossy.loc[10, "frame"])},
                      "win": {int(lossy.loc[20, "frame"])},
                      "events": {int(lossy.loc[flagged, "frame"])},
                      "*": {int(lossy.loc[30, "frame"])}}
    row = diff[diff["column"] == "rel_seq"].iloc[0]
    assert int(row["tcpwatch"]) == int(row["tshark"]) + 1


def test_live_equals_offline_and_differences_are_named(lossy):
    rng = random.Random(5)
    live = replay_live(LOSSY, lambda: rng.choice((1, 3, 50)))
    assert live_differences(live, lossy).empty
    wrong = live.copy()
    wrong.loc[7, "rel_ack"] += 5
    order = list(range(len(wrong)))
    order[3], order[4] = 4, 3
    wrong = wrong.iloc[order].reset_index(drop=True)
    diff = live_differences(wrong, lossy)
    assert set(diff["column"]) == {"row_order", "rel_ack"}
    assert diff.loc[diff["column"] == "rel_ack", "frame"].tolist() == [int(lossy.loc[7, "frame"])]


@needs_tshark
def test_check_of_a_right_capture_finds_nothing():
    found = check(REPO / "captures" / "port_reuse.pcap", seed=3)
    assert found.ok and found.segments > 0 and found.connections == 2


@needs_tshark
def test_a_cut_capture_holds_the_frames_asked_for(tmp_path):
    per_frame = streams(LOSSY)
    assert len(per_frame) == len(tshark_fields(LOSSY, [], display_filter="", two_pass=False))
    keep = np.zeros(len(per_frame), bool)
    keep[5:40] = True
    out = tmp_path / "cut.pcap"
    assert write_frames(LOSSY, out, keep) == 35
    cut = tcpwatch.analyze(out)
    whole = tcpwatch.analyze(LOSSY)
    assert cut["seq"].tolist() == whole.loc[whole["frame"].between(6, 40), "seq"].tolist()
    assert cut["ts_ns"].tolist() == whole.loc[whole["frame"].between(6, 40), "ts_ns"].tolist()
