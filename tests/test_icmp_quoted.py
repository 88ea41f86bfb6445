"""TCP headers quoted inside ICMP and ICMPv6 errors (nftables ``reject with icmp``).

tshark 4.0 dissects the quoted header as TCP and gives it the tcp.stream of its 4-tuple,
with raw (not relative) numbers and no analysis.  They are not segments: tcpwatch leaves
the error frames out of the segment table, and every real segment's columns equal
tshark's.  (tshark also numbers a quote that is the *first* sight of a 4-tuple as a new
stream; in this capture, taken where the rejected segments were seen first, none is.)"""

from __future__ import annotations

import pandas as pd

import tcpwatch
from tcpwatch.verify import tshark_fields

from .conftest import REPO, needs_tshark
from .tshark import compare_with_tshark

ICMP = REPO / "captures" / "icmp_reject.pcap"


@needs_tshark
def test_real_segments_equal_tshark_and_quotes_are_not_segments():
    seg = tcpwatch.analyze(ICMP)
    diff = compare_with_tshark(seg, ICMP)
    assert diff.empty, diff.head(20).to_string()
    quoted = tshark_fields(ICMP, ["tcp.stream", "icmp.type", "icmpv6.type", "tcp.srcport",
                                  "tcp.dstport"], display_filter="tcp && (icmp || icmpv6)")
    assert (quoted["icmp.type"] == "3").sum() >= 3  # admin-prohibited, host-unreachable
    assert (quoted["icmpv6.type"] == "1").sum() >= 3  # admin-prohibited, addr-unreachable
    assert not set(quoted["frame.number"].astype(int)) & set(seg["frame"])
    # each quote belongs, for tshark, to the connection of its 4-tuple
    ports = seg.assign(lo=seg[["sport", "dport"]].min(axis=1),
                       hi=seg[["sport", "dport"]].max(axis=1))
    conn_of = ports.groupby(["lo", "hi"])["conn"].unique()
    for q in quoted.itertuples(index=False):
        a, b = int(q[4]), int(q[5])
        (conn,) = conn_of.loc[(min(a, b), max(a, b))]
        assert int(q[1]) == conn
    assert pd.Series(seg["conn"]).nunique() == 6
