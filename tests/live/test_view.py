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
    port = 61240
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen()
    cmd = (f"env COLUMNS=250 LINES=60 {sys.executable} -m tcpwatch live --port {port} "
           f"--write {tmp_path / 'view.pcap'} --duration 60")
    subprocess.run(["tmux", "kill-session", "-t", SESSION], capture_output=True)
    subprocess.run(["tmux", "new-session", "-d", "-s", SESSION, "-x", "260", "-y", "60",
                    "-c", str(REPO), cmd], check=True)
    try:
        wait_for("capturing on lo")
        c = socket.create_connection(("127.0.0.1", port))
        server, _ = listener.accept()
        screen = wait_for("ESTABLISHED / ESTABLISHED")  # after the handshake, both ends
        assert f"127.0.0.1:{port}" in screen
        c.shutdown(socket.SHUT_WR)  # half close: the server stays open
        screen = wait_for("FIN_WAIT_2 / CLOSE_WAIT")
        assert "client ESTABLISHED→FIN_WAIT_1, server ESTABLISHED→CLOSE_WAIT" in screen
        server.close()
        c.close()
        subprocess.run(["tmux", "send-keys", "-t", SESSION, "C-c"], check=True)
        wait_for("TCP connections captured in")
    finally:
        subprocess.run(["tmux", "kill-session", "-t", SESSION], capture_output=True)
        listener.close()
