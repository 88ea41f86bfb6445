"""``tcpwatch verify``: Wireshark (pyshark, or tshark fields on large captures) agrees on
every recorded capture (this is the CI run of verify), and a disagreement is reported
with exit 1."""

from __future__ import annotations

import pytest

import tcpwatch
from tcpwatch.report.verify import compare, tshark_reference

from ..conftest import REPO, needs_tshark
from ..test_bad_input import run_cli

CAPTURES = sorted((REPO / "captures").glob("*.pcap"))
PYSHARK_IN_CI = 500  # segments


@needs_tshark
@pytest.mark.parametrize("path", CAPTURES, ids=lambda p: p.name)
def test_verify_every_recorded_capture(path):
    # pyshark (the default for small captures) takes 10 ms a segment: the large captures
    # go through tshark -T fields, which test_pyshark_and_fields_engines_agree ties to it
    big = len(tcpwatch.analyze(path)) > PYSHARK_IN_CI
    res = run_cli("verify", str(path), *(["--engine", "fields"] if big else []))
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr
    assert "DISAGREE" not in res.stdout and "agree" in res.stdout


@needs_tshark
def test_a_disagreement_is_reported():
    path = REPO / "captures" / "zero_window.pcap"
    ref = tshark_reference(path, engine="fields")
    hit = ref.index[ref["tcp.analysis.zero_window"] != ""][0]
    ref.loc[hit, "tcp.analysis.zero_window"] = ""  # Wireshark "forgets" one zero window
    verdict = compare(tcpwatch.analyze(path), ref)
    assert not verdict.ok
    row = verdict.table.set_index("check").loc["zero_window"]
    assert row["precision"] < 1.0 and row["recall"] == 1.0
    frame = ref.loc[hit, "frame.number"]
    assert any(f"frame {frame}" in line and "zero_window" in line
               for line in verdict.disagreements)


@needs_tshark
def test_pyshark_and_fields_engines_agree():
    path = REPO / "captures" / "lossy_bulk.pcap"
    a = tshark_reference(path, engine="pyshark")
    b = tshark_reference(path, engine="fields")
    for col in a.columns:
        if col.startswith("tcp.analysis.") and col.split(".")[-1] not in (
                "bytes_in_flight", "acks_frame", "duplicate_ack_num"):
            assert ((a[col] != "") == (b[col] != "")).all(), col
