"""Link-layer types: DLT number -> name and a vectorized header decoder.

A decoder gets the buffer, the offsets of the frames' first bytes and their captured
lengths, and returns ``(l3_offset, ip_version)`` per frame, where ``ip_version`` is 4, 6
or 0 (not IP: ARP, LLDP, ...).  Numbers are the LINKTYPE_* values of
https://www.tcpdump.org/linktypes.html.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .bytes import u8, u16, u16le, u32le

ETH_IPV4 = 0x0800
ETH_IPV6 = 0x86DD
#: 802.1Q, 802.1ad (QinQ outer tag) and the pre-standard QinQ type.
ETH_VLAN_TAGS = (0x8100, 0x88A8, 0x9100)
MAX_VLAN_TAGS = 2  # QinQ

Decoder = Callable[[np.ndarray, np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


ETH_PPPOE_SESSION = 0x8864  # RFC 2516: 6-byte PPPoE header, then a 2-byte PPP protocol
PPP_IPV4, PPP_IPV6 = 0x0021, 0x0057
ETH_MPLS = (0x8847, 0x8848)  # RFC 3032: 4-byte labels until the bottom-of-stack bit
MAX_MPLS_LABELS = 8


def _by_ethertype(buf, l3, ethertype, end):
    """Skip VLAN tags, PPPoE and MPLS, then map to an IP version (0 = not IP)."""
    for _ in range(MAX_VLAN_TAGS + 1):
        tagged = np.isin(ethertype, ETH_VLAN_TAGS) & (l3 + 4 <= end)
        if not tagged.any():
            break
        ethertype = np.where(tagged, u16(buf, l3 + 2), ethertype)
        l3 = l3 + 4 * tagged
    version = np.select([ethertype == ETH_IPV4, ethertype == ETH_IPV6], [4, 6], 0)

    pppoe = (ethertype == ETH_PPPOE_SESSION) & (l3 + 8 <= end)
    if pppoe.any():
        ppp = u16(buf, l3 + 6)
        version = np.where(pppoe, np.select([ppp == PPP_IPV4, ppp == PPP_IPV6], [4, 6], 0),
                           version)
        l3 = l3 + 8 * pppoe

    mpls = np.isin(ethertype, ETH_MPLS)
    if mpls.any():
        inside = mpls.copy()
        for _ in range(MAX_MPLS_LABELS):
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
        l3, version = _by_ethertype(buf, off + header_len, ethertype, off + caplen)
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


#: BSD address families seen in the NULL/LOOP header: AF_INET is 2 everywhere; AF_INET6
#: is 10 (Linux), 24 (NetBSD/OpenBSD), 28 (FreeBSD), 30 (macOS).
_AF_INET6 = (10, 24, 28, 30)


def _null(network_order: bool) -> Decoder:
    def decode(buf, off, caplen):
        family = u32le(buf, off)
        if network_order:
            family = family.byteswap()
        else:
            # DLT_NULL is in the capturing host's byte order: a value above 0xFFFF is
            # the other order.
            family = np.where(family > 0xFFFF, family.byteswap(), family)
        version = np.select([family == 2, np.isin(family, _AF_INET6)], [4, 6], 0)
        return off + 4, np.where(caplen >= 4, version, 0)

    return decode


#: NFLOG (https://www.tcpdump.org/linktypes/LINKTYPE_NFLOG.html): address family (1 byte),
#: version, resource id (2 bytes), then TLVs of (length, type) in the *capturing host's*
#: byte order, length counting the 4-byte TLV header, each padded to 4 bytes.  The packet
#: is the value of the NFULA_PAYLOAD TLV.
NFLOG_HEADER = 4
NFULA_PAYLOAD = 9
NFLOG_MAX_TLVS = 32


def _nflog(buf, off, caplen):
    end = off + caplen
    tlv = off + NFLOG_HEADER
    # the byte order is the capturing host's: a first TLV length that does not fit the
    # frame read little-endian means big-endian
    first = u16le(buf, tlv).astype(np.int64)
    big = (first < 4) | (tlv + first > end)
    l3 = np.zeros(off.shape, np.int64)
    found = np.zeros(off.shape, bool)
    searching = tlv + 4 <= end
    for _ in range(NFLOG_MAX_TLVS):
        if not searching.any():
            break
        length = np.where(big, u16(buf, tlv), u16le(buf, tlv)).astype(np.int64)
        kind = np.where(big, u16(buf, tlv + 2), u16le(buf, tlv + 2)) & 0x7FFF
        hit = searching & (kind == NFULA_PAYLOAD) & (length >= 4)
        l3 = np.where(hit, tlv + 4, l3)
        found |= hit
        searching &= ~hit & (length >= 4)
        tlv = tlv + ((length + 3) & ~3)
        searching &= tlv + 4 <= end
    family = u8(buf, off).astype(np.int64)
    version = np.select([family == 2, family == 10], [4, 6], 0)  # AF_INET, AF_INET6
    return l3, np.where(found & (l3 < end), version, 0)


@dataclass(frozen=True, slots=True)
class LinkType:
    dlt: int
    name: str
    decode: Decoder


LINKTYPES: dict[int, LinkType] = {
    lt.dlt: lt
    for lt in (
        LinkType(0, "NULL (BSD loopback)", _null(network_order=False)),
        LinkType(1, "EN10MB (Ethernet)", _fixed(14, 12)),
        LinkType(12, "RAW (raw IP, BSD value)", _raw(0)),
        LinkType(14, "RAW (raw IP, OpenBSD value)", _raw(0)),
        LinkType(101, "RAW (raw IP)", _raw(0)),
        LinkType(108, "LOOP (OpenBSD loopback)", _null(network_order=True)),
        LinkType(113, "LINUX_SLL (Linux cooked v1)", _fixed(16, 14)),
        LinkType(228, "IPV4 (raw IPv4)", _raw(4)),
        LinkType(239, "NFLOG (Linux netfilter log)", _nflog),
        LinkType(229, "IPV6 (raw IPv6)", _raw(6)),
        LinkType(276, "LINUX_SLL2 (Linux cooked v2)", _fixed(20, 0)),
    )
}

#: A few well-known names, for clearer "unsupported link type" messages.
_OTHER_NAMES = {
    105: "IEEE802_11", 127: "IEEE802_11_RADIOTAP", 147: "USER0", 187: "BLUETOOTH_HCI_H4",
    189: "USB_LINUX", 195: "IEEE802_15_4", 220: "USB_LINUX_MMAPPED", 249: "NETLINK",
    263: "DBUS",
}


def linktype_name(dlt: int) -> str:
    if dlt in LINKTYPES:
        return LINKTYPES[dlt].name
    return _OTHER_NAMES.get(dlt, "unknown")
