"""Recording with tcpdump (until tcpwatch's own sniffer lands): start, wait, stop."""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ...errors import TcpwatchError
from .netns import in_netns


@contextmanager
def tcpdump(iface: str, path: Path, bpf: str = "tcp", *, netns: str | None = None,
            snaplen: int | None = None, linktype: str | None = None,
            buffer_kib: int = 32768) -> Iterator[Path]:
    """Capture on ``iface`` into ``path`` while the block runs.

    Waits until tcpdump says it is listening, and on exit lets it drain, then stops it
    with SIGINT so the file is complete.
    """
    exe = shutil.which("tcpdump")
    if exe is None:
        raise TcpwatchError("tcpdump is not installed (scripts/setup installs it)")
    # --immediate-mode: deliver each packet at once (TPACKET_V3 otherwise holds a block
    # until it times out, and SIGINT would lose it); -Z root: write where root can.
    cmd = [exe, "-i", iface, "-w", str(path), "-U", "-n", "--immediate-mode", "-Z", "root",
           "-B", str(buffer_kib)]
    if snaplen:
        cmd += ["-s", str(snaplen)]
    if linktype:
        cmd += ["-y", linktype]
    cmd += bpf.split()
    proc = subprocess.Popen(in_netns(netns, cmd), stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        said = []
        while True:  # e.g. "data link type LINUX_SLL2" comes before "listening on"
            line = proc.stderr.readline()
            said.append(line.strip())
            if "listening on" in line:
                break
            if not line:
                proc.wait(timeout=5)
                raise TcpwatchError(f"tcpdump did not start: {' '.join(said)}")
        yield path
        time.sleep(0.3)  # let the last segments reach the capture buffer
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stderr:
            proc.stderr.close()
