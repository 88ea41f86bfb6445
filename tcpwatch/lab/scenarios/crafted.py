"""Scenarios whose sender is crafted (``probe_sender.py``, scapy) and whose receiver is a
real kernel socket, in two namespaces joined by a veth pair.

The receiver (``python -m tcpwatch.lab.scenarios.crafted receive HOST PORT RCVBUF``) listens
with a tiny SO_RCVBUF and reads nothing until told to on stdin, so its window closes;
then it reads to the end and closes.  The sender's namespace drops its own kernel's RSTs
(the kernel knows no socket for the crafted connection).
"""

from __future__ import annotations

import socket
import subprocess
import sys

from ...errors import TcpwatchError
from .netns import Lab, nft, python_in

SENDER = "tcpwatch.lab.scenarios.probe_sender"


def _no_rsts(netns: str, dport: int) -> None:
    nft(netns, f"""
table inet twcraft {{
  chain output {{
    type filter hook output priority 0; policy accept;
    tcp dport {dport} tcp flags & rst == rst drop
  }}
}}
""")


def _line(proc: subprocess.Popen, want: str, what: str) -> None:
    assert proc.stdout is not None
    got = proc.stdout.readline().strip()
    if got != want:
        proc.kill()
        _, err = proc.communicate(timeout=10)
        raise TcpwatchError(f"{what}: expected {want!r}, got {got!r}: {err.strip()[-400:]}")


def run_zero_window_probe(lab: Lab, port: int, rcvbuf: int = 2048) -> None:
    """The crafted sender in ``lab.a`` fills the window of a stalled receiver in
    ``lab.b``, probes it, then (after ``probed``) the receiver reads and the sender
    finishes and closes."""
    _no_rsts(lab.a.netns, port)
    receiver = subprocess.Popen(python_in(lab.b.netns, "-m", __name__, "receive", lab.b.addr,
                                          str(port), str(rcvbuf)),
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
    sender = None
    try:
        _line(receiver, "ready", "stalled receiver")
        sender = subprocess.Popen(python_in(lab.a.netns, "-m", SENDER, lab.a.iface,
                                            lab.a.addr, lab.b.addr, str(port)),
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        _line(sender, "probed", "crafted sender")
        assert receiver.stdin is not None
        receiver.stdin.write("read\n")
        receiver.stdin.flush()
        _line(sender, "done", "crafted sender")
        _line(receiver, "done", "stalled receiver")
        sender.wait(timeout=10)
        receiver.wait(timeout=10)
    finally:
        for proc in (sender, receiver):
            if proc is None:
                continue
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            for f in (proc.stdin, proc.stdout, proc.stderr):
                if f:
                    f.close()


def receive(host: str, port: int, rcvbuf: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as ls:
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)  # inherited by accept
        ls.bind((host, port))
        ls.listen(1)
        ls.settimeout(30)
        print("ready", flush=True)
        conn, _ = ls.accept()
    with conn:
        conn.settimeout(60)
        if sys.stdin.readline().strip() != "read":
            raise SystemExit("stalled receiver: no 'read' on stdin")
        while conn.recv(65536):
            pass
    print("done", flush=True)


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 4 or args[0] != "receive":
        raise SystemExit("usage: python -m tcpwatch.lab.scenarios.crafted receive HOST PORT "
                         "RCVBUF")
    receive(args[1], int(args[2]), int(args[3]))


if __name__ == "__main__":
    main()

