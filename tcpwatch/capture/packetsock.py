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
