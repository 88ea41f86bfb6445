"""``tcpwatch live`` reports what it missed: the kernel's counts for its capture socket
(received by filter, dropped by kernel), as tcpdump prints them, checked against a
tcpdump capturing the same traffic beside it.  Overloaded on purpose (a 1 KiB buffer, the
process stopped while traffic flows), the drops are reported and add up; not
overloaded, nothing is dropped and the counts are still printed."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

import tcpwatch
from tcpwatch.capture.packetsock import MAX_BUFFER_KIB, CaptureStats
from tcpwatch.lab.scenarios.tcpdump import tcpdump
from tcpwatch.lab.servers.framing import LengthPrefixFramer

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


def record_lengths(path) -> list[tuple[int, int]]:
    """(captured, on the wire) length of each record of a little-endian pcap."""
    data = Path(path).read_bytes()
    out, pos = [], 24
    while pos < len(data):
        caplen, wirelen = struct.unpack_from("<II", data, pos + 8)
        out.append((caplen, wirelen))
        pos += 16 + caplen
    return out


def live_with_tcpdump(tmp_path, port: int, *extra: str, pause: bool,
                      loads: tuple[tuple[int, int], ...]
                      ) -> tuple[CaptureStats, str, str, int]:
    """Run live (and its bundled server) with a tcpdump beside it; with ``pause``, live
    is stopped (SIGSTOP) while the traffic flows, so its socket's buffer overflows.
    Returns live's closing counts, its stdout and stderr, and tcpdump's frame count."""
    with tcpdump("lo", tmp_path / "ref.pcap", f"tcp port {port}"):
        proc = start_live(tmp_path, port, *extra)
        try:
            if pause:
                proc.send_signal(signal.SIGSTOP)
            try:
                for connections, size in loads:
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
                                               loads=((10, 100_000),))
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
    """Bulk (64 KiB TSO segments: 65,549-byte frames on loopback) and small connections:
    nothing dropped, nothing cut, and so no segment looks lost."""
    stats, _out, err, seen = live_with_tcpdump(tmp_path, 61261, pause=False,
                                               loads=((1, 1_000_000), (20, 1_000)))
    assert stats.dropped == 0 and seen >= 20 * 8
    assert stats.captured == stats.received == seen
    assert frames(tmp_path / "live.pcap") == stats.captured
    assert WARNING not in err
    assert COUNTS.search(err.rstrip().splitlines()[-1])  # printed last, piped or not
    mine, ref = record_lengths(tmp_path / "live.pcap"), record_lengths(tmp_path / "ref.pcap")
    assert max(ref)[0] > 65_535  # frames longer than scapy reads by default
    assert sorted(mine) == sorted(ref)  # whole frames, as tcpdump has them
    events = tcpwatch.analyze(tmp_path / "live.pcap")["events"].astype(str)
    assert not events.str.contains("lost_segment").any()


SESSION = "tcpwatch-drops-test"


def pane() -> str:
    return subprocess.run(["tmux", "capture-pane", "-p", "-J", "-t", SESSION],
                          capture_output=True, text=True).stdout


def wait_for(pattern: str, timeout: float = 20) -> re.Match:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = re.search(pattern, pane(), re.M)
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"{pattern!r} never appeared:\n{pane()}")


@pytest.mark.skipif(shutil.which("tmux") is None, reason="no tmux")
def test_board_shows_the_drops_while_capturing(tmp_path):
    """On a terminal (tmux), the board's first line says what the kernel counted, and
    turns into the warning once it drops; the end repeats the counts and the warning."""
    port = 61262
    cmd = (f"exec env COLUMNS=200 LINES=50 {sys.executable} -m tcpwatch live -B 1 "
           f"--port {port} --serve thread --write {tmp_path / 'board.pcap'} --duration 60")
    subprocess.run(["tmux", "kill-session", "-t", SESSION], capture_output=True)
    subprocess.run(["tmux", "new-session", "-d", "-s", SESSION, "-x", "200", "-y", "50",
                    "-c", str(REPO), cmd], check=True)
    try:  # the pane stays when live ends, with what it printed last
        subprocess.run(["tmux", "set-option", "-w", "-t", SESSION, "remain-on-exit", "on"],
                       check=True)
        wait_for(r"^kernel: 0 received by filter, 0 dropped$")
        pid = int(subprocess.run(["tmux", "display-message", "-p", "-t", SESSION,
                                  "#{pane_pid}"], capture_output=True, text=True,
                                 check=True).stdout)
        assert b"tcpwatch\0live" in Path(f"/proc/{pid}/cmdline").read_bytes()
        os.kill(pid, signal.SIGSTOP)
        try:
            echo(port, 5, 100_000)
        finally:
            os.kill(pid, signal.SIGCONT)
        board = wait_for(r"^kernel: ([\d,]+) received by filter, ([\d,]+) dropped: the "
                         r"analysis is incomplete \(false lost_segment / ack_lost_segment "
                         r"possible\)$")
        received, dropped = (int(v.replace(",", "")) for v in board.groups())
        assert 0 < dropped <= received
        subprocess.run(["tmux", "send-keys", "-t", SESSION, "C-c"], check=True)
        end = wait_for(COUNTS.pattern)
        assert int(end[3].replace(",", "")) >= dropped
        wait_for(f"^{WARNING}{end[3]} of {end[2]} packets")
    finally:
        subprocess.run(["tmux", "kill-session", "-t", SESSION], capture_output=True)


def test_buffer_without_cap_net_admin_is_capped_and_says_so(tmp_path):
    """Without CAP_NET_ADMIN (root with it dropped from the bounding set) the buffer
    cannot pass net.core.rmem_max: live says what it got, not what it asked."""
    cap = int(Path("/proc/sys/net/core/rmem_max").read_text()) // 1024
    res = subprocess.run(["setpriv", "--bounding-set", "-net_admin", "--inh-caps",
                          "-net_admin", sys.executable, "-m", "tcpwatch", "live", "-B",
                          str(2 * cap), "--port", "61263", "--duration", "0.01", "--write",
                          str(tmp_path / "x.pcap")], capture_output=True, text=True,
                         cwd=REPO, timeout=60)
    assert res.returncode == 0, res.stderr
    first = res.stderr.splitlines()[0]
    assert first.endswith(f", buffer {cap:,} KiB (asked {2 * cap:,}: net.core.rmem_max caps "
                          "it without CAP_NET_ADMIN)"), first
    assert res.stderr.splitlines()[-1] == ("tcpwatch live: 0 packets captured, 0 received by "
                                           "filter, 0 dropped by kernel")


@pytest.mark.parametrize("value", ["0", "-5", str(MAX_BUFFER_KIB + 1)])
def test_bad_buffer_size_is_one_line(tmp_path, value, capsys):
    """The CLI in this process (the value is refused before anything is opened)."""
    from tcpwatch.cli.main import main

    with pytest.raises(SystemExit) as stop:
        main(["live", "-B", value, "--duration", "1", "--write", str(tmp_path / "x.pcap")])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert err == (f"tcpwatch: error: Invalid value for '-B' / '--buffer-size': {value} is not "
                   f"in the range 1<=x<={MAX_BUFFER_KIB}. (tcpwatch live -h)\n")
    assert not (tmp_path / "x.pcap").exists()
