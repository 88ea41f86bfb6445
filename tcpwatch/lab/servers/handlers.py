"""The echo service, written once against a framer; the serving models only differ in
how they dispatch connections to it (socketserver's shape)."""

from __future__ import annotations

import os
import select
import signal
import socket
from collections.abc import Callable

from .framing import Framer, FrameTooLarge
from .sockio import accept_nowait, writen

MakeFramer = Callable[[], Framer]
RECV_SIZE = 65536


_STOP_SIGNUMS = frozenset({signal.SIGINT.value, signal.SIGTERM.value})


class StopSignal:
    """SIGINT/SIGTERM handling without the lost-wakeup race (the self-pipe trick).

    A handler that only sets a flag is not enough for a server blocked in accept():
    Python runs its handlers between bytecodes, so a signal that arrives after the last
    check and before the process enters accept() -- easily while accept() is being
    retried after a SIGCHLD (PEP 475) -- leaves the flag set and the server asleep until
    the next client.  ``install`` therefore registers a non-blocking pipe with
    :func:`signal.set_wakeup_fd`: the C-level handler writes each signal's number into
    it the moment the signal arrives.  The servers wait in poll()/epoll on the listener
    *and* that pipe (:meth:`accept`, :attr:`wakeup_fd`), so a stop signal always wakes
    them, whenever it lands; the numbers read back from the pipe say which signal it was,
    independently of when Python gets round to running the handler.
    """

    def __init__(self) -> None:
        self.requested = False
        self._wake: tuple[int, int] | None = None

    def _on_signal(self, signum, frame) -> None:
        self.requested = True

    def install(self) -> None:
        """Handlers for SIGINT/SIGTERM and the wakeup pipe (main thread only)."""
        self.uninstall()
        r, w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self._wake = (r, w)
        signal.set_wakeup_fd(w, warn_on_full_buffer=False)
        signal.signal(signal.SIGINT, self._on_signal)
        signal.signal(signal.SIGTERM, self._on_signal)

    def uninstall(self) -> None:
        """Default SIGINT/SIGTERM and no wakeup pipe (a forked child calls this)."""
        self.requested = False
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        if self._wake is not None:
            signal.set_wakeup_fd(-1)
            for fd in self._wake:
                os.close(fd)
            self._wake = None

    @property
    def wakeup_fd(self) -> int:
        """Readable once a signal has arrived; call :meth:`drain` when it is."""
        assert self._wake is not None, "install() first"
        return self._wake[0]

    def drain(self) -> bool:
        """Empty the wakeup pipe; True (and ``requested``) if SIGINT/SIGTERM was in it."""
        while True:
            try:
                data = os.read(self.wakeup_fd, 512)
            except BlockingIOError:
                break
            if not data:
                break
            if not _STOP_SIGNUMS.isdisjoint(data):
                self.requested = True
        return self.requested

    def accept(self, listener: socket.socket) -> tuple[socket.socket, tuple] | None:
        """The next connection, or None once a stop is requested.

        ``listener`` must be non-blocking: poll() may report a connection that is gone
        by the time accept() runs.  The connection returned is blocking, as Python
        creates accepted sockets without the listener's flag.
        """
        batch = self.accept_many(listener, 1)
        return batch[0] if batch else None

    def accept_many(self, listener: socket.socket, most: int
                    ) -> list[tuple[socket.socket, tuple]] | None:
        """Wait for connections; every one waiting, up to ``most``; None once a stop is
        requested.  Taking a burst's connections in one go empties the listen queue
        sooner than one wake-up per connection."""
        poller = select.poll()
        poller.register(listener, select.POLLIN)
        poller.register(self.wakeup_fd, select.POLLIN)
        while not self.requested:
            ready = dict(poller.poll())
            if self.wakeup_fd in ready and self.drain():
                return None
            if listener.fileno() not in ready:
                continue
            batch = []
            while len(batch) < most and (accepted := accept_nowait(listener)):
                batch.append(accepted)
            if batch:
                return batch
        return None


STOP = StopSignal()


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
