"""``fork``: the parent accepts, a child per connection serves it.

The parent takes every connection waiting in the listen queue (up to ``ACCEPT_BATCH``)
per wake-up, then forks a child for each.  The child closes the listening socket and the
batch's other connections, the parent its copy of the connection.  A SIGCHLD
handler reaps every exited child with ``waitpid(-1, WNOHANG)`` in a loop (several exits
can arrive as one signal), so no zombie remains.  The parent waits for a connection in
``STOP.accept_many``: poll() on the listener and the signal wakeup pipe, so a SIGTERM that
lands while a SIGCHLD is being handled is not lost (see ``handlers.StopSignal``).  On
SIGTERM/SIGINT the parent closes the listener, terminates the children still serving and
reaps them all before returning.
"""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import socket

from .handlers import STOP, MakeFramer, echo_blocking

NAME = "fork"
ACCEPT_BATCH = 64  # connections taken from the listen queue per wake-up, at most
_STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}


def serve(listener: socket.socket, make_framer: MakeFramer, close_after: int | None = None
          ) -> None:
    children: set[int] = set()

    def reap(signum, frame):
        while True:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            children.discard(pid)

    signal.signal(signal.SIGCHLD, reap)
    gc.freeze()  # a child's collections skip the parent's objects: fewer copy-on-write pages
    try:
        listener.setblocking(False)
        while (batch := STOP.accept_many(listener, ACCEPT_BATCH)) is not None:
            for i, (conn, _) in enumerate(batch):
                if STOP.requested:  # stopping: the rest of the batch is not served
                    conn.close()
                    continue
                # block SIGINT/SIGTERM across the fork: a signal arriving in the child before
                # it restores the default handlers would otherwise only set the parent's flag
                signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
                pid = os.fork()
                if pid == 0:  # child
                    status = 1
                    try:
                        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                        STOP.uninstall()  # default handlers, and the parent's pipe closed
                        signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)
                        listener.close()
                        for later, _ in batch[i + 1:]:  # the batch's other connections
                            later.close()              # are not this child's to hold open
                        echo_blocking(conn, make_framer(), close_after)
                        status = 0
                    finally:
                        os._exit(status)
                children.add(pid)
                signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)
                conn.close()
    finally:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        listener.close()
        for pid in list(children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        for pid in list(children):
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
        reap(signal.SIGCHLD, None)
