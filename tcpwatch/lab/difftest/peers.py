"""The two programs that play a plan, each in its own namespace:

    python -m tcpwatch.lab.difftest.peers serve PLAN.json A4 A6   ("ready"; SIGTERM ends it)
    python -m tcpwatch.lab.difftest.peers client PLAN.json A4 A6  (every connection, then exit)

Both read the same plan.  The server knows a connection by its client's port (bound
explicitly by the client; connections that reuse a port come one after the other, so
the server takes that port's plans in order).  Each side prints one JSON line of
counters at the end: what happened to the connections, including the socket errors
that the traffic is meant to cause (resets, refusals, time-outs).
"""

from __future__ import annotations

import collections
import json
import selectors
import signal
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from .mix import CLOSED_PORT, DROP_PORT, SERVER_PORT, SYN_DROP_TIMEOUT, Conn, Plan

IO_TIMEOUT = 30.0  # no single send or receive waits longer
CHUNK = 65536
_ZEROS = bytes(CHUNK)
_LINGER_RST = struct.pack("ii", 1, 0)


class Counters:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counts: collections.Counter[str] = collections.Counter()

    def add(self, what: str) -> None:
        with self._lock:
            self.counts[what] += 1


def _send(s: socket.socket, n: int) -> None:
    while n > 0:
        n -= s.send(_ZEROS[:min(n, CHUNK)])


def _recv(s: socket.socket, n: int) -> bool:
    """Read ``n`` bytes; False if the peer closed first."""
    buf = bytearray(min(n, CHUNK) or 1)
    while n > 0:
        got = s.recv_into(buf, min(n, CHUNK))
        if not got:
            return False
        n -= got
    return True


def _until_eof(s: socket.socket) -> None:
    buf = bytearray(CHUNK)
    while s.recv_into(buf):
        pass


def _rst_close(s: socket.socket) -> None:
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RST)
    s.close()


def _keepalive(s: socket.socket) -> None:
    s.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 1)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, 1)


def _outcome(counters: Counters, fn: Callable[[], str]) -> None:
    """Run one connection's part; count how it ended (an OSError is an outcome too)."""
    try:
        counters.add(fn())
    except OSError as exc:
        counters.add(type(exc).__name__)


# -- server ------------------------------------------------------------------------------
def _serve_conn(s: socket.socket, c: Conn | None) -> str:
    with s:
        s.settimeout(IO_TIMEOUT)
        if c is None:  # not in the plan (a retried port): echo nothing, close on EOF
            _until_eof(s)
            return "unplanned"
        if c.server_rcvbuf:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, c.server_rcvbuf)
        for req, resp in c.exchanges:
            if c.server_pause:
                time.sleep(c.server_pause)
            if not _recv(s, req):
                return "peer_closed_early"
            _send(s, resp)
        if c.closer in ("server", "both", "server_rst"):
            time.sleep(c.keepalive_s + c.close_delay[1])
            if c.closer == "server_rst":
                _rst_close(s)
        else:
            _until_eof(s)
    return "ok"


def serve(plan: Plan, addr4: str, addr6: str) -> Counters:
    wanted: dict[int, collections.deque[Conn]] = collections.defaultdict(collections.deque)
    for c in plan.conns:
        if c.kind == "exchange":
            wanted[c.cport].append(c)
    counters = Counters()
    sel = selectors.DefaultSelector()
    for family, addr in ((socket.AF_INET, addr4), (socket.AF_INET6, addr6)):
        if not addr:
            continue
        ls = socket.socket(family, socket.SOCK_STREAM)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            ls.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        ls.bind((addr, SERVER_PORT))
        ls.listen(4096)
        sel.register(ls, selectors.EVENT_READ)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print("ready", flush=True)
    while not stop.is_set():
        for key, _ in sel.select(timeout=0.2):
            try:
                conn, peer = key.fileobj.accept()  # type: ignore[union-attr]
            except OSError:
                continue
            queue = wanted.get(peer[1])
            c = queue.popleft() if queue else None
            threading.Thread(target=_outcome, args=(counters, lambda s=conn, c=c:
                                                    _serve_conn(s, c)), daemon=True).start()
    return counters


# -- client ------------------------------------------------------------------------------
def _connect(c: Conn, addr: str) -> socket.socket:
    family = socket.AF_INET6 if c.family == 6 else socket.AF_INET
    for attempt in range(10):  # a reused port may still be held for a moment
        s = socket.socket(family, socket.SOCK_STREAM)
        try:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if c.client_rcvbuf:  # before connect: the window scale follows it
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, c.client_rcvbuf)
            s.bind(("::" if c.family == 6 else "0.0.0.0", c.cport))
            s.settimeout(IO_TIMEOUT)
            s.connect((addr, SERVER_PORT))
            return s
        except OSError as exc:
            s.close()
            if exc.errno not in (98, 99) or attempt == 9:  # EADDRINUSE, EADDRNOTAVAIL
                raise
            time.sleep(0.3)
    raise AssertionError("unreachable")


def _client_exchange(c: Conn, addr: str) -> str:
    s = _connect(c, addr)
    with s:
        last = len(c.exchanges) - 1
        for i, (req, resp) in enumerate(c.exchanges):
            _send(s, req)
            if i == last and c.closer == "half_close":
                s.shutdown(socket.SHUT_WR)
            if i == last and c.closer == "abandon":
                return "ok"  # closed by ``with``; what arrives later gets an RST
            if c.client_pause:
                time.sleep(c.client_pause)
            if not _recv(s, resp):
                return "peer_closed_early"
        if not c.exchanges and c.closer == "half_close":
            s.shutdown(socket.SHUT_WR)
        if c.keepalive_s:
            _keepalive(s)
            time.sleep(c.keepalive_s)
        if c.closer in ("client", "both", "abandon"):
            time.sleep(c.close_delay[0])
        elif c.closer == "client_rst":
            time.sleep(c.close_delay[0])
            _rst_close(s)
        else:  # server, server_rst, half_close: the server closes first
            _until_eof(s)
    return "ok"


def _client_conn(c: Conn, addr: str) -> str:
    if c.kind == "exchange":
        return _client_exchange(c, addr)
    family = socket.AF_INET6 if c.family == 6 else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        if c.kind == "refused":
            s.settimeout(IO_TIMEOUT)
            s.connect((addr, CLOSED_PORT))
        else:
            s.settimeout(SYN_DROP_TIMEOUT)
            s.connect((addr, DROP_PORT))
    return "connected"  # neither should


def client(plan: Plan, addr4: str, addr6: str) -> Counters:
    counters = Counters()
    followers: dict[int, list[Conn]] = collections.defaultdict(list)
    for c in plan.conns:
        if c.reuses >= 0:
            followers[c.reuses].append(c)
    t0 = time.monotonic()

    def chain(first: Conn) -> None:
        time.sleep(max(0.0, t0 + first.start - time.monotonic()))
        todo = [first]
        while todo:
            c = todo.pop(0)
            if c is not first:
                time.sleep(c.start)
            _outcome(counters, lambda c=c: _client_conn(c, addr6 if c.family == 6 else addr4))
            todo += followers.get(c.id, [])

    threads = [threading.Thread(target=chain, args=(c,), daemon=True)
               for c in plan.conns if c.reuses < 0]
    for t in threads:
        t.start()
    deadline = t0 + plan.duration() * 3 + 4 * IO_TIMEOUT
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    unfinished = sum(t.is_alive() for t in threads)
    if unfinished:
        counters.counts["unfinished"] = unfinished
    return counters


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 4 or args[0] not in ("serve", "client"):
        raise SystemExit("usage: peers serve|client PLAN.json ADDR4 ADDR6  ('' for none)")
    threading.stack_size(256 * 1024)  # thousands of threads in a burst
    plan = Plan.from_json(Path(args[1]).read_text())
    play = serve if args[0] == "serve" else client
    counters = play(plan, args[2], args[3])
    print(json.dumps(dict(counters.counts)), flush=True)


if __name__ == "__main__":
    main()
