"""``tcpwatch live`` reports what it missed: the kernel's counts for its capture socket
(received by filter, dropped by kernel), as tcpdump prints them, checked against a
tcpdump capturing the same traffic beside it.  Overloaded on purpose (a 1 KiB buffer, the
process stopped while traffic flows), the drops are reported and add up; not
overloaded, nothing is dropped and the counts are still printed."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys

import pytest

from tcpwatch.capture.sockstats import MAX_BUFFER_KIB, CaptureStats
from tcpwatch.scenarios.tcpdump import tcpdump
from tcpwatch.servers.framing import LengthPrefixFramer

from ..conftest import REPO, needs_root
from .test_live import start_live

pytestmark = needs_root
COUNTS = re.compile(r"^tcpwatch live: ([\d,]+) packets captured, ([\d,]+) received by "
                    r"filter, ([\d,]+) dropped by kernel$", re.M)
WARNING = "tcpwatch: warning: the kernel dropped "


def echo(port: int, connections: int, size: int) -> None:
    """``connections`` echo round trips of ``size`` bytes through the bundled server."""
    for _ in range(connections):
        f = LengthPrefixFramer()
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(f.encode(b"x" * size))
            got: list[bytes] = []
            while not got:
                data = s.recv(1 << 20)
                assert data, "the echo server closed early"
                got = f.feed(data)


def frames(path) -> int:
    """Frames in a pcap, as tcpdump reads them."""
    res = subprocess.run(["tcpdump", "-r", str(path), "-n", "-q"], capture_output=True,
                         text=True, check=True)
    return len(res.stdout.splitlines())


def live_with_tcpdump(tmp_path, port: int, *extra: str, pause: bool, connections: int,
                      size: int) -> tuple[CaptureStats, str, str, int]:
    """Run live (and its bundled server) with a tcpdump beside it; with ``pause``, live
    is stopped (SIGSTOP) while the traffic flows, so its socket's buffer overflows.
    Returns live's closing counts, its stdout and stderr, and tcpdump's frame count."""
    with tcpdump("lo", tmp_path / "ref.pcap", f"tcp port {port}"):
        proc = start_live(tmp_path, port, *extra)
        try:
            if pause:
                proc.send_signal(signal.SIGSTOP)
            try:
                echo(port, connections, size)
            finally:
                if pause:
                    proc.send_signal(signal.SIGCONT)
        finally:
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "TCP connections captured in" in out
    found = COUNTS.findall(err)
    assert len(found) == 1, err
    captured, received, dropped = (int(v.replace(",", "")) for v in found[0])
    return CaptureStats(captured, received, dropped), out, err, frames(tmp_path / "ref.pcap")


def test_overloaded_capture_reports_the_kernels_drops(tmp_path):
    stats, _out, err, seen = live_with_tcpdump(tmp_path, 61260, "-B", "1", pause=True,
                                               connections=10, size=100_000)
    assert stats.dropped > 0
    # what the kernel counted for live's socket: every packet tcpdump saw, each either
    # read by live or dropped; and live wrote every packet it read
    assert stats.received == seen
    assert stats.captured + stats.dropped == stats.received
    assert frames(tmp_path / "live.pcap") == stats.captured
    warning = [ln for ln in err.splitlines() if ln.startswith(WARNING)]
    assert len(warning) == 1, err
    assert warning[0].startswith(f"{WARNING}{stats.dropped:,} of {stats.received:,} packets")
    assert "the analysis is incomplete" in warning[0] and "lost_segment" in warning[0]
    assert err.rstrip().splitlines()[-1] == warning[0]  # last: it cannot be missed


def test_capture_that_keeps_up_drops_nothing_and_says_so(tmp_path):
    stats, _out, err, seen = live_with_tcpdump(tmp_path, 61261, pause=False,
                                               connections=20, size=1_000)
    assert stats.dropped == 0 and seen >= 20 * 8
    assert stats.captured == stats.received == seen
    assert frames(tmp_path / "live.pcap") == stats.captured
    assert WARNING not in err
    assert COUNTS.search(err.rstrip().splitlines()[-1])  # printed last, piped or not


@pytest.mark.parametrize("value", ["0", "-5", str(MAX_BUFFER_KIB + 1)])
def test_bad_buffer_size_is_one_line(tmp_path, value):
    res = subprocess.run([sys.executable, "-m", "tcpwatch", "live", "-B", value,
                          "--duration", "1", "--write", str(tmp_path / "x.pcap")],
                         capture_output=True, text=True, cwd=REPO, timeout=60)
    assert res.returncode == 2, res.stderr
    assert res.stderr.strip() == (f"tcpwatch: error: -B/--buffer-size must be 1 to "
                                  f"{MAX_BUFFER_KIB} KiB, not {value}")
    assert not (tmp_path / "x.pcap").exists()
