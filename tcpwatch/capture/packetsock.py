"""A packet (AF_PACKET) socket as tcpwatch live sets it up: its filter (classic BPF),
its receive buffer, and what the kernel counts for it.  No scapy here.

``getsockopt(SOL_PACKET, PACKET_STATISTICS)`` returns ``struct tpacket_stats
{unsigned tp_packets, tp_drops}`` (packet(7)) and resets both counters.  ``tp_drops``
counts packets that passed the socket's filter but found its receive buffer full;
``tp_packets`` counts the packets queued *plus* those dropped (the kernel adds the drops
in before returning, ``net/packet/af_packet.c``).  A packet the filter rejects is in
neither.  These are the numbers tcpdump prints as "received by filter" and "dropped by
kernel" (libpcap's ``ps_recv`` and ``ps_drop``).  So once the socket is read empty,
``captured + dropped == received``.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass

BUFFER_KIB = 32 * 1024  # tcpwatch live's receive buffer by default, in KiB (tcpdump -B)
MAX_BUFFER_KIB = 1024 * 1024  # 1 GiB: the kernel keeps the size, doubled, in an int
SOL_PACKET = 263  # <linux/socket.h>
PACKET_STATISTICS = 6  # <linux/if_packet.h>
SO_ATTACH_FILTER = 26  # <asm-generic/socket.h>
SO_RCVBUFFORCE = 33  # like SO_RCVBUF, past net.core.rmem_max; needs CAP_NET_ADMIN
_TPACKET_STATS = struct.Struct("II")
_INSN = struct.Struct("HBBI")  # struct sock_filter: code, jt, jf, k
_BPF_RET_K = 0x06  # BPF_RET | BPF_K: "keep k bytes of the packet"; k = 0 rejects it


@dataclass(frozen=True)
class CaptureStats:
    """Counts since the capture started.  ``captured``: packets read off the socket
    (each becomes a frame of the written pcap); ``received``: packets that passed the
    filter (queued or dropped); ``dropped``: of those, the packets the kernel dropped
    because the socket's buffer was full."""

    captured: int = 0
    received: int = 0
    dropped: int = 0

    def line(self) -> str:
        """tcpdump's closing counts, on one line."""
        return (f"{self.captured:,} packets captured, {self.received:,} received by filter, "
                f"{self.dropped:,} dropped by kernel")


class KernelCounters:
    """Totals of a packet socket's PACKET_STATISTICS from now on: made, it zeroes the
    kernel's counters; each read adds what the kernel counted since the previous read
    (reading resets them: the totals are kept here, in Python ints, past 2**32)."""

    def __init__(self, sock: socket.socket):
        self._sock = sock
        self._take()
        self.received = 0
        self.dropped = 0

    def _take(self) -> tuple[int, int]:
        return _TPACKET_STATS.unpack(
            self._sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, _TPACKET_STATS.size))

    def read(self) -> tuple[int, int]:
        """(received by filter, dropped by kernel) since this object was made."""
        packets, drops = self._take()
        self.received += packets
        self.dropped += drops
        return self.received, self.dropped


def attach_filter(sock: socket.socket, program: bytes) -> None:
    """Attach a classic BPF program (8-byte ``struct sock_filter`` instructions); the
    kernel swaps it for the previous one at once."""
    import ctypes  # here: the CLI imports this module at start-up

    insns = ctypes.create_string_buffer(program, len(program))
    prog = struct.pack("HL", len(program) // _INSN.size, ctypes.addressof(insns))
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, prog)  # struct sock_fprog


def reject_all(sock: socket.socket) -> None:
    """A filter that rejects every packet: from now on nothing is queued or counted,
    so the socket can be read empty and its counts are final."""
    attach_filter(sock, _INSN.pack(_BPF_RET_K, 0, 0, 0))


def accept_length(program: bytes, old: int, new: int) -> bytes:
    """``program`` with its accepting returns giving ``new`` bytes of the packet instead
    of ``old``: libpcap compiles "accept" as ``ret #snaplen``, and the kernel keeps that
    many bytes of each frame."""
    insns = [_INSN.unpack_from(program, i) for i in range(0, len(program), _INSN.size)]
    return b"".join(_INSN.pack(code, jt, jf, new if (code, k) == (_BPF_RET_K, old) else k)
                    for code, jt, jf, k in insns)


def set_receive_buffer(sock: socket.socket, size: int) -> int:
    """Ask for a receive buffer of ``size`` bytes (past ``net.core.rmem_max`` when
    allowed); return what the kernel granted, in the same units (it reports double
    the size asked, the rest being its bookkeeping)."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, size)
    except PermissionError:  # CAP_NET_RAW without CAP_NET_ADMIN: capped by rmem_max
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, size)
    return sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) // 2


# -- every interface at once (-i any): Linux cooked capture ------------------------------
#: LINKTYPE_LINUX_SLL: a 16-byte header the capture builds from the socket's address
LINKTYPE_SLL = 113
SLL_HEADER = struct.Struct("!HHH8sH")  # packet type, ARPHRD type, address length, address, protocol
_SKF_AD_OFF = 0xFFFFF000  # -0x1000: loads at SKF_AD_OFF + n read the packet's metadata
_SKF_AD_PROTOCOL = 0
_SKF_AD_PKTTYPE = 4
_SKF_AD_IFINDEX = 8
_BPF_LD_W_ABS = 0x20  # BPF_LD | BPF_W | BPF_ABS
_BPF_JEQ_K = 0x15  # BPF_JMP | BPF_JEQ | BPF_K
_PACKET_OUTGOING = 4


def sll_header(address: tuple) -> bytes:
    """The cooked header of a frame read from a SOCK_DGRAM packet socket, from the
    address ``recvfrom`` gives: (interface, protocol, packet type, ARPHRD type, address)."""
    _, protocol, pkttype, hatype, addr = address[:5]
    return SLL_HEADER.pack(pkttype, hatype, len(addr), addr[:8], protocol)


def cooked(program: bytes, loopback_index: int) -> bytes:
    """A program libpcap compiled for LINKTYPE_LINUX_SLL, made to run on a SOCK_DGRAM
    packet socket, whose packets start at the network header (what libpcap does for
    its "any" device): a load past the 16-byte cooked header moves back by 16, a load of
    the packet type or the protocol field reads the kernel's own metadata instead, any
    other load of the cooked header cannot be done by the kernel (an error).  In front
    goes a test that drops the outgoing copy of a loopback packet, as libpcap does: each
    is seen once, incoming."""
    out = []
    for i in range(0, len(program), _INSN.size):
        code, jt, jf, k = _INSN.unpack_from(program, i)
        if code & 0x07 in (0x00, 0x01) and code & 0xE0 in (0x20, 0x40, 0xA0):  # LD/LDX ABS/IND/MSH
            if k >= SLL_HEADER.size:
                k -= SLL_HEADER.size
            elif k == 0:
                k = _SKF_AD_OFF + _SKF_AD_PKTTYPE
            elif k == 14:
                k = _SKF_AD_OFF + _SKF_AD_PROTOCOL
            else:
                raise ValueError(f"the filter reads byte {k} of the cooked header")
        out.append(_INSN.pack(code, jt, jf, k))
    skip_loopback_out = [
        (_BPF_LD_W_ABS, 0, 0, _SKF_AD_OFF + _SKF_AD_PKTTYPE),
        (_BPF_JEQ_K, 0, 3, _PACKET_OUTGOING),  # not outgoing: the filter
        (_BPF_LD_W_ABS, 0, 0, _SKF_AD_OFF + _SKF_AD_IFINDEX),
        (_BPF_JEQ_K, 0, 1, loopback_index),  # not loopback: the filter
        (_BPF_RET_K, 0, 0, 0),
    ]
    return b"".join(_INSN.pack(*insn) for insn in skip_loopback_out) + b"".join(out)
