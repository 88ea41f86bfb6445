"""Zero-window probes the way Windows and BSD send them (captures/zero_window_probe.pcap,
a scapy-crafted sender against a real Linux receiver), and a receiver that keeps the
probe byte: tcpwatch says what tshark 4.0 says, frame for frame."""

from __future__ import annotations

import struct

import tcpwatch
from tcpwatch.report.verify import compare, tshark_reference

from ..conftest import REPO, needs_tshark
from ..pcapgen import read_pcap, write_pcap

CAPTURE = REPO / "captures" / "zero_window_probe.pcap"
ETHERNET = 1


def events_of(seg, frame: int) -> set[str]:
    return set(str(seg.loc[seg["frame"] == frame, "events"].iloc[0]).split(";"))


@needs_tshark
def test_every_probe_and_its_ack_agree_with_tshark():
    seg = tcpwatch.analyze(CAPTURE)
    verdict = compare(seg, tshark_reference(CAPTURE, engine="fields"))
    assert verdict.ok, verdict.disagreements
    rows = verdict.table.set_index("check")
    for flag in ("zero_window_probe", "zero_window_probe_ack"):
        assert rows.loc[flag, "both"] >= 5


@needs_tshark
def test_a_receiver_that_keeps_the_probe_byte(tmp_path):
    """A Windows receiver may take the probe byte and ACK it (ack = probe + 1, window
    still 0).  Newer Wireshark calls that a ZeroWindowProbeAck (issue 10745); the 4.0
    rules want ack == the previous ACK, so tshark 4.0 calls it ZeroWindow and 'ACKed
    unseen segment' (the probe does not advance the next expected sequence number)."""
    seg = tcpwatch.analyze(CAPTURE)
    first_ack = int(seg.loc[seg["events"].astype(str).str.contains("zero_window_probe_ack"),
                            "frame"].iloc[0])
    linktype, snap, recs = read_pcap(CAPTURE)
    assert linktype == ETHERNET
    sec, usec, orig, data = recs[first_ack - 1]
    at = 14 + (data[14] & 0x0F) * 4 + 8  # the TCP acknowledgment number
    (ack,) = struct.unpack_from("!I", data, at)
    data = data[:at] + struct.pack("!I", (ack + 1) % 2**32) + data[at + 4:]
    recs[first_ack - 1] = (sec, usec, orig, data)
    path = tmp_path / "probe_byte_kept.pcap"
    write_pcap(path, linktype, recs, snaplen=snap)

    edited = tcpwatch.analyze(path)
    verdict = compare(edited, tshark_reference(path, engine="fields"))
    assert verdict.ok, verdict.disagreements
    assert "zero_window_probe_ack" in events_of(seg, first_ack)
    assert events_of(edited, first_ack) == {"zero_window", "ack_lost_segment"}
