"""The echo service, written once against a framer; the serving models only differ in
how they dispatch connections to it (socketserver's shape)."""

from __future__ import annotations

import signal
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from .framing import Framer, FrameTooLarge
from .sockio import writen

MakeFramer = Callable[[], Framer]
RECV_SIZE = 65536


class Shutdown(Exception):
    """Raised by the SIGINT/SIGTERM handler to leave a serving loop."""


class StopSignal:
    """SIGINT/SIGTERM handling that can only interrupt a server where it is safe.

    The handler always records the request.  It *raises* :class:`Shutdown` only while
    the server is blocked in a call wrapped by :meth:`interruptible` (accept, select):
    a handler that raises is the one case where PEP 475's automatic EINTR retry does
    not apply, so the blocked call is left at once.  Anywhere else the loop sees
    ``requested`` at its next turn, so a signal never lands in the middle of
    bookkeeping (between a fork and recording the child, say).
    """

    def __init__(self) -> None:
        self.requested = False
        self._armed = False

    def _on_signal(self, signum, frame) -> None:
        self.requested = True
        if self._armed:
            self._armed = False
            raise Shutdown(signal.Signals(signum).name)

    def install(self) -> None:
        self.requested = False
        signal.signal(signal.SIGINT, self._on_signal)
        signal.signal(signal.SIGTERM, self._on_signal)

    @contextmanager
    def interruptible(self) -> Iterator[None]:
        self._armed = True  # arm first: a signal from here on raises
        try:
            if self.requested:
                raise Shutdown("stop requested")
            yield
        finally:
            self._armed = False


STOP = StopSignal()


def install_stop_handlers() -> None:
    STOP.install()


def default_stop_handlers() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def echo_blocking(conn: socket.socket, framer: Framer, close_after: int | None = None) -> None:
    """Echo every framed message back until the peer closes (blocking socket); with
    ``close_after``, close first after that many messages (the server closes first)."""
    done = 0
    with conn:
        try:
            while close_after is None or done < close_after:
                data = conn.recv(RECV_SIZE)
                if not data:
                    return
                for message in framer.feed(data):
                    writen(conn, framer.encode(message))
                    done += 1
        except (FrameTooLarge, ConnectionResetError, BrokenPipeError):
            return


class EchoState:
    """Per-connection state of the event-loop servers: a framer and pending output."""

    __slots__ = ("close_after", "done", "framer", "out")

    def __init__(self, framer: Framer, close_after: int | None = None):
        self.framer = framer
        self.out = bytearray()
        self.close_after = close_after
        self.done = 0

    def received(self, data: bytes) -> None:
        for message in self.framer.feed(data):
            self.out += self.framer.encode(message)
            self.done += 1

    @property
    def finished(self) -> bool:
        """The server is to close this connection once ``out`` is flushed."""
        return self.close_after is not None and self.done >= self.close_after
