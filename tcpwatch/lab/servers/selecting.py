"""``select``: one process, event-driven with ``selectors`` (epoll on Linux).

The same non-blocking sockets as ``nonblock``, but the process sleeps in epoll_wait
until a socket is readable (or writable while output is pending): no busy poll, a
fraction of the CPU.  The signal wakeup pipe is registered beside the sockets, so
SIGINT/SIGTERM wake epoll_wait wherever they land (see ``handlers.StopSignal``).
"""

from __future__ import annotations

import selectors
import socket

from .framing import FrameTooLarge
from .handlers import RECV_SIZE, STOP, EchoState, MakeFramer
from .polling import _close
from .sockio import accept_nowait

NAME = "select"


def serve(listener: socket.socket, make_framer: MakeFramer, close_after: int | None = None
          ) -> None:
    sel = selectors.DefaultSelector()
    listener.setblocking(False)
    sel.register(listener, selectors.EVENT_READ, None)
    sel.register(STOP.wakeup_fd, selectors.EVENT_READ, None)  # a signal wakes epoll_wait
    states: dict[socket.socket, EchoState] = {}

    def drop(conn: socket.socket, flush: bool) -> None:
        sel.unregister(conn)
        state = states.pop(conn)
        if flush:
            _close(conn, state)
        else:
            conn.close()

    try:
        while not STOP.requested:
            for key, events in sel.select():
                if key.fd == STOP.wakeup_fd:
                    STOP.drain()
                    continue
                sock = key.fileobj
                if sock is listener:
                    if not (accepted := accept_nowait(listener)):
                        continue
                    conn = accepted[0]
                    conn.setblocking(False)
                    states[conn] = EchoState(make_framer(), close_after)
                    sel.register(conn, selectors.EVENT_READ, None)
                    continue
                state = states[sock]
                try:
                    if events & selectors.EVENT_READ:
                        data = sock.recv(RECV_SIZE)
                        if not data:
                            drop(sock, flush=True)
                            continue
                        state.received(data)
                    if state.out:
                        del state.out[:sock.send(state.out)]
                except BlockingIOError:
                    pass
                except (ConnectionResetError, BrokenPipeError, FrameTooLarge):
                    drop(sock, flush=False)
                    continue
                if state.finished and not state.out:
                    drop(sock, flush=False)
                    continue
                want = selectors.EVENT_READ | (selectors.EVENT_WRITE if state.out else 0)
                if key.events != want:
                    sel.modify(sock, want, None)
    finally:
        for conn in list(states):
            drop(conn, flush=True)
        sel.unregister(listener)
        sel.unregister(STOP.wakeup_fd)
        listener.close()
        sel.close()
