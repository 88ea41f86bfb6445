"""event_client / event_server recomputed from RFC 9293 and the columns tshark guards.

Wireshark has no per-end event; what each end did or received is a function of the flags,
lengths and relative numbers (all checked against tshark, tcpwatch.report.parity), written out
here on its own, one segment at a time in Python, instead of trusting the compiled walk:

* the sender's event is ``SND_<class>`` with the class from the flags in precedence RST >
  SYN+ACK > SYN > FIN > payload (DATA) > ACK > NONE, except DATA_PAST_FIN: payload ending
  beyond the sender's own earlier FIN;
* the receiver's is ``RCV_<same class>``, except ACK_OF_FIN / FIN_ACK_OF_FIN (an ACK, data
  or FIN whose ack reaches past the receiver's own earlier FIN) and RST_BAD: an RST its
  receiver must ignore (RFC 9293 §3.10.7.3: in SYN-SENT unless it acknowledges the SYN;
  §3.10.7.4 otherwise: unless RCV.NXT <= SEG.SEQ < RCV.NXT + RCV.WND, or SEG.SEQ == RCV.NXT
  when the window is zero; an RST from an end never seen before cannot be judged and
  counts as acceptable).  RCV.NXT is the sender's highest seq + len (+1 for SYN, FIN) seen
  so far outside RSTs, RCV.WND the receiver's last advertised window (``win``).
"""

from __future__ import annotations

import pytest

import tcpwatch
from tcpwatch.vocab import Col, TcpFlag

from ..conftest import REPO, public_captures

CAPTURES = public_captures() + sorted((REPO / "captures").glob("*.pcap"))
F = TcpFlag


def flag_class(flags: int, length: int) -> str:
    if flags & F.RST:
        return "RST"
    if flags & F.SYN:
        return "SYNACK" if flags & F.ACK else "SYN"
    if flags & F.FIN:
        return "FIN"
    if length:
        return "DATA"
    return "ACK" if flags & F.ACK else "NONE"


def expected_events(seg) -> list[tuple[str, str]]:
    """(event_client, event_server) per segment, in file order."""
    nxt: dict[tuple, int] = {}  # (conn, role) -> RCV.NXT the peer expects from it
    fin_end: dict[tuple, int] = {}  # (conn, role) -> the sequence number after its FIN
    win: dict[tuple, int] = {}  # (conn, role) -> its last advertised window
    out = []
    for r in seg.itertuples(index=False):
        me, peer = (r.conn, r.role), (r.conn, "server" if r.role == "client" else "client")
        f, seq, ack, n = int(r.flags), int(r.rel_seq), int(r.rel_ack), int(r.len)
        snd = rcv = flag_class(f, n)
        if snd == "DATA" and me in fin_end and seq + n > fin_end[me] - 1:
            snd = rcv = "DATA_PAST_FIN"
        acks_fin = peer in fin_end and f & F.ACK and ack >= fin_end[peer]
        if acks_fin and snd in ("ACK", "DATA"):
            rcv = "ACK_OF_FIN"
        elif acks_fin and snd == "FIN":
            rcv = "FIN_ACK_OF_FIN"
        elif snd == "RST":
            receiver_state = r.state_before_server if r.role == "client" else r.state_before_client
            if receiver_state == "SYN_SENT":
                ok = bool(f & F.ACK) and ack == 1
            elif me not in nxt:
                ok = True
            else:
                wnd = win.get(peer, 0)
                ok = seq == nxt[me] if wnd == 0 else nxt[me] <= seq < nxt[me] + wnd
            rcv = "RST" if ok else "RST_BAD"
        end = seq + n + bool(f & F.SYN) + bool(f & F.FIN)
        if not f & F.RST:
            nxt[me] = max(nxt.get(me, end), end)
            win[me] = int(r.win)
        if f & F.FIN and me not in fin_end:
            fin_end[me] = end
        events = (f"SND_{snd}", f"RCV_{rcv}")
        out.append(events if r.role == "client" else events[::-1])
    return out


@pytest.mark.parametrize("path", CAPTURES, ids=lambda p: p.name)
def test_event_columns(path):
    seg = tcpwatch.analyze(path)
    want = expected_events(seg)
    got = list(zip(seg[Col.EVENT_CLIENT].astype(str), seg[Col.EVENT_SERVER].astype(str),
                   strict=True))
    bad = [(int(fr), w, g) for fr, w, g in zip(seg[Col.FRAME], want, got, strict=True) if w != g]
    assert not bad, f"{len(bad)} segments (frame, recomputed, tcpwatch): {bad[:10]}"


def test_every_class_is_exercised():
    seen = set()
    for path in CAPTURES:
        seen |= {e for pair in expected_events(tcpwatch.analyze(path)) for e in pair}
    assert {"SND_SYN", "RCV_SYNACK", "RCV_ACK_OF_FIN", "RCV_FIN_ACK_OF_FIN", "RCV_RST",
            "RCV_RST_BAD", "SND_DATA", "RCV_FIN"} <= seen, sorted(seen)
