"""Both endpoints' RFC 9293 states, segment by segment: the reference of ``walk_states``.

One plain loop in file order.  The rules are read from ``tcpwatch/engine/transitions.py`` (the
transition table is data, the single source of the state machine); what the table does
not decide -- which event class a segment is for its sender and its receiver -- is
written here as RFC 9293 states it:

* the class from the flags, in precedence RST > SYN+ACK > SYN > FIN > data > ACK;
* ``DATA_PAST_FIN``: payload whose end lies beyond the sender's own FIN (§3.6: no data
  after FIN);
* ``ACK_OF_FIN`` / ``FIN_ACK_OF_FIN`` (receiver only): an ACK, data or FIN whose
  acknowledgment number reaches past the receiver's FIN;
* ``RST_BAD`` (receiver only), §3.10.7.3/§3.10.7.4: in SYN-SENT an RST is acceptable if
  it acknowledges the SYN (relative ack 1); otherwise if its sequence number lies in the
  receiver's window RCV.NXT <= SEG.SEQ < RCV.NXT + RCV.WND, RCV.NXT being the highest
  sequence end seen from the sender and RCV.WND the receiver's last advertised window
  (a zero window: SEG.SEQ = RCV.NXT).  Nothing seen from the sender yet: accepted;
* FINs that cross (a simultaneous close seen with delay): when the receiver's next FIN
  does not acknowledge this FIN, the receiver sent it before this FIN arrived, so this
  FIN's receive is applied just after that later send.

Initial states (nothing before the capture): a connection whose first segment is the
client's SYN starts client CLOSED, server LISTEN (CLOSED if the server's first segment is
an RST: nobody listening); one that starts with a SYN+ACK starts SYN_SENT/SYN_RECEIVED;
anything else ESTABLISHED/ESTABLISHED.  All but the first are ``inferred``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tcpwatch.engine.transitions import TABLE
from tcpwatch.vocab import EndpointState, SegClass, Side, TcpFlag, event_id

S = EndpointState
C = SegClass
CLIENT, SERVER = 0, 1
#: bits of ``StateRow.bad``: the sender's / the receiver's cell is a violation
BAD_SENDER, BAD_RECEIVER = 1, 2


def after_or_at(a: int, b: int) -> bool:
    """RFC 9293 §3.4 modular comparison: ``a`` >= ``b`` in 32-bit sequence space."""
    return (a - b) & 0xFFFFFFFF < 0x80000000


def after(a: int, b: int) -> bool:
    """``a`` > ``b`` in 32-bit sequence space."""
    return 0 < (a - b) & 0xFFFFFFFF < 0x80000000


@dataclass(frozen=True, slots=True)
class Segment:
    """What the state walk reads of one segment (relative seq/ack, scaled window)."""

    conn: int
    sender: int  # 0 client, 1 server
    flags: int
    seq: int
    ack: int
    length: int
    win: int


@dataclass(frozen=True, slots=True)
class StateRow:
    before: tuple[int, int]  # (client, server)
    after: tuple[int, int]
    snd_event: int
    rcv_event: int
    bad: int
    inferred: bool


def flag_class(flags: int, length: int) -> SegClass:
    """The event class the flags alone decide, highest precedence first."""
    if flags & TcpFlag.RST:
        return C.RST
    if flags & TcpFlag.SYN:
        return C.SYNACK if flags & TcpFlag.ACK else C.SYN
    if flags & TcpFlag.FIN:
        return C.FIN
    if length > 0:
        return C.DATA
    if flags & TcpFlag.ACK:
        return C.ACK
    return C.NONE


def initial_states(segments: list[Segment]) -> tuple[dict[int, tuple[int, int]],
                                                     dict[int, bool]]:
    """Each connection's (client, server) state before its first segment, and whether
    that is inferred."""
    first: dict[int, Segment] = {}
    first_server: dict[int, Segment] = {}
    for s in segments:
        first.setdefault(s.conn, s)
        if s.sender == SERVER:
            first_server.setdefault(s.conn, s)
    init: dict[int, tuple[int, int]] = {}
    inferred: dict[int, bool] = {}
    for c, s in first.items():
        cls = flag_class(s.flags, s.length)
        if cls == C.SYN and s.sender == CLIENT:
            reply = first_server.get(c)
            refused = reply is not None and flag_class(reply.flags, reply.length) == C.RST
            init[c] = (S.CLOSED, S.CLOSED if refused else S.LISTEN)
            inferred[c] = False
        elif cls == C.SYNACK:
            init[c], inferred[c] = (S.SYN_SENT, S.SYN_RECEIVED), True
        else:
            init[c], inferred[c] = (S.ESTABLISHED, S.ESTABLISHED), True
    return init, inferred


@dataclass(slots=True)
class Direction:
    """What one endpoint has sent so far."""

    nxt: int | None = None  # the highest sequence end sent (RCV.NXT at the peer)
    fin_end: int | None = None  # its first FIN's sequence number + 1
    win: int | None = None  # the last window it advertised


@dataclass(slots=True)
class Connection:
    state: list[int]
    sent: tuple[Direction, Direction] = field(
        default_factory=lambda: (Direction(), Direction()))
    #: a receive deferred to just after this row (FINs that cross): (row, class)
    deferred: list[tuple[int, SegClass] | None] = field(default_factory=lambda: [None, None])


def step(state: int, event: int) -> tuple[int, bool]:
    """(next state, violation): a missing cell is a violation and changes nothing."""
    t = TABLE.get((EndpointState(state), event))
    if t is None:
        return state, True
    return (state if t.next is None else int(t.next)), False


def receiver_class(sc: SegClass, s: Segment, conn: Connection) -> SegClass:
    """The class the receiver sees: the ACK of its FIN, or an unacceptable RST."""
    own, peer = conn.sent[s.sender], conn.sent[1 - s.sender]
    acks_fin = (peer.fin_end is not None and bool(s.flags & TcpFlag.ACK)
                and after_or_at(s.ack, peer.fin_end))
    if sc in (C.ACK, C.DATA) and acks_fin:
        return C.ACK_OF_FIN
    if sc == C.FIN and acks_fin:
        return C.FIN_ACK_OF_FIN
    if sc == C.RST:
        if conn.state[1 - s.sender] == S.SYN_SENT:  # §3.10.7.3
            ok = bool(s.flags & TcpFlag.ACK) and s.ack == 1
        elif own.nxt is None:
            ok = True
        else:  # §3.10.7.4: in the receive window
            wnd = peer.win or 0
            ok = s.seq == own.nxt if wnd == 0 else (
                after_or_at(s.seq, own.nxt) and not after_or_at(s.seq, own.nxt + wnd))
        return sc if ok else C.RST_BAD
    return sc


def next_fin_of_peer(segments: list[Segment]) -> list[int | None]:
    """Per row: the next row of the same connection that is a FIN sent by the other end."""
    out: list[int | None] = [None] * len(segments)
    later: dict[tuple[int, int], int] = {}
    for i in range(len(segments) - 1, -1, -1):
        s = segments[i]
        out[i] = later.get((s.conn, 1 - s.sender))
        if s.flags & TcpFlag.FIN:
            later[(s.conn, s.sender)] = i
    return out


def walk_states(segments: list[Segment]) -> list[StateRow]:
    """Every segment's states before/after, both events and the violation bits."""
    init, inferred = initial_states(segments)
    peer_fin = next_fin_of_peer(segments)
    conns: dict[int, Connection] = {}
    rows = []
    for i, s in enumerate(segments):
        conn = conns.setdefault(s.conn, Connection(list(init[s.conn])))
        snd_end, rcv_end = s.sender, 1 - s.sender
        own = conn.sent[snd_end]
        before = (conn.state[CLIENT], conn.state[SERVER])
        sc = flag_class(s.flags, s.length)
        if sc == C.DATA and own.fin_end is not None and after(s.seq + s.length,
                                                              own.fin_end - 1):
            sc = C.DATA_PAST_FIN
        rc = receiver_class(sc, s, conn)
        bad = 0
        # the sender sends ...
        conn.state[snd_end], invalid = step(conn.state[snd_end], event_id(Side.SND, sc))
        bad |= BAD_SENDER if invalid else 0
        deferred = conn.deferred[snd_end]
        if deferred is not None and deferred[0] == i:  # ... after its crossing FIN
            conn.deferred[snd_end] = None
            conn.state[snd_end], _ = step(conn.state[snd_end],
                                          event_id(Side.RCV, deferred[1]))
        # ... and the receiver receives, unless it sent its own FIN before this one came
        later = peer_fin[i]
        if rc in (C.FIN, C.FIN_ACK_OF_FIN) and later is not None and not after_or_at(
                segments[later].ack, s.seq + s.length + 1):
            conn.deferred[rcv_end] = (later, rc)
        else:
            conn.state[rcv_end], invalid = step(conn.state[rcv_end], event_id(Side.RCV, rc))
            bad |= BAD_RECEIVER if invalid else 0
        rows.append(StateRow(before, (conn.state[CLIENT], conn.state[SERVER]),
                             event_id(Side.SND, sc), event_id(Side.RCV, rc), bad,
                             inferred[s.conn]))
        record_sent(own, s)
    return rows


def record_sent(own: Direction, s: Segment) -> None:
    """The sender's sequence end, first FIN and window (an RST's seq says nothing)."""
    end = (s.seq + s.length + (1 if s.flags & TcpFlag.SYN else 0)
           + (1 if s.flags & TcpFlag.FIN else 0)) & 0xFFFFFFFF
    if not s.flags & TcpFlag.RST:
        if own.nxt is None or after(end, own.nxt):
            own.nxt = end
        own.win = s.win
    if s.flags & TcpFlag.FIN and own.fin_end is None:
        own.fin_end = end
