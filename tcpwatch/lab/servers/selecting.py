"""``select``: one process, event-driven with ``selectors`` (epoll on Linux).

The same non-blocking sockets as ``nonblock``, but the process sleeps in epoll_wait
until a socket is readable (or writable while output is pending): no busy poll, a
fraction of the CPU.  A connection is registered for reading only while it is not held
back by its pending output (backpressure) and for writing only while output is pending; a
closing connection stays registered for writing until that output is flushed or dropped
(see ``eventconn``).  The signal wakeup pipe is registered beside the sockets, so
SIGINT/SIGTERM wake epoll_wait wherever they land (see ``handlers.StopSignal``).
"""

from __future__ import annotations

import selectors
import socket
import time

from .eventconn import DRAIN_TIMEOUT, SHUTDOWN_DRAIN, EventConn
from .framing import FrameTooLarge
from .handlers import STOP, MakeFramer
from .sockio import accept_nowait

NAME = "select"
ACCEPT_BATCH = 256  # connections accepted per wake-up of the listener, at most
READ, WRITE = selectors.EVENT_READ, selectors.EVENT_WRITE


def serve(listener: socket.socket, make_framer: MakeFramer, close_after: int | None = None
          ) -> None:
    sel = selectors.DefaultSelector()
    listener.setblocking(False)
    sel.register(listener, READ, None)
    sel.register(STOP.wakeup_fd, READ, None)  # a signal wakes epoll_wait
    conns: dict[socket.socket, EventConn] = {}
    draining: set[EventConn] = set()  # closing, output pending: watched for a stall

    def close(c: EventConn, reason: str | None = None) -> None:
        sel.unregister(c.sock)
        del conns[c.sock]
        draining.discard(c)
        if reason:
            c.drop(reason)
        else:
            c.sock.close()

    def update(c: EventConn) -> None:
        """Wait for what ``c`` needs now; close it once it is done."""
        want = (READ if c.wants_read else 0) | (WRITE if c.wants_write else 0)
        if c.done or not want:
            close(c)
            return
        if sel.get_key(c.sock).events != want:
            sel.modify(c.sock, want, c)
        if c.closing:
            draining.add(c)

    def serve_ready(timeout: float | None) -> None:
        ready = sel.select(timeout)
        now = time.monotonic()
        for key, events in ready:
            if key.fd == STOP.wakeup_fd:
                STOP.drain()
            elif key.fileobj is listener:
                if not STOP.requested:
                    accept_batch(now)
            else:
                step(key.data, events, now)

    def accept_batch(now: float) -> None:
        for _ in range(ACCEPT_BATCH):
            if not (accepted := accept_nowait(listener)):
                return
            conn, peer = accepted
            conn.setblocking(False)
            conns[conn] = c = EventConn(conn, peer, make_framer(), now, close_after)
            sel.register(conn, READ, c)

    def step(c: EventConn, events: int, now: float) -> None:
        try:
            if events & READ and c.wants_read:
                c.read(now)
            if c.wants_write:
                c.write(now)
        except FrameTooLarge as exc:
            close(c, str(exc))
        except OSError as exc:  # ECONNRESET, EPIPE: the peer is gone
            close(c, exc.strerror or str(exc))
        else:
            update(c)

    def drop_stalled(now: float, timeout: float) -> None:
        for c in [c for c in draining if c.stalled(now, timeout)]:
            close(c, f"no progress for {timeout:g} s")

    def next_deadline(timeout: float) -> float | None:
        if not draining:
            return None
        oldest = min(c.last_progress for c in draining)
        return max(0.0, oldest + timeout - time.monotonic())

    try:
        while not STOP.requested:
            serve_ready(next_deadline(DRAIN_TIMEOUT))
            drop_stalled(time.monotonic(), DRAIN_TIMEOUT)
        # stopping: no new connections, no more input; pending output gets SHUTDOWN_DRAIN
        sel.unregister(listener)
        listener.close()
        for c in list(conns.values()):
            c.stop_reading()
            update(c)
        deadline = time.monotonic() + SHUTDOWN_DRAIN
        while conns and (left := deadline - time.monotonic()) > 0:
            serve_ready(left)
    finally:
        for c in list(conns.values()):
            close(c, "the server stops")
        if listener.fileno() >= 0:
            sel.unregister(listener)
            listener.close()
        sel.unregister(STOP.wakeup_fd)
        sel.close()
