"""tcp.stream numbering and relative numbers on a reused 4-tuple, as tshark 4.0 has them.

``syn_after_rst.pcap`` (real kernel TCP, one scapy RST): a SYN, an RST, the same SYN
retransmitted (same ISN), then a SYN+ACK with a new ISN.  tshark 4.0 keeps one stream
(newer Wireshark releases start a new one after an RST or FIN; a capture pins the local
reference) and, in its second pass, shows each SYN+ACK's direction against that SYN+ACK's
ISN from there on, against the final one before it."""

from __future__ import annotations

import tcpwatch
from tcpwatch.report.parity import compare_with_tshark

from .conftest import PUBLIC, REPO, needs_tshark

SYN_AFTER_RST = REPO / "captures" / "syn_after_rst.pcap"


@needs_tshark
def test_same_isn_syn_after_rst_stays_in_its_stream():
    seg = tcpwatch.analyze(SYN_AFTER_RST)
    diff = compare_with_tshark(seg, SYN_AFTER_RST)
    assert diff.empty, diff.head(20).to_string()
    syns = seg[seg["flag_str"] == "S"]
    assert len(syns) == 2 and syns["seq"].nunique() == 1  # the kernel's retransmission
    (rst,) = seg.loc[seg["flag_str"] == "R", "frame"]
    assert syns["frame"].iloc[0] < rst < syns["frame"].iloc[1]
    assert seg["conn"].nunique() == 1


@needs_tshark
def test_second_synack_rebases_from_there_on():
    seg = tcpwatch.analyze(SYN_AFTER_RST)
    synacks = seg[seg["flag_str"] == "S."]
    assert synacks["seq"].nunique() == 2  # the server's second ISN
    assert list(synacks["rel_seq"]) == [0, 0]  # each against its own ISN
    assert all("reused_ports" in e for e in synacks["events"].astype(str))


@needs_tshark
def test_pure_syn_keeps_the_final_base():
    # arkime's stream 5: SYN 5000, SYN+ACK 9000, then the client's own SYN+ACK 424242;
    # tshark shows the SYN against the final base (424242), not its own ISN
    path = PUBLIC / "arkime" / "tcp_handshake_synthetic.pcap"
    seg = tcpwatch.analyze(path)
    diff = compare_with_tshark(seg, path)
    assert diff.empty, diff.head(20).to_string()
    s5 = seg[seg["conn"] == 5]
    assert s5.iloc[0]["flag_str"] == "S" and s5.iloc[0]["rel_seq"] == (5000 - 424242) % 2**32
