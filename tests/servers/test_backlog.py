"""The listen backlog: by default the system's maximum, so a burst of connections waits
in the kernel's queue for a server that accepts slowly instead of being dropped."""

from __future__ import annotations

import select
import signal
import socket
import subprocess
import time

from tcpwatch.lab.load.clients import HEADER
from tcpwatch.lab.load.server import ServerProcess
from tcpwatch.lab.servers.sockio import max_backlog, readn

BURST = 300


def listen_backlog(port: int) -> int:
    """The backlog of the socket listening on ``port``, as the kernel holds it (ss shows
    it as Send-Q of a listener)."""
    out = subprocess.run(["ss", "-Hltn", f"sport = :{port}"], capture_output=True, text=True,
                         check=True).stdout.split()
    return int(out[2])


def _state(pid: int) -> str:
    with open(f"/proc/{pid}/stat") as f:
        stat = f.read()
    return stat[stat.rindex(")") + 2]


def handshakes_while_stopped(server: ServerProcess, n: int) -> tuple[int, list[socket.socket]]:
    """With the server stopped (SIGSTOP: it accepts nothing), start ``n`` connections; how
    many the kernel completes from the listen queue alone."""
    server.proc.send_signal(signal.SIGSTOP)
    while _state(server.pid) != "T":  # stopped for sure: not one more accept()
        time.sleep(0.001)
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(server.addr)
        socks.append(s)
    # on loopback the handshake runs inside connect(): whoever got a SYN+ACK is writable
    # at once; a SYN dropped on a full queue is retried only after a second
    _, writable, _ = select.select([], socks, [], 0.5)
    return len(writable), socks


def test_the_default_backlog_is_the_systems_maximum_and_holds_a_burst():
    """Caught on main: the backlog was hard-coded to 128 -- with the server busy, 129 of
    300 connections got through the handshake and the rest had their SYNs dropped (the
    fork server lost 328 of a 2,000 burst for a minute).  Now all 300 wait in the queue
    and each gets its echo once the server runs again."""
    with ServerProcess("fork") as server:
        assert listen_backlog(server.addr[1]) == max_backlog() >= BURST
        done, socks = handshakes_while_stopped(server, BURST)
        server.proc.send_signal(signal.SIGCONT)
        assert done == BURST
        message = HEADER.pack(2) + b"hi"
        for s in socks:
            s.setblocking(True)
            s.settimeout(30)
            s.sendall(message)
        assert all(readn(s, len(message)) == message for s in socks)
        for s in socks:
            s.close()


def test_backlog_option_sets_the_queue_and_a_short_one_refuses_the_rest_of_a_burst():
    with ServerProcess("fork", backlog=128) as server:
        assert listen_backlog(server.addr[1]) == 128
        done, socks = handshakes_while_stopped(server, BURST)
        server.proc.send_signal(signal.SIGCONT)
        for s in socks:
            s.close()
    assert done == 129  # Linux admits backlog + 1 before the queue counts as full
