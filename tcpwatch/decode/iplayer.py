"""IPv4 and IPv6 headers, whole columns: where the transport header starts and how long
the datagram says it is.

Every row is parsed as IPv4 or IPv6 by its ``version`` (4 or 6; rows of another version
come back not ``ok``).  Lengths come from the IP header, never from the captured bytes,
so Ethernet padding is not payload (Wireshark computes ``tcp.len`` the same way);
``wire_end`` is where the enclosing layer says the datagram must end (the frame's wire
length, or the outer payload's end inside a tunnel): a zero length (TSO/GSO) means "up
to there", a longer one is cut there, as Wireshark does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..capture.bytes import u8, u16

#: Fixed IPv4 header fields: name -> (offset, width)  (RFC 791 §3.1)
IPV4_FIELDS = {"ver_ihl": (0, 1), "total_len": (2, 2), "frag": (6, 2), "proto": (9, 1),
               "src": (12, 4), "dst": (16, 4)}
IPV4_MIN_HEADER = 20
IPV4_MF_OFFSET_MASK = 0x3FFF  # "more fragments" bit + fragment offset

#: Fixed IPv6 header fields (RFC 8200 §3)
IPV6_FIELDS = {"payload_len": (4, 2), "next_header": (6, 1), "src": (8, 16), "dst": (24, 16)}
IPV6_HEADER = 40
#: Extension headers skipped to reach the transport: hop-by-hop, routing, destination
#: options, mobility, HIP, shim6, experimental (length in 8-octet units after the first
#: 8).  AH (51) counts in 4-octet units.  Fragment (44) marks a fragment.
IPV6_EXT_8 = (0, 43, 60, 135, 139, 140, 253, 254)
IPV6_AH = 51
IPV6_FRAGMENT = 44
IPV6_MAX_EXT = 8

_READ = {1: u8, 2: u16}


def _field(buf, base, spec):
    offset, width = spec
    return _READ[width](buf, base + offset)


@dataclass(slots=True)
class IpLayer:
    """One IP header per row (arrays of the rows' length)."""

    ok: np.ndarray  # bool: a header of this version, captured, lengths consistent
    frag: np.ndarray  # bool: a fragment (not reassembled)
    proto: np.ndarray  # int64: IPv4 protocol / last IPv6 next header
    l4: np.ndarray  # int64: offset of the transport header
    l4_len: np.ndarray  # int64: transport header + payload, as the IP header says


def parse_ip(buf: np.ndarray, l3: np.ndarray, version: np.ndarray, end: np.ndarray,
             wire_end: np.ndarray) -> IpLayer:
    """Parse the IP header at ``l3`` of every row (``end``: first byte not captured)."""
    n = l3.shape[0]
    out = IpLayer(np.zeros(n, bool), np.zeros(n, bool), np.zeros(n, np.int64),
                  np.zeros(n, np.int64), np.zeros(n, np.int64))
    for ver, parse in ((4, _ipv4), (6, _ipv6)):
        rows = np.flatnonzero(version == ver)
        if rows.size:
            part = parse(buf, l3[rows], end[rows], wire_end[rows])
            for name in IpLayer.__slots__:  # type: ignore[attr-defined]
                getattr(out, name)[rows] = getattr(part, name)
    return out


def _ipv4(buf, l3, end, wire_end) -> IpLayer:
    """RFC 791."""
    ver_ihl = _field(buf, l3, IPV4_FIELDS["ver_ihl"])
    ihl = (ver_ihl & 0xF).astype(np.int64) * 4
    total = _field(buf, l3, IPV4_FIELDS["total_len"]).astype(np.int64)
    total = np.minimum(np.where(total == 0, wire_end - l3, total), wire_end - l3)
    ok = (l3 + IPV4_MIN_HEADER <= end) & ((ver_ihl >> 4) == 4) & (ihl >= IPV4_MIN_HEADER) \
        & (total >= ihl)
    frag = ok & ((_field(buf, l3, IPV4_FIELDS["frag"]) & IPV4_MF_OFFSET_MASK) != 0)
    return IpLayer(ok, frag, _field(buf, l3, IPV4_FIELDS["proto"]).astype(np.int64),
                   l3 + ihl, total - ihl)


def _ipv6(buf, l3, end, wire_end) -> IpLayer:
    """RFC 8200, extension headers skipped."""
    ok = l3 + IPV6_HEADER <= end
    room = wire_end - l3 - IPV6_HEADER
    plen = _field(buf, l3, IPV6_FIELDS["payload_len"]).astype(np.int64)
    plen = np.minimum(np.where(plen == 0, room, plen), room)
    nh = _field(buf, l3, IPV6_FIELDS["next_header"]).astype(np.int64)
    l4 = l3 + IPV6_HEADER
    frag = np.zeros(l3.shape, bool)
    for _ in range(IPV6_MAX_EXT):
        frag |= nh == IPV6_FRAGMENT
        ext = (np.isin(nh, IPV6_EXT_8) | (nh == IPV6_AH)) & (l4 + 2 <= end)
        if not ext.any():
            break
        hlen = u8(buf, l4 + 1).astype(np.int64)
        hlen = np.where(nh == IPV6_AH, (hlen + 2) * 4, (hlen + 1) * 8)
        nh = np.where(ext, u8(buf, l4), nh)
        l4 = np.where(ext, l4 + hlen, l4)
    return IpLayer(ok, frag & ok, nh, l4, plen - (l4 - l3 - IPV6_HEADER))
