"""TCP headers quoted inside ICMP and ICMPv6 errors (RFC 792, RFC 4443 §2.4).

They are not segments, but tshark 4.0 numbers them: it dissects the quoted header as TCP
(raw sequence numbers, no analysis) and gives it the tcp.stream of its 4-tuple, opening a
new stream when the quote is the first sight of the 4-tuple, or when it is a SYN that
the reused-ports rule takes for a new connection (flows.py).  A quote does not set a
base sequence number, a window scale, the client/server roles or the FIN/RST state.  So
the connection walk takes them in file order between the segments, and they leave no
row.  tshark needs at least 16 bytes of the quoted TCP header (through the window) to
number it; fewer, and it is only ICMP.  The compiled frame walk (``frames.py``) finds
them: ICMP errors (RFC 792: destination unreachable, source quench, redirect, time
exceeded, parameter problem; RFC 4443: destination unreachable, packet too big, time
exceeded, parameter problem) whose quoted IP header carries TCP.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..engine.native import _seqwalk

#: the flags bit that marks a quoted header in the connection walk (csrc/seqwalk.h F_QUOTED)
QUOTED_FLAG: int = _seqwalk.F_QUOTED  # the flag bit walk_conversations reads, from its source


@dataclass(slots=True, eq=False)  # eq by identity: pandas compares frames' attrs
class QuotedHeaders:
    """One row per quoted TCP header: the frame of the ICMP error and the 4-tuple, flags
    and sequence number of the quoted segment."""

    frame: np.ndarray  # int64
    src: np.ndarray  # object: address text
    dst: np.ndarray
    sport: np.ndarray  # uint16
    dport: np.ndarray
    flags: np.ndarray  # uint16 (9 TCP flag bits)
    seq: np.ndarray  # uint32

    def __len__(self) -> int:
        return int(self.frame.shape[0])

    @classmethod
    def concat(cls, parts: list[QuotedHeaders]) -> QuotedHeaders:
        if not parts:
            return empty_quotes()
        return cls(*(np.concatenate([getattr(p, f) for p in parts])
                     for f in cls.__slots__))  # type: ignore[attr-defined]


def empty_quotes() -> QuotedHeaders:
    return QuotedHeaders(np.zeros(0, np.int64), np.zeros(0, object), np.zeros(0, object),
                         np.zeros(0, np.uint16), np.zeros(0, np.uint16),
                         np.zeros(0, np.uint16), np.zeros(0, np.uint32))


def quoted_fields(buf: np.ndarray, l4: np.ndarray) -> dict[str, np.ndarray]:
    """sport, dport, flags and seq of quoted TCP headers at ``l4`` (read by the same pass
    as a segment's header; a quote may hold only the 16 bytes through the window, and
    the pass reads nothing of bytes 16-19 when it is told the header ends at byte 20:
    no options)."""
    from .tcpheader import TCP_MIN_HEADER, tcp_headers

    tcp = tcp_headers(buf, l4, np.minimum(l4 + TCP_MIN_HEADER, buf.shape[0]))
    return {name: tcp[name] for name in ("sport", "dport", "flags", "seq")}
