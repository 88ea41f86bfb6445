"""SIGINT and SIGTERM at any moment of ``tcpwatch live`` -- while click, numpy and pandas
import, while it captures, while it writes the files and prints the summary, while the
interpreter shuts down -- and any number of them: no traceback, a complete pcap, a
Parquet table of as many rows as the pcap has frames, the summary, exit 0.

A moment is found, not timed: "the handlers are in" is when the kernel shows the process
catching SIGTERM (/proc/PID/status, SigCgt: Python itself does not catch it); "the heavy
imports" are under way once numpy's C extension is mapped (/proc/PID/maps)."""

from __future__ import annotations

import os
import re
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tcpwatch.capture.packetsock import BUFFER_KIB

from ..conftest import REPO, needs_root
from .test_live import echo_connections

pytestmark = needs_root
INT, TERM = signal.SIGINT, signal.SIGTERM
POLL_S = 0.002
WAIT_S = 60.0


def handlers_in(pid: int) -> bool:
    """Whether the process catches SIGTERM (a bit of SigCgt, a hex mask of signals)."""
    status = Path(f"/proc/{pid}/status").read_text()
    caught = int(next(ln for ln in status.splitlines() if ln.startswith("SigCgt:")).split()[1],
                 16)
    return bool(caught >> (TERM - 1) & 1)


def importing_numpy(pid: int) -> bool:
    return "_multiarray_umath" in Path(f"/proc/{pid}/maps").read_text()


def starting_its_server(pid: int) -> bool:
    """Whether live's child runs ``tcpwatch serve`` already (exec'd; it cannot listen
    yet: Python is starting)."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return any(b"\0serve\0" in _cmdline(c) for c in children)


def _cmdline(pid: str) -> bytes:
    """A process's command line; empty if it has ended since it was listed (live runs
    short-lived children too)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except (ProcessLookupError, FileNotFoundError):
        return b""


def wait_for(proc: subprocess.Popen, moment) -> None:
    deadline = time.monotonic() + WAIT_S
    try:
        while not moment(proc.pid):
            assert proc.poll() is None, f"live ended before {moment.__name__}"
            assert time.monotonic() < deadline, f"no {moment.__name__} in {WAIT_S} s"
            time.sleep(POLL_S)
    except AssertionError:
        proc.kill()
        proc.communicate()
        raise


def start(tmp_path: Path, port: int, *extra: str) -> subprocess.Popen:
    """``tcpwatch live`` as a user starts it (the console script's entry point, run()),
    in a process group of its own, as a shell's job: a terminal's Ctrl-C is a SIGINT to
    the group (``os.killpg``), its bundled server included."""
    return subprocess.Popen(
        [sys.executable, "-m", "tcpwatch", "live", "--port", str(port),
         "--write", str(tmp_path / f"{port}.pcap"), "-o", str(tmp_path / f"{port}.parquet"),
         *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
        env={**os.environ, "COLUMNS": "300"}, process_group=0)  # the title on one line


def pcap_frames(path: Path) -> int:
    """The frames of a pcap, which must end exactly after its last whole record."""
    data = path.read_bytes()
    assert data[:4] == struct.pack("<I", 0xA1B23C4D) and len(data) >= 24, path
    at, frames = 24, 0
    while at < len(data):
        assert at + 16 <= len(data), f"{path}: a record header cut at byte {at}"
        caplen = struct.unpack_from("<I", data, at + 8)[0]
        at += 16 + caplen
        frames += 1
    assert at == len(data), f"{path}: the last record is cut"
    return frames


def check_ended_cleanly(proc: subprocess.Popen, tmp_path: Path, port: int,
                        first: signal.Signals) -> int:
    """Exit 0, no traceback, the summary named after the first signal, a complete pcap
    and a Parquet table of one row per frame; returns the frames."""
    out, err = proc.communicate(timeout=WAIT_S)
    assert proc.returncode == 0, (proc.returncode, err)
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert f"TCP connections captured in {tmp_path / f'{port}.pcap'}" in out, out
    assert f"({first.name})" in out, out
    assert err.splitlines()[-1].startswith("tcpwatch live: "), err  # the kernel's counts
    frames = pcap_frames(tmp_path / f"{port}.pcap")
    assert pq.read_metadata(tmp_path / f"{port}.parquet").num_rows == frames
    return frames


def started(pid: int) -> bool:
    """tcpwatch's own code runs: its handlers are in, or (where they are put in late)
    numpy loads already, whichever is seen first."""
    return handlers_in(pid) or importing_numpy(pid)


#: from that moment: at 0, 50 and 150 ms (click still importing), then 150 to 300 ms
#: apart through the heavy imports (numpy, pandas, pyarrow, scapy)
AT_START_UP = [(0.0, INT), (0.05, TERM), (0.1, INT), (0.3, INT), (0.15, TERM), (0.25, INT),
               (0.2, INT), (0.3, TERM)]


def test_signals_during_start_up_stop_it_cleanly(tmp_path):
    """Stopped before it captured anything, live starts no server and no sniffer, and
    still leaves a valid (empty) pcap and table and the summary, named after the first
    signal."""
    port = 61270
    proc = start(tmp_path, port, "--serve", "thread")
    wait_for(proc, started)
    for delay, sig in AT_START_UP:
        time.sleep(delay)
        os.killpg(proc.pid, sig)
    assert check_ended_cleanly(proc, tmp_path, port, INT) == 0


def test_ctrl_c_as_the_bundled_server_starts(tmp_path):
    """A terminal's Ctrl-C the moment live has started its server ends the server before
    it listens: live stops as it would any time (before, "the server did not start",
    exit 2)."""
    port = 61275
    proc = start(tmp_path, port, "--serve", "thread")
    wait_for(proc, starting_its_server)
    os.killpg(proc.pid, INT)
    check_ended_cleanly(proc, tmp_path, port, INT)


def test_a_burst_of_signals_during_capture_writing_and_shutdown(tmp_path):
    """Traffic captured, then SIGINTs 50 to 300 ms apart until live has exited: the first
    stops the capture, the others fall on the writing of the files, the summary and the
    interpreter's shutdown, and change nothing."""
    port = 61274
    proc = start(tmp_path, port, "--serve", "thread")
    line = proc.stderr.readline()
    assert "capturing on lo" in line and line.endswith(f", buffer {BUFFER_KIB:,} KiB\n"), line
    assert capture_buffers(proc.pid) == [2 * BUFFER_KIB * 1024]  # what it says it got
    echo_connections(port, 5)
    # the 150-300 ms apart, with a 50 ms one between them: however fast live ends
    # on this machine, some land on the writing, the summary and the shutdown
    gaps = [0.15, 0.05, 0.3, 0.05, 0.2, 0.05, 0.25, 0.05]
    sent = 0
    while proc.poll() is None:
        proc.send_signal(INT)
        time.sleep(gaps[sent % len(gaps)])
        sent += 1
    assert sent >= 3
    assert check_ended_cleanly(proc, tmp_path, port, INT) >= 5 * 8


def capture_buffers(pid: int) -> list[int]:
    """The receive buffers of a process's packet sockets as the kernel reports them
    (``ss``: rb, the kernel's doubled figure)."""
    ss = subprocess.run(["ss", "-0", "-m", "-p", "-n"], capture_output=True, text=True,
                        check=True).stdout
    return [int(re.search(r"skmem:\(r\d+,rb(\d+),", ln)[1]) for ln in ss.splitlines()
            if f"pid={pid}," in ln]


@pytest.mark.parametrize("iface", ["lo", "any"])
def test_the_capture_buffer_is_what_was_asked_past_rmem_max(iface):
    """As root each capture path (scapy's socket on one interface, tcpwatch's cooked one
    on any) gets the 32 MiB live asks for, though net.core.rmem_max is lower
    (SO_RCVBUFFORCE), and says so; without CAP_NET_ADMIN: test_drops."""
    from tcpwatch.capture.sniffer import PacketSniffer

    rmem_max = int(Path("/proc/sys/net/core/rmem_max").read_text())
    assert rmem_max < BUFFER_KIB * 1024, "rmem_max allows the buffer: nothing to show"
    cap = PacketSniffer(iface, "tcp port 9")
    try:
        assert capture_buffers(os.getpid()) == [2 * BUFFER_KIB * 1024]
        assert cap.buffer_kib == BUFFER_KIB
    finally:
        cap.stop()
    assert capture_buffers(os.getpid()) == []


def test_live_called_in_process_puts_the_handlers_back(tmp_path):
    """live through ``main`` in a process that goes on (a test, a Python caller): the
    SIGINT/SIGTERM handlers it found come back when it returns. Left at SIG_IGN, every
    child process started later would ignore Ctrl-C too (SIG_IGN survives exec): it broke
    test_cli's Ctrl-C test in CI."""
    import contextlib
    import io

    from tcpwatch.cli.main import main

    before = [signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)]
    with contextlib.redirect_stdout(io.StringIO()), \
            contextlib.redirect_stderr(io.StringIO()), pytest.raises(SystemExit) as end:
        main(["live", "--write", str(tmp_path / "x.pcap"), "--duration", "0.3",
              "--port", "61298"])
    assert end.value.code == 0
    assert [signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)] == before
    assert (tmp_path / "x.pcap").stat().st_size >= 24  # a whole pcap header at least
