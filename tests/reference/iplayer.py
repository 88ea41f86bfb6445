"""Reference of the compiled frame walk (``csrc/frames.c``), whole columns: IPv4 and IPv6
headers, the tunnels of ``tcpwatch/decode/tunnels.py`` peeled one layer at a time for all
rows, TCP headers quoted in ICMP errors, and the addresses as codes.  This is the numpy
decoder tcpwatch ran before the walk was compiled; the test beside it checks that both
give the same on every capture of the suite and on generated frames.

Lengths come from the IP header, never from the captured bytes; ``wire_end`` is where the
enclosing layer says the datagram must end (the frame's wire length, or the outer
payload's end inside a tunnel): a zero length (TSO/GSO) means "up to there", a longer one
is cut there, as Wireshark does.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import numpy as np

from tcpwatch import _seqwalk as S
from tcpwatch.capture.bytes import bytes16, u8, u16, u32
from tcpwatch.capture.linktypes import LINKTYPES
from tcpwatch.capture.pcapfile import RawFrames
from tcpwatch.decode.columns import Coded, factorize
from tcpwatch.decode.tunnels import TUNNEL_PORTS, UDP_PORTS_BELOW_TUNNELS

from .linklayer import by_ethertype, decoder


@dataclass(slots=True)
class IpLayer:
    """One IP header per row (arrays of the rows' length)."""

    ok: np.ndarray  # bool: a header of this version, captured, lengths consistent
    frag: np.ndarray  # bool: a fragment (not reassembled)
    proto: np.ndarray  # int64: IPv4 protocol / last IPv6 next header
    l4: np.ndarray  # int64: offset of the transport header
    l4_len: np.ndarray  # int64: transport header + payload, as the IP header says


def parse_ip(buf, l3, version, end, wire_end) -> IpLayer:
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
    ver_ihl = u8(buf, l3)
    ihl = (ver_ihl & 0xF).astype(np.int64) * 4
    total = u16(buf, l3 + 2).astype(np.int64)
    total = np.minimum(np.where(total == 0, wire_end - l3, total), wire_end - l3)
    ok = (l3 + S.IPV4_MIN_HEADER <= end) & ((ver_ihl >> 4) == 4) & (ihl >= S.IPV4_MIN_HEADER) \
        & (total >= ihl)
    frag = ok & ((u16(buf, l3 + 6) & S.IPV4_MF_OFFSET_MASK) != 0)
    return IpLayer(ok, frag, u8(buf, l3 + 9).astype(np.int64), l3 + ihl, total - ihl)


def _ipv6(buf, l3, end, wire_end) -> IpLayer:
    """RFC 8200, extension headers skipped."""
    ok = l3 + S.IPV6_HEADER <= end
    room = wire_end - l3 - S.IPV6_HEADER
    plen = u16(buf, l3 + 4).astype(np.int64)
    plen = np.minimum(np.where(plen == 0, room, plen), room)
    nh = u8(buf, l3 + 6).astype(np.int64)
    l4 = l3 + S.IPV6_HEADER
    frag = np.zeros(l3.shape, bool)
    for _ in range(S.IPV6_MAX_EXT):
        frag |= nh == S.IPV6_FRAGMENT
        ext = (np.isin(nh, S.IPV6_EXT_8) | (nh == S.IPV6_AH)) & (l4 + 2 <= end)
        if not ext.any():
            break
        hlen = u8(buf, l4 + 1).astype(np.int64)
        hlen = np.where(nh == S.IPV6_AH, (hlen + 2) * 4, (hlen + 1) * 8)
        nh = np.where(ext, u8(buf, l4), nh)
        l4 = np.where(ext, l4 + hlen, l4)
    return IpLayer(ok, frag & ok, nh, l4, plen - (l4 - l3 - S.IPV6_HEADER))


# -- tunnels ---------------------------------------------------------------------------
def _ip_by_nibble(buf, pos, allowed):
    nibble = (u8(buf, pos) >> 4).astype(np.int64)
    return np.where(np.isin(nibble, allowed), nibble, 0)


def _ethernet(buf, pos, end):
    l3, version = by_ethertype(buf, pos + S.ETH_HEADER, u16(buf, pos + 12).astype(np.int64),
                               end)
    return l3, np.where(pos + S.ETH_HEADER <= end, version, 0)


def _by_protocol_type(buf, ptype, pos, end):
    """GRE/Geneve protocol type (an EtherType) -> inner (l3, version)."""
    eth_l3, eth_ver = _ethernet(buf, pos, end)
    version = np.select([ptype == S.ETH_IPV4, ptype == S.ETH_IPV6, ptype == S.ETH_TEB],
                        [_ip_by_nibble(buf, pos, (4, 6)), _ip_by_nibble(buf, pos, (6,)),
                         eth_ver], 0)
    return np.where(ptype == S.ETH_TEB, eth_l3, pos), version


def _gre(buf, g, end):
    flags = u16(buf, g).astype(np.int64)
    hlen = S.GRE_BASE + 4 * (((flags & S.GRE_C) != 0).astype(np.int64)
                             + ((flags & S.GRE_K) != 0) + ((flags & S.GRE_S) != 0))
    l3, version = _by_protocol_type(buf, u16(buf, g + 2).astype(np.int64), g + hlen, end)
    plain = ((flags & (S.GRE_R | S.GRE_VERSION)) == 0) & (g + S.GRE_BASE <= end)
    return l3, np.where(plain, version, 0)


def _vxlan(buf, v, end):
    return _ethernet(buf, v + S.VXLAN_HEADER, end)


def _geneve(buf, v, end):
    opts = (u8(buf, v) & 0x3F).astype(np.int64) * 4
    return _by_protocol_type(buf, u16(buf, v + 2).astype(np.int64),
                             v + S.GENEVE_HEADER + opts, end)


def _teredo(buf, t, end):
    auth = u16(buf, t) == S.TEREDO_AUTH
    t = np.where(auth, t + S.TEREDO_AUTH_FIXED + u8(buf, t + 2) + u8(buf, t + 3), t)
    t = np.where(u16(buf, t) == S.TEREDO_ORIGIN, t + S.TEREDO_ORIGIN_LEN, t)
    return t, _ip_by_nibble(buf, t, (6,))


_BY_KIND = {S.TUN_GRE: _gre, S.TUN_VXLAN: _vxlan, S.TUN_GENEVE: _geneve,
            S.TUN_TEREDO: _teredo}
_CARRIERS = (S.IPPROTO_IPIP, S.IPPROTO_IPV6, S.IPPROTO_GRE, S.IPPROTO_ETHERIP, S.IPPROTO_UDP)


def _udp_port(buf, l4):
    """The port whose dissector tshark uses: the lower one if tshark has one for it."""
    a, b = u16(buf, l4).astype(np.int64), u16(buf, l4 + 2).astype(np.int64)
    low, high = np.minimum(a, b), np.maximum(a, b)
    return np.where(np.isin(low, UDP_PORTS_BELOW_TUNNELS), low, high)


def inner_layer(buf, ip: IpLayer, end) -> tuple[np.ndarray, np.ndarray]:
    """(l3, version) of the datagram each row's IP payload carries; version 0 where the
    payload is not a tunnel."""
    n = ip.proto.shape[0]
    l3, version = np.zeros(n, np.int64), np.zeros(n, np.int64)
    cand = np.flatnonzero(ip.ok & ~ip.frag & np.isin(ip.proto, _CARRIERS))
    if cand.size == 0:
        return l3, version
    l4, proto, cend = ip.l4[cand], ip.proto[cand], end[cand]
    c3, cver = np.zeros(cand.size, np.int64), np.zeros(cand.size, np.int64)

    def put(sel, fn, pos):
        rows = np.flatnonzero(sel)
        if rows.size:
            c3[rows], cver[rows] = fn(buf, pos[rows], cend[rows])

    put(proto == S.IPPROTO_IPIP, lambda b, p, e: (p, _ip_by_nibble(b, p, (4, 6))), l4)
    put(proto == S.IPPROTO_IPV6, lambda b, p, e: (p, _ip_by_nibble(b, p, (6,))), l4)
    put(proto == S.IPPROTO_GRE, _gre, l4)
    put(proto == S.IPPROTO_ETHERIP, lambda b, p, e: _ethernet(b, p + 2, e), l4)
    udp = (proto == S.IPPROTO_UDP) & (l4 + S.UDP_HEADER <= cend)
    if udp.any():
        port = np.where(udp, _udp_port(buf, l4), 0)
        for number, kind in TUNNEL_PORTS.items():
            put(port == number, _BY_KIND[kind], l4 + S.UDP_HEADER)
    # the inner header must start inside the outer payload
    cver[(c3 < l4) | (c3 >= l4 + ip.l4_len[cand])] = 0
    l3[cand], version[cand] = c3, cver
    return l3, version


def peel(buf, l3, version, end, wire_end) -> tuple[IpLayer, np.ndarray, np.ndarray]:
    """The innermost IP layer of every row, with its ``l3`` offset and ``version``."""
    l3, version, wire_end = l3.copy(), version.copy(), wire_end.copy()
    ip = parse_ip(buf, l3, version, end, wire_end)
    active = np.arange(l3.shape[0])
    layer = ip
    for _ in range(S.MAX_DEPTH):
        inner_l3, inner_ver = inner_layer(buf, layer, end[active])
        moved = np.flatnonzero(inner_ver != 0)
        if moved.size == 0:
            break
        rows = active[moved]
        wire_end[rows] = layer.l4[moved] + layer.l4_len[moved]
        l3[rows], version[rows] = inner_l3[moved], inner_ver[moved]
        layer = parse_ip(buf, l3[rows], version[rows], end[rows], wire_end[rows])
        for name in IpLayer.__slots__:  # type: ignore[attr-defined]
            getattr(ip, name)[rows] = getattr(layer, name)
        active = rows
    return ip, l3, version


def find_quoted(buf, ip: IpLayer, end):
    """Rows that are ICMP errors quoting enough of a TCP header; with the quoted IP
    header's offset, version and parse."""
    usable = ip.ok & ~ip.frag & (ip.l4 + S.ICMP_HEADER <= end)
    kind = u8(buf, ip.l4)
    err = usable & (((ip.proto == S.IPPROTO_ICMP) & np.isin(kind, S.ICMP_ERRORS))
                    | ((ip.proto == S.IPPROTO_ICMPV6) & np.isin(kind, S.ICMPV6_ERRORS)))
    rows = np.flatnonzero(err)
    q3 = ip.l4[rows] + S.ICMP_HEADER
    nibble = (u8(buf, q3) >> 4).astype(np.int64)
    qver = np.where(np.isin(nibble, (4, 6)), nibble, 0)
    quote = parse_ip(buf, q3, qver, end[rows], ip.l4[rows] + ip.l4_len[rows])
    tcp = quote.ok & ~quote.frag & (quote.proto == S.IPPROTO_TCP) & \
        (quote.l4 + S.QUOTED_TCP_NEEDED <= end[rows])
    keep = np.flatnonzero(tcp)
    return rows[keep], q3[keep], qver[keep], quote.l4[keep], quote.l4_len[keep]


def walk_frames(raw: RawFrames) -> tuple[np.ndarray, np.ndarray]:
    """What ``walk_frames`` of the compiled module gives: (out (4, n): l3, version, l4,
    l4_len; status), computed by whole columns."""
    buf, n = raw.buf, len(raw)
    l3, version = np.zeros(n, np.int64), np.zeros(n, np.int64)
    status = np.full(n, S.ST_NOT_IP, np.uint8)
    for dlt in np.unique(raw.linktype).tolist():
        sel = raw.linktype == dlt
        if dlt not in LINKTYPES:
            status[sel] = S.ST_UNSUPPORTED_LINK
            continue
        l3[sel], version[sel] = decoder(LINKTYPES[dlt])(buf, raw.off[sel], raw.caplen[sel])
    end = raw.off + raw.caplen
    out = np.zeros((4, n), np.int64)
    idx = np.flatnonzero(version != 0)
    ip, l3_in, ver_in = peel(buf, l3[idx], version[idx], end[idx],
                             raw.off[idx] + raw.origlen[idx])
    out[:, idx] = l3_in, ver_in, ip.l4, ip.l4_len
    st = np.where(ip.ok, np.where(ip.frag, S.ST_FRAGMENT, S.ST_NOT_TCP), S.ST_BAD_IP)
    tcp = ip.ok & ~ip.frag & (ip.proto == S.IPPROTO_TCP)
    thl = (u8(buf, ip.l4 + 12) >> 4).astype(np.int64) * 4
    thl = np.where(ip.l4 + S.TCP_MIN_HEADER <= end[idx], thl, 0)
    good = (thl >= S.TCP_MIN_HEADER) & (ip.l4_len >= thl)
    st = np.where(tcp, np.where(good, S.ST_TCP, S.ST_SHORT_TCP), st)
    rows, q3, qver, q4, qlen = find_quoted(buf, ip, end[idx])
    st[rows] = S.ST_QUOTE
    out[:, idx[rows]] = q3, qver, q4, qlen
    status[idx] = st
    return out, status


def addresses(buf, l3, ipv) -> tuple[Coded, Coded]:
    """Source and destination addresses as one pair of categoricals (shared names)."""
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
    return Coded(codes[0], tuple(names)), Coded(codes[1], tuple(names))
