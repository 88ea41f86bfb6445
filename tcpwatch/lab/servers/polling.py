"""``nonblock``: one process, non-blocking sockets, the busy-poll loop of the notes.

Every turn accepts what is waiting and then tries recv()/send() on every connection,
catching ``BlockingIOError`` when there is nothing to do -- so it never sleeps and burns a
whole CPU even when idle.  That cost is the point: compare it with ``select``.  What it
shares with ``select`` -- backpressure, and closing without a blocking flush -- is in
``eventconn``.
"""

from __future__ import annotations

import socket
import time

from .eventconn import DRAIN_TIMEOUT, SHUTDOWN_DRAIN, EventConn
from .framing import FrameTooLarge
from .handlers import STOP, MakeFramer
from .sockio import accept_nowait

NAME = "nonblock"
ACCEPT_BATCH = 256  # connections accepted per turn, at most


def _turn(conns: dict[socket.socket, EventConn], now: float, stall_timeout: float) -> None:
    """One pass over every connection: read if it may, write if it has output, close it
    when it is done, drop it when it failed or stalled."""
    for sock, c in list(conns.items()):
        try:
            if c.wants_read:
                c.read(now)
            if c.wants_write:
                c.write(now)
        except FrameTooLarge as exc:
            del conns[sock]
            c.drop(str(exc))
            continue
        except OSError as exc:  # ECONNRESET, EPIPE: the peer is gone
            del conns[sock]
            c.drop(exc.strerror or str(exc))
            continue
        if c.done:
            del conns[sock]
            sock.close()
        elif c.stalled(now, stall_timeout):
            del conns[sock]
            c.drop(f"no progress for {stall_timeout:g} s")


def serve(listener: socket.socket, make_framer: MakeFramer, close_after: int | None = None
          ) -> None:
    listener.setblocking(False)
    conns: dict[socket.socket, EventConn] = {}
    try:
        while not STOP.requested:  # never blocks: the flag is seen at the next turn
            now = time.monotonic()
            for _ in range(ACCEPT_BATCH):
                if not (accepted := accept_nowait(listener)):
                    break
                conn, peer = accepted
                conn.setblocking(False)
                conns[conn] = EventConn(conn, peer, make_framer(), now, close_after)
            _turn(conns, now, DRAIN_TIMEOUT)
        # stopping: no new connections, no more input; pending output gets SHUTDOWN_DRAIN
        listener.close()
        for c in conns.values():
            c.stop_reading()
        start = time.monotonic()
        while conns and (now := time.monotonic()) - start < SHUTDOWN_DRAIN:
            _turn(conns, now, SHUTDOWN_DRAIN)
    finally:
        listener.close()
        for c in conns.values():
            c.drop("the server stops")
