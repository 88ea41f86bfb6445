"""The four serving models, each a real process: echo over every framing, 1,000
connections leave no zombie and the fd count where it started, SIGTERM/SIGINT stop it
cleanly (exit 0), and a stop signal is never lost, wherever it lands."""

from __future__ import annotations

import os
import random
import re
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager

import pytest

from tcpwatch.lab.servers.framing import FRAMERS
from tcpwatch.lab.servers.models import MODELS, run

from ..conftest import REPO

#: stop-signal runs: fork's race (SIGCHLD, then the retried accept) lost 6 of 300 before the
#: wakeup pipe; the other models have no child to reap and share its signal path
RUNS_PER_MODEL = {"fork": 300, "thread": 100, "select": 100, "nonblock": 100}


@contextmanager
def running(model: str, framing: str = "length", stop=signal.SIGTERM):
    proc = subprocess.Popen([sys.executable, "-m", "tcpwatch", "serve", model, "--port", "0",
                             "--framing", framing], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=REPO)
    try:
        line = proc.stdout.readline()
        m = re.search(r"listening on ([\d.]+):(\d+)", line)
        assert m, line + proc.stderr.read()
        yield proc, (m.group(1), int(m.group(2)))
    finally:
        if proc.poll() is None:
            proc.send_signal(stop)
        proc.wait(timeout=15)
        proc.stdout.close()
        proc.stderr.close()


def _echo_once(addr, framer_cls, message: bytes) -> None:
    f = framer_cls()
    with socket.create_connection(addr, timeout=10) as s:
        s.sendall(f.encode(message) * 2)  # two messages in one send
        got = []
        while len(got) < 2:
            data = s.recv(65536)
            assert data, "server closed early"
            got += f.feed(data)
        assert got == [message, message]


def fd_count(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def children(pid: int) -> list[tuple[int, str]]:
    """(pid, state letter) of every process whose parent is ``pid``."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    stat = f.read()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2:].split()
            if int(fields[1]) == pid:
                out.append((int(entry), fields[0]))
    return out


def _settle(check, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()


@pytest.mark.parametrize("framing", list(FRAMERS))
@pytest.mark.parametrize("model", list(MODELS))
def test_echo_over_each_framing(model, framing):
    message = b"m" * 64 if framing == "fixed" else b"hello, sticky packets"
    with running(model, framing) as (proc, addr):
        _echo_once(addr, FRAMERS[framing], message)
    assert proc.returncode == 0


@pytest.mark.parametrize("model", list(MODELS))
def test_thousand_connections_leave_no_zombie_and_no_fd(model):
    with running(model) as (proc, addr):
        _echo_once(addr, FRAMERS["length"], b"warm-up")
        assert _settle(lambda: not children(proc.pid))
        # the warm-up connection's fd may still be closing: take the lowest count seen
        before = min(fd_count(proc.pid) for _ in range(10) if time.sleep(0.05) is None)
        for i in range(1000):
            _echo_once(addr, FRAMERS["length"], str(i).encode())
        assert _settle(lambda: fd_count(proc.pid) == before), (fd_count(proc.pid), before)
        assert _settle(lambda: not children(proc.pid)), children(proc.pid)
        zombies = [c for c in children(proc.pid) if c[1] == "Z"]
        assert zombies == []
    assert proc.returncode == 0


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["TERM", "INT"])
@pytest.mark.parametrize("model", list(MODELS))
def test_stops_cleanly_with_open_connections(model, stop):
    with running(model, stop=stop) as (proc, addr):
        idle = [socket.create_connection(addr) for _ in range(3)]  # open, silent clients
        _echo_once(addr, FRAMERS["length"], b"x")
        time.sleep(0.2)
        proc.send_signal(stop)
        proc.wait(timeout=10)
        err = proc.stderr.read()
        for s in idle:
            assert s.recv(1) == b""  # the server closed them
            s.close()
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "stopped" in err
    assert children(proc.pid) == []


@pytest.mark.parametrize("model", list(MODELS))
def test_close_after_makes_the_server_close_first(model):
    proc = subprocess.Popen([sys.executable, "-m", "tcpwatch", "serve", model, "--port", "0",
                             "--close-after", "1"], stdout=subprocess.PIPE, text=True, cwd=REPO)
    try:
        m = re.search(r"listening on ([\d.]+):(\d+)", proc.stdout.readline())
        f = FRAMERS["length"]()
        with socket.create_connection((m.group(1), int(m.group(2))), timeout=5) as s:
            s.sendall(f.encode(b"only one"))
            data = b""
            while True:
                chunk = s.recv(100)
                if not chunk:
                    break  # EOF: the server closed, without the client closing
                data += chunk
            assert f.feed(data) == [b"only one"]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
        proc.stdout.close()
    assert proc.returncode == 0


def _serve_in_child(model: str) -> tuple[int, int]:
    """Fork a process that runs ``model`` (no interpreter start-up: hundreds of runs take
    seconds); (pid, port)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        status = 1
        try:
            os.close(r)
            run(model, "127.0.0.1", 0, "line",
                on_listening=lambda host, port: os.write(w, f"{port}\n".encode()))
            status = 0
        finally:
            os._exit(status)
    os.close(w)
    with os.fdopen(r) as f:
        return pid, int(f.readline())


def _exited_within(pid: int, timeout: float) -> int | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.002)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return None


@pytest.mark.parametrize("model", list(MODELS))
def test_a_stop_signal_is_never_lost(model):
    """SIGTERM right after a client leaves -- for ``fork``, just as the child's exit
    brings SIGCHLD and Python retries the interrupted accept().  Python-level handling
    alone (a flag, or a handler raising while armed around accept) lost the signal in
    that window: the server slept on in accept(), 6 of 300 runs hung.  With the wakeup
    pipe none may."""
    rng = random.Random(7)
    framer = FRAMERS["line"]
    hung, failed = [], []
    runs = RUNS_PER_MODEL[model]
    for i in range(runs):
        pid, port = _serve_in_child(model)
        _echo_once(("127.0.0.1", port), framer, b"bye")
        time.sleep(rng.random() * 0.002)  # land anywhere around the SIGCHLD
        os.kill(pid, signal.SIGTERM)
        code = _exited_within(pid, 5.0)
        if code is None:
            hung.append(i)
        elif code != 0:
            failed.append((i, code))
    assert hung == [] and failed == [], f"of {runs}: hung {hung}, failed {failed}"
