"""The RFC 9293 state machine of one TCP endpoint, as a table.

Theory of operation (h11's ``_state.py`` shape, indexed like Linux conntrack): every
captured segment is two events -- ``SND_<class>`` for the endpoint that sent it and
``RCV_<class>`` for the one it is addressed to -- and each endpoint moves through the
table below independently.  The table is the readable source: ``(state, event) ->
T(next, reason, RFC 9293 section)``.  At import it is compiled to ``NEXT[event, state]``
(uint8), which the compiled walk reads; it never compares sequence numbers itself.

Sequence-number facts are decided before the lookup, in the walk, and arrive as event
classes (``vocab.SegClass``):

* ``ACK_OF_FIN`` / ``FIN_ACK_OF_FIN``: the segment acknowledges the receiver's FIN
  (its ack is at or beyond the FIN's sequence number + 1).
* ``DATA_PAST_FIN``: payload beyond the sender's own FIN -- data after FIN.
* ``RST`` vs ``RST_BAD``: the rule followed is RFC 9293 §3.10.7.3/§3.10.7.4.  In
  SYN-SENT an RST is acceptable if its ACK acknowledges the SYN (ack = ISN + 1).  In any
  other state it is acceptable if its sequence number is in the receive window,
  RCV.NXT <= SEG.SEQ < RCV.NXT + RCV.WND, with RCV.NXT the next sequence number the
  receiver has seen from the sender (Linux additionally answers an in-window but
  inexact RST with a challenge ACK, RFC 5961 §3.2; a capture shows that ACK).

What the wire cannot tell: whether a segment reached its receiver.  tcpwatch assumes
that every captured segment is delivered (a capture taken at the sender shows segments
later dropped).  States that only time ends (TIME_WAIT -> CLOSED after 2·MSL, 60 s on
Linux) are not left by clock: a capture that ends leaves TIME_WAIT as TIME_WAIT.

Cells missing from the table are INVALID: the state does not change and the segment's
``violation`` column says why.  IGNORED cells leave the state unchanged silently.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..vocab import N_CLASSES, EndpointState, SegClass, Side, event_id, event_name

S = EndpointState
C = SegClass
IGNORED = 254
INVALID = 255


@dataclass(frozen=True, slots=True)
class T:
    next: EndpointState | None  # None: IGNORED (no change, not a violation)
    reason: str
    rfc: str


def snd(c: SegClass) -> int:
    return event_id(Side.SND, c)


def rcv(c: SegClass) -> int:
    return event_id(Side.RCV, c)


OPEN = (S.ESTABLISHED, S.CLOSE_WAIT)  # may send data
AFTER_OWN_FIN = (S.FIN_WAIT_1, S.FIN_WAIT_2, S.CLOSING, S.TIME_WAIT, S.LAST_ACK)
SYNCHRONIZED = (S.ESTABLISHED, S.FIN_WAIT_1, S.FIN_WAIT_2, S.CLOSING, S.TIME_WAIT,
                S.CLOSE_WAIT, S.LAST_ACK)

TABLE: dict[tuple[EndpointState, int], T] = {
    # -- opening -------------------------------------------------------------------------
    (S.CLOSED, snd(C.SYN)): T(S.SYN_SENT, "active open: SYN sent", "3.5"),
    (S.SYN_SENT, snd(C.SYN)): T(None, "SYN retransmitted", "3.8.1"),
    (S.LISTEN, rcv(C.SYN)): T(S.SYN_RECEIVED, "passive open: SYN received", "3.5"),
    (S.SYN_RECEIVED, rcv(C.SYN)): T(None, "SYN retransmitted by the peer", "3.8.1"),
    (S.SYN_RECEIVED, snd(C.SYNACK)): T(None, "SYN+ACK sent", "3.5"),
    (S.SYN_SENT, rcv(C.SYNACK)): T(S.ESTABLISHED, "handshake: SYN+ACK received", "3.5"),
    (S.ESTABLISHED, rcv(C.SYNACK)): T(None, "SYN+ACK retransmitted by the peer", "3.8.1"),
    (S.ESTABLISHED, snd(C.ACK)): T(None, "ACK", "3.10.7.4"),
    (S.SYN_RECEIVED, rcv(C.ACK)): T(S.ESTABLISHED, "handshake complete: ACK received",
                                    "3.5"),
    (S.SYN_RECEIVED, rcv(C.DATA)): T(S.ESTABLISHED, "handshake completed by data", "3.5"),
    (S.SYN_RECEIVED, rcv(C.FIN)): T(S.CLOSE_WAIT, "handshake completed by a FIN",
                                    "3.10.7.4"),
    # simultaneous open (Figure 7): both sides send SYN
    (S.SYN_SENT, rcv(C.SYN)): T(S.SYN_RECEIVED, "simultaneous open: SYN received", "3.5"),
    (S.SYN_RECEIVED, rcv(C.SYNACK)): T(S.ESTABLISHED, "simultaneous open: SYN+ACK received",
                                       "3.5"),
    # a connection refused or aborted before it opened
    (S.CLOSED, rcv(C.SYN)): T(None, "SYN to a closed port (answered by RST)", "3.10.7.1"),
    (S.CLOSED, snd(C.RST)): T(None, "RST from a closed port", "3.10.7.1"),
    (S.SYN_SENT, rcv(C.RST)): T(S.CLOSED, "connection refused (RST acknowledging the SYN)",
                                "3.10.7.3"),
    (S.SYN_SENT, rcv(C.RST_BAD)): T(None, "RST not acknowledging the SYN: ignored",
                                    "3.10.7.3"),
    (S.SYN_RECEIVED, rcv(C.RST)): T(S.LISTEN, "RST in SYN-RECEIVED: back to LISTEN",
                                    "3.10.7.4"),
    (S.SYN_RECEIVED, snd(C.RST)): T(S.CLOSED, "aborted (RST sent)", "3.10.7.4"),
    (S.SYN_SENT, snd(C.RST)): T(S.CLOSED, "aborted (RST sent)", "3.10.7.3"),
    (S.SYN_RECEIVED, rcv(C.RST_BAD)): T(None, "RST outside the window: ignored",
                                        "3.10.7.4"),
    # the SYN+ACK or the third ACK not captured: later segments show the handshake
    # completed (a capture gap, not a protocol event)
    (S.SYN_SENT, snd(C.ACK)): T(S.ESTABLISHED, "ACK sent: the SYN+ACK was not captured",
                                "3.5"),
    (S.SYN_SENT, snd(C.DATA)): T(S.ESTABLISHED, "data sent: the SYN+ACK was not captured",
                                 "3.5"),
    (S.SYN_SENT, rcv(C.ACK)): T(S.ESTABLISHED, "ACK received: the SYN+ACK was not "
                                "captured", "3.5"),
    (S.SYN_SENT, rcv(C.DATA)): T(S.ESTABLISHED, "data received: the SYN+ACK was not "
                                 "captured", "3.5"),
    (S.SYN_RECEIVED, snd(C.ACK)): T(S.ESTABLISHED, "ACK sent: the handshake's ACK was not "
                                    "captured", "3.5"),
    (S.SYN_RECEIVED, snd(C.DATA)): T(S.ESTABLISHED, "data sent: the handshake's ACK was not "
                                     "captured", "3.5"),
    (S.LISTEN, rcv(C.RST)): T(None, "RST to a listener: ignored", "3.10.7.2"),
    (S.LISTEN, rcv(C.RST_BAD)): T(None, "RST to a listener: ignored", "3.10.7.2"),
    # -- closing -------------------------------------------------------------------------
    (S.ESTABLISHED, snd(C.FIN)): T(S.FIN_WAIT_1, "active close: FIN sent", "3.6"),
    (S.ESTABLISHED, rcv(C.FIN)): T(S.CLOSE_WAIT, "passive close: FIN received", "3.6"),
    (S.FIN_WAIT_1, rcv(C.ACK_OF_FIN)): T(S.FIN_WAIT_2, "its FIN acknowledged", "3.6"),
    (S.FIN_WAIT_1, rcv(C.FIN)): T(S.CLOSING, "simultaneous close: FIN received", "3.6"),
    (S.FIN_WAIT_1, rcv(C.FIN_ACK_OF_FIN)): T(S.TIME_WAIT,
                                             "FIN received with the ACK of its own FIN",
                                             "3.6"),
    (S.FIN_WAIT_2, rcv(C.FIN)): T(S.TIME_WAIT, "FIN received", "3.6"),
    (S.FIN_WAIT_2, rcv(C.FIN_ACK_OF_FIN)): T(S.TIME_WAIT, "FIN received", "3.6"),
    (S.CLOSING, rcv(C.ACK_OF_FIN)): T(S.TIME_WAIT, "its FIN acknowledged", "3.6"),
    (S.CLOSING, rcv(C.FIN_ACK_OF_FIN)): T(S.TIME_WAIT, "its FIN acknowledged", "3.6"),
    (S.CLOSE_WAIT, snd(C.FIN)): T(S.LAST_ACK, "FIN sent after the peer's", "3.6"),
    (S.LAST_ACK, rcv(C.ACK_OF_FIN)): T(S.CLOSED, "last ACK received", "3.6"),
    (S.LAST_ACK, rcv(C.FIN_ACK_OF_FIN)): T(S.CLOSED, "last ACK received", "3.6"),
    # retransmitted FINs and their ACKs
    (S.FIN_WAIT_1, snd(C.FIN)): T(None, "FIN retransmitted", "3.8.1"),
    (S.CLOSING, snd(C.FIN)): T(None, "FIN retransmitted", "3.8.1"),
    (S.LAST_ACK, snd(C.FIN)): T(None, "FIN retransmitted", "3.8.1"),
    (S.TIME_WAIT, rcv(C.FIN)): T(None, "FIN retransmitted by the peer: ACK again", "3.10.7.4"),
    (S.TIME_WAIT, rcv(C.FIN_ACK_OF_FIN)): T(None, "FIN retransmitted by the peer", "3.10.7.4"),
    (S.CLOSE_WAIT, rcv(C.FIN)): T(None, "FIN retransmitted by the peer", "3.10.7.4"),
    (S.CLOSE_WAIT, rcv(C.FIN_ACK_OF_FIN)): T(None, "FIN retransmitted by the peer",
                                             "3.10.7.4"),
    (S.CLOSING, rcv(C.FIN)): T(None, "FIN retransmitted by the peer", "3.10.7.4"),
    (S.LAST_ACK, rcv(C.FIN)): T(None, "FIN retransmitted by the peer", "3.10.7.4"),
    (S.CLOSED, rcv(C.ACK_OF_FIN)): T(None, "late ACK of its FIN", "3.10.7.1"),
    (S.CLOSED, rcv(C.FIN_ACK_OF_FIN)): T(None, "late FIN after the close", "3.10.7.1"),
    (S.CLOSED, rcv(C.ACK)): T(None, "segment after the close", "3.10.7.1"),
    (S.CLOSED, rcv(C.DATA)): T(None, "segment after the close", "3.10.7.1"),
    (S.CLOSED, rcv(C.FIN)): T(None, "segment after the close", "3.10.7.1"),
}

# Every synchronized state: ACKs and data flow as long as the direction is open.
for _s in SYNCHRONIZED:
    TABLE.setdefault((_s, rcv(C.ACK)), T(None, "ACK", "3.10.7.4"))
    TABLE.setdefault((_s, rcv(C.ACK_OF_FIN)), T(None, "ACK", "3.10.7.4"))
    TABLE.setdefault((_s, snd(C.ACK)), T(None, "ACK", "3.10.7.4"))
    # RST: the sender aborts; an acceptable RST closes the receiver; a bad one is ignored
    TABLE.setdefault((_s, snd(C.RST)), T(S.CLOSED, "aborted (RST sent)", "3.10.7.4"))
    TABLE.setdefault((_s, rcv(C.RST)), T(S.CLOSED, "connection reset (RST received)",
                                         "3.10.7.4"))
    TABLE.setdefault((_s, rcv(C.RST_BAD)), T(None, "RST outside the window: ignored",
                                             "3.10.7.4"))
for _s in OPEN:  # the sender's direction is open: data is normal
    TABLE.setdefault((_s, snd(C.DATA)), T(None, "data", "3.10.7.4"))
for _s in (S.ESTABLISHED, S.FIN_WAIT_1, S.FIN_WAIT_2):  # the receiver still accepts data
    TABLE.setdefault((_s, rcv(C.DATA)), T(None, "data", "3.10.7.4"))
# data retransmitted after a FIN, still below the FIN's sequence number: legitimate
for _s in AFTER_OWN_FIN:
    TABLE.setdefault((_s, snd(C.DATA)), T(None, "data sent before the FIN, retransmitted",
                                          "3.8.1"))
for _s in (S.CLOSE_WAIT, S.CLOSING, S.TIME_WAIT, S.LAST_ACK):
    TABLE.setdefault((_s, rcv(C.DATA)), T(None, "data sent before the FIN, retransmitted",
                                          "3.8.1"))
# the other side's SYN+ACK or SYN retransmitted late
for _s in (S.SYN_RECEIVED, S.ESTABLISHED):
    TABLE.setdefault((_s, snd(C.SYNACK)), T(None, "SYN+ACK retransmitted", "3.8.1"))
TABLE.setdefault((S.ESTABLISHED, rcv(C.SYN)), T(None, "SYN retransmitted by the peer",
                                               "3.10.7.4"))

#: Cells left out on purpose, with the reason a segment hitting them is a violation.
VIOLATIONS: dict[tuple[EndpointState, int], str] = {
    **{(s, snd(C.DATA_PAST_FIN)): "data sent after its own FIN (RFC 9293 §3.6)"
       for s in EndpointState},
    **{(s, rcv(C.DATA_PAST_FIN)): "data received after the peer's FIN (RFC 9293 §3.6)"
       for s in EndpointState},
    (S.CLOSED, snd(C.DATA)): "data from a closed endpoint",
    (S.CLOSED, snd(C.FIN)): "FIN from a closed endpoint",
    (S.CLOSED, snd(C.ACK)): "segment from a closed endpoint",
}


def describe(state: EndpointState, event: int) -> str:
    """Why ``event`` in ``state`` is INVALID (for the ``violation`` column)."""
    if (state, event) in VIOLATIONS:
        return VIOLATIONS[(state, event)]
    side, cls = divmod(event, N_CLASSES)
    who = "sent" if side == Side.SND else "received"
    return f"{SegClass(cls).name.replace('_', ' ')} {who} in {state.name} ({event_name(event)})"


def compile_table() -> np.ndarray:
    """``NEXT[event, state]``: next state, IGNORED or INVALID."""
    table = np.full((2 * N_CLASSES, len(EndpointState)), INVALID, np.uint8)
    for (state, event), t in TABLE.items():
        table[event, state] = IGNORED if t.next is None else t.next
    return table


NEXT = compile_table()
