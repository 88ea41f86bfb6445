"""The live view's event log, fed the recorded zero-window capture: who stalls whom, in
plain words, and repeats counted instead of scrolling the rest away."""

from __future__ import annotations

import tcpwatch
from tcpwatch.live.view import LOG_LINES, EventLog

from ..conftest import REPO


def test_event_log_of_a_zero_window():
    seg = tcpwatch.analyze(REPO / "captures" / "zero_window.pcap")
    log = EventLog()
    for start in range(0, len(seg), 7):  # as batches arrive
        log.add(seg.iloc[start:start + 7])
    lines = log.lines()
    assert len(lines) == LOG_LINES
    text = "\n".join(lines)
    # the client stops reading: it advertises a zero window and the server must wait
    zero = seg[seg["events"].str.contains("zero_window")]
    assert set(zero["role"]) == {"client"}
    assert "conn 0 client ZERO WINDOW (server stalled)" in text
    assert "conn 0 client WINDOW UPDATE (server may send again)" in text
    # window-full segments in a row take one line, counted
    repeats = [ln for ln in lines if ln.endswith(")") and "(×" in ln]
    assert any("server WINDOW FULL" in ln for ln in repeats)
    assert lines[-1].endswith("[.]: server LAST_ACK→CLOSED")
