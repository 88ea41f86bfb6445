"""Raw frames -> the columnar segment table (one row per TCP segment).

Theory of operation: one compiled walk over the frames (``frames.py``) finds, through
the link layer (``capture/linktypes.py``), IPv4 and IPv6 headers and any tunnels tshark
decodes by default (``tunnels.py``: the segment is the innermost one, with the inner
addresses, as tshark's last ``ip.src`` shows), where each TCP header starts and the
IP-declared segment length; the TCP header fields and options are read by one compiled
pass (``tcpheader.py``); the rest works on whole columns.  Lengths come from the IP
header, never from the captured bytes, so Ethernet padding is not payload (Wireshark
computes ``tcp.len`` the same way) and a snaplen-truncated segment keeps its header
fields and real length, marked ``truncated``.

Frames that are not TCP are counted by reason in :class:`DecodeCounts` and skipped.
IP fragments are counted, not reassembled (Wireshark reassembles IPv4 by default, so
its TCP row for a fragmented segment is at the last fragment's frame).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from functools import cache

import numpy as np

from ..capture.pcapfile import RawFrames
from ..vocab import Col, tcpdump_flag_str
from .columns import Coded, Columns
from .frames import (
    ST_BAD_IP,
    ST_FRAGMENT,
    ST_NOT_IP,
    ST_NOT_TCP,
    ST_QUOTE,
    ST_SHORT_TCP,
    ST_UNSUPPORTED_LINK,
    Rows,
    addresses,
    walk_frames,
)
from .quoted import QuotedHeaders, empty_quotes, quoted_fields
from .tcpheader import sack_column


@dataclass(slots=True)
class DecodeCounts:
    """Frames skipped by the decoder, by reason."""

    not_ip: int = 0  # ARP, LLDP, ... or a link header shorter than its type needs
    not_tcp: int = 0  # IP, but UDP, ICMP, ...
    fragments: int = 0  # IPv4 or IPv6 fragments (not reassembled)
    bad_ip: int = 0  # IP header cut by the snaplen or inconsistent lengths
    short_tcp: int = 0  # TCP header not captured or its data offset is impossible
    unsupported_link: int = 0  # frames of an interface whose link type is unsupported

    def add(self, other: DecodeCounts) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    def total(self) -> int:
        return sum(getattr(self, f.name) for f in fields(self))


def decode(raw: RawFrames) -> tuple[Columns, DecodeCounts]:
    """Decode one batch of raw frames into segment columns (decode stage, file order)."""
    table, counts, _ = decode_with_quotes(raw)
    return table, counts


def decode_with_quotes(raw: RawFrames) -> tuple[Columns, DecodeCounts, QuotedHeaders]:
    """The same, and the TCP headers quoted in ICMP errors (``quoted.py``), which the
    connection walk numbers like tshark but which are not segments."""
    buf = raw.buf
    fr = walk_frames(raw)  # link layer, IP, tunnels, quotes (frames.py)
    c = fr.counts
    counts = DecodeCounts(not_ip=c[ST_NOT_IP], not_tcp=c[ST_NOT_TCP] + c[ST_QUOTE],
                          fragments=c[ST_FRAGMENT], bad_ip=c[ST_BAD_IP],
                          short_tcp=c[ST_SHORT_TCP], unsupported_link=c[ST_UNSUPPORTED_LINK])
    quoted = _quoted(buf, raw, fr.quotes)

    seg = fr.tcp
    l4, l4_len, ipv, frame_end = seg.l4, seg.l4_len, seg.version, seg.end
    tcp = fr.headers  # the header, options included (tcpheader.py)
    src, dst = addresses(seg)
    # every frame a segment (as in most captures): the batch's columns as they are
    rows = slice(None) if len(seg.row) == len(raw) else seg.row

    table = {
        Col.FRAME: raw.frame[rows],
        Col.TS: raw.ts[rows],
        Col.TS_NS: raw.ts_ns[rows],
        Col.SRC: src,
        Col.SPORT: tcp["sport"],
        Col.DST: dst,
        Col.DPORT: tcp["dport"],
        Col.IP_VERSION: ipv.astype(np.uint8),
        Col.FLAGS: tcp["flags"],
        Col.FLAG_STR: _flag_strings(tcp["flags"]),
        Col.SEQ: tcp["seq"],
        Col.ACK: tcp["ack"],
        Col.LEN: (l4_len - tcp["thl"]).astype(np.uint32),
        Col.WIN_RAW: tcp["win"],
        Col.MSS: tcp["mss"],
        Col.WSCALE: tcp["wscale"],
        Col.SACK_PERM: tcp["sack_perm"],
        Col.SACK: sack_column(buf, tcp["sack_edges"], tcp["sack_at"]),
        Col.TSVAL: tcp["tsval"],
        Col.TSECR: tcp["tsecr"],
        Col.TRUNCATED: l4 + l4_len > frame_end,
    }
    return table, counts, quoted


def _quoted(buf, raw: RawFrames, q: Rows) -> QuotedHeaders:
    if len(q.row) == 0:
        return empty_quotes()
    src, dst = addresses(q)
    text = np.array(src.names, dtype=object)
    return QuotedHeaders(raw.frame[q.row], text[src.codes], text[dst.codes],
                         **quoted_fields(buf, q.l4))


def _flag_strings(flags: np.ndarray) -> Coded:
    present = np.flatnonzero(np.bincount(flags, minlength=1 << 9))
    lookup = np.zeros(max(int(present.max()) + 1, 1) if present.size else 1, np.int16)
    lookup[present] = np.arange(present.size)
    return Coded(lookup[flags], tuple(_flag_str(f) for f in present.tolist()))


@cache
def _flag_str(flags: int) -> str:
    return tcpdump_flag_str(flags)
