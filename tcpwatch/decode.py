"""Raw frames -> the columnar segment table (one row per TCP segment).

Theory of operation: every step works on whole columns.  The link layer gives each
frame an L3 offset and an IP version (``capture/linktypes.py``); IPv4 and IPv6 headers
give the L4 offset, protocol and the IP-declared segment length; the TCP header fields
are gathered at fixed offsets (``TCP_FIELDS``) and the options are parsed in lock-step
(``options.py``).  Lengths come from the IP header, never from the captured bytes, so
Ethernet padding is not payload (Wireshark computes ``tcp.len`` the same way) and a
snaplen-truncated segment keeps its header fields and real length, marked ``truncated``.

Frames that are not TCP are counted by reason in :class:`DecodeCounts` and skipped.
IP fragments are counted, not reassembled (Wireshark reassembles IPv4 by default, so
its TCP row for a fragmented segment is at the last fragment's frame).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, fields

import numpy as np
import pandas as pd

from .capture.bytes import bytes16, u8, u16, u32
from .capture.linktypes import LINKTYPES
from .capture.pcapfile import RawFrames
from .options import parse_options
from .vocab import Col, tcpdump_flag_str

IPPROTO_TCP = 6

#: Fixed IPv4 header fields: name -> (offset, width)  (RFC 791 §3.1)
IPV4_FIELDS = {"ver_ihl": (0, 1), "total_len": (2, 2), "frag": (6, 2), "proto": (9, 1),
               "src": (12, 4), "dst": (16, 4)}
IPV4_MIN_HEADER = 20
IPV4_MF_OFFSET_MASK = 0x3FFF  # "more fragments" bit + fragment offset

#: Fixed IPv6 header fields (RFC 8200 §3)
IPV6_FIELDS = {"payload_len": (4, 2), "next_header": (6, 1), "src": (8, 16), "dst": (24, 16)}
IPV6_HEADER = 40
#: Extension headers skipped to reach TCP: hop-by-hop, routing, destination options,
#: mobility, HIP, shim6, experimental.  (next header, length in 8-octet units after the
#: first 8).  AH (51) counts in 4-octet units.  Fragment (44) marks a fragment.
IPV6_EXT_8 = (0, 43, 60, 135, 139, 140, 253, 254)
IPV6_AH = 51
IPV6_FRAGMENT = 44
IPV6_MAX_EXT = 8

#: TCP header fields: name -> (offset, width)  (RFC 9293 §3.1)
TCP_FIELDS = {"sport": (0, 2), "dport": (2, 2), "seq": (4, 4), "ack": (8, 4),
              "offset_ae": (12, 1), "flags_low": (13, 1), "win": (14, 2)}
TCP_MIN_HEADER = 20

_READ = {1: u8, 2: u16, 4: u32}


def _field(buf, base, spec):
    offset, width = spec
    return _READ[width](buf, base + offset)


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


Columns = dict[str, object]  # column name -> numpy / pandas / Arrow array, one row per segment


def decode(raw: RawFrames) -> tuple[Columns, DecodeCounts]:
    """Decode one batch of raw frames into segment columns (decode stage, file order)."""
    counts = DecodeCounts()
    buf = raw.buf
    n = len(raw)
    l3 = np.zeros(n, np.int64)
    version = np.zeros(n, np.int64)
    for dlt in np.unique(raw.linktype).tolist():
        sel = raw.linktype == dlt
        if dlt not in LINKTYPES:
            counts.unsupported_link += int(sel.sum())
            continue
        l3[sel], version[sel] = LINKTYPES[dlt].decode(buf, raw.off[sel], raw.caplen[sel])
    end = raw.off + raw.caplen  # first byte past the captured frame
    counts.not_ip = int(((version == 0) & np.isin(raw.linktype, list(LINKTYPES))).sum())

    # -- IPv4 ------------------------------------------------------------------------
    v4 = np.flatnonzero(version == 4)
    b = l3[v4]
    ver_ihl = _field(buf, b, IPV4_FIELDS["ver_ihl"])
    ihl = (ver_ihl & 0xF).astype(np.int64) * 4
    total = _field(buf, b, IPV4_FIELDS["total_len"]).astype(np.int64)
    # TSO/GSO captures carry total length 0: the frame length is the datagram length
    wire_end = raw.off[v4] + raw.origlen[v4]
    total = np.where(total == 0, wire_end - b, total)
    # a length past the end of the frame is cut to the frame, as Wireshark does
    total = np.minimum(total, wire_end - b)
    ok4 = (b + IPV4_MIN_HEADER <= end[v4]) & ((ver_ihl >> 4) == 4) & (ihl >= IPV4_MIN_HEADER) \
        & (total >= ihl)
    frag4 = ok4 & ((_field(buf, b, IPV4_FIELDS["frag"]) & IPV4_MF_OFFSET_MASK) != 0)
    proto4 = _field(buf, b, IPV4_FIELDS["proto"])

    # -- IPv6 ------------------------------------------------------------------------
    v6 = np.flatnonzero(version == 6)
    b6 = l3[v6]
    ok6 = b6 + IPV6_HEADER <= end[v6]
    plen = _field(buf, b6, IPV6_FIELDS["payload_len"]).astype(np.int64)
    wire6 = raw.off[v6] + raw.origlen[v6] - b6 - IPV6_HEADER
    plen = np.minimum(np.where(plen == 0, wire6, plen), wire6)
    nh = _field(buf, b6, IPV6_FIELDS["next_header"]).astype(np.int64)
    l4_6 = b6 + IPV6_HEADER
    frag6 = np.zeros(v6.size, bool)
    for _ in range(IPV6_MAX_EXT):
        frag6 |= nh == IPV6_FRAGMENT
        ext = np.isin(nh, IPV6_EXT_8) | (nh == IPV6_AH)
        ext &= l4_6 + 2 <= end[v6]
        if not ext.any():
            break
        hlen = u8(buf, l4_6 + 1).astype(np.int64)
        hlen = np.where(nh == IPV6_AH, (hlen + 2) * 4, (hlen + 1) * 8)
        nh = np.where(ext, u8(buf, l4_6), nh)
        l4_6 = np.where(ext, l4_6 + hlen, l4_6)
    frag6 &= ok6

    # -- gather the TCP candidates -------------------------------------------------------
    idx = np.concatenate([v4, v6])
    ip_ok = np.concatenate([ok4, ok6])
    frag = np.concatenate([frag4, frag6])
    proto = np.concatenate([proto4.astype(np.int64), nh])
    l4 = np.concatenate([b + ihl, l4_6])
    l4_len = np.concatenate([total - ihl, plen - (l4_6 - b6 - IPV6_HEADER)])
    counts.bad_ip = int((~ip_ok).sum())
    counts.fragments = int(frag.sum())
    is_tcp = ip_ok & ~frag & (proto == IPPROTO_TCP)
    counts.not_tcp = int((ip_ok & ~frag & (proto != IPPROTO_TCP)).sum())

    sel = np.flatnonzero(is_tcp)
    rows, l4, l4_len = idx[sel], l4[sel], l4_len[sel]
    frame_end = end[rows]
    thl = (_field(buf, l4, TCP_FIELDS["offset_ae"]) >> 4).astype(np.int64) * 4
    good = (l4 + TCP_MIN_HEADER <= frame_end) & (thl >= TCP_MIN_HEADER) & (l4_len >= thl)
    counts.short_tcp = int((~good).sum())
    keep = np.flatnonzero(good)
    rows, l4, l4_len, thl, frame_end = rows[keep], l4[keep], l4_len[keep], thl[keep], \
        frame_end[keep]
    ipv = version[rows]

    flags = ((_field(buf, l4, TCP_FIELDS["offset_ae"]) & 1).astype(np.uint16) << 8) | \
        _field(buf, l4, TCP_FIELDS["flags_low"])
    opts = parse_options(buf, l4 + TCP_MIN_HEADER, np.minimum(l4 + thl, frame_end))
    src, dst = _addresses(buf, l3[rows], ipv)

    table = {
        Col.FRAME: raw.frame[rows],
        Col.TS: raw.ts[rows],
        Col.TS_NS: raw.ts_ns[rows],
        Col.SRC: src,
        Col.SPORT: _field(buf, l4, TCP_FIELDS["sport"]),
        Col.DST: dst,
        Col.DPORT: _field(buf, l4, TCP_FIELDS["dport"]),
        Col.IP_VERSION: ipv.astype(np.uint8),
        Col.FLAGS: flags,
        Col.FLAG_STR: _flag_strings(flags),
        Col.SEQ: _field(buf, l4, TCP_FIELDS["seq"]),
        Col.ACK: _field(buf, l4, TCP_FIELDS["ack"]),
        Col.LEN: (l4_len - thl).astype(np.uint32),
        Col.WIN_RAW: _field(buf, l4, TCP_FIELDS["win"]),
        Col.MSS: opts["mss"],
        Col.WSCALE: opts["wscale"],
        Col.SACK_PERM: opts["sack_perm"],
        Col.SACK: pd.arrays.ArrowExtensionArray(opts["sack"]),
        Col.TSVAL: opts["tsval"],
        Col.TSECR: opts["tsecr"],
        Col.TRUNCATED: l4 + l4_len > frame_end,
    }
    return table, counts


def _flag_strings(flags: np.ndarray) -> pd.Categorical:
    present = np.flatnonzero(np.bincount(flags, minlength=1 << 9))
    lookup = np.zeros(max(int(present.max()) + 1, 1) if present.size else 1, np.int16)
    lookup[present] = np.arange(present.size)
    return pd.Categorical.from_codes(lookup[flags], [tcpdump_flag_str(int(f)) for f in present])


def _addresses(buf: np.ndarray, l3: np.ndarray, ipv: np.ndarray):
    """Source and destination addresses as one pair of categoricals (shared categories).

    Only distinct addresses are turned into text; rows hold small integer codes.
    """
    n = l3.shape[0]
    codes = np.empty((2, n), np.int32)
    names: list[str] = []
    is4 = ipv == 4
    r4, r6 = np.flatnonzero(is4), np.flatnonzero(~is4)
    if r4.size:
        both = np.concatenate([u32(buf, l3[r4] + 12), u32(buf, l3[r4] + 16)])
        c, uniq = pd.factorize(both)
        codes[0, r4], codes[1, r4] = c[: r4.size], c[r4.size:]
        names += [str(ipaddress.IPv4Address(int(a))) for a in uniq]
    if r6.size:
        raw = np.concatenate([bytes16(buf, l3[r6] + 8), bytes16(buf, l3[r6] + 24)])
        uniq, c = np.unique(raw, axis=0, return_inverse=True)
        c = c.reshape(-1) + len(names)
        codes[0, r6], codes[1, r6] = c[: r6.size], c[r6.size:]
        names += [str(ipaddress.IPv6Address(bytes(a))) for a in uniq]
    return (pd.Categorical.from_codes(codes[0], names, validate=False),
            pd.Categorical.from_codes(codes[1], names, validate=False))
