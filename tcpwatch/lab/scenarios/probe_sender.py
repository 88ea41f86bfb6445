"""A TCP sender crafted with scapy that probes a zero window the way Windows and BSD do:
one byte of new data at the window's edge, resent with a doubling timer, until the
receiver opens its window.  (Linux probes with a 0-byte segment at SND.UNA - 1, which
Wireshark calls a keep-alive, so a kernel sender cannot show Wireshark's
``zero_window_probe``.)  Run inside the sender's namespace, whose kernel must not reset
the connection it does not know about (``crafted.py`` drops its outgoing RSTs):

    python -m tcpwatch.lab.scenarios.probe_sender IFACE SRC DST DPORT

Prints ``probed`` after the first ``--probes`` probes were answered (the caller then lets
the receiver read), ``done`` when both sides have closed.  This is a scenario's helper:
the analysis pipeline never imports scapy (only ``capture/sniffer.py`` does).
"""

from __future__ import annotations

import argparse
import queue
import random
import threading
import time
from dataclasses import dataclass

from scapy.all import IP, TCP, AsyncSniffer, conf

MSS = 1000
OPTIONS = [("MSS", 1460), ("NOP", None), ("WScale", 8), ("NOP", None), ("NOP", None),
           ("SAckOK", b"")]
WINDOW = 64240 >> 8  # raw window, scaled by 2**8 (as Windows advertises)
SYN, FIN, RST, PSH, ACK = 0x02, 0x01, 0x04, 0x08, 0x10


class Timeout(RuntimeError):
    pass


@dataclass
class Peer:
    """What the sender knows of the receiver: its next byte, its last ACK and window."""

    rcv_nxt: int = 0
    ack: int = 0
    window: int = 0  # scaled
    wscale: int = 0
    fin: bool = False


class Sender:
    def __init__(self, iface: str, src: str, dst: str, dport: int, sport: int) -> None:
        self.src, self.dst, self.dport, self.sport = src, dst, dport, sport
        self.replies: queue.Queue = queue.Queue()
        self.listening = threading.Event()
        self.sniffer = AsyncSniffer(iface=iface, store=False, prn=self.replies.put,
                                    started_callback=self.listening.set,
                                    filter=f"tcp and src host {dst} and src port {dport} "
                                           f"and dst port {sport}")
        self.sock = conf.L3socket(iface=iface)
        self.iss = random.getrandbits(32)
        self.snd_una = self.snd_nxt = 0  # offsets into the byte stream (ISS + 1 is 0)
        self.peer = Peer()

    def start(self) -> None:
        self.sniffer.start()
        if not self.listening.wait(10):  # the capture socket is open before we send
            raise Timeout("the sniffer did not start")

    def stop(self) -> None:
        self.sniffer.stop()
        self.sock.close()

    def send(self, flags: int, offset: int, payload: bytes = b"", **tcp) -> None:
        seq = (self.iss + 1 + offset) % 2**32 if not flags & SYN else self.iss
        self.sock.send(IP(src=self.src, dst=self.dst, ttl=128)
                       / TCP(sport=self.sport, dport=self.dport, flags=flags, seq=seq,
                             ack=self.peer.rcv_nxt if flags & ACK else 0,
                             window=tcp.pop("window", WINDOW), **tcp)
                       / payload)

    def receive(self, timeout: float) -> TCP:
        """The next segment from the receiver; updates what we know of it."""
        try:
            seg = self.replies.get(timeout=timeout)[TCP]
        except queue.Empty:
            raise Timeout(f"no reply within {timeout} s") from None
        p = self.peer
        if seg.flags & SYN:
            p.rcv_nxt = (seg.seq + 1) % 2**32
            p.wscale = dict(seg.options).get("WScale", 0)
            p.window = seg.window  # never scaled on a SYN
        else:
            p.window = seg.window << p.wscale
            if seg.flags & FIN:
                p.fin, p.rcv_nxt = True, (seg.seq + 1) % 2**32
        if seg.flags & ACK:
            acked = (seg.ack - self.iss - 1) % 2**32
            if self.snd_una < acked <= self.snd_nxt:
                self.snd_una = acked
        return seg

    def receive_until(self, done, timeout: float) -> None:
        end = time.monotonic() + timeout
        while not done():
            self.receive(max(0.0, end - time.monotonic()))

    def handshake(self, attempts: int = 3) -> None:
        for attempt in range(attempts):  # the SYN is resent after 1 s, as a stack would
            self.send(SYN, 0, options=OPTIONS, window=64240)
            try:
                self.receive_until(lambda: self.peer.rcv_nxt != 0, 1.0)
                break
            except Timeout:
                if attempt == attempts - 1:
                    raise
        self.send(ACK, 0)

    def fill(self, data: bytes, upto: int, *, stop_when_closed: bool) -> None:
        """Send data[snd_nxt:upto] within the receiver's window, waiting for its ACKs
        (a lost segment is resent from snd_una after 1 s, as an RTO would).  A closed
        window ends the call (``stop_when_closed``: probing is the caller's business) or
        is waited out (the reading receiver reopens it at once)."""
        while self.snd_una < upto:
            edge = min(upto, self.snd_una + self.peer.window)
            while self.snd_nxt < edge:
                n = min(MSS, edge - self.snd_nxt)
                self.send(PSH | ACK, self.snd_nxt, data[self.snd_nxt:self.snd_nxt + n])
                self.snd_nxt += n
            if self.peer.window == 0 and self.snd_una == self.snd_nxt:
                if stop_when_closed:
                    return
                self.receive_until(lambda: self.peer.window > 0, 5)
                continue
            una = self.snd_una
            try:
                self.receive_until(lambda u=una: self.snd_una > u or (self.peer.window == 0
                                   and self.snd_una == self.snd_nxt), 1.0)
            except Timeout:
                self.snd_nxt = self.snd_una

    def probe(self, data: bytes, *, first: float, cap: float, announce_after: int) -> int:
        """Probe the zero window with the next byte of data until it opens; returns the
        number of probes sent.  Each probe is answered at once by the receiver (its ACK
        repeats the zero window); the next probe follows after a doubling timer."""
        probes, wait = 0, first
        while self.peer.window == 0:
            self.send(PSH | ACK, self.snd_nxt, data[self.snd_nxt:self.snd_nxt + 1])
            probes += 1
            if probes == announce_after:
                print("probed", flush=True)
            end = time.monotonic() + wait
            while self.peer.window == 0 and time.monotonic() < end:
                try:
                    self.receive(end - time.monotonic())
                except Timeout:
                    break
            wait = min(2 * wait, cap)
        if self.snd_una > self.snd_nxt:  # the receiver took the probe byte
            self.snd_nxt = self.snd_una
        return probes

    def close(self) -> None:
        """FIN, the receiver's ACK and FIN, our last ACK."""
        self.send(FIN | ACK, self.snd_nxt)
        self.snd_nxt += 1
        self.receive_until(lambda: self.peer.fin and self.snd_una == self.snd_nxt, 10)
        self.send(ACK, self.snd_nxt)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m tcpwatch.lab.scenarios.probe_sender")
    p.add_argument("iface")
    p.add_argument("src")
    p.add_argument("dst")
    p.add_argument("dport", type=int)
    p.add_argument("--sport", type=int, default=50123)
    p.add_argument("--before", type=int, default=12_000, help="bytes sent before probing")
    p.add_argument("--after", type=int, default=6_000, help="bytes sent after the window opens")
    p.add_argument("--probes", type=int, default=6, help="probes before 'probed' is printed")
    a = p.parse_args(argv)
    data = bytes(random.Random(11).randrange(256) for _ in range(a.before + a.after))
    s = Sender(a.iface, a.src, a.dst, a.dport, a.sport)
    s.start()
    try:
        s.handshake()
        s.fill(data, a.before, stop_when_closed=True)
        if s.peer.window != 0:
            raise SystemExit(f"the receiver's window never closed ({a.before} bytes sent)")
        s.probe(data, first=0.2, cap=1.6, announce_after=a.probes)
        s.fill(data, len(data), stop_when_closed=False)
        s.close()
    finally:
        s.stop()
    print("done", flush=True)


if __name__ == "__main__":
    main()
