"""The socket wrappers on real sockets (socketpairs and loopback TCP)."""

from __future__ import annotations

import signal
import socket
import threading
import time

import pytest

from tcpwatch.errors import TcpwatchError
from tcpwatch.lab.servers.sockio import (
    IncompleteRead,
    LineTooLong,
    SocketReader,
    accept,
    accept_nowait,
    readn,
    tcp_listen,
    writen,
)


def _trickle(sock: socket.socket, data: bytes, pieces: int, close: bool = True) -> None:
    step = max(1, len(data) // pieces)
    for i in range(0, len(data), step):
        sock.sendall(data[i:i + step])
        time.sleep(0.002)
    if close:
        sock.shutdown(socket.SHUT_WR)


def test_readn_joins_short_reads():
    a, b = socket.socketpair()
    with a, b:
        t = threading.Thread(target=_trickle, args=(b, b"x" * 10_000, 50))
        t.start()
        assert readn(a, 10_000) == b"x" * 10_000
        t.join()


def test_readn_peer_closes_early_says_how_much():
    a, b = socket.socketpair()
    with a, b:
        b.sendall(b"abc")
        b.shutdown(socket.SHUT_WR)
        with pytest.raises(IncompleteRead) as err:
            readn(a, 10)
        assert err.value.partial == b"abc" and err.value.expected == 10
        assert "3 of 10" in str(err.value)


def test_writen_survives_short_writes():
    a, b = socket.socketpair()
    with a, b:
        a.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        data = bytes(range(256)) * 4000  # far more than the socket buffer: short writes
        got = bytearray()
        t = threading.Thread(target=lambda: got.extend(readn(b, len(data))))
        t.start()
        writen(a, data)
        t.join()
        assert bytes(got) == data


def test_readn_resumes_after_a_signal_pep475():
    """SIGALRM interrupts the blocked recv; the handler returns; Python retries (EINTR)."""
    a, b = socket.socketpair()
    fired = []
    old = signal.signal(signal.SIGALRM, lambda *_: fired.append(1))
    try:
        with a, b:
            signal.setitimer(signal.ITIMER_REAL, 0.05)
            threading.Timer(0.2, lambda: b.sendall(b"late")).start()
            assert readn(a, 4) == b"late"
            assert fired == [1]
    finally:
        signal.signal(signal.SIGALRM, old)


def test_readline_keeps_bytes_past_the_line_end():
    a, b = socket.socketpair()
    with a, b:
        b.sendall(b"first\nsecond\nthi")
        b.sendall(b"rd\n")
        b.shutdown(socket.SHUT_WR)
        r = SocketReader(a)
        assert [r.readline(), r.readline(), r.readline(), r.readline()] == [
            b"first\n", b"second\n", b"third\n", b""]


def test_readline_max_length_and_eof_inside_a_line():
    a, b = socket.socketpair()
    with a, b:
        b.sendall(b"y" * 50)
        with pytest.raises(LineTooLong):
            SocketReader(a).readline(max_len=20)
    a, b = socket.socketpair()
    with a, b:
        b.sendall(b"no end")
        b.shutdown(socket.SHUT_WR)
        with pytest.raises(IncompleteRead) as err:
            SocketReader(a).readline()
        assert err.value.partial == b"no end"


def test_tcp_listen_port_taken_is_one_clear_error():
    first = tcp_listen("127.0.0.1", 0)
    port = first.getsockname()[1]
    with first, pytest.raises(TcpwatchError, match=f"127.0.0.1:{port}: the port is already"):
        tcp_listen("127.0.0.1", port)


def test_tcp_listen_reuses_address_in_time_wait():
    srv = tcp_listen("127.0.0.1", 0)
    port = srv.getsockname()[1]
    c = socket.create_connection(("127.0.0.1", port))
    conn, _ = accept(srv)
    conn.close()  # the server closes first: its side goes to TIME_WAIT
    c.close()
    srv.close()
    time.sleep(0.05)
    tcp_listen("127.0.0.1", port).close()  # SO_REUSEADDR: no EADDRINUSE


class _AbortingListener:
    """A listener whose next accept() fails as if the peer reset the connection between
    the handshake and accept() (ECONNABORTED cannot be produced on demand)."""

    def __init__(self, real: socket.socket, aborts: int):
        self.real = real
        self.aborts = aborts

    def accept(self):
        if self.aborts:
            self.aborts -= 1
            raise ConnectionAbortedError(103, "Software caused connection abort")
        return self.real.accept()


def test_accept_skips_aborted_connections():
    srv = tcp_listen("127.0.0.1", 0)
    with srv, socket.create_connection(srv.getsockname()):
        conn, addr = accept(_AbortingListener(srv, aborts=2))
        conn.close()
        assert addr[0] == "127.0.0.1"


def test_accept_nowait_is_none_until_a_connection_waits():
    srv = tcp_listen("127.0.0.1", 0)
    srv.setblocking(False)
    with srv:
        assert accept_nowait(srv) is None  # EAGAIN: nothing waiting
        with socket.create_connection(srv.getsockname()) as c:
            conn, _ = accept_nowait(_AbortingListener(srv, aborts=1))  # reset one skipped
            with conn:
                assert conn.getblocking()  # a blocking socket, whatever the listener was
                conn.sendall(b"x")
                assert c.recv(1) == b"x"
        assert accept_nowait(srv) is None
