"""TCP inside tunnels (Zeek's public tunnel captures, and real kernel TCP through Linux
VXLAN devices) and IPv4/IPv6 connections interleaved: every segment tshark shows is a
segment here, with tshark's tcp.stream, relative numbers, windows, and the innermost
addresses, ports and IP version, frame for frame."""

from __future__ import annotations

import pytest

import tcpwatch
from tcpwatch.report.parity import compare_with_tshark
from tcpwatch.report.verify import tshark_fields

from .conftest import PUBLIC, REPO, needs_tshark
from .innermost import innermost_differences, tshark_innermost

ZEEK_TUNNELS = PUBLIC / "zeek-tunnels"
CAPTURES = [ZEEK_TUNNELS / n for n in (
    "gre-sample.pcap", "gre-over-udp-4754.pcap", "vxlan-encapsulated-http.pcap", "4in6.pcap",
    "Teredo.pcap", "tunnel-direct-bypass.pcap")] + [
    REPO / "captures" / n for n in ("vxlan_tunnel.pcap", "ipv4_ipv6_interleaved.pcap")]
#: captures whose TCP is (partly) tunnelled: tshark decodes two IP layers on these frames
TUNNELLED = {"gre-sample.pcap": 22, "gre-over-udp-4754.pcap": 10,
             "vxlan-encapsulated-http.pcap": 12, "4in6.pcap": 1,
             "tunnel-direct-bypass.pcap": 10, "vxlan_tunnel.pcap": 64}


@needs_tshark
@pytest.mark.parametrize("path", CAPTURES, ids=lambda p: p.name)
def test_every_segment_equals_tshark(path):
    seg = tcpwatch.analyze(path)
    assert len(seg) > 0
    diff = compare_with_tshark(seg, path)
    assert diff.empty, diff.head(20).to_string()
    inner = innermost_differences(seg, path)
    assert inner.empty, inner.head(20).to_string()


@needs_tshark
@pytest.mark.parametrize("name", sorted(TUNNELLED))
def test_tunnelled_frames_are_segments(name):
    path = ZEEK_TUNNELS / name if (ZEEK_TUNNELS / name).exists() else REPO / "captures" / name
    ref = tshark_innermost(path)
    tunnelled = ref.loc[ref["ip_layers"] >= 2, "frame"]
    assert len(tunnelled) == TUNNELLED[name]
    assert set(tunnelled) <= set(tcpwatch.analyze(path)["frame"])


@needs_tshark
def test_vxlan_capture_has_each_inner_and_outer_version():
    path = REPO / "captures" / "vxlan_tunnel.pcap"
    seg = tcpwatch.analyze(path)
    ref = tshark_innermost(path)
    assert seg["conn"].nunique() == 5
    tunnelled = ref[ref["ip_layers"] == 2]
    # inner IPv4 and IPv6, each carried over an outer IPv4 and an outer IPv6
    pairs = set(zip(tunnelled["outer_version"], tunnelled["ip_version"], strict=True))
    assert pairs == {(4, 4), (4, 6), (6, 4), (6, 6)}
    assert (ref["ip_layers"] == 1).sum() > 0  # the plain connection beside them
    # a VXLAN device sending from UDP port 53: tshark's UDP dissector tries the lower port
    # first, so that is DNS, not a tunnel, for tshark and for tcpwatch
    dns = tshark_fields(path, ["udp.srcport", "udp.dstport"], display_filter="dns")
    assert len(dns) >= 8 and set(dns["udp.dstport"]) == {"4789"}
    assert not set(dns["frame.number"].astype(int)) & set(seg["frame"])


@needs_tshark
def test_interleaved_versions_are_numbered_by_first_appearance():
    seg = tcpwatch.analyze(REPO / "captures" / "ipv4_ipv6_interleaved.pcap")
    first = seg.groupby("conn")["frame"].min().sort_values()
    assert list(first.index) == sorted(first.index)  # conn 0, 1, 2 ... in frame order
    versions = seg.groupby("conn")["ip_version"].first()
    assert list(versions.sort_index()) == [6, 4, 6, 4]
