"""A delay line between two interfaces: every frame received on one is sent out of the
other ``--delay`` seconds later, in order (a userspace stand-in for netem, which this
machine's kernel lacks).

    python -m tcpwatch.lab.scenarios.relay IF_A IF_B --delay 0.1 [--drop-every N]

``--drop-every N`` drops every Nth frame longer than 200 bytes (data, not ACKs) going
from IF_A to IF_B: loss upstream of a capture on IF_B's far end, which therefore never
sees those segments.

Run inside a namespace holding both interfaces (promiscuous, offloads off on the hosts'
ends so frames carry real checksums and MTU sizes).  Prints "ready"; stops on SIGTERM.
"""

from __future__ import annotations

import argparse
import collections
import signal
import socket
import sys
import threading
import time

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4


BIG = 200  # frames longer than this carry data; --drop-every counts only those


def forward(src: str, dst: str, delay: float, drop_every: int = 0) -> None:
    rx = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    rx.bind((src, 0))
    tx = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
    tx.bind((dst, 0))
    queue: collections.deque[tuple[float, bytes]] = collections.deque()
    ready = threading.Condition()

    def sender() -> None:
        while True:
            with ready:
                while not queue:
                    ready.wait()
                due, frame = queue[0]
            wait = due - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            with ready:
                queue.popleft()
            tx.send(frame)

    threading.Thread(target=sender, daemon=True).start()
    big = 0
    while True:
        frame, addr = rx.recvfrom(65535)
        if addr[2] == PACKET_OUTGOING:  # our own transmissions on this interface
            continue
        if drop_every and len(frame) > BIG:
            big += 1
            if big % drop_every == 0:
                continue
        with ready:
            queue.append((time.monotonic() + delay, frame))
            ready.notify()


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m tcpwatch.lab.scenarios.relay")
    p.add_argument("a")
    p.add_argument("b")
    p.add_argument("--delay", type=float, default=0.1)
    p.add_argument("--drop-every", type=int, default=0)
    a = p.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    for src, dst, drop in ((a.a, a.b, a.drop_every), (a.b, a.a, 0)):
        threading.Thread(target=forward, args=(src, dst, a.delay, drop), daemon=True).start()
    time.sleep(0.1)
    print("ready", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
