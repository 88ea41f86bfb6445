"""One connection of the event-loop servers (``select``, ``nonblock``): its framer, its
pending output, backpressure, and how it ends -- without ever blocking the loop.

Backpressure (flow control at the application layer).  An echo server produces output as
fast as it reads input; a peer that sends without reading makes the output pile up in the
server.  A blocking server (``thread``, ``fork``) is held back by the kernel: its send()
blocks once the peer's window and its own send buffer are full, so it stops reading.  An
event loop must do that by hand, or it buffers without limit.  So, as asyncio's transports
do (``set_write_buffer_limits``: high 64 KiB, low 16 KiB by default), a connection whose
pending output reaches ``HIGH_WATER`` is no longer read; it is read again once the output
has drained to ``LOW_WATER``.  Unread, the kernel's receive buffer fills and the server's
advertised window falls to zero: the sliding window of RFC 9293 section 3.8.6 pushes back
on the sender, which is what the ``backpressure`` scenario records.

Ending.  When the peer closes its sending side (EOF) or ``close_after`` is reached, the
connection stops reading but stays in the loop, registered for writing, until its output
is flushed; only then is the socket closed.  Nothing is flushed with a blocking send: a
peer that half-closes and never reads would freeze every other client.  Output that cannot
be delivered is dropped with a logged reason: the peer reset the connection, or the output
made no progress for ``DRAIN_TIMEOUT`` seconds (``SHUTDOWN_DRAIN`` when the server stops).
"""

from __future__ import annotations

import logging
import socket

from .framing import Framer
from .handlers import RECV_SIZE

HIGH_WATER = 64 * 1024  # stop reading a connection with this much output pending ...
LOW_WATER = 16 * 1024  # ... and read it again once no more than this is left
DRAIN_TIMEOUT = 10.0  # seconds without progress before a closing connection's output is dropped
SHUTDOWN_DRAIN = 2.0  # seconds the server gives pending output once it is told to stop

log = logging.getLogger("tcpwatch.serve")


class EventConn:
    """A non-blocking connection: read -> frame -> echo into ``out``; write ``out``.

    The loop asks :attr:`wants_read` / :attr:`wants_write` what to wait for, calls
    :meth:`read` / :meth:`write` when the socket is ready, and closes the connection once
    :attr:`done` or :meth:`stalled` says so.  ``read``/``write`` raise ``OSError`` (a
    reset) or ``FrameTooLarge``; the loop drops the connection with :meth:`drop`.
    """

    __slots__ = ("close_after", "echoed", "eof", "framer", "last_progress", "out", "paused",
                 "peer", "sock")

    def __init__(self, sock: socket.socket, peer: tuple, framer: Framer, now: float,
                 close_after: int | None = None):
        self.sock = sock
        self.peer = peer
        self.framer = framer
        self.out = bytearray()
        self.close_after = close_after
        self.echoed = 0
        self.eof = False  # no more input: the peer closed its sending side, or the server stops
        self.paused = False  # not read: too much output pending (backpressure)
        self.last_progress = now  # when bytes last moved, in or out

    @property
    def closing(self) -> bool:
        """No more input will be read: the peer sent EOF or ``close_after`` is reached."""
        return self.eof or (self.close_after is not None and self.echoed >= self.close_after)

    @property
    def wants_read(self) -> bool:
        return not self.paused and not self.closing

    @property
    def wants_write(self) -> bool:
        return bool(self.out)

    @property
    def done(self) -> bool:
        """Closing with everything flushed: close the socket now."""
        return self.closing and not self.out

    def stalled(self, now: float, timeout: float = DRAIN_TIMEOUT) -> bool:
        """Closing, output pending, and no byte in or out for ``timeout`` seconds."""
        return self.closing and bool(self.out) and now - self.last_progress > timeout

    def stop_reading(self) -> None:
        """The server stops: read no more, flush what is pending."""
        self.eof = True

    def read(self, now: float) -> None:
        """One recv(); echo the complete messages into ``out``; pause past the high mark."""
        try:
            data = self.sock.recv(RECV_SIZE)
        except BlockingIOError:
            return
        self.last_progress = now  # the drain deadline counts from the last input at most
        if not data:
            self.eof = True
            return
        for message in self.framer.feed(data):
            self.out += self.framer.encode(message)
            self.echoed += 1
        if len(self.out) >= HIGH_WATER:
            self.paused = True

    def write(self, now: float) -> None:
        """One send() of the pending output; resume reading at the low mark."""
        try:
            sent = self.sock.send(self.out)
        except BlockingIOError:
            return
        if sent:
            del self.out[:sent]
            self.last_progress = now
        if self.paused and len(self.out) <= LOW_WATER:
            self.paused = False

    def drop(self, reason: str) -> None:
        """Close now; say what was lost if output was pending."""
        if self.out:
            host, port = self.peer[:2]
            log.warning("tcpwatch serve: dropped %d bytes of echo for %s: %s", len(self.out),
                        f"[{host}]:{port}" if ":" in host else f"{host}:{port}", reason)
            self.out.clear()
        self.sock.close()

