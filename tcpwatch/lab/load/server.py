"""A bundled server as a child process, and what /proc says about it (and its children)."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable

from ...errors import TcpwatchError


class ServerProcess:
    """``tcpwatch serve MODEL --port 0`` on 127.0.0.1; its stderr kept in a file."""

    def __init__(self, model: str, backlog: int | None = None):
        args = [sys.executable, "-m", "tcpwatch", "serve", model, "--port", "0"]
        if backlog is not None:
            args += ["--backlog", str(backlog)]
        self.stderr = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 (closed in __exit__)
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self.stderr, text=True)
        assert self.proc.stdout is not None
        m = re.search(r"listening on ([\d.]+):(\d+)", self.proc.stdout.readline())
        if not m:
            self.proc.wait(timeout=10)
            raise TcpwatchError(f"tcpwatch serve {model} did not start: {self.errors()[-300:]}")
        self.addr = (m.group(1), int(m.group(2)))
        self.pid = self.proc.pid

    def errors(self) -> str:
        self.stderr.seek(0)
        return self.stderr.read()

    def stop(self, timeout: float = 15) -> int:
        """SIGTERM; its exit code (SIGKILL and -9 if it does not exit within ``timeout``)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()
        return code

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
        self.stderr.close()


def children(pid: int) -> list[int]:
    """The direct children of ``pid`` (every thread's list, /proc/PID/task/TID/children)."""
    out: list[int] = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                out += [int(c) for c in f.read().split()]
    except (FileNotFoundError, ProcessLookupError):
        pass
    return out


def tree(pid: int) -> list[int]:
    return [pid, *children(pid)]


def pss_kib(pid: int) -> int:
    """Proportional set size (shared pages divided among their sharers) of ``pid``, in KiB:
    summed over a fork server's processes it counts copy-on-write pages once, where
    RSS would count them in every child."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def memory_kib(pid: int) -> int:
    """PSS of the server and its children, in KiB."""
    return sum(pss_kib(p) for p in tree(pid))


def fd_count(pid: int) -> int:
    """Open file descriptors of the server and its children."""
    total = 0
    for p in tree(pid):
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            total += len(os.listdir(f"/proc/{p}/fd"))
    return total


def zombies(pid: int) -> int:
    """Children of ``pid`` that exited and were not reaped (state Z)."""
    n = 0
    for c in children(pid):
        try:
            with open(f"/proc/{c}/stat") as f:
                stat = f.read()
        except (FileNotFoundError, ProcessLookupError):
            continue
        n += stat[stat.rindex(")") + 2] == "Z"
    return n


class Peak:
    """The largest value ``measure()`` returns, sampled every ``interval`` s in a thread
    while the block runs."""

    def __init__(self, measure: Callable[[], int], interval: float = 0.05):
        self.measure = measure
        self.interval = interval
        self.value = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while True:
            self.value = max(self.value, self.measure())
            if self._stop.wait(self.interval):
                return

    def __enter__(self) -> Peak:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.value = max(self.value, self.measure())
