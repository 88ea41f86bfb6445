"""A client that half-closes and never reads must not stall an event-loop server, nor lose
its echo: the server keeps serving others while that output waits, and delivers it once
the client reads."""

from __future__ import annotations

import contextlib
import os
import socket
import time

import pytest

from tcpwatch.lab.load.clients import flood, flood_frame
from tcpwatch.lab.load.server import ServerProcess
from tcpwatch.lab.servers.framing import LengthPrefixFramer
from tcpwatch.lab.servers.sockio import readn


def holds(pid: int, client_port: int) -> bool:
    """Whether process ``pid`` has a socket open for the connection from ``client_port``
    (/proc/net/tcp: remote port, inode; /proc/PID/fd: socket:[inode])."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        with contextlib.suppress(OSError):
            inodes.add(os.readlink(f"/proc/{pid}/fd/{fd}"))
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            if (int(fields[2].split(":")[1], 16) == client_port
                    and f"socket:[{fields[9]}]" in inodes):
                return True
    return False


@pytest.mark.parametrize("model", ["select", "nonblock"])
def test_a_half_closed_client_stalls_no_one_and_gets_its_echo(model):
    """Caught on main: on the client's EOF the loop flushed its pending echo with a
    blocking sendall (2 s timeout) -- every other client waited 1.96 s, then the
    connection was closed and 30 MB of echo thrown away.  Here, when another client's
    echo comes back, the server still holds the half-closed connection open (it was not
    given up under a timeout), and once the client reads, every whole message it sent
    comes back, then EOF."""
    frame = flood_frame()
    with ServerProcess(model) as server:
        with socket.create_connection(server.addr) as h:
            sent = flood(h, 32 << 20, idle=0.3, frame=frame)
            h.shutdown(socket.SHUT_WR)
            time.sleep(0.3)  # a server that reads on to the EOF gets there
            t0 = time.perf_counter()
            with socket.create_connection(server.addr, timeout=30) as other:
                other.sendall(LengthPrefixFramer().encode(b"anyone there?"))
                assert readn(other, 17) == LengthPrefixFramer().encode(b"anyone there?")
                delay = time.perf_counter() - t0
                held = holds(server.pid, h.getsockname()[1])
            h.settimeout(30)
            got = bytearray()
            while chunk := h.recv(1 << 20):
                got += chunk
        assert held, f"the server let the half-closed connection go after {delay:.3f} s"
        assert bytes(got) == frame * (sent // len(frame))
