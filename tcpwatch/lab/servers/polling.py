"""``nonblock``: one process, non-blocking sockets, the busy-poll loop of the notes.

Every turn tries accept() and then recv()/send() on every connection, catching
``BlockingIOError`` when there is nothing to do -- so it never sleeps and burns a whole
CPU even when idle.  That cost is the point: compare it with ``select``.
"""

from __future__ import annotations

import contextlib
import socket

from .framing import FrameTooLarge
from .handlers import RECV_SIZE, STOP, EchoState, MakeFramer
from .sockio import accept_nowait

NAME = "nonblock"


def _close(conn: socket.socket, state: EchoState) -> None:
    """Flush what is left to send (blocking, briefly), then close."""
    with contextlib.suppress(OSError):
        if state.out:
            conn.setblocking(True)
            conn.settimeout(2.0)
            conn.sendall(state.out)
    conn.close()


def serve(listener: socket.socket, make_framer: MakeFramer, close_after: int | None = None
          ) -> None:
    listener.setblocking(False)
    conns: dict[socket.socket, EchoState] = {}
    try:
        while not STOP.requested:  # never blocks: the flag is seen at the next turn
            if accepted := accept_nowait(listener):
                conn = accepted[0]
                conn.setblocking(False)
                conns[conn] = EchoState(make_framer(), close_after)
            for conn, state in list(conns.items()):
                try:
                    data = conn.recv(RECV_SIZE)
                    if not data:  # the peer closed
                        del conns[conn]
                        _close(conn, state)
                        continue
                    state.received(data)
                except BlockingIOError:
                    pass
                except (ConnectionResetError, FrameTooLarge):
                    del conns[conn]
                    conn.close()
                    continue
                if state.out:
                    try:
                        del state.out[:conn.send(state.out)]
                    except BlockingIOError:
                        pass
                    except (ConnectionResetError, BrokenPipeError):
                        del conns[conn]
                        conn.close()
                        continue
                if state.finished and not state.out:
                    del conns[conn]
                    conn.close()
    finally:
        listener.close()
        for conn, state in conns.items():
            _close(conn, state)
