"""The analysis flags: one table, in Wireshark's evaluation order.

Names are Wireshark's ``tcp.analysis.*`` fields without the prefix; bits are
Wireshark's TCP_A_* values (packet-tcp.h), also used by the compiled pass
(``analyze_flags`` in ``csrc/flags.c``).  The rules, in the order Wireshark tests them
(``tcp_analyze_sequence_number``; "f" is the sender's direction, "r" the other one,
numbers are raw, comparisons wrap-aware):

 1. zero_window_probe      1 byte at f.nextseq while r's last window was 0 (then skip to 9b)
 2. zero_window            window 0, no SYN/FIN/RST
 3. lost_segment           seq beyond f.nextseq ("previous segment not captured"), not RST
 4. keep_alive             0 or 1 byte at f.nextseq - 1, no SYN/FIN/RST.  Linux's
                           zero-window probe is exactly this (seq = SND.UNA - 1, no data),
                           so Wireshark calls it Keep-Alive, not ZeroWindowProbe.
 5. window_update          no data, window changed (not 0), same seq/ack as f's last
 6. window_full            data reaching r.lastack + r.window << r.scale exactly (only
                           once r's scale is known from its SYN; unscaled until r's
                           first ACK without SYN)
 7. keep_alive_ack         repeats f's last ACK and window right after r's keep-alive
 8. zero_window_probe_ack  repeats a zero window right after r's zero-window probe
 9. duplicate_ack          no data, same window (not 0), seq and ack as f's last
 9b. (dup-ack counters reset when the ack changes)
10. ack_lost_segment       acknowledges beyond what r was seen sending ("ACKed unseen"),
                           once per gap: again only when r sent more since, or a new ack
11. spurious_retransmission data r had already acknowledged (tested first, as tshark
                           4.0 does; the RFC's notion would need the receiver's view)
12. fast_retransmission    old data at r's repeated ack within 20 ms of r's 2nd dup ack
13. out_of_order           old data within the iRTT (3 ms if unknown) of f's newest
14. retransmission         any other data that does not advance f.nextseq.
                           Wireshark also sets ``tcp.analysis.retransmission`` on fast
                           and spurious retransmissions; so does the compiled pass, in
                           the bits it returns (every reader counts that one bit).
15. reused_ports           a SYN that opens a new connection on an old 4-tuple
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class AnalysisFlag:
    name: str  # the events name (tcp.analysis.<name>)
    bit: int  # Wireshark's TCP_A_* bit
    tag: str  # Wireshark's Info column tag
    severity: str  # Wireshark's expert severity

    @property
    def field(self) -> str:
        return f"tcp.analysis.{self.name}"


FLAGS: tuple[AnalysisFlag, ...] = (
    AnalysisFlag("retransmission", 0x0001, "[TCP Retransmission]", "note"),
    AnalysisFlag("fast_retransmission", 0x0400, "[TCP Fast Retransmission]", "note"),
    AnalysisFlag("spurious_retransmission", 0x4000, "[TCP Spurious Retransmission]", "note"),
    AnalysisFlag("out_of_order", 0x0200, "[TCP Out-Of-Order]", "warn"),
    AnalysisFlag("lost_segment", 0x0002, "[TCP Previous segment not captured]", "warn"),
    AnalysisFlag("ack_lost_segment", 0x0004, "[TCP ACKed unseen segment]", "warn"),
    AnalysisFlag("duplicate_ack", 0x0010, "[TCP Dup ACK]", "note"),
    AnalysisFlag("zero_window", 0x0020, "[TCP ZeroWindow]", "warn"),
    AnalysisFlag("zero_window_probe", 0x0040, "[TCP ZeroWindowProbe]", "note"),
    AnalysisFlag("zero_window_probe_ack", 0x0080, "[TCP ZeroWindowProbeAck]", "note"),
    AnalysisFlag("window_full", 0x1000, "[TCP Window Full]", "warn"),
    AnalysisFlag("window_update", 0x0800, "[TCP Window Update]", "chat"),
    AnalysisFlag("keep_alive", 0x0008, "[TCP Keep-Alive]", "note"),
    AnalysisFlag("keep_alive_ack", 0x0100, "[TCP Keep-Alive ACK]", "note"),
    AnalysisFlag("reused_ports", 0x2000, "[TCP Port numbers reused]", "note"),
)
BY_NAME = {f.name: f for f in FLAGS}
