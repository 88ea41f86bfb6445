"""The live view, driven in tmux: it shows the states of both ends of a connection while
it is open, and after a half close."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time

import pytest

from ..conftest import REPO, needs_root

pytestmark = [needs_root, pytest.mark.skipif(shutil.which("tmux") is None, reason="no tmux")]
SESSION = "tcpwatch-view-test"


def pane() -> str:
    return subprocess.run(["tmux", "capture-pane", "-p", "-t", SESSION], capture_output=True,
                          text=True).stdout


def wait_for(text: str, timeout: float = 10) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        screen = pane()
        if text in screen:
            return screen
        time.sleep(0.2)
    raise AssertionError(f"{text!r} never appeared:\n{pane()}")


def test_live_view_shows_both_ends(tmp_path):
    """A handshake held open: the listener's accept queue is full (backlog 0, one
    connection waiting), so the kernel drops the next client's SYN and the view shows
    that connection as client SYN_SENT / server SYN_RECEIVED (the states the SYN implies
    on the wire) until the queue drains and the retransmitted SYN is answered."""
    port = 61240
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(0)
    cmd = (f"env COLUMNS=250 LINES=60 {sys.executable} -m tcpwatch live --port {port} "
           f"--write {tmp_path / 'view.pcap'} --duration 60")
    subprocess.run(["tmux", "kill-session", "-t", SESSION], capture_output=True)
    subprocess.run(["tmux", "new-session", "-d", "-s", SESSION, "-x", "260", "-y", "60",
                    "-c", str(REPO), cmd], check=True)
    try:
        wait_for("capturing on lo")
        first = socket.create_connection(("127.0.0.1", port))  # fills the accept queue
        wait_for("ESTABLISHED / ESTABLISHED")
        c = socket.socket()
        c.setblocking(False)
        c.connect_ex(("127.0.0.1", port))  # its SYN is dropped: the queue is full
        screen = wait_for("SYN_SENT / SYN_RECEIVED")
        assert "client CLOSED→SYN_SENT, server LISTEN→SYN_RECEIVED" in screen
        queued, _ = listener.accept()  # room again: the retransmitted SYN gets through
        server, _ = listener.accept()
        c.setblocking(True)
        screen = wait_for("RETRANSMISSION")  # the second SYN, in the event log
        deadline = time.monotonic() + 10
        while "SYN_SENT / SYN_RECEIVED" in screen and time.monotonic() < deadline:
            time.sleep(0.2)
            screen = pane()
        assert "SYN_SENT / SYN_RECEIVED" not in screen  # both connections established
        c.shutdown(socket.SHUT_WR)  # half close: the server stays open
        screen = wait_for("FIN_WAIT_2 / CLOSE_WAIT")
        assert "client ESTABLISHED→FIN_WAIT_1, server ESTABLISHED→CLOSE_WAIT" in screen
        for s in (server, queued, c, first):
            s.close()
        subprocess.run(["tmux", "send-keys", "-t", SESSION, "C-c"], check=True)
        wait_for("TCP connections captured in")
    finally:
        subprocess.run(["tmux", "kill-session", "-t", SESSION], capture_output=True)
        listener.close()


DEMO = "tcpwatch-demo-test"


def demo_pane() -> str:
    return subprocess.run(["tmux", "capture-pane", "-p", "-t", DEMO], capture_output=True,
                          text=True).stdout


def test_the_demo_reads_whole_in_80_by_24(tmp_path):
    """scripts/demo in a real 80x24 terminal: while it runs and at its end, no line is
    cut and no number is '…'; the closing summary's segment and byte counts are those
    of the written capture, read back from the screen."""
    import tcpwatch
    from tcpwatch.report.summary import summarize_connections

    pcap = tmp_path / "demo.pcap"
    subprocess.run(["tmux", "kill-session", "-t", DEMO], capture_output=True)
    subprocess.run(["tmux", "new-session", "-d", "-s", DEMO, "-x", "80", "-y", "24", "-c",
                    str(REPO), f"bash scripts/demo --write {pcap}; sleep 60"], check=True)
    try:
        screens = []
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            screens.append(demo_pane())
            if "packets captured" in screens[-1]:
                break
            time.sleep(0.5)
        end = screens[-1]
        assert "packets captured" in end, end
        assert any("live TCP connections" in s for s in screens)  # the board was seen
        for screen in screens:
            assert "…" not in screen, screen
        summary = summarize_connections(tcpwatch.analyze(pcap))
        assert len(summary) == 3  # the three scenarios
        for r in summary.itertuples(index=False):
            assert f"{r.pkts_client:,} / {r.pkts_server:,}" in end, end
            assert f"{r.bytes_client:,} / {r.bytes_server:,}" in end, end
    finally:
        subprocess.run(["tmux", "kill-session", "-t", DEMO], capture_output=True)
