"""Small traffic drivers, runnable in a namespace: ``python -m tcpwatch.lab.scenarios.traffic``.

    serve HOST PORT [--sink]          echo (or discard) server; prints "ready" when listening
    echo HOST PORT [--conns N] [--msgs M] [--size B]   N connections, M echoed messages each
    bulk HOST PORT --bytes B          one connection sending B bytes to a --sink server
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import socket
import sys
import threading


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def _handle(conn: socket.socket, sink: bool) -> None:
    with conn:
        while True:
            data = conn.recv(65536)
            if not data:
                break
            if not sink:
                conn.sendall(data)


def serve(host: str, port: int, sink: bool = False) -> None:
    listener = socket.socket(_family(host), socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, port))
    listener.listen(1024)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print("ready", flush=True)
    with listener:
        while True:
            conn, _ = listener.accept()
            threading.Thread(target=_handle, args=(conn, sink), daemon=True).start()


def _recv_exactly(sock: socket.socket, n: int) -> bytes:
    parts, got = [], 0
    while got < n:
        chunk = sock.recv(n - got)
        if not chunk:
            raise ConnectionError(f"peer closed after {got} of {n} bytes")
        parts.append(chunk)
        got += len(chunk)
    return b"".join(parts)


def echo(host: str, port: int, conns: int = 1, msgs: int = 3, size: int = 100) -> int:
    done = 0
    for i in range(conns):
        with socket.create_connection((host, port), timeout=10) as s:
            for m in range(msgs):
                payload = bytes([(i + m) % 251]) * size
                s.sendall(payload)
                if _recv_exactly(s, size) != payload:
                    raise ConnectionError("echo mismatch")
            s.shutdown(socket.SHUT_WR)
            with contextlib.suppress(OSError):
                s.recv(1)
        done += 1
    return done


def bulk(host: str, port: int, nbytes: int) -> None:
    block = b"x" * 65536
    with socket.create_connection((host, port), timeout=30) as s:
        left = nbytes
        while left > 0:
            n = s.send(block[: min(left, len(block))])
            left -= n
        s.shutdown(socket.SHUT_WR)
        with contextlib.suppress(OSError):
            s.recv(1)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m tcpwatch.lab.scenarios.traffic")
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve")
    s.add_argument("host")
    s.add_argument("port", type=int)
    s.add_argument("--sink", action="store_true")
    e = sub.add_parser("echo")
    e.add_argument("host")
    e.add_argument("port", type=int)
    e.add_argument("--conns", type=int, default=1)
    e.add_argument("--msgs", type=int, default=3)
    e.add_argument("--size", type=int, default=100)
    b = sub.add_parser("bulk")
    b.add_argument("host")
    b.add_argument("port", type=int)
    b.add_argument("--bytes", type=int, required=True)
    a = p.parse_args(argv)
    if a.cmd == "serve":
        serve(a.host, a.port, a.sink)
    elif a.cmd == "echo":
        echo(a.host, a.port, a.conns, a.msgs, a.size)
    else:
        bulk(a.host, a.port, a.bytes)


if __name__ == "__main__":
    main()
