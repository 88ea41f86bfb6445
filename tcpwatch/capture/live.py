"""Live capture with scapy: the only module that imports scapy.

Each packet becomes at once the raw record the pcap reader also produces --
``(ts_ns, bytes, wire length)`` -- so live and offline share everything after this.
On loopback a packet socket sees every packet twice (outgoing, then incoming); the BPF
``inbound`` qualifier keeps one copy, as libpcap does for tcpdump.
"""

from __future__ import annotations

import os
import queue
import socket

from ..errors import TcpwatchError

RCVBUF = 32 * 1024 * 1024


def has_capture_privileges() -> bool:
    if os.geteuid() == 0:
        return True
    try:
        with open("/proc/self/status") as f:
            caps = next(ln for ln in f if ln.startswith("CapEff:"))
        return bool(int(caps.split()[1], 16) & (1 << 13))  # CAP_NET_RAW
    except (OSError, StopIteration, ValueError):
        return False


class LiveCapture:
    """Sniff ``iface`` with ``bpf`` into a queue of raw records."""

    def __init__(self, iface: str, bpf: str):
        from scapy.all import AsyncSniffer, get_if_list

        if iface not in get_if_list():
            raise TcpwatchError(f"no such interface: {iface}")
        from scapy.all import conf

        self.queue: queue.SimpleQueue = queue.SimpleQueue()
        flt = f"inbound and ({bpf})" if iface == "lo" else bpf
        try:
            sock = conf.L2listen(iface=iface, filter=flt)
        except Exception as exc:  # scapy reports a bad BPF filter as a generic error
            raise TcpwatchError(f"cannot capture on {iface}: {exc}") from None
        # a big kernel buffer rides out bursts; no dissection: the pipeline decodes
        sock.ins.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
        sock.LL = conf.raw_layer
        self._sniffer = AsyncSniffer(opened_socket=sock, store=False, prn=self._put)
        self.iface = iface

    def _put(self, pkt) -> None:
        data = bytes(pkt)  # a Raw layer: the frame's bytes as captured
        self.queue.put((round(float(pkt.time) * 1e6) * 1000, data,
                        int(getattr(pkt, "wirelen", None) or len(data))))

    def start(self) -> None:
        try:
            self._sniffer.start()
        except Exception as exc:  # scapy reports a bad BPF filter as a generic error
            raise TcpwatchError(f"cannot capture on {self.iface}: {exc}") from None
        # scapy starts in a thread: surface a failed filter compile or socket now
        self._sniffer.thread.join(0.3)
        if not self._sniffer.running:
            raise TcpwatchError(f"cannot capture on {self.iface} (bad filter?)")

    def drain(self) -> list[tuple[int, bytes, int]]:
        out = []
        while True:
            try:
                out.append(self.queue.get_nowait())
            except queue.Empty:
                return out

    def stop(self) -> None:
        if self._sniffer.running:
            self._sniffer.stop()
