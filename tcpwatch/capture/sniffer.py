"""Sniffing with scapy (`tcpwatch live`): the only module that imports scapy.

Each packet becomes at once the raw record the pcap reader also produces --
``(ts_ns, bytes, wire length)`` -- so live and offline share everything after this.
On loopback a packet socket sees every packet twice (outgoing, then incoming); the BPF
``inbound`` qualifier keeps one copy, as libpcap does for tcpdump.  What the socket
could not hold is counted by the kernel (``packetsock``): ``stats()`` says how much was
missed, as tcpdump does.
"""

from __future__ import annotations

import os
import queue
import select

from ..errors import TcpwatchError
from .packetsock import (
    BUFFER_KIB,
    LINKTYPE_SLL,
    MAX_BUFFER_KIB,
    CaptureStats,
    KernelCounters,
    accept_length,
    attach_filter,
    cooked,
    reject_all,
    set_receive_buffer,
    sll_header,
)
from .pcapwriter import SNAPLEN

CAP_NET_RAW = 13  # <linux/capability.h>


def capture_privileges() -> str | None:
    """None when this process may open a packet socket; else what it lacks, to follow
    "needs root or CAP_NET_RAW" (root without CAP_NET_RAW: a container, capsh, setpriv).
    The effective set decides, as the kernel does (root's normally holds every
    capability)."""
    try:
        with open("/proc/self/status") as f:
            caps = next(ln for ln in f if ln.startswith("CapEff:"))
        if int(caps.split()[1], 16) >> CAP_NET_RAW & 1:
            return None
    except (OSError, StopIteration, ValueError):
        if os.geteuid() == 0:
            return None
    return " (this process runs as root without CAP_NET_RAW)" if os.geteuid() == 0 else ""


ANY = "any"  # every interface, as tcpdump -i any
LINKTYPE_ETHERNET = 1


def _compile(flt: str, iface: str) -> bytes:
    """``flt`` as classic BPF that keeps up to ``SNAPLEN`` bytes of a frame.  scapy
    compiles for 65,535 (its MTU), and the kernel cuts each frame at what the filter
    returns: a loopback frame with a 64 KiB TSO segment is 65,549 bytes, and cut short it
    would hide 14 bytes of payload and make the next segment look lost."""
    import ctypes

    from scapy.arch.common import compile_filter, free_filter
    from scapy.data import MTU

    bpf = compile_filter(flt, linktype=LINKTYPE_SLL) if iface == ANY else (
        compile_filter(flt, iface))
    try:
        program = ctypes.string_at(bpf.bf_insns, 8 * bpf.bf_len)
    finally:
        free_filter(bpf)
    program = accept_length(program, MTU, SNAPLEN)
    if iface == ANY:
        import socket

        try:
            return cooked(program, socket.if_nametoindex("lo"))
        except ValueError as exc:
            raise TcpwatchError(f"the filter {flt!r} cannot run on any: {exc}") from None
    return program


def _cooked_all() -> object:
    """A socket on every interface, each frame given a Linux cooked (SLL) header made
    from its address, as libpcap's "any" device does; scapy has no such socket."""
    import socket

    from scapy.all import conf
    from scapy.supersocket import SuperSocket

    class CookedAll(SuperSocket):
        desc = "every interface, Linux cooked capture"
        auxdata_available = True  # _recv_raw reads the SO_TIMESTAMPNS time of each frame

        def __init__(self) -> None:
            self.iface = ANY
            self.ins = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM,
                                     socket.htons(0x0003))  # ETH_P_ALL
            self.ins.setsockopt(socket.SOL_SOCKET, 35, 1)  # SO_TIMESTAMPNS
            self.outs = None
            self.LL = conf.raw_layer

        def recv_raw(self, x: int = SNAPLEN):
            data, address, ts = self._recv_raw(self.ins, SNAPLEN)
            if not data:
                return None, None, None
            return self.LL, sll_header(address) + data, ts

    return CookedAll()


def _whole_frames(listen: type) -> type:
    """scapy's listening socket, reading frames up to ``SNAPLEN`` bytes (scapy reads
    65,535, see ``_compile``)."""

    class WholeFrames(listen):
        def recv_raw(self, x: int = SNAPLEN):
            return super().recv_raw(SNAPLEN)

    return WholeFrames


class PacketSniffer:
    """Sniff ``iface`` with ``bpf`` into a queue of raw records, counting what the kernel
    dropped.  The queue is unbounded, so nothing is lost in user space: the only place
    packets can be lost is the socket's receive buffer (``buffer_kib``), and the kernel
    counts those (``stats``)."""

    def __init__(self, iface: str, bpf: str, buffer_kib: int = BUFFER_KIB):
        if not 1 <= buffer_kib <= MAX_BUFFER_KIB:
            raise TcpwatchError(f"-B/--buffer-size must be 1 to {MAX_BUFFER_KIB} KiB, "
                                f"not {buffer_kib}")
        from scapy.all import AsyncSniffer, get_if_list

        if iface != ANY and iface not in get_if_list():
            raise TcpwatchError(f"no such interface {iface!r} (there are: "
                                f"{', '.join([*get_if_list(), ANY])})")
        from scapy.all import conf

        self.queue: queue.SimpleQueue = queue.SimpleQueue()
        self.linktype = LINKTYPE_SLL if iface == ANY else LINKTYPE_ETHERNET
        flt = f"inbound and ({bpf})" if iface == "lo" else bpf
        try:
            if iface == ANY:  # the filter is attached below, once it is compiled
                _compile(flt, iface)  # a bad one is refused before the socket is made
                sock = _cooked_all()
            else:
                sock = _whole_frames(conf.L2listen)(iface=iface, filter=flt)
        except PermissionError:
            raise TcpwatchError("tcpwatch live needs root or CAP_NET_RAW; try: sudo "
                                "tcpwatch live (the kernel refused a packet socket)") from None
        except TcpwatchError:
            raise
        except Exception as exc:  # scapy reports a bad BPF filter as a generic error
            raise TcpwatchError(f"cannot capture on {iface}: {exc}") from None
        # a big kernel buffer rides out bursts; no dissection: the pipeline decodes
        self.buffer_kib = set_receive_buffer(sock.ins, buffer_kib * 1024) // 1024
        sock.LL = conf.raw_layer
        # counts start from an empty socket: shut it, read it empty, zero the counters,
        # open it again (what came in while scapy set the socket up is not counted)
        self.captured = 0  # records put in the queue (by the sniffer's thread)
        self._final: CaptureStats | None = None
        self._sock = sock
        reject_all(sock.ins)
        self._read_all(keep=False)
        self._kernel = KernelCounters(sock.ins)
        attach_filter(sock.ins, _compile(flt, iface))
        self._sniffer = AsyncSniffer(opened_socket=sock, store=False, prn=self._put)
        self.iface = iface

    def _put(self, pkt) -> None:
        data = bytes(pkt)  # a Raw layer: the frame's bytes as captured
        self.queue.put((round(float(pkt.time) * 1e6) * 1000, data,
                        int(getattr(pkt, "wirelen", None) or len(data))))
        self.captured += 1

    def _read_all(self, keep: bool) -> None:
        """Read what the socket holds, without waiting for more."""
        while select.select([self._sock.ins], [], [], 0)[0]:
            pkt = self._sock.recv()
            if pkt is not None and keep:
                self._put(pkt)

    def stats(self) -> CaptureStats:
        """Captured, received by filter and dropped by kernel, since the start."""
        if self._final is not None:
            return self._final
        received, dropped = self._kernel.read()
        return CaptureStats(self.captured, received, dropped)

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

    def stop(self) -> CaptureStats:
        """Stop sniffing; what the socket still holds is read into the queue, so the
        final counts add up: captured + dropped == received."""
        if self._final is None:
            if self._sniffer.running:
                self._sniffer.stop()
            if not self._sock.closed:  # else scapy closed it on an error: counts as read
                reject_all(self._sock.ins)
                self._read_all(keep=True)
                self._final = self.stats()
                self._sock.close()
            else:
                self._final = CaptureStats(self.captured, self._kernel.received,
                                           self._kernel.dropped)
        return self._final
