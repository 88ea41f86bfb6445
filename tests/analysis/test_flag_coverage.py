"""Every Wireshark flag tcpwatch reports is exercised by real captures in the suite -- at
least MIN_FRAMES frames that tshark -2 flags, summed over every capture found -- and
tcpwatch agrees with tshark on each of those frames and flags no other.  Parity over
zero events is no evidence, so a flag nobody's traffic raises fails here."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import tcpwatch
from tcpwatch.engine.registry import FLAGS
from tcpwatch.report.verify import compare, tshark_reference

from ..conftest import REPO, needs_tshark

MIN_FRAMES = 5
SUFFIXES = (".pcap", ".pcapng")


def suite_captures() -> list[Path]:
    """Every capture in the suite, found by globbing (recorded scenarios, bundled public
    captures, the fuzzer's regressions when there are any)."""
    root = REPO / "captures"
    found = [p for p in root.glob("*") if p.suffix in SUFFIXES]
    for sub in ("public", "regress"):
        found += [p for p in (root / sub).rglob("*") if p.suffix in SUFFIXES]
    return sorted(found)


@pytest.fixture(scope="module")
def tallies() -> pd.DataFrame:
    """Per capture and flag: frames flagged by tcpwatch, by tshark, by both."""
    rows = []
    for path in suite_captures():
        verdict = compare(tcpwatch.analyze(path), tshark_reference(path, engine="fields"))
        t = verdict.table.set_index("check")
        for flag in FLAGS:
            r = t.loc[flag.name]
            rows.append({"capture": str(path.relative_to(REPO)), "flag": flag.name,
                         "tcpwatch": r["tcpwatch"], "wireshark": r["wireshark"],
                         "both": r["both"]})
    return pd.DataFrame(rows)


def test_the_suite_has_captures():
    names = {p.name for p in suite_captures()}
    assert len(names) > 50
    assert {"zero_window_probe.pcap", "spurious_retransmission.pcap",
            "upstream_loss.pcap"} <= names


@needs_tshark
@pytest.mark.parametrize("flag", [f.name for f in FLAGS])
def test_flag_is_exercised_and_agrees_with_tshark(tallies, flag):
    mine = tallies[tallies["flag"] == flag]
    where = mine[(mine["wireshark"] > 0) | (mine["tcpwatch"] > 0)]
    total = where[["tcpwatch", "wireshark", "both"]].sum()
    assert total["wireshark"] >= MIN_FRAMES, (
        f"{flag}: tshark flags {total['wireshark']} frames in the whole suite "
        f"(need {MIN_FRAMES}): {where.to_dict('records')}")
    assert total["both"] == total["wireshark"] == total["tcpwatch"], where.to_string()
