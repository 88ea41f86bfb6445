"""Reference link-layer decoders, whole columns (what ``csrc/frames.c`` walks frame by
frame).  A decoder gets the buffer, the offsets of the frames' first bytes and their
captured lengths, and returns ``(l3_offset, ip_version)`` per frame, ``ip_version`` 4, 6
or 0 (not IP).  The kinds and their parameters are those of
``tcpwatch/capture/linktypes.py``'s table; the protocol numbers come from the compiled
module, where they are defined once."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from tcpwatch import _seqwalk as S
from tcpwatch.capture.bytes import u8, u16, u16le, u32le
from tcpwatch.capture.linktypes import LinkType

Decoder = Callable[[np.ndarray, np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def by_ethertype(buf, l3, ethertype, end):
    """Skip VLAN tags, PPPoE and MPLS, then map to an IP version (0 = not IP)."""
    for _ in range(S.MAX_VLAN_TAGS + 1):
        tagged = np.isin(ethertype, S.ETH_VLAN_TAGS) & (l3 + 4 <= end)
        if not tagged.any():
            break
        ethertype = np.where(tagged, u16(buf, l3 + 2), ethertype)
        l3 = l3 + 4 * tagged
    version = np.select([ethertype == S.ETH_IPV4, ethertype == S.ETH_IPV6], [4, 6], 0)

    pppoe = (ethertype == S.ETH_PPPOE_SESSION) & (l3 + 8 <= end)
    if pppoe.any():
        ppp = u16(buf, l3 + 6)
        version = np.where(pppoe, np.select([ppp == S.PPP_IPV4, ppp == S.PPP_IPV6], [4, 6], 0),
                           version)
        l3 = l3 + 8 * pppoe

    mpls = np.isin(ethertype, S.ETH_MPLS)
    if mpls.any():
        inside = mpls.copy()
        for _ in range(S.MAX_MPLS_LABELS):
            inside &= l3 + 4 <= end
            bottom = inside & ((u8(buf, l3 + 2) & 1) == 1)
            l3 = l3 + 4 * inside
            inside &= ~bottom
        nibble = u8(buf, l3) >> 4  # no type field after MPLS: the IP version nibble says
        version = np.where(mpls, np.where(np.isin(nibble, (4, 6)), nibble, 0), version)
    return l3, version


def _fixed(header_len: int, type_at: int) -> Decoder:
    def decode(buf, off, caplen):
        ethertype = u16(buf, off + type_at)
        version_ok = caplen >= header_len
        l3, version = by_ethertype(buf, off + header_len, ethertype, off + caplen)
        return l3, np.where(version_ok, version, 0)

    return decode


def _raw(force: int) -> Decoder:
    """Raw IP: the version nibble (or the link type itself) says 4 or 6."""

    def decode(buf, off, caplen):
        nibble = u8(buf, off) >> 4
        version = np.where(np.isin(nibble, (4, 6)), nibble, 0) if force == 0 else np.full(
            off.shape, force)
        return off, np.where(caplen >= 1, version, 0)

    return decode


def _null(network_order: bool) -> Decoder:
    def decode(buf, off, caplen):
        family = u32le(buf, off)
        if network_order:
            family = family.byteswap()
        else:
            # DLT_NULL is in the capturing host's byte order: a value above 0xFFFF is
            # the other order.
            family = np.where(family > 0xFFFF, family.byteswap(), family)
        version = np.select([family == S.BSD_AF_INET, np.isin(family, S.BSD_AF_INET6)],
                            [4, 6], 0)
        return off + 4, np.where(caplen >= 4, version, 0)

    return decode


def _nflog(buf, off, caplen):
    end = off + caplen
    tlv = off + S.NFLOG_HEADER
    first = u16le(buf, tlv).astype(np.int64)
    big = (first < 4) | (tlv + first > end)
    l3 = np.zeros(off.shape, np.int64)
    found = np.zeros(off.shape, bool)
    searching = tlv + 4 <= end
    for _ in range(S.NFLOG_MAX_TLVS):
        if not searching.any():
            break
        length = np.where(big, u16(buf, tlv), u16le(buf, tlv)).astype(np.int64)
        kind = np.where(big, u16(buf, tlv + 2), u16le(buf, tlv + 2)) & 0x7FFF
        hit = searching & (kind == S.NFULA_PAYLOAD) & (length >= 4)
        l3 = np.where(hit, tlv + 4, l3)
        found |= hit
        searching &= ~hit & (length >= 4)
        tlv = tlv + ((length + 3) & ~3)
        searching &= tlv + 4 <= end
    family = u8(buf, off).astype(np.int64)
    version = np.select([family == S.NFLOG_AF_INET, family == S.NFLOG_AF_INET6], [4, 6], 0)
    return l3, np.where(found & (l3 < end), version, 0)


def decoder(lt: LinkType) -> Decoder:
    """The reference decoder of one row of the link table."""
    if lt.kind == S.LINK_ETHER:
        return _fixed(lt.a, lt.b)
    if lt.kind == S.LINK_RAW:
        return _raw(lt.a)
    if lt.kind == S.LINK_NULL:
        return _null(bool(lt.a))
    assert lt.kind == S.LINK_NFLOG, lt
    return _nflog
