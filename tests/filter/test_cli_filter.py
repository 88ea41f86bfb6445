"""``tcpwatch analyze FILE -Y FILTER``: a bad filter is refused before the capture is read
(one line naming the column, exit 2, no file left); a good one selects the segments that
are printed and written, and the summary covers their connections."""

from __future__ import annotations

import pandas as pd
import pytest

import tcpwatch
from tcpwatch.filter import compile_filter
from tcpwatch.vocab import Col

from ..conftest import PUBLIC, REPO
from ..test_cli_values import assert_refused, tcpwatch_here, tcpwatch_in

ZERO = REPO / "captures" / "zero_window.pcap"
TWO = PUBLIC / "chrissanders-packets" / "http_ip4and6.pcapng"  # conns 0 (v4) and 1 (v6)


@pytest.mark.parametrize(("filt", "words"), [
    ("tcp.port == 80 && tcp.foo", ('-Y: unknown field "tcp.foo" at column 19',)),
    ("tcp.port ==", ("-Y:", "at column 12")),
    ("(tcp.flags.syn == 1", ("missing ')'", "at column 20")),
])
def test_a_bad_filter_is_refused_before_the_capture_is_read(tmp_path, filt, words):
    # the capture does not exist and -o names a file: only the filter is reported
    res = tcpwatch_here(tmp_path, "analyze", "missing.pcap", "-Y", filt, "-o", "x.csv")
    assert_refused(res, tmp_path, *words)


def test_as_a_user_runs_it(tmp_path):
    res = tcpwatch_in(tmp_path, "analyze", str(ZERO), "-Y", "tcp.analysis.zero_windo")
    line = assert_refused(res, tmp_path, '"tcp.analysis.zero_windo"', 'at column 1')
    assert line == ('tcpwatch: error: -Y: unknown field "tcp.analysis.zero_windo" (did you '
                    'mean tcp.analysis.zero_window?) at column 1')


@pytest.mark.parametrize("ext", [".csv", ".jsonl"])
def test_the_output_file_holds_the_selected_segments(tmp_path, ext):
    text = "tcp.analysis.zero_window || tcp.analysis.window_update"
    res = tcpwatch_here(tmp_path, "analyze", str(ZERO), "-q", "-Y", text, "-o", f"x{ext}")
    assert res.returncode == 0, res.stderr
    got = (pd.read_csv(tmp_path / "x.csv") if ext == ".csv"
           else pd.read_json(tmp_path / "x.jsonl", lines=True))
    seg = tcpwatch.analyze(ZERO)
    events = seg[Col.EVENTS].astype(str).str.split(";")
    want = seg[events.map(lambda e: "zero_window" in e or "window_update" in e)]
    assert got[Col.FRAME].tolist() == want[Col.FRAME].tolist()
    assert 0 < len(got) < len(seg)


def test_segments_and_summary(tmp_path):
    res = tcpwatch_here(tmp_path, "analyze", str(TWO), "-Y", "ipv6 && tcp.flags.syn == 1",
                        "--segments")
    assert res.returncode == 0, res.stderr
    seg = tcpwatch.analyze(TWO)
    chosen = seg[compile_filter("ipv6 && tcp.flags.syn == 1")(seg)]
    whole = seg[seg[Col.CONN].isin(chosen[Col.CONN])]
    assert chosen[Col.CONN].nunique() == 1 and len(whole) > len(chosen)
    assert (f"{len(chosen)} of {len(seg)} segments selected, in 1 connection (summarised "
            f"below with all {len(whole)} of their segments)") in " ".join(res.stdout.split())
    # the segment table lists the selected frames only, the summary one connection
    table = res.stdout.split("TCP connections in")[0]
    listed = [int(line.split()[1]) for line in table.splitlines()
              if line.startswith("│") and line.split()[1].isdigit()]
    assert listed == chosen[Col.FRAME].tolist()
    other = seg[~seg[Col.CONN].isin(chosen[Col.CONN])][Col.SRC].iloc[0]
    assert str(other) not in res.stdout.split("TCP connections in")[1]


def test_nothing_selected(tmp_path):
    res = tcpwatch_here(tmp_path, "analyze", str(ZERO), "-Y", "tcp.port == 1")
    assert res.returncode == 0, res.stderr
    n = len(tcpwatch.analyze(ZERO))
    assert res.stdout.splitlines() == [f"-Y tcp.port == 1: 0 of {n} segments selected"]


def test_explain_tells_the_selected_segments_as_in_the_whole_capture(tmp_path):
    cap = str(REPO / "captures" / "rst_abort.pcap")
    text = "tcp.flags.reset == 1 || tcp.flags.syn == 1"
    picked = tcpwatch_here(tmp_path, "analyze", cap, "--explain", "-Y", text).stdout
    whole = tcpwatch_here(tmp_path, "analyze", cap, "--explain").stdout
    seg = tcpwatch.analyze(cap)
    keep = {f"#{n}" for n in seg[compile_filter(text)(seg)][Col.FRAME]}
    want = [x for x in whole.splitlines() if x.startswith("#") and x.split()[0] in keep]
    got = [x for x in picked.splitlines() if x.startswith("#")]
    assert got == want and len(want) == 3
