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

The compiled frame walk (``csrc/frames.c``) peels them; this module holds the UDP port
table it reads.  Inner Ethernet headers go through the same VLAN/PPPoE/MPLS skipping as
the outer link layer.  A layer that does not fit in the captured bytes, an IP fragment
(not reassembled) and GRE with a routing field stop the peeling: the row stays at the
last IP header.
"""

from __future__ import annotations

import numpy as np

from .. import _seqwalk as _S

#: UDP port -> the tunnel it carries (GRE in UDP, VXLAN, Geneve, Teredo)
TUNNEL_PORTS = {4754: _S.TUN_GRE, 4789: _S.TUN_VXLAN, 6081: _S.TUN_GENEVE,
                3544: _S.TUN_TEREDO}

#: UDP ports below 6081 that tshark 4.0 dissects (its "udp.port" table).
UDP_PORTS_BELOW_TUNNELS = (
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
    5555, 5567, 5678, 5683, 5684, 5868, 6060, 6073)


def port_table() -> np.ndarray:
    """uint8 per UDP port: its tunnel (TUN_*), PORT_DISSECTED_LOW where tshark dissects it."""
    table = np.zeros(1 << 16, np.uint8)
    table[list(UDP_PORTS_BELOW_TUNNELS)] |= _S.PORT_DISSECTED_LOW
    for port, kind in TUNNEL_PORTS.items():
        table[port] |= kind
    return table


PORT_TABLE = port_table()
