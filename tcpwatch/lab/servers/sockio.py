"""Socket wrappers of the notes, in Python: accept, readn/writen, readline, tcp_listen.

EINTR: since PEP 475 (Python 3.5) every blocking socket call is retried by Python itself
when a signal interrupts it and the handler returns normally, so no loop here needs to
catch ``InterruptedError``.  Two things it does not do: a handler that *raises* still
propagates out of recv/accept, and a socket timeout keeps its deadline across retries
(``TimeoutError`` when the remaining time runs out).  How the servers stop on a signal
without losing it is in ``handlers.StopSignal``.

ECONNABORTED: a connection can be reset by the peer between the kernel completing the
handshake and ``accept()`` returning it; ``accept`` then fails with
``ConnectionAbortedError`` and the right response is to accept the next one.
"""

from __future__ import annotations

import errno
import socket

from ...errors import TcpwatchError


class IncompleteRead(TcpwatchError):
    """The peer closed before ``expected`` bytes arrived; ``partial`` holds what did."""

    def __init__(self, partial: bytes, expected: int):
        self.partial = partial
        self.expected = expected
        super().__init__(f"peer closed after {len(partial)} of {expected} bytes")


class LineTooLong(TcpwatchError):
    """No line end within ``max_len`` bytes."""


SOMAXCONN_PATH = "/proc/sys/net/core/somaxconn"


def max_backlog() -> int:
    """The system's largest listen backlog (``net.core.somaxconn``; Linux caps any larger
    ``listen()`` argument to it silently), or ``socket.SOMAXCONN`` where it cannot be read."""
    try:
        with open(SOMAXCONN_PATH) as f:
            return int(f.read())
    except (OSError, ValueError):
        return socket.SOMAXCONN


def tcp_listen(host: str, port: int, backlog: int | None = None) -> socket.socket:
    """A listening socket with SO_REUSEADDR (a restarted server can bind while old
    connections sit in TIME_WAIT); a taken port is one clear error.

    ``backlog`` bounds the queue of connections the kernel has completed but the server
    has not yet accepted; a SYN arriving while it is full is dropped, and the client
    retries only after 1, 3, 7 ... s.  A burst of clients therefore needs a long queue:
    the default is the system's maximum (:func:`max_backlog`), not the 128 of old
    examples."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(max_backlog() if backlog is None else backlog)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise TcpwatchError(f"cannot listen on {host}:{port}: the port is already in use"
                                ) from None
        raise TcpwatchError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    return sock


def accept(listener: socket.socket) -> tuple[socket.socket, tuple]:
    """``listener.accept()``, skipping connections aborted before they were accepted."""
    while True:
        try:
            return listener.accept()
        except ConnectionAbortedError:  # ECONNABORTED: take the next one
            continue


def accept_nowait(listener: socket.socket) -> tuple[socket.socket, tuple] | None:
    """For a non-blocking listener: the next connection (aborted ones skipped), or None
    when none is waiting -- also after poll() said one was, if it was reset since."""
    try:
        return accept(listener)
    except BlockingIOError:
        return None


def readn(sock: socket.socket, n: int) -> bytes:
    """Exactly ``n`` bytes (short reads are continued); ``IncompleteRead`` on early EOF."""
    buf = bytearray(n)
    view = memoryview(buf)
    got = 0
    while got < n:
        k = sock.recv_into(view[got:], n - got)
        if k == 0:
            raise IncompleteRead(bytes(buf[:got]), n)
        got += k
    return bytes(buf)


def writen(sock: socket.socket, data: bytes) -> None:
    """Write all of ``data``, continuing after short writes."""
    view = memoryview(data)
    while view:
        sent = sock.send(view)
        view = view[sent:]


class SocketReader:
    """Buffered reads from a socket: ``readn`` and ``readline`` share one buffer, so bytes
    read past a line end are kept for the next call (the notes' buffered readline)."""

    def __init__(self, sock: socket.socket, bufsize: int = 65536):
        self.sock = sock
        self.bufsize = bufsize
        self._buf = bytearray()

    def _fill(self) -> bool:
        data = self.sock.recv(self.bufsize)
        self._buf += data
        return bool(data)

    def readn(self, n: int) -> bytes:
        while len(self._buf) < n:
            if not self._fill():
                partial = bytes(self._buf)
                self._buf.clear()
                raise IncompleteRead(partial, n)
        out = bytes(self._buf[:n])
        del self._buf[:n]
        return out

    def readline(self, max_len: int = 65536, end: bytes = b"\n") -> bytes:
        """One line including ``end``; ``b""`` at a clean EOF; ``LineTooLong`` past
        ``max_len`` bytes without ``end``; ``IncompleteRead`` on EOF inside a line."""
        start = 0
        while True:
            i = self._buf.find(end, start)
            if 0 <= i < max_len:
                line = bytes(self._buf[:i + len(end)])
                del self._buf[:i + len(end)]
                return line
            if len(self._buf) >= max_len:
                raise LineTooLong(f"no line end within {max_len} bytes")
            start = max(len(self._buf) - len(end) + 1, 0)
            if not self._fill():
                if not self._buf:
                    return b""
                partial = bytes(self._buf)
                self._buf.clear()
                raise IncompleteRead(partial, len(partial) + 1)
