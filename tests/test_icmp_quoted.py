"""TCP headers quoted inside ICMP and ICMPv6 errors (nftables ``reject with icmp``).

tshark 4.0 dissects a quoted header as TCP (raw numbers, no analysis) and gives it the
tcp.stream of its 4-tuple; a quote that is the first sight of a 4-tuple opens a new
stream, and the streams after it are numbered one higher.  tcpwatch leaves the error
frames out of the segment table but numbers the quotes in the connection walk
(``tcpwatch/decode/quoted.py``), offline and live, so every real segment's columns equal
tshark's."""

from __future__ import annotations

import pytest

import tcpwatch
from tcpwatch.report.parity import compare_with_tshark
from tcpwatch.report.verify import tshark_fields

from .conftest import REPO, needs_tshark

ICMP = REPO / "captures" / "icmp_reject.pcap"  # taken where the rejected segments pass
INBOUND = REPO / "captures" / "icmp_reject_inbound.pcap"  # client side, inbound only


def _quotes(path):
    return tshark_fields(path, ["tcp.stream", "icmp.type", "icmpv6.type"],
                         display_filter="tcp && (icmp || icmpv6)")


@needs_tshark
@pytest.mark.parametrize("path", [ICMP, INBOUND], ids=lambda p: p.name)
def test_real_segments_equal_tshark_and_quotes_are_not_segments(path):
    seg = tcpwatch.analyze(path)
    diff = compare_with_tshark(seg, path)
    assert diff.empty, diff.head(20).to_string()
    quoted = _quotes(path)
    assert (quoted["icmp.type"] == "3").sum() >= 3  # admin-prohibited, host-unreachable
    assert (quoted["icmpv6.type"] == "1").sum() >= 3  # admin-prohibited, addr-unreachable
    assert not set(quoted["frame.number"].astype(int)) & set(seg["frame"])
    assert len(seg.attrs["tcpwatch"].quoted) == len(quoted)


@needs_tshark
def test_a_quote_seen_first_takes_a_stream_number():
    seg = tcpwatch.analyze(INBOUND)
    quoted = _quotes(INBOUND)
    only_quoted = set(quoted["tcp.stream"].astype(int)) - set(seg["conn"])
    assert only_quoted == {1, 2}  # the refused IPv4 and IPv6 connections
    assert sorted(seg["conn"].unique()) == [0, 3, 4, 5]


@needs_tshark
def test_live_session_numbers_the_quotes_too():
    from .live.test_incremental import replayed

    for size in (1, 7):
        live = replayed(INBOUND, size).table()
        assert list(live["conn"]) == list(tcpwatch.analyze(INBOUND)["conn"])
