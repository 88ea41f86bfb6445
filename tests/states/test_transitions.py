"""The expected transitions of each recorded scenario, written out by hand: the spec.

Each list is (frame, transition) for every segment that changed a state; every other
segment must change nothing.  Captures are in captures/ (see captures/README.md).
"""

from __future__ import annotations

import pytest

import tcpwatch

from ..conftest import PUBLIC, REPO

CAPTURES = REPO / "captures"
OPEN = [
    (1, "client CLOSED→SYN_SENT, server LISTEN→SYN_RECEIVED"),
    (2, "client SYN_SENT→ESTABLISHED"),
    (3, "server SYN_RECEIVED→ESTABLISHED"),
]

EXPECTED = {
    "handshake_echo_close": OPEN + [
        (12, "client ESTABLISHED→FIN_WAIT_1, server ESTABLISHED→CLOSE_WAIT"),
        (13, "client FIN_WAIT_1→TIME_WAIT, server CLOSE_WAIT→LAST_ACK"),  # FIN+ACK of FIN
        (14, "server LAST_ACK→CLOSED"),
    ],
    "server_closes_first": OPEN + [
        (8, "client ESTABLISHED→CLOSE_WAIT, server ESTABLISHED→FIN_WAIT_1"),
        (9, "client CLOSE_WAIT→LAST_ACK, server FIN_WAIT_1→TIME_WAIT"),
        (10, "client LAST_ACK→CLOSED"),
    ],
    "half_close": OPEN + [
        (19, "client ESTABLISHED→FIN_WAIT_1, server ESTABLISHED→CLOSE_WAIT"),
        (21, "client FIN_WAIT_1→FIN_WAIT_2"),  # the server's data acknowledges the FIN
        (27, "client FIN_WAIT_2→TIME_WAIT, server CLOSE_WAIT→LAST_ACK"),
        (28, "server LAST_ACK→CLOSED"),
    ],
    "simultaneous_close": OPEN + [
        (5, "client ESTABLISHED→FIN_WAIT_1"),  # the server's FIN is already on its way
        (9, "client FIN_WAIT_1→CLOSING, server ESTABLISHED→CLOSING"),  # FINs crossed
        (10, "server CLOSING→TIME_WAIT"),
        (11, "client CLOSING→TIME_WAIT"),
    ],
    "rst_abort": OPEN + [
        (8, "client ESTABLISHED→CLOSED, server ESTABLISHED→CLOSED"),
    ],
    "connection_refused": [
        (1, "client CLOSED→SYN_SENT"),  # nobody listens: the server end stays CLOSED
        (2, "client SYN_SENT→CLOSED"),
    ],
    "syn_timeout": [
        (1, "client CLOSED→SYN_SENT, server LISTEN→SYN_RECEIVED"),  # frames 2-4: SYN again
    ],
    "port_reuse": OPEN + [
        (8, "client ESTABLISHED→CLOSED, server ESTABLISHED→CLOSED"),
        (9, "client CLOSED→SYN_SENT, server LISTEN→SYN_RECEIVED"),  # conn 1
        (10, "client SYN_SENT→ESTABLISHED"),
        (11, "server SYN_RECEIVED→ESTABLISHED"),
        (16, "client ESTABLISHED→CLOSED, server ESTABLISHED→CLOSED"),
    ],
}


@pytest.mark.parametrize("name", list(EXPECTED))
def test_scenario_transitions(name):
    seg = tcpwatch.analyze(CAPTURES / f"{name}.pcap")
    got = [(int(r.frame), str(r.transition)) for r in seg.itertuples() if r.transition]
    assert got == EXPECTED[name]
    assert (seg["violation"] == "").all()
    assert not seg["states_inferred"].any()


def test_mid_capture_start_is_inferred_and_marked():
    """tcp_teardown.pcapng starts at the first FIN: both ends are inferred ESTABLISHED."""
    seg = tcpwatch.analyze(PUBLIC / "chrissanders-packets" / "tcp_teardown.pcapng")
    assert seg["states_inferred"].all()
    assert (seg.iloc[0]["state_before_client"], seg.iloc[0]["state_before_server"]) == (
        "ESTABLISHED", "ESTABLISHED")
    got = [(int(r.frame), str(r.transition)) for r in seg.itertuples() if r.transition]
    assert got == [
        (1, "client ESTABLISHED→FIN_WAIT_1, server ESTABLISHED→CLOSE_WAIT"),
        (2, "client FIN_WAIT_1→FIN_WAIT_2"),
        (3, "client FIN_WAIT_2→TIME_WAIT, server CLOSE_WAIT→LAST_ACK"),
        (4, "server LAST_ACK→CLOSED"),
    ]


def test_data_after_fin_is_a_violation(tmp_path):
    """Rewrite a real capture so the client sends new data after its FIN."""
    from ..pcapgen import read_pcap, write_pcap

    lt, _snap, recs = read_pcap(CAPTURES / "half_close.pcap")
    seg = tcpwatch.analyze(CAPTURES / "half_close.pcap")
    fin = seg[(seg["role"] == "client") & seg["flag_str"].str.contains("F")].iloc[0]
    data = seg[(seg["role"] == "client") & (seg["len"] > 0)].iloc[-1]
    # replay the client's last data segment, moved past its FIN, after the FIN
    raw = bytearray(recs[int(data["frame"]) - 1][3])
    tcp = 14 + 20  # Ethernet + IPv4 without options (loopback capture)
    new_seq = (int(fin["seq"]) + 1) & 0xFFFFFFFF
    raw[tcp + 4:tcp + 8] = new_seq.to_bytes(4, "big")
    fin_at = int(fin["frame"])
    # the FIN's time, the data segment's own wire length
    moved = (*recs[fin_at - 1][:2], recs[int(data["frame"]) - 1][2], bytes(raw))
    out = tmp_path / "data_after_fin.pcap"
    write_pcap(out, lt, recs[:fin_at] + [moved] + recs[fin_at:])
    seg2 = tcpwatch.analyze(out)
    bad = seg2[seg2["violation"] != ""]
    assert len(bad) == 1 and int(bad.iloc[0]["frame"]) == fin_at + 1
    assert "data sent after its own FIN" in bad.iloc[0]["violation"]
