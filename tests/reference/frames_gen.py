"""Generated frames for the frame walk (hypothesis strategies): valid-looking headers of
every supported link type, IPv4/IPv6 (extension headers, fragments, odd lengths), the
tunnels tshark decodes (IP in IP, GRE, EtherIP, GRE in UDP, VXLAN, Geneve, Teredo) nested
a few deep, TCP headers and ICMP errors quoting them, random bytes after them; then a few
bytes overwritten, the capture cut short and the wire length changed."""

from __future__ import annotations

import struct

import numpy as np
from hypothesis import strategies as st

from tcpwatch import _seqwalk as S
from tcpwatch.capture.bytes import PAD
from tcpwatch.capture.linktypes import LINKTYPES
from tcpwatch.capture.pcapfile import RawFrames
from tcpwatch.decode.tunnels import TUNNEL_PORTS, UDP_PORTS_BELOW_TUNNELS

TAIL = st.binary(max_size=24)
U16_ODD = st.sampled_from([0, 1, 8, 19, 20, 40, 41, 60, 0xFFFF])


def mostly(value, *odd: st.SearchStrategy) -> st.SearchStrategy:
    """``value`` about four times in five, else one of the odd strategies."""
    return st.one_of(st.just(value), st.just(value), st.just(value), st.just(value), *odd) \
        if len(odd) == 1 else mostly(value, st.one_of(*odd))


@st.composite
def tcp_header(draw) -> bytes:
    opts = draw(st.binary(max_size=20))
    opts += b"\0" * (-len(opts) % 4)
    offset = draw(mostly((20 + len(opts)) // 4, st.integers(0, 15)))
    head = struct.pack(">HHIIBBHHH", draw(st.integers(0, 0xFFFF)), draw(st.integers(0, 0xFFFF)),
                       draw(st.integers(0, 2**32 - 1)), 0, offset << 4 | draw(st.integers(0, 1)),
                       draw(st.integers(0, 255)), 1000, 0, 0)
    return head + opts + draw(TAIL)


@st.composite
def ipv4(draw, proto: int, payload: bytes) -> bytes:
    ihl = draw(mostly(5, st.just(6), st.integers(0, 15)))
    opts = b"\0" * max(0, (ihl - 5) * 4) if ihl >= 5 else b""
    total = 20 + len(opts) + len(payload)
    total = draw(mostly(total, st.just(0), U16_ODD, st.integers(0, total + 10)))
    frag = draw(mostly(0, st.just(0x4000), st.sampled_from([0x2000, 0x0001])))
    head = struct.pack(">BBHHHBBH4s4s", 4 << 4 | ihl, 0, total, 0, frag, 64, proto, 0,
                       draw(st.binary(min_size=4, max_size=4)),
                       draw(st.sampled_from([b"\x0a\0\0\x01", b"\x0a\0\0\x02"])))
    return head + opts + payload


@st.composite
def ipv6(draw, nh: int, payload: bytes) -> bytes:
    exts = draw(mostly([], st.lists(st.sampled_from([0, 43, 60, 51, 135]), max_size=3),
                       st.lists(st.sampled_from([0, 43, 60, 51, 44, 135]), max_size=9)))
    body = payload
    for kind in reversed(exts):  # each header names the one after it
        if kind == S.IPV6_AH:
            body = bytes([nh, 1]) + b"\0" * 10 + body
        elif kind == S.IPV6_FRAGMENT:
            body = bytes([nh, 0]) + b"\0" * 6 + body
        else:
            body = bytes([nh, 0]) + b"\0" * 6 + body
        nh = kind
    plen = draw(mostly(len(body), st.just(0), U16_ODD))
    src = draw(st.sampled_from([b"\xfe\x80" + b"\0" * 13 + b"\x01", b"\x20\x01" + b"\0" * 14]))
    dst = draw(st.binary(min_size=16, max_size=16))
    return struct.pack(">IHBB", 6 << 28, plen, nh, 64) + src + dst + body


@st.composite
def ethertype_chain(draw, ethertype: int, payload: bytes) -> bytes:
    """The EtherType field and what follows it: VLAN tags, PPPoE or MPLS, then payload."""
    how = draw(st.sampled_from(["plain", "plain", "vlan", "pppoe", "mpls"]))
    if how == "vlan":
        for _ in range(draw(st.integers(1, 4))):
            payload = struct.pack(">HH", 5, ethertype) + payload
            ethertype = draw(st.sampled_from(S.ETH_VLAN_TAGS))
    elif how == "pppoe":
        ppp = {S.ETH_IPV4: S.PPP_IPV4, S.ETH_IPV6: S.PPP_IPV6}.get(ethertype, 0xC021)
        payload = b"\x11\0\0\x01" + struct.pack(">HH", len(payload) + 2, ppp) + payload
        ethertype = S.ETH_PPPOE_SESSION
    elif how == "mpls":
        n = draw(st.integers(0, 9))
        labels = b"".join(struct.pack(">I", (k << 12) | (k == n - 1) << 8 | 64) for k in range(n))
        payload = labels + payload
        ethertype = draw(st.sampled_from(S.ETH_MPLS))
    return struct.pack(">H", ethertype) + payload


def _ethertype_of(version: int) -> int:
    return S.ETH_IPV4 if version == 4 else S.ETH_IPV6


@st.composite
def ethernet(draw, version: int, ip: bytes) -> bytes:
    return b"\x02" * 12 + draw(ethertype_chain(_ethertype_of(version), ip))


@st.composite
def tunnel(draw, version: int, inner: bytes) -> tuple[int, bytes]:
    """(IP protocol, payload) carrying the inner IP datagram of ``version``."""
    kind = draw(st.sampled_from(["ip", "gre", "etherip", "udp"]))
    if kind == "ip":
        return (S.IPPROTO_IPIP if version == 4 or draw(st.booleans()) else S.IPPROTO_IPV6), inner
    if kind == "etherip":
        return S.IPPROTO_ETHERIP, b"\x30\0" + draw(ethernet(version, inner))
    if kind == "gre":
        return S.IPPROTO_GRE, draw(gre(version, inner))
    which = draw(st.sampled_from(sorted(TUNNEL_PORTS)))
    other = draw(st.one_of(st.integers(1024, 65535), st.sampled_from(UDP_PORTS_BELOW_TUNNELS),
                           st.sampled_from(sorted(TUNNEL_PORTS))))
    t = TUNNEL_PORTS[which]
    if t == S.TUN_GRE:
        body = draw(gre(version, inner))
    elif t == S.TUN_VXLAN:
        body = b"\x08\0\0\0\0\0\x01\0" + draw(ethernet(version, inner))
    elif t == S.TUN_GENEVE:
        opts = draw(st.integers(0, 3))
        ptype = draw(st.sampled_from([_ethertype_of(version), S.ETH_TEB, 0x1234]))
        body = struct.pack(">BBH", opts, 0, ptype) + b"\0\0\x01\0" + b"\0" * (4 * opts) + (
            draw(ethernet(version, inner)) if ptype == S.ETH_TEB else inner)
    else:
        body = inner
        if draw(st.booleans()):
            body = struct.pack(">HH", S.TEREDO_ORIGIN, 1) + b"\0" * 4 + body
        if draw(st.booleans()):
            id_len, au_len = draw(st.integers(0, 3)), draw(st.integers(0, 3))
            body = struct.pack(">HBB", S.TEREDO_AUTH, id_len, au_len) + b"\0" * (
                id_len + au_len + 9) + body
    ports = [which, other] if draw(st.booleans()) else [other, which]
    return S.IPPROTO_UDP, struct.pack(">HHHH", *ports, 8 + len(body), 0) + body


@st.composite
def gre(draw, version: int, inner: bytes) -> bytes:
    flags = draw(st.sampled_from([0, S.GRE_K, S.GRE_C | S.GRE_S, S.GRE_C | S.GRE_K | S.GRE_S,
                                  S.GRE_R, 1]))
    ptype = draw(st.sampled_from([_ethertype_of(version), _ethertype_of(version), S.ETH_TEB]))
    extra = 4 * sum(bool(flags & b) for b in (S.GRE_C, S.GRE_K, S.GRE_S))
    body = draw(ethernet(version, inner)) if ptype == S.ETH_TEB else inner
    return struct.pack(">HH", flags, ptype) + b"\0" * extra + body


@st.composite
def icmp_error(draw, version: int) -> tuple[int, bytes]:
    qver = draw(st.sampled_from([4, 6]))
    quoted = draw(tcp_header())[: draw(mostly(20, st.integers(8, 28)))]
    inner = draw(ipv4(S.IPPROTO_TCP, quoted) if qver == 4 else ipv6(S.IPPROTO_TCP, quoted))
    proto = S.IPPROTO_ICMP if version == 4 else S.IPPROTO_ICMPV6
    errors = S.ICMP_ERRORS if version == 4 else S.ICMPV6_ERRORS
    kind = draw(mostly(errors[0], st.sampled_from(errors), st.integers(0, 255)))
    return proto, bytes([kind, 0]) + b"\0" * 6 + inner


@st.composite
def datagram(draw) -> tuple[int, bytes]:
    """(IP version, an IP datagram), tunnels inside."""
    version = draw(st.sampled_from([4, 6]))
    what = draw(st.sampled_from(["tcp", "tcp", "tcp", "icmp", "icmp", "udp", "other"]))
    if what == "tcp":
        proto, payload = S.IPPROTO_TCP, draw(tcp_header())
    elif what == "icmp":
        proto, payload = draw(icmp_error(version))
    elif what == "udp":
        proto, payload = S.IPPROTO_UDP, struct.pack(">HHHH", 53, 4789, 8, 0) + draw(TAIL)
    else:
        proto, payload = draw(st.integers(0, 255)), draw(TAIL)
    ip = draw(ipv4(proto, payload) if version == 4 else ipv6(proto, payload))
    for _ in range(draw(st.integers(0, 3))):
        outer = draw(st.sampled_from([4, 6]))
        proto, payload = draw(tunnel(version, ip))
        ip = draw(ipv4(proto, payload) if outer == 4 else ipv6(proto, payload))
        version = outer
    return version, ip


@st.composite
def nflog(draw, version: int, ip: bytes) -> bytes:
    big = draw(st.booleans())
    order = ">" if big else "<"
    tlvs = b""
    for _ in range(draw(st.integers(0, 3))):
        value = draw(st.binary(max_size=7))
        tlvs += struct.pack(order + "HH", 4 + len(value), draw(st.integers(1, 16))) + value
        tlvs += b"\0" * (-len(tlvs) % 4)
    family = draw(st.sampled_from([S.NFLOG_AF_INET if version == 4 else S.NFLOG_AF_INET6, 7]))
    return bytes([family, 0, 0, 0]) + tlvs + struct.pack(order + "HH", 4 + len(ip),
                                                         S.NFULA_PAYLOAD) + ip


@st.composite
def frame(draw) -> tuple[int, bytes, int]:
    """(DLT, the frame's bytes, its wire length)."""
    dlt = draw(st.sampled_from([*LINKTYPES, 147]))
    version, ip = draw(datagram())
    lt = LINKTYPES.get(dlt)
    if lt is None:
        data = ip
    elif lt.kind == S.LINK_ETHER:
        chain = draw(ethertype_chain(_ethertype_of(version), ip))
        head = b"\x02" * lt.a
        data = head[: lt.b] + chain[:2] + head[lt.b + 2:] + chain[2:]  # EtherType at b
    elif lt.kind == S.LINK_NULL:
        family = draw(st.sampled_from([S.BSD_AF_INET if version == 4 else 10, *S.BSD_AF_INET6,
                                       7]))
        data = struct.pack(">I" if lt.a or draw(st.booleans()) else "<I", family) + ip
    elif lt.kind == S.LINK_NFLOG:
        data = draw(nflog(version, ip))
    else:
        data = ip
    data = bytearray(data)
    for _ in range(draw(mostly(0, st.sampled_from([1, 3])))):  # a few bytes overwritten
        if data:
            data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    caplen = draw(mostly(len(data), st.integers(0, len(data))))
    wire = draw(mostly(len(data), st.integers(0, 2 * len(data))))
    return dlt, bytes(data[:caplen]), wire


@st.composite
def batches(draw) -> RawFrames:
    """A batch of generated frames, as the reader gives one."""
    frames = draw(st.lists(frame(), min_size=1, max_size=8))
    lengths = np.array([len(f[1]) for f in frames], np.int64)
    off = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    buf = np.frombuffer(b"".join(f[1] for f in frames) + b"\0" * PAD, np.uint8)
    n = len(frames)
    return RawFrames(buf, off, lengths, np.array([f[2] for f in frames], np.int64),
                     np.zeros(n), np.zeros(n, np.int64),
                     np.array([f[0] for f in frames], np.int32), np.arange(1, n + 1))
