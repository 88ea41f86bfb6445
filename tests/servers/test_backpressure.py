"""Backpressure in the event-loop servers: a client that sends without reading must not
grow the server, and the water marks and drain deadline of ``eventconn`` do what they say."""

from __future__ import annotations

import contextlib
import logging
import socket

import pytest

from tcpwatch.lab.load.clients import flood
from tcpwatch.lab.load.server import Peak, ServerProcess, memory_kib
from tcpwatch.lab.servers.eventconn import DRAIN_TIMEOUT, HIGH_WATER, LOW_WATER, EventConn
from tcpwatch.lab.servers.framing import LengthPrefixFramer

CAP = 64 << 20  # what a never-reader may push into a server that never pushes back


@pytest.mark.parametrize("model", ["select", "nonblock"])
def test_a_never_reader_does_not_grow_the_server(model):
    """Caught on main: select and nonblock kept reading a client that never read its echo
    and buffered it all -- the 64 MiB flood went in whole and the server's memory grew
    from 12 to 73 MiB (and would grow without bound).  Now the server stops reading at
    64 KiB of pending echo: the kernel's window closes and the client's send stalls."""
    with ServerProcess(model) as server:
        idle = memory_kib(server.pid)
        with Peak(lambda: memory_kib(server.pid)) as peak, \
                socket.create_connection(server.addr) as s:
            sent = flood(s, CAP, idle=0.3)
    assert sent < CAP, "the server took everything: no backpressure"
    assert peak.value <= 2 * idle, (peak.value, idle)


def _frames(n: int, size: int) -> bytes:
    f = LengthPrefixFramer()
    return b"".join(f.encode(bytes([i % 251]) * size) for i in range(n))


def test_reading_pauses_at_the_high_mark_and_resumes_at_the_low_mark():
    server, client = socket.socketpair()
    with server, client:
        server.setblocking(False)
        server.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)  # echo cannot drain
        c = EventConn(server, ("127.0.0.1", 1), LengthPrefixFramer(), now=0.0)
        client.sendall(_frames(12, 16 * 1024))
        while c.wants_read:
            c.read(now=0.0)
        assert c.paused and len(c.out) >= HIGH_WATER and not c.eof
        seen_paused_below_high = False
        client.setblocking(False)
        while c.paused:
            c.write(now=1.0)
            seen_paused_below_high |= LOW_WATER < len(c.out) < HIGH_WATER and c.paused
            with contextlib.suppress(BlockingIOError):
                client.recv(4096)
        assert seen_paused_below_high  # hysteresis: not resumed just under the high mark
        assert len(c.out) <= LOW_WATER and c.wants_read and c.last_progress == 1.0


def test_a_closing_connection_that_makes_no_progress_is_dropped_with_a_reason(caplog):
    server, client = socket.socketpair()
    with server, client:
        server.setblocking(False)
        server.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        c = EventConn(server, ("127.0.0.1", 5555), LengthPrefixFramer(), now=0.0)
        client.sendall(_frames(3, 20 * 1024))
        client.shutdown(socket.SHUT_WR)  # half-closed, and never reads
        while not c.eof:  # the input comes 100 s after the connection began
            c.read(now=100.0)
            c.write(now=100.0)
        assert c.closing and c.out and not c.done
        # the deadline counts from the last bytes moved, not from the connection's start
        assert not c.stalled(100 + DRAIN_TIMEOUT - 1) and c.stalled(100 + DRAIN_TIMEOUT + 1)
        pending = len(c.out)
        with caplog.at_level(logging.WARNING, logger="tcpwatch.serve"):
            c.drop(f"no progress for {DRAIN_TIMEOUT:g} s")
        assert server.fileno() == -1
    assert f"dropped {pending} bytes of echo for 127.0.0.1:5555: no progress" in caplog.text
