"""``thread``: a detached (daemon) thread per connection.

Daemon threads never block the process from exiting.  The main thread waits in
``STOP.accept`` (poll() on the listener and the signal wakeup pipe).  On SIGTERM/SIGINT
the listener is closed and every open connection is shut down, which ends its thread's
recv(); the threads are then joined (briefly) so they finish rather than being cut off.
"""

from __future__ import annotations

import contextlib
import socket
import threading

from .handlers import STOP, MakeFramer, echo_blocking

NAME = "thread"
JOIN_TIMEOUT = 2.0


def serve(listener: socket.socket, make_framer: MakeFramer, close_after: int | None = None
          ) -> None:
    active: dict[socket.socket, threading.Thread] = {}
    lock = threading.Lock()

    def run(conn: socket.socket) -> None:
        try:
            echo_blocking(conn, make_framer(), close_after)
        finally:
            with lock:
                active.pop(conn, None)

    try:
        listener.setblocking(False)
        while (accepted := STOP.accept(listener)) is not None:
            conn, _ = accepted
            t = threading.Thread(target=run, args=(conn,), daemon=True)
            with lock:
                active[conn] = t
            t.start()
    finally:
        listener.close()
        with lock:
            left = list(active.items())
        for conn, _ in left:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        for _, t in left:
            t.join(JOIN_TIMEOUT)
