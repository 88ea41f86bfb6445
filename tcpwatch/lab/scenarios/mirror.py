"""A tagging mirror port: copy every frame seen on one interface, with 802.1Q (and
optionally an 802.1ad outer) tag inserted, out of another interface.

Why: this machine's kernel has no 802.1Q support (no ``ip link ... type vlan``), so a
VLAN interface cannot be made.  A switch's SPAN port on a trunk shows the same thing
this does: the real frames of a real kernel TCP connection, tagged.  tcpdump listens on
the far end of the mirror link.

    python -m tcpwatch.lab.scenarios.mirror SRC_IFACE OUT_IFACE --vlan 42 [--outer 100]

Prints "ready" when both sockets are bound; stops on SIGTERM.
"""

from __future__ import annotations

import argparse
import signal
import socket
import struct
import sys

ETH_P_ALL = 0x0003
TPID_8021Q = 0x8100
TPID_8021AD = 0x88A8


def tag(frame: bytes, vlan: int, outer: int | None) -> bytes:
    tags = struct.pack("!HH", TPID_8021Q, vlan & 0x0FFF)
    if outer is not None:
        tags = struct.pack("!HH", TPID_8021AD, outer & 0x0FFF) + tags
    return frame[:12] + tags + frame[12:]


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m tcpwatch.lab.scenarios.mirror")
    p.add_argument("src")
    p.add_argument("out")
    p.add_argument("--vlan", type=int, required=True)
    p.add_argument("--outer", type=int)
    a = p.parse_args(argv)
    rx = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    rx.bind((a.src, 0))
    tx = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
    tx.bind((a.out, 0))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print("ready", flush=True)
    while True:
        frame = rx.recv(262144)
        tx.send(tag(frame, a.vlan, a.outer))


if __name__ == "__main__":
    main()
