"""Issue 11's first defect, on the wire: an echo server that closes right after echoing,
a client that sends, reads and closes -- 200 connections in a row.  Either end may close
first, and when the FINs cross, the ACKs that end CLOSING arrive in either order: the
same transition text ("server CLOSING→TIME_WAIT") is reached from different state
quadruples.  That used to kill ``tcpwatch analyze`` and ``tcpwatch live`` with
``Categorical categories must be unique``."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pandas as pd

import tcpwatch
from tcpwatch.lab.scenarios.drivers import echo_both_close
from tcpwatch.lab.scenarios.run import bundled_server
from tcpwatch.lab.scenarios.tcpdump import tcpdump
from tcpwatch.report.export import write_segments
from tcpwatch.report.parity import compare_with_tshark
from tcpwatch.report.verify import compare, tshark_reference

from ..conftest import REPO, needs_root, needs_tshark

pytestmark = [needs_root, needs_tshark]
QUAD = ["state_before_client", "state_after_client", "state_before_server",
        "state_after_server"]


def shared_texts(seg: pd.DataFrame) -> int:
    """How many transition texts are reached from more than one state quadruple."""
    q = seg.loc[seg["transition"] != "", [*QUAD, "transition"]].astype(str).drop_duplicates()
    return int(q["transition"].duplicated().sum())


def test_the_committed_capture_has_texts_shared_by_several_quadruples():
    seg = tcpwatch.analyze(REPO / "captures" / "echo_both_close.pcap")
    assert seg["conn"].nunique() == 200
    assert shared_texts(seg) >= 1


def test_analyze_and_live_survive_and_agree_with_tshark(tmp_path, one_cpu):
    port = 61240
    live_pcap, table = tmp_path / "live.pcap", tmp_path / "live.csv"
    ref_pcap = tmp_path / "ref.pcap"
    with bundled_server("select", "127.0.0.1", port, close_after=1), \
            tcpdump("lo", ref_pcap, f"tcp port {port}"):
        proc = subprocess.Popen(
            [sys.executable, "-m", "tcpwatch", "live", "--port", str(port), "--write",
             str(live_pcap), "-o", str(table)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
        try:
            assert "capturing on lo" in proc.stderr.readline()
            time.sleep(0.5)
            echo_both_close("127.0.0.1", port)
            time.sleep(0.5)
        finally:
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err[-2000:]
    assert "Traceback" not in err
    cli = subprocess.run([sys.executable, "-m", "tcpwatch", "analyze", str(ref_pcap)],
                         capture_output=True, text=True, cwd=REPO)
    assert cli.returncode == 0, cli.stderr[-2000:]
    seg = tcpwatch.analyze(ref_pcap)
    assert seg["conn"].nunique() == 200
    # every column tshark also computes, frame by frame
    diff = compare_with_tshark(seg, ref_pcap)
    assert diff.empty, diff.head(20).to_string()
    verdict = compare(seg, tshark_reference(ref_pcap, engine="fields"))
    assert verdict.ok, verdict.disagreements[:10]
    # live's own annotations of the same traffic equal offline analysis of tcpdump's file
    mine = pd.read_csv(table, keep_default_na=False, dtype=str)
    write_segments(seg, tmp_path / "offline.csv")
    offline = pd.read_csv(tmp_path / "offline.csv", keep_default_na=False, dtype=str)
    assert len(mine) == len(offline)
    for col in offline.columns.drop(["ts", "ts_ns", "ack_rtt"]):
        assert mine[col].tolist() == offline[col].tolist(), col
