"""Tunnels: the IP datagram inside an IP datagram, peeled one layer at a time for all rows.

The encapsulations are the ones tshark 4.0 decodes by default (its ``ip.proto``,
``gre.proto`` and ``udp.port`` dissector tables), so the TCP segment tcpwatch reports is
the one tshark's last ``ip.src``/``tcp.*`` fields describe:

* IP protocol 4 (IP in IP, RFC 2003) and 41 (IPv6 in IP, RFC 4213), in IPv4 or IPv6;
* IP protocol 47, GRE version 0 (RFC 2784/2890: checksum, key and sequence fields
  skipped) carrying IPv4 (0x0800), IPv6 (0x86DD) or Ethernet (0x6558, "transparent
  Ethernet bridging", e.g. NVGRE);
* IP protocol 97, EtherIP (RFC 3378: 2 bytes, then Ethernet);
* UDP to or from port 4754 (GRE in UDP, RFC 8086), 4789 (VXLAN, RFC 7348: 8 bytes, then
  Ethernet), 6081 (Geneve, RFC 8926: 8 bytes plus options; Ethernet or IP) and 3544
  (Teredo, RFC 4380: optional authentication and origin indication, then IPv6).

Which UDP port decides follows Wireshark's UDP dissector: the lower port is tried first,
then the higher one.  So a datagram between a tunnel port and a *lower* port that tshark
has a dissector for (DNS, NTP, ...) is not a tunnel.  ``UDP_PORTS_BELOW_TUNNELS`` lists
those lower ports (``tshark -G decodes`` of tshark 4.0, ``udp.port`` entries below 6081).

Inner Ethernet headers go through the same VLAN/PPPoE/MPLS skipping as the outer link
layer.  A layer that does not fit in the captured bytes, an IP fragment (not reassembled)
and GRE with a routing field stop the peeling: the row stays at the last IP header.
"""

from __future__ import annotations

import numpy as np

from ..capture.bytes import u8, u16
from ..capture.linktypes import ETH_IPV4, ETH_IPV6, _by_ethertype
from .iplayer import IpLayer, parse_ip

MAX_DEPTH = 8  # tunnels inside tunnels, at most

IPPROTO_IPIP, IPPROTO_IPV6, IPPROTO_GRE, IPPROTO_ETHERIP, IPPROTO_UDP = 4, 41, 47, 97, 17
UDP_HEADER = 8
ETH_HEADER = 14
ETH_TEB = 0x6558  # transparent Ethernet bridging

GRE_C, GRE_R, GRE_K, GRE_S, GRE_VERSION = 0x8000, 0x4000, 0x2000, 0x1000, 0x0007
GRE_BASE = 4

PORT_GRE, PORT_VXLAN, PORT_GENEVE, PORT_TEREDO = 4754, 4789, 6081, 3544
TUNNEL_PORTS = (PORT_GRE, PORT_VXLAN, PORT_GENEVE, PORT_TEREDO)
VXLAN_HEADER = 8
GENEVE_HEADER = 8
TEREDO_AUTH, TEREDO_ORIGIN = 0x0001, 0x0000
TEREDO_AUTH_FIXED = 4 + 8 + 1  # type + id-len + au-len, nonce, confirmation
TEREDO_ORIGIN_LEN = 8

#: UDP ports below 6081 that tshark 4.0 dissects (its "udp.port" table).
UDP_PORTS_BELOW_TUNNELS = np.array([
    7, 13, 19, 37, 49, 53, 67, 68, 69, 88, 111, 123, 137, 138, 161, 162, 173, 177, 213, 269,
    319, 320, 389, 427, 434, 464, 473, 496, 500, 502, 513, 514, 520, 521, 524, 525, 539, 546,
    547, 573, 623, 631, 646, 654, 664, 698, 699, 701, 750, 853, 854, 910, 921, 925, 1001,
    1044, 1052, 1069, 1089, 1090, 1091, 1101, 1113, 1153, 1194, 1293, 1547, 1628, 1629,
    1645, 1646, 1700, 1701, 1718, 1719, 1745, 1755, 1812, 1813, 1900, 1985, 2029, 2048,
    2055, 2067, 2099, 2123, 2152, 2157, 2190, 2221, 2222, 2231, 2246, 2268, 2269, 2313,
    2345, 2424, 2427, 2428, 2727, 2887, 2944, 2945, 2948, 2949, 2960, 3000, 3121, 3130,
    3205, 3222, 3250, 3333, 3343, 3357, 3386, 3389, 3452, 3455, 3478, 3483, 3503, 3540,
    3544, 3567, 3622, 3671, 3784, 3785, 3792, 3799, 3804, 3819, 3863, 3956, 4000, 4011,
    4058, 4305, 4306, 4307, 4341, 4342, 4500, 4533, 4534, 4551, 4555, 4556, 4569, 4665,
    4672, 4713, 4729, 4739, 4754, 4784, 4789, 4790, 4791, 4991, 5000, 5001, 5031, 5050,
    5060, 5072, 5094, 5246, 5247, 5264, 5265, 5350, 5351, 5353, 5355, 5404, 5405, 5436,
    5555, 5567, 5678, 5683, 5684, 5868, 6060, 6073])


def _ip_by_nibble(buf, pos, allowed):
    nibble = (u8(buf, pos) >> 4).astype(np.int64)
    return np.where(np.isin(nibble, allowed), nibble, 0)


def _ethernet(buf, pos, end):
    l3, version = _by_ethertype(buf, pos + ETH_HEADER, u16(buf, pos + 12).astype(np.int64),
                                end)
    return l3, np.where(pos + ETH_HEADER <= end, version, 0)


def _by_protocol_type(buf, ptype, pos, end):
    """GRE/Geneve protocol type (an EtherType) -> inner (l3, version)."""
    eth_l3, eth_ver = _ethernet(buf, pos, end)
    version = np.select([ptype == ETH_IPV4, ptype == ETH_IPV6, ptype == ETH_TEB],
                        [_ip_by_nibble(buf, pos, (4, 6)), _ip_by_nibble(buf, pos, (6,)),
                         eth_ver], 0)
    return np.where(ptype == ETH_TEB, eth_l3, pos), version


def _gre(buf, g, end):
    flags = u16(buf, g).astype(np.int64)
    hlen = GRE_BASE + 4 * (((flags & GRE_C) != 0).astype(np.int64)
                           + ((flags & GRE_K) != 0) + ((flags & GRE_S) != 0))
    l3, version = _by_protocol_type(buf, u16(buf, g + 2).astype(np.int64), g + hlen, end)
    plain = ((flags & (GRE_R | GRE_VERSION)) == 0) & (g + GRE_BASE <= end)
    return l3, np.where(plain, version, 0)


def _vxlan(buf, v, end):
    return _ethernet(buf, v + VXLAN_HEADER, end)


def _geneve(buf, v, end):
    opts = (u8(buf, v) & 0x3F).astype(np.int64) * 4
    return _by_protocol_type(buf, u16(buf, v + 2).astype(np.int64), v + GENEVE_HEADER + opts,
                             end)


def _teredo(buf, t, end):
    auth = u16(buf, t) == TEREDO_AUTH
    t = np.where(auth, t + TEREDO_AUTH_FIXED + u8(buf, t + 2) + u8(buf, t + 3), t)
    t = np.where(u16(buf, t) == TEREDO_ORIGIN, t + TEREDO_ORIGIN_LEN, t)
    return t, _ip_by_nibble(buf, t, (6,))


_UDP_TUNNELS = {PORT_GRE: _gre, PORT_VXLAN: _vxlan, PORT_GENEVE: _geneve,
                PORT_TEREDO: _teredo}


def _udp_port(buf, l4):
    """The port whose dissector tshark uses: the lower one if tshark has one for it."""
    a, b = u16(buf, l4).astype(np.int64), u16(buf, l4 + 2).astype(np.int64)
    low, high = np.minimum(a, b), np.maximum(a, b)
    return np.where(np.isin(low, UDP_PORTS_BELOW_TUNNELS), low, high)


#: IP protocols that can carry a tunnel (UDP: by port)
_CARRIERS = (IPPROTO_IPIP, IPPROTO_IPV6, IPPROTO_GRE, IPPROTO_ETHERIP, IPPROTO_UDP)


def inner_layer(buf: np.ndarray, ip: IpLayer, end: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray]:
    """(l3, version) of the datagram each row's IP payload carries; version 0 where the
    payload is not a tunnel tcpwatch (and tshark by default) decodes."""
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

    put(proto == IPPROTO_IPIP, lambda b, p, e: (p, _ip_by_nibble(b, p, (4, 6))), l4)
    put(proto == IPPROTO_IPV6, lambda b, p, e: (p, _ip_by_nibble(b, p, (6,))), l4)
    put(proto == IPPROTO_GRE, _gre, l4)
    put(proto == IPPROTO_ETHERIP, lambda b, p, e: _ethernet(b, p + 2, e), l4)
    udp = (proto == IPPROTO_UDP) & (l4 + UDP_HEADER <= cend)
    if udp.any():
        port = np.where(udp, _udp_port(buf, l4), 0)
        for number, fn in _UDP_TUNNELS.items():
            put(port == number, fn, l4 + UDP_HEADER)
    # the inner header must start inside the outer payload
    cver[(c3 < l4) | (c3 >= l4 + ip.l4_len[cand])] = 0
    l3[cand], version[cand] = c3, cver
    return l3, version


def peel(buf: np.ndarray, l3: np.ndarray, version: np.ndarray, end: np.ndarray,
         wire_end: np.ndarray) -> tuple[IpLayer, np.ndarray, np.ndarray]:
    """The innermost IP layer of every row (``version`` 4 or 6; other rows are returned
    not ``ok``), with its ``l3`` offset and ``version``: one IP parse per depth, each over
    the rows that were a tunnel at the depth before."""
    l3, version, wire_end = l3.copy(), version.copy(), wire_end.copy()
    ip = parse_ip(buf, l3, version, end, wire_end)
    active = np.arange(l3.shape[0])
    layer = ip
    for _ in range(MAX_DEPTH):  # one IP parse per depth, over the rows still moving
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
