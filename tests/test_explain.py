"""``--explain`` teaches flow control and loss: each line's numbers are checked against
the annotated table's own columns, recomputed here the simple way (a loop), and against
tshark's fields for the same frames."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pandas as pd
import pytest

import tcpwatch
from tcpwatch.report.explain import explain
from tcpwatch.vocab import Col

from .conftest import PUBLIC, REPO, needs_tshark

CAPS = REPO / "captures"
MID = PUBLIC / "chrissanders-packets"
TSHARK_FIELDS = ("frame.number", "tcp.analysis.flags", "tcp.analysis.duplicate_ack_num",
                 "tcp.analysis.duplicate_ack_frame", "tcp.analysis.bytes_in_flight",
                 "tcp.window_size", "tcp.analysis.spurious_retransmission",
                 "tcp.analysis.fast_retransmission", "tcp.analysis.retransmission",
                 "tcp.analysis.window_full", "tcp.analysis.zero_window_probe")


def lines_of(path) -> tuple[pd.DataFrame, dict[int, str]]:
    seg = tcpwatch.analyze(path)
    lines = explain(seg)
    assert lines, path
    return seg.set_index(Col.FRAME, drop=False), {int(x.split()[0][1:]): x for x in lines}


def tshark(path) -> pd.DataFrame:
    res = subprocess.run(["tshark", "-n", "-2", "-r", str(path), "-Y", "tcp", "-T", "fields",
                          "-E", "separator=|", *[a for f in TSHARK_FIELDS for a in ("-e", f)]],
                         capture_output=True, text=True, timeout=60, check=True)
    rows = [ln.split("|") for ln in res.stdout.splitlines()]
    df = pd.DataFrame(rows, columns=list(TSHARK_FIELDS))
    return df.set_index(df["frame.number"].astype(int))


def number(pattern: str, line: str) -> str:
    m = re.search(pattern, line)
    assert m, (pattern, line)
    return m[1]


def ms(seconds: float) -> str:
    """The delay as explain prints it (tested through its own digits, not its format)."""
    v = seconds * 1000
    return f"{v:.3f} ms" if v < 1 else f"{v:.1f} ms" if v < 100 else f"{v:.0f} ms"


def flagged(seg: pd.DataFrame, name: str) -> set[int]:
    ev = seg[Col.EVENTS].astype(str).str.split(";")
    return {int(f) for f, e in zip(seg[Col.FRAME], ev, strict=True) if name in e}


def tshark_flagged(ts: pd.DataFrame, name: str) -> set[int]:
    """The frames tshark -2 marks with tcp.analysis.<name>."""
    return {int(f) for f in ts.index if ts.at[f, f"tcp.analysis.{name}"]}


@needs_tshark
def test_zero_window_probe_update_and_window_full():
    seg, lines = lines_of(CAPS / "zero_window.pcap")
    ts = tshark(CAPS / "zero_window.pcap")
    zero = flagged(seg, "zero_window")
    assert zero and {f for f, x in lines.items() if "ZERO WINDOW" in x} == zero
    for f in zero:
        sender = seg.at[f, Col.ROLE]
        assert f"{sender}'s receive buffer is full (window 0)" in lines[f]
        assert int(ts.at[f, "tcp.window_size"]) == 0
    # the window reopens: from 0 to tshark's window, after the time since the stall began
    updates = [f for f, x in lines.items() if "window reopens" in x]
    assert updates
    for f in updates:
        assert f in flagged(seg, "window_update")
        win = int(number(r"reopens from 0 to (\d+) bytes", lines[f]))
        assert win == int(ts.at[f, "tcp.window_size"]) == seg.at[f, Col.WIN] > 0
        sender = seg.at[f, Col.ROLE]
        mine = seg[(seg[Col.ROLE] == sender) & (seg[Col.FRAME] < f)]
        start = None
        for g, w in zip(mine[Col.FRAME], mine[Col.WIN], strict=True):
            start = (start or g) if w == 0 else None
        assert start is not None
        assert f"after {ms(seg.at[f, Col.TS] - seg.at[start, Col.TS])} stalled" in lines[f]
    window_full_lines(seg, lines, ts)


def window_full_lines(seg: pd.DataFrame, lines: dict[int, str], ts: pd.DataFrame) -> None:
    """Window full: the sender's unacknowledged bytes (seq + len - the peer's last ack)
    equal the peer's last scaled window (tshark's tcp.window_size), both numbers given."""
    full = flagged(seg, "window_full")
    assert full and full == {f for f, x in lines.items() if "WINDOW FULL" in x}
    assert full == tshark_flagged(ts, "window_full")
    for f in full:
        unacked, win = map(int, re.search(
            r"WINDOW FULL: (\d+) bytes unacknowledged = \w+'s window (\d+) bytes",
            lines[f]).groups())
        r = seg.loc[f]
        peer = seg[(seg[Col.CONN] == r[Col.CONN]) & (seg[Col.ROLE] != r[Col.ROLE])
                   & (seg[Col.FRAME] < f)]
        last = int(peer[Col.FRAME].iloc[-1])
        assert unacked == r[Col.REL_SEQ] + r[Col.LEN] - peer[Col.REL_ACK].max()
        assert win == int(ts.at[last, "tcp.window_size"]) == unacked


@needs_tshark
def test_window_full_after_a_loss():
    """upstream_loss: the peer's ack stays behind the lost segment, Wireshark's bytes in
    flight (since the last ack of the segments after it) is smaller than the window."""
    seg, lines = lines_of(CAPS / "upstream_loss.pcap")
    window_full_lines(seg, lines, tshark(CAPS / "upstream_loss.pcap"))
    lost = flagged(seg, "lost_segment")
    assert lost
    for f in lost:
        r = seg.loc[f]
        mine = seg[(seg[Col.CONN] == r[Col.CONN]) & (seg[Col.ROLE] == r[Col.ROLE])
                   & (seg[Col.FRAME] < f)]
        expected = int((mine[Col.REL_SEQ] + mine[Col.LEN]).max())
        assert (f"previous segment not captured: expected seq {expected}, got "
                f"{r[Col.REL_SEQ]} ({r[Col.REL_SEQ] - expected} bytes missing)") in lines[f]


@needs_tshark
def test_zero_window_probes_and_their_answers():
    seg, lines = lines_of(CAPS / "zero_window_probe.pcap")
    ts = tshark(CAPS / "zero_window_probe.pcap")
    probes = flagged(seg, "zero_window_probe")
    assert probes and probes == tshark_flagged(ts, "zero_window_probe")
    for f in probes:
        assert f"zero-window probe: {seg.at[f, Col.LEN]} byte" in lines[f]
    answers = flagged(seg, "zero_window_probe_ack")
    assert answers
    for f in answers:
        win = seg.at[f, Col.WIN]
        assert ("answers the probe: window still 0" if win == 0 else
                f"answers the probe: window {win} bytes") in lines[f]


@needs_tshark
def test_retransmissions_name_their_original_and_fast_ones_the_dup_acks():
    seg, lines = lines_of(CAPS / "lossy_bulk.pcap")
    ts = tshark(CAPS / "lossy_bulk.pcap")
    retrans = flagged(seg, "retransmission")
    assert retrans == tshark_flagged(ts, "retransmission")
    named = 0
    for f in sorted(retrans):
        r = seg.loc[f]
        earlier = seg[(seg[Col.CONN] == r[Col.CONN]) & (seg[Col.ROLE] == r[Col.ROLE])
                      & (seg[Col.REL_SEQ] == r[Col.REL_SEQ]) & (seg[Col.LEN] > 0)
                      & (seg[Col.FRAME] < f)]
        assert "RETRANSMISSION of" in lines[f]
        if len(earlier):
            o = int(earlier[Col.FRAME].iloc[-1])
            delay = ms(r[Col.TS] - seg.at[o, Col.TS])
            assert f"retransmits frame #{o} sent {delay} earlier" in lines[f]
            named += 1
    assert named
    fast = flagged(seg, "fast_retransmission")
    assert fast and fast == {int(f) for f in ts.index
                             if ts.at[f, "tcp.analysis.fast_retransmission"]}
    for f in fast:
        peer = ts[(ts.index < f) & (ts["tcp.analysis.duplicate_ack_num"] != "")]
        peer = peer[[seg.at[g, Col.ROLE] != seg.at[f, Col.ROLE] for g in peer.index]]
        n = int(peer["tcp.analysis.duplicate_ack_num"].iloc[-1])
        assert "FAST RETRANSMISSION of" in lines[f] and f"after {n} duplicate ACKs" in lines[f]
    dups = flagged(seg, "duplicate_ack")
    assert dups
    for f in dups:
        assert (f"duplicate ACK #{ts.at[f, 'tcp.analysis.duplicate_ack_num']} of frame "
                f"#{ts.at[f, 'tcp.analysis.duplicate_ack_frame']}:") in lines[f]
    # bytes in flight against the receiver's window, as tshark counts them
    for f, x in lines.items():
        if m := re.search(r"(\d+) bytes? in flight of", x):
            assert int(m[1]) == int(ts.at[f, "tcp.analysis.bytes_in_flight"])


@needs_tshark
def test_spurious_retransmissions_say_what_was_acknowledged():
    seg, lines = lines_of(CAPS / "spurious_retransmission.pcap")
    ts = tshark(CAPS / "spurious_retransmission.pcap")
    spurious = tshark_flagged(ts, "spurious_retransmission")
    assert spurious and spurious == {f for f, x in lines.items() if "SPURIOUS" in x}
    for f in spurious:
        acked = int(number(r"had already acknowledged up to (\d+)", lines[f]))
        r = seg.loc[f]
        peer_acks = seg[(seg[Col.CONN] == r[Col.CONN]) & (seg[Col.ROLE] != r[Col.ROLE])
                        & (seg[Col.FRAME] < f)][Col.REL_ACK]
        assert acked == peer_acks.max() >= r[Col.REL_SEQ] + r[Col.LEN]


def test_handshake_lines_show_both_sides_options():
    seg, lines = lines_of(CAPS / "lossy_bulk.pcap")
    syns = seg[(seg[Col.FLAGS].astype(int) & 2) != 0]
    for f, r in syns.iterrows():
        assert (f"{r[Col.ROLE]} offers MSS {r[Col.MSS]}, window scale {r[Col.WSCALE]}"
                in lines[f])
    done = [x for x in lines.values() if "handshake complete" in x]
    c, s = (syns[syns[Col.ROLE] == e][Col.WSCALE].iloc[0] for e in ("client", "server"))
    assert done and f"window scale client {c}, server {s}" in done[0]


def test_mid_capture_start_is_told_once_and_dup_acks_counted():
    seg, lines = lines_of(MID / "tcp_dupack.pcapng")
    assert seg[Col.STATES_INFERRED].all()
    said = [f for f, x in lines.items() if "states inferred" in x]
    assert said == [min(lines)]
    fast = flagged(seg, "fast_retransmission")
    dup = seg[seg[Col.DUP_ACK_NUM].notna()]
    assert fast and all(f"after {int(dup[Col.DUP_ACK_NUM].iloc[-1])} duplicate ACKs"
                        in lines[f] for f in fast)


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tcpwatch", *args], capture_output=True,
                          text=True, cwd=REPO, timeout=120)


@pytest.mark.parametrize("extra", [[], ["--explain"]], ids=["streamed", "whole table"])
def test_summary_names_the_connections_with_inferred_states(extra):
    cap = PUBLIC / "arkime" / "tcp_handshake_synthetic.pcap"
    seg = tcpwatch.analyze(cap)
    late = sorted(seg.loc[seg[Col.STATES_INFERRED], Col.CONN].unique().tolist())
    assert 1 < len(late) < seg[Col.CONN].nunique()
    res = run("analyze", str(cap), *extra)
    assert res.returncode == 0, res.stderr
    note = f"connections {', '.join(map(str, late))}: the capture misses their start"
    assert sum(note in x for x in res.stdout.splitlines()) == 1, res.stdout


def test_quiet_does_not_hide_what_was_asked():
    cap = str(CAPS / "zero_window.pcap")
    whole = run("analyze", cap, "--explain").stdout.splitlines()
    quiet = run("analyze", cap, "-q", "--explain")
    assert quiet.returncode == 0, quiet.stderr
    told = [x for x in whole if x.startswith("#")]
    assert told and quiet.stdout.splitlines() == told  # the lines, no summary tables
    segs = run("analyze", cap, "-q", "--segments").stdout
    assert str(len(tcpwatch.analyze(cap))) in segs and "TCP connections" not in segs
    assert run("analyze", cap, "-q").stdout == ""


def test_keep_alives_and_their_answers():
    seg, lines = lines_of(CAPS / "keepalive.pcap")
    probes, answers = flagged(seg, "keep_alive"), flagged(seg, "keep_alive_ack")
    assert len(probes) == len(answers) > 1
    for f in probes:
        r = seg.loc[f]
        assert (f"keep-alive: {r[Col.LEN]} bytes at seq {r[Col.REL_SEQ]}, one before the next"
                in lines[f])
    assert all("answers the keep-alive" in lines[f] for f in answers)


def test_the_inferred_note_wraps_on_a_narrow_terminal():
    cap = PUBLIC / "tcpdump" / "kday4.pcap"
    seg = tcpwatch.analyze(cap)
    late = sorted(seg.loc[seg[Col.STATES_INFERRED], Col.CONN].unique().tolist())
    assert len(late) > 3
    res = subprocess.run([sys.executable, "-m", "tcpwatch", "analyze", str(cap)],
                         capture_output=True, text=True, cwd=REPO, timeout=120,
                         env={**os.environ, "COLUMNS": "50"})
    out = res.stdout.splitlines()
    at = next(i for i, x in enumerate(out) if x.startswith("connections "))
    note = f"connections {', '.join(map(str, late))}: the capture misses their start; " \
           "states inferred"
    assert " ".join(out[at:at + 2]) == note and max(len(x) for x in out[at:at + 2]) <= 50
