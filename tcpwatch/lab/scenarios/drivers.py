"""Client sides of the scenarios: each function produces one TCP behaviour against a
bundled server at (host, port).  Runnable inside a namespace:

    python -m tcpwatch.lab.scenarios.drivers NAME HOST PORT
"""

from __future__ import annotations

import contextlib
import select
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable

from ..servers.framing import LengthPrefixFramer
from ..servers.sockio import SocketReader
from .netns import nft

Driver = Callable[[str, int], None]
DRIVERS: dict[str, Driver] = {}


def driver(fn: Driver) -> Driver:
    DRIVERS[fn.__name__] = fn
    return fn


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def _connect(host: str, port: int, *, rcvbuf: int | None = None, timeout: float = 10,
             bind_port: int | None = None) -> socket.socket:
    s = socket.socket(_family(host), socket.SOCK_STREAM)
    s.settimeout(timeout)
    if rcvbuf is not None:  # before connect: the window scale is fixed by the SYN
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    if bind_port is not None:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("::" if ":" in host else "0.0.0.0", bind_port))
    s.connect((host, port))
    return s


def _echo(s: socket.socket, message: bytes) -> None:
    f = LengthPrefixFramer()
    s.sendall(f.encode(message))
    reader = SocketReader(s)
    (n,) = struct.unpack("!I", reader.readn(4))
    if reader.readn(n) != message:
        raise ConnectionError("echo mismatch")


def _drain(s: socket.socket) -> int:
    got = 0
    while chunk := s.recv(65536):
        got += len(chunk)
    return got


@driver
def handshake_echo_close(host: str, port: int) -> None:
    """Three echoes, then the client closes first (FIN from the client)."""
    with _connect(host, port) as s:
        for i in range(3):
            _echo(s, f"message {i}".encode())
    time.sleep(0.2)  # the server's FIN and the last ACK


@driver
def server_closes_first(host: str, port: int) -> None:
    """The server (--close-after 1) closes after one echo; the client closes on EOF."""
    with _connect(host, port) as s:
        _echo(s, b"the only message")
        _drain(s)  # until the server's FIN
    time.sleep(0.2)


@driver
def half_close(host: str, port: int) -> None:
    """The client sends 200 kB and shuts down its sending side at once; the server keeps
    echoing into the half-closed connection, then closes."""
    data = b"h" * 200_000
    f = LengthPrefixFramer()
    with _connect(host, port) as s:
        s.sendall(f.encode(data))
        s.shutdown(socket.SHUT_WR)  # FIN now; receiving goes on
        reader = SocketReader(s)
        (n,) = struct.unpack("!I", reader.readn(4))
        reader.readn(n)
        _drain(s)
    time.sleep(0.2)


@driver
def simultaneous_close(host: str, port: int) -> None:
    """Over a path with 100 ms one-way delay: the server (--close-after 1) sends its FIN
    right after its echo; the client sends its FIN 150 ms after its message, before the
    server's FIN (due at 200 ms) arrives -- the two FINs cross on the wire."""
    f = LengthPrefixFramer()
    with _connect(host, port) as s:
        s.sendall(f.encode(b"cross"))
        time.sleep(0.15)
        s.shutdown(socket.SHUT_WR)  # not close(): the echo still arriving must be read
        _drain(s)
    time.sleep(0.5)


@driver
def rst_abort(host: str, port: int) -> None:
    """One echo, then close with SO_LINGER {on, 0}: the kernel aborts with RST, no FIN."""
    s = _connect(host, port)
    _echo(s, b"before the abort")
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
    time.sleep(0.2)


@driver
def connection_refused(host: str, port: int) -> None:
    """A SYN to a port with no listener (the server's port + 1): RST/ACK comes back."""
    try:
        _connect(host, port + 1, timeout=5).close()
    except ConnectionRefusedError:
        return
    raise SystemExit("expected the connection to be refused")


@driver
def syn_timeout(host: str, port: int) -> None:
    """The server's namespace drops every SYN to the port (nftables on its input hook):
    the client retransmits its SYN once a second (Linux's first retransmissions are
    linear, net.ipv4.tcp_syn_linear_timeouts) and gives up after 3.5 s."""
    try:
        _connect(host, port, timeout=3.5).close()
    except TimeoutError:
        return
    raise SystemExit("expected the connection attempt to time out")


def _pausing_reader(host: str, port: int, *, rcvbuf: int, total: int, pause: float,
                    read_size: int, read_gap: float) -> None:
    """Send ``total`` bytes (one message) from a thread; read nothing for ``pause`` s,
    then read ``read_size`` bytes every ``read_gap`` s until the echo is back."""
    f = LengthPrefixFramer()
    with _connect(host, port, rcvbuf=rcvbuf, timeout=30) as s:
        sender = threading.Thread(target=s.sendall, args=(f.encode(b"z" * total),))
        sender.start()
        time.sleep(pause)
        want, got = total + 4, 0
        while got < want:
            chunk = s.recv(read_size)
            if not chunk:
                raise ConnectionError("server closed early")
            got += len(chunk)
            if read_gap:
                time.sleep(read_gap)
        sender.join()
    time.sleep(0.2)


@driver
def zero_window(host: str, port: int) -> None:
    """A small receive buffer and a reader that pauses 1.5 s: the client's window goes
    to zero while the server echoes, the server probes, then the reader resumes and the
    window opens again (window update)."""
    _pausing_reader(host, port, rcvbuf=4096, total=150_000, pause=1.5, read_size=65536,
                    read_gap=0)


@driver
def window_full(host: str, port: int) -> None:
    """A slow reader (4 kB every 10 ms): the server's segments keep filling the
    advertised window exactly."""
    _pausing_reader(host, port, rcvbuf=8192, total=100_000, pause=0.1, read_size=4096,
                    read_gap=0.01)


@driver
def lossy_bulk(host: str, port: int) -> None:
    """600 kB echoed over a veth pair that drops 3 % of the segments arriving at the
    server: retransmissions, duplicate ACKs, SACK."""
    with _connect(host, port, timeout=60) as s:
        _echo(s, b"b" * 600_000)
    time.sleep(0.3)


def _drop_input_from(port: int, on: bool) -> None:
    """In this namespace (the client's): drop, or stop dropping, every segment from the
    server's ``port`` on the input hook -- after tcpdump's tap, so the capture still
    shows what the server sent."""
    if on:
        nft(None, f"""
table inet twack {{
  chain input {{
    type filter hook input priority 0; policy accept;
    tcp sport {port} drop
  }}
}}
""")
    else:
        nft(None, "delete table inet twack\n")


@driver
def spurious_retransmission(host: str, port: int) -> None:
    """Three connections: on each, a message is sent while everything from the server is
    dropped on the client's input hook for 1.5 s.  The server's ACKs are on the wire,
    but the client never sees them, so its tail-loss probe and RTO timers resend data
    already acknowledged: tshark calls these retransmissions spurious."""
    f = LengthPrefixFramer()
    for i in range(3):
        with _connect(host, port) as s:
            reader = SocketReader(s)
            _echo(s, b"warm up %d" % i)
            message = bytes([65 + i]) * 3000
            _drop_input_from(port, on=True)
            try:
                s.sendall(f.encode(message))
                time.sleep(1.5)
            finally:
                _drop_input_from(port, on=False)
            (n,) = struct.unpack("!I", reader.readn(4))
            if reader.readn(n) != message:
                raise ConnectionError("echo mismatch")
        time.sleep(0.3)


@driver
def upstream_loss(host: str, port: int) -> None:
    """400 kB echoed through a relay that drops some of the client's data frames."""
    with _connect(host, port, timeout=60) as s:
        _echo(s, b"u" * 400_000)
    time.sleep(0.5)


@driver
def keepalive(host: str, port: int) -> None:
    """SO_KEEPALIVE with TCP_KEEPIDLE = TCP_KEEPINTVL = 1 s on an idle connection: three
    keep-alive probes (seq = next seq - 1) and their ACKs."""
    with _connect(host, port) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 1)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, 1)
        _echo(s, b"then silence")
        time.sleep(3.5)
    time.sleep(0.2)


@driver
def port_reuse(host: str, port: int) -> None:
    """Two connections from the same client port: the second SYN reuses the 4-tuple
    (the first connection ended with an abort, so nothing is left in TIME_WAIT)."""
    probe = socket.socket(_family(host))
    probe.bind(("::" if ":" in host else "0.0.0.0", 0))
    local = probe.getsockname()[1]
    probe.close()
    for i in range(2):
        s = _connect(host, port, bind_port=local)
        _echo(s, f"connection {i}".encode())
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()
        time.sleep(0.2)


@driver
def many_short(host: str, port: int) -> None:
    """200 short connections to the fork server (port) and 200 to the thread server
    (port + 1), each one echo."""
    for p in (port, port + 1):
        for i in range(200):
            with _connect(host, p) as s:
                _echo(s, str(i).encode())
    time.sleep(0.3)


@driver
def echo_both_close(host: str, port: int) -> None:
    """200 connections in a row, each: send one message, read its echo, close at once --
    while the server (``--close-after 1``) closes as soon as it has echoed.  Both ends
    close at about the same moment, in either order, from connection to connection."""
    for i in range(200):
        with _connect(host, port) as s:
            _echo(s, f"message {i}".encode())
    time.sleep(0.3)


BACKPRESSURE_CAP = 64 << 20  # a server that never pushes back takes this much, and fails


@driver
def backpressure(host: str, port: int) -> None:
    """64 KiB messages sent without reading, until the server pushes back: the select
    server stops reading a connection with 64 KiB of echo it cannot send, its receive
    buffer fills and its window falls to zero (the client's kernel probes it).  After
    2 s the client reads: the echo drains, the server reads again, its window reopens,
    the client finishes the message under way and gets every echo back."""
    frame = LengthPrefixFramer().encode(b"b" * 65536)
    with _connect(host, port, timeout=30) as s:
        s.setblocking(False)
        sent = 0
        while sent < BACKPRESSURE_CAP:
            if not select.select([], [s], [], 0.5)[1]:
                break  # nothing taken for 0.5 s: the windows are closed
            with contextlib.suppress(BlockingIOError):
                sent += s.send(frame[sent % len(frame):])
        else:
            raise SystemExit(f"the server took {sent} bytes without pushing back")
        time.sleep(2.0)  # the server's zero window; the client's window probes
        rest = -sent % len(frame)
        want, got = sent + rest, 0
        while got < want:  # read the echo, and finish the message under way
            readable, writable, _ = select.select([s], [s] if rest else [], [], 30)
            if not readable and not writable:
                raise SystemExit("the echo stopped")
            if readable:
                chunk = s.recv(1 << 20)
                if not chunk:
                    raise ConnectionError("server closed early")
                got += len(chunk)
            if writable and rest:
                with contextlib.suppress(BlockingIOError):
                    rest -= s.send(frame[len(frame) - rest:])
    time.sleep(0.2)


@driver
def ipv6_echo(host: str, port: int) -> None:
    """handshake_echo_close over IPv6 (::1)."""
    handshake_echo_close(host, port)


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 3 or args[0] not in DRIVERS:
        raise SystemExit(f"usage: drivers NAME HOST PORT  (NAME: {', '.join(DRIVERS)})")
    with contextlib.suppress(KeyboardInterrupt):
        DRIVERS[args[0]](args[1], int(args[2]))


if __name__ == "__main__":
    main()
