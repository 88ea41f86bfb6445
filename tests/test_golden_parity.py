"""Golden files are checked against tshark, not only against the code that wrote them:
every column of every committed golden file that tshark also computes equals tshark -2 on
its capture, per frame, exactly; and writing a golden file that disagrees is refused."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

import tcpwatch
from tcpwatch.report.bless import GoldenRefused, bless
from tcpwatch.report.golden import GOLDEN_COLUMNS, read_golden
from tcpwatch.report.parity import MAPPED, compare_golden_with_tshark
from tcpwatch.vocab import Col

from .conftest import REPO, needs_tshark

CAPTURES = REPO / "captures"
GOLDEN = sorted(CAPTURES.glob("*.expected.csv"))
#: golden columns tshark also computes; the others are guarded by the references of
#: tcpwatch.report.parity.NOT_MAPPED
CHECKED = [c for c in GOLDEN_COLUMNS if c in {m.column for m in MAPPED}]


def test_there_are_golden_files_and_their_captures():
    assert len(GOLDEN) >= 14
    for g in GOLDEN:
        assert g.with_name(g.name.replace(".expected.csv", ".pcap")).exists(), g


def test_the_checked_golden_columns():
    # 27 of the 38 golden columns: all but role, the state and event columns (others'
    # references) and frame (the key: frame sets are compared)
    assert set(GOLDEN_COLUMNS) - set(CHECKED) == {
        Col.FRAME, Col.ROLE, Col.STATE_BEFORE_CLIENT, Col.STATE_AFTER_CLIENT,
        Col.STATE_BEFORE_SERVER, Col.STATE_AFTER_SERVER, Col.TRANSITION, Col.VIOLATION,
        Col.STATES_INFERRED, Col.EVENT_CLIENT, Col.EVENT_SERVER}


@needs_tshark
@pytest.mark.parametrize("golden", GOLDEN, ids=lambda p: p.name)
def test_golden_file_matches_tshark(golden):
    pcap = golden.with_name(golden.name.replace(".expected.csv", ".pcap"))
    diff = compare_golden_with_tshark(read_golden(golden), pcap)
    assert diff.empty, f"{len(diff)} cells differ from tshark:\n{diff.head(20).to_string()}"


@needs_tshark
def test_a_golden_file_tshark_disagrees_with_is_not_written(tmp_path):
    pcap = CAPTURES / "handshake_echo_close.pcap"
    seg = tcpwatch.analyze(pcap)
    golden = tmp_path / "handshake_echo_close.expected.csv"
    bless(seg, pcap, golden)  # the honest table is written ...
    before = golden.read_bytes()
    assert read_golden(golden).equals(read_golden(CAPTURES / golden.name))
    swapped = seg.assign(tsval=seg["tsecr"], tsecr=seg["tsval"])  # ... a decoder bug is not
    with pytest.raises(GoldenRefused) as err:
        bless(swapped, pcap, golden)
    assert golden.read_bytes() == before
    assert set(err.value.diff["column"]) == {"tsval", "tsecr"}
    assert len(err.value.diff) == 2 * int(seg["tsval"].notna().sum())
    assert "disagree with tshark (tsecr, tsval)" in str(err.value)


@needs_tshark
def test_replay_update_writes_golden_files_tshark_agrees_with(tmp_path):
    for name in ("rst_abort.pcap", "keepalive.pcap"):
        shutil.copy(CAPTURES / name, tmp_path)
    res = subprocess.run([sys.executable, "-m", "tcpwatch", "replay", "--update", str(tmp_path)],
                         capture_output=True, text=True, cwd=REPO, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
    for name in ("rst_abort", "keepalive"):
        written = read_golden(tmp_path / f"{name}.expected.csv")
        assert written.equals(read_golden(CAPTURES / f"{name}.expected.csv"))


@needs_tshark
def test_replay_checks_the_golden_file_itself_against_tshark(tmp_path):
    """A golden file edited by hand (here: tsval and tsecr swapped in frame 3, what a
    swapped decoder would have written) is reported against the pcap via tshark, cell by
    cell, beside the drift."""
    for suffix in (".pcap", ".expected.csv"):
        shutil.copy(CAPTURES / f"handshake_echo_close{suffix}", tmp_path)
    golden = tmp_path / "handshake_echo_close.expected.csv"
    table = read_golden(golden)
    tsval, tsecr = table.loc[2, "tsval"], table.loc[2, "tsecr"]
    assert table.loc[2, "frame"] == "3" and tsval != tsecr
    table.loc[2, ["tsval", "tsecr"]] = [tsecr, tsval]
    table.to_csv(golden, index=False, lineterminator="\n")
    res = subprocess.run([sys.executable, "-m", "tcpwatch", "replay", str(tmp_path)],
                         capture_output=True, text=True, cwd=REPO, timeout=120)
    assert res.returncode == 1
    assert "the golden file disagrees with tshark" in res.stdout
    assert f"#3 tsval: golden '{tsecr}', tshark '{tsval}'" in res.stdout
    assert f"#3 tsecr: golden '{tsval}', tshark '{tsecr}'" in res.stdout
