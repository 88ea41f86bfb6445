"""Raw frames -> the columnar segment table (one row per TCP segment).

Theory of operation: every step works on whole columns.  The link layer gives each
frame an L3 offset and an IP version (``capture/linktypes.py``); IPv4 and IPv6 headers
give the L4 offset, protocol and the IP-declared segment length (``iplayer.py``), through
any tunnels tshark decodes by default (``tunnels.py``: the segment is the innermost one,
with the inner addresses, as tshark's last ``ip.src`` shows); the TCP header fields
and options are read by one compiled pass (``tcpheader.py``).  Lengths come from the IP
header, never from the captured bytes, so Ethernet padding is not payload (Wireshark
computes ``tcp.len`` the same way) and a snaplen-truncated segment keeps its header
fields and real length, marked ``truncated``.

Frames that are not TCP are counted by reason in :class:`DecodeCounts` and skipped.
IP fragments are counted, not reassembled (Wireshark reassembles IPv4 by default, so
its TCP row for a fragmented segment is at the last fragment's frame).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, fields

import numpy as np

from ..capture.bytes import bytes16, u32
from ..capture.linktypes import LINKTYPES
from ..capture.pcapfile import RawFrames
from ..vocab import Col, tcpdump_flag_str
from .columns import Coded, Columns, distinct, factorize, take
from .quoted import QuotedHeaders, find_quoted, quoted_fields
from .tcpheader import TCP_MIN_HEADER, sack_column, tcp_headers
from .tunnels import peel

IPPROTO_TCP = 6


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
    counts = DecodeCounts()
    buf = raw.buf
    n = len(raw)
    l3 = np.zeros(n, np.int64)
    version = np.zeros(n, np.int64)
    lt = raw.linktype
    for dlt in ([int(lt[0])] if n and (lt == lt[0]).all() else distinct(lt).tolist()):
        sel = raw.linktype == dlt
        if dlt not in LINKTYPES:
            counts.unsupported_link += int(sel.sum())
            continue
        l3[sel], version[sel] = LINKTYPES[dlt].decode(buf, raw.off[sel], raw.caplen[sel])
    end = raw.off + raw.caplen  # first byte past the captured frame
    counts.not_ip = int(((version == 0) & np.isin(raw.linktype, list(LINKTYPES))).sum())

    # -- IP, through any tunnels (iplayer.py, tunnels.py) ---------------------------------
    idx = np.flatnonzero(version != 0)  # file order, IPv4 and IPv6 alike
    ip, l3_in, ver_in = peel(buf, l3[idx], version[idx], end[idx],
                             raw.off[idx] + raw.origlen[idx])
    l3[idx], version[idx] = l3_in, ver_in
    counts.bad_ip = int((~ip.ok).sum())
    counts.fragments = int(ip.frag.sum())
    is_tcp = ip.ok & ~ip.frag & (ip.proto == IPPROTO_TCP)
    counts.not_tcp = int((ip.ok & ~ip.frag & (ip.proto != IPPROTO_TCP)).sum())
    l4, l4_len = ip.l4, ip.l4_len
    quoted = _quoted(buf, raw, idx, ip, end[idx])

    sel = np.flatnonzero(is_tcp)
    rows, l4, l4_len = idx[sel], l4[sel], l4_len[sel]
    frame_end = end[rows]
    tcp = tcp_headers(buf, l4, frame_end)  # the header, options included (tcpheader.py)
    thl = tcp["thl"]
    good = (thl >= TCP_MIN_HEADER) & (l4_len >= thl)  # thl 0: the header is not captured
    counts.short_tcp = int((~good).sum())
    keep = np.flatnonzero(good)
    rows, l4, l4_len, thl, frame_end = rows[keep], l4[keep], l4_len[keep], thl[keep], \
        frame_end[keep]
    tcp = {k: take(v, keep) for k, v in tcp.items()}
    ipv = version[rows]
    src, dst = _addresses(buf, l3[rows], ipv)

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
        Col.LEN: (l4_len - thl).astype(np.uint32),
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


def _quoted(buf, raw: RawFrames, idx, ip, end) -> QuotedHeaders:
    rows, q3, qver, q4 = find_quoted(buf, ip, end)
    src, dst = _addresses(buf, q3, qver)
    text = np.array(src.names, dtype=object)
    return QuotedHeaders(raw.frame[idx[rows]], text[src.codes], text[dst.codes],
                         **quoted_fields(buf, q4))


def _flag_strings(flags: np.ndarray) -> Coded:
    present = np.flatnonzero(np.bincount(flags, minlength=1 << 9))
    lookup = np.zeros(max(int(present.max()) + 1, 1) if present.size else 1, np.int16)
    lookup[present] = np.arange(present.size)
    return Coded(lookup[flags], tuple(tcpdump_flag_str(int(f)) for f in present))


def _addresses(buf: np.ndarray, l3: np.ndarray, ipv: np.ndarray):
    """Source and destination addresses as one pair of categoricals (shared names).

    Only distinct addresses are turned into text; rows hold small integer codes.
    """
    n = l3.shape[0]
    codes = np.empty((2, n), np.int32)
    names: list[str] = []
    is4 = ipv == 4
    r4, r6 = np.flatnonzero(is4), np.flatnonzero(~is4)
    if r4.size:
        both = np.concatenate([u32(buf, l3[r4] + 12), u32(buf, l3[r4] + 16)])
        c, uniq = factorize(both)
        codes[0, r4], codes[1, r4] = c[: r4.size], c[r4.size:]
        names += [str(ipaddress.IPv4Address(int(a))) for a in uniq]
    if r6.size:
        raw = np.concatenate([bytes16(buf, l3[r6] + 8), bytes16(buf, l3[r6] + 24)])
        uniq, c = np.unique(raw, axis=0, return_inverse=True)
        c = c.reshape(-1) + len(names)
        codes[0, r6], codes[1, r6] = c[: r6.size], c[r6.size:]
        names += [str(ipaddress.IPv6Address(bytes(a))) for a in uniq]
    names = tuple(names)
    return Coded(codes[0], names), Coded(codes[1], names)

