"""Link-layer types: DLT number -> name and how the frame walk finds the IP header.

Numbers are the LINKTYPE_* values of https://www.tcpdump.org/linktypes.html.  Each
supported type is one row of the table: a decoder kind of the compiled frame walk
(``csrc/frames.c``) and its two parameters --

* ``LINK_ETHER``: header length, offset of the EtherType (then VLAN tags, PPPoE and MPLS
  are skipped as on Ethernet);
* ``LINK_RAW``: the IP version the link type forces, or 0 for "the version nibble says";
* ``LINK_NULL``: 1 when the address family word is in network byte order (LOOP), 0 when
  in the capturing host's (NULL);
* ``LINK_NFLOG``: the packet is the NFULA_PAYLOAD TLV (no parameters).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import _seqwalk as _S


@dataclass(frozen=True, slots=True)
class LinkType:
    dlt: int
    name: str
    kind: int  # LINK_* of the compiled frame walk
    a: int = 0
    b: int = 0


LINKTYPES: dict[int, LinkType] = {
    lt.dlt: lt
    for lt in (
        LinkType(0, "NULL (BSD loopback)", _S.LINK_NULL, 0),
        LinkType(1, "EN10MB (Ethernet)", _S.LINK_ETHER, 14, 12),
        LinkType(12, "RAW (raw IP, BSD value)", _S.LINK_RAW, 0),
        LinkType(14, "RAW (raw IP, OpenBSD value)", _S.LINK_RAW, 0),
        LinkType(101, "RAW (raw IP)", _S.LINK_RAW, 0),
        LinkType(108, "LOOP (OpenBSD loopback)", _S.LINK_NULL, 1),
        LinkType(113, "LINUX_SLL (Linux cooked v1)", _S.LINK_ETHER, 16, 14),
        LinkType(228, "IPV4 (raw IPv4)", _S.LINK_RAW, 4),
        LinkType(239, "NFLOG (Linux netfilter log)", _S.LINK_NFLOG),
        LinkType(229, "IPV6 (raw IPv6)", _S.LINK_RAW, 6),
        LinkType(276, "LINUX_SLL2 (Linux cooked v2)", _S.LINK_ETHER, 20, 0),
    )
}

#: the table as the frame walk reads it: int32 rows of (dlt, kind, a, b)
LINK_TABLE = np.array([(lt.dlt, lt.kind, lt.a, lt.b) for lt in LINKTYPES.values()],
                      np.int32).reshape(-1)
assert LINK_TABLE.shape[0] == len(LINKTYPES) * _S.LINK_TABLE_COLS

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
