"""Wireshark's TCP sequence analysis, segment by segment: the reference of
``analyze_flags``.

One plain loop in file order over raw (absolute) numbers, with the state packet-tcp.c
keeps per direction (``tcp_flow_t``); ``f`` is the sender's direction, ``r`` the other.
The cascade is ``tcp_analyze_sequence_number`` as tshark 4.0 runs it on the first pass
(``tcpwatch/engine/registry.py`` lists the rules in the same order):

 1. zero_window_probe: 1 byte at f.nextseq while r's last window was 0; skip to 9b.
 2. zero_window: window 0, no SYN/FIN/RST.
 3. lost_segment: seq beyond f.nextseq, not an RST (and bytes in flight unknown).
 4. keep_alive: 0 or 1 byte at f.nextseq - 1, no SYN/FIN/RST.
 5. window_update: no data, a new non-zero window, the same seq/ack as f's last.
 6. window_full: data ending exactly at r.lastack + r.window << r.scale, once r's
    scale is known; unscaled from r's SYN until r's first ACK without SYN (issue 14690).
 7. keep_alive_ack: f's last ACK and window repeated right after r's keep-alive; to 9b.
 8. zero_window_probe_ack: a zero window repeated right after r's probe; to 9b.
 9. duplicate_ack: no data, the same non-zero window, seq and ack as f's last; counted.
 9b. a new ack resets f's duplicate count and is the frame dup ACKs refer to.
10. ack_lost_segment: acknowledges beyond what r was seen sending; once per gap:
    r.maxseqtobeacked moves up to r.nextseq when below it, else
    r's dup-ack count becomes Wireshark's -1 (a guint32: ``DUPACK_UNSEEN``, which
    counts as >= 2 for fast retransmissions) and the flag waits for r's next new ack.
11. the retransmission family, for segments with data, SYN or FIN that are not
    keep-alives: spurious (every byte already acknowledged by r) first; then, for
    data not beyond f.nextseq, fast retransmission (r's 2nd dup ACK for this seq within
    20 ms), out of order (within the iRTT, 3 ms if unknown, of f's newest, and not
    ending at f.nextseq), else retransmission.
12. reused_ports: the pure SYN that opens a connection on an earlier one's 4-tuple; a
    SYN+ACK with a new ISN for its direction (``tshark -2`` re-bases at each SYN+ACK
    from the final base and only adds flags, so a direction's first SYN+ACK is flagged
    too when a later one has another ISN).

Before the cascade, a pure SYN repeating its direction's ISN (a SYN retransmission in
the same conversation) winds f.nextseq back to f.maxseqtobeacked (packet-tcp.c's
``dissect_tcp``, issue 17616).

Then the direction's state moves on: the unacked list (for acks_frame / ack_rtt: an ACK
equal to an entry's end acknowledges it, one inside trims it, one past it drops it),
nextseq, maxseqtobeacked, window, lastack, the flags of its last segment; bytes in
flight (the span of f's unacked list in numbers relative to f's base, compared
unsigned, less what r's last SACK held; if in (0, 2e9), 1 less for SYN/FIN, and shown
when not 0);
the iRTT (the first ACK after a pure SYN); the window scale, read after the analysis.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from tcpwatch.engine.registry import BY_NAME
from tcpwatch.vocab import TcpFlag

MASK = 0xFFFFFFFF
MAX_UNACKED = 10_000
FAST_RT_NS = 20_000_000
DEFAULT_OOO_NS = 3_000_000
DUPACK_UNSEEN = MASK  # Wireshark's dupacknum = -1, a guint32
SFR = TcpFlag.SYN | TcpFlag.FIN | TcpFlag.RST
BIT = {name: f.bit for name, f in BY_NAME.items()}


def _int32(x: int) -> int:
    x &= MASK
    return x - (1 << 32) if x >= 0x80000000 else x


# packet-tcp.c's macros, as written there: a difference taken as a signed 32-bit number
# (so at exactly 2^31 apart, a is both after b and at or before it)
def gt(a: int, b: int) -> bool:
    """GT_SEQ(a, b): ``(gint32)(b - a) < 0``."""
    return _int32(b - a) < 0


def lt(a: int, b: int) -> bool:
    """LT_SEQ(a, b): ``(gint32)(a - b) < 0``."""
    return _int32(a - b) < 0


def le(a: int, b: int) -> bool:
    """LE_SEQ(a, b): ``(gint32)(a - b) <= 0``."""
    return _int32(a - b) <= 0


@dataclass(frozen=True, slots=True)
class Segment:
    conn: int
    sender: int
    flags: int
    seq: int
    ack: int
    length: int
    win: int  # raw
    wscale: int  # -1: no option
    ts_ns: int
    frame: int
    sack: tuple[int, ...] = ()  # edges: left, right, left, right...


@dataclass(slots=True)
class Unacked:
    frame: int
    seq: int
    nextseq: int
    ts_ns: int


@dataclass(slots=True)
class Flow:
    base: int | None = None
    nextseq: int = 0  # 0: unknown, as in Wireshark
    nextseqtime: int = 0
    maxseqtobeacked: int = 0
    lastack: int = 0
    lastacktime: int = 0
    window: int = 0xFFFFFFFF
    win_scale: int = -1
    is_first_ack: bool = False  # from f's SYN to f's first ACK without SYN
    lastnondupack: int = 0
    dupacknum: int = 0
    lastsegmentflags: int = 0
    valid_bif: bool = True
    sack_bytes: int = 0
    first_synack: tuple[int, int, bool] | None = None  # (row, ISN, flagged by pass 1)
    unacked: list[Unacked] = field(default_factory=list)  # oldest first


@dataclass(slots=True)
class FlagRow:
    bits: int = 0
    dup_num: int = 0
    dup_frame: int = -1
    bytes_in_flight: int = -1
    acked_frame: int = -1
    ack_rtt: float = math.nan


@dataclass(slots=True)
class Connection:
    flows: tuple[Flow, Flow] = field(default_factory=lambda: (Flow(), Flow()))
    first_rtt: int = 0
    mru_syn: int = 0


def reused_conns(segments: list[Segment], tuples: list[frozenset]) -> set[int]:
    """Connections whose first segment is a pure SYN on the 4-tuple of an earlier one."""
    seen_tuples: set[frozenset] = set()
    seen_conns: set[int] = set()
    out = set()
    for s, t in zip(segments, tuples, strict=True):
        if s.conn in seen_conns:
            continue
        seen_conns.add(s.conn)
        if t in seen_tuples and s.flags & (TcpFlag.SYN | TcpFlag.ACK) == TcpFlag.SYN:
            out.add(s.conn)
        seen_tuples.add(t)
    return out


def analyze(segments: list[Segment], reused: set[int]) -> list[FlagRow]:
    conns: dict[int, Connection] = {}
    rows: list[FlagRow] = []
    for i, s in enumerate(segments):
        conn = conns.setdefault(s.conn, Connection())
        f, r = conn.flows[s.sender], conn.flows[1 - s.sender]
        row = FlagRow()
        rows.append(row)
        if s.flags & (TcpFlag.SYN | TcpFlag.ACK) == TcpFlag.SYN and s.seq == f.base:
            f.nextseq = f.maxseqtobeacked  # a retransmitted SYN (issue 17616)
        row.bits = reused_ports(s, i, f, r, s.conn in reused, rows)
        if f.base is None:
            f.base = s.seq if s.flags & TcpFlag.SYN else (s.seq - 1) & MASK
        if s.flags & TcpFlag.ACK:
            if r.base is None:
                r.base = (s.ack - 1) & MASK
            r.valid_bif = True
        row.bits |= cascade(s, f, r, row)
        row.bits |= retransmission(s, f, r, row.bits, conn.first_rtt)
        advance(s, i, f, r, row, conn)
    return rows


def reused_ports(s: Segment, i: int, f: Flow, r: Flow, reused: bool,
                 rows: list[FlagRow]) -> int:
    bit = BIT["reused_ports"]
    syn, ack = bool(s.flags & TcpFlag.SYN), bool(s.flags & TcpFlag.ACK)
    a = 0
    if syn and not ack and reused and f.base is None and r.base is None:
        a |= bit
    if syn and ack:
        if f.base is not None and s.seq != f.base:
            a |= bit
            f.base = s.seq
        if f.first_synack is None:
            f.first_synack = (i, s.seq, bool(a))
        else:  # tshark -2 adds the second pass's flag: against the last ISN
            row, isn, flagged = f.first_synack
            if s.seq != isn or flagged:
                rows[row].bits |= bit
            else:
                rows[row].bits &= ~bit
    return a


def cascade(s: Segment, f: Flow, r: Flow, row: FlagRow) -> int:
    """Steps 1-10 (everything before the retransmission family)."""
    a = 0
    no_sfr = not s.flags & SFR
    same = s.seq == f.nextseq and s.ack == f.lastack and no_sfr and s.length == 0
    if s.length == 1 and s.seq == f.nextseq and r.window == 0:
        a |= BIT["zero_window_probe"]
    else:
        if s.win == 0 and no_sfr:
            a |= BIT["zero_window"]
        if f.nextseq and gt(s.seq, f.nextseq) and not s.flags & TcpFlag.RST:
            a |= BIT["lost_segment"]
            f.valid_bif = False
        if s.length in (0, 1) and s.seq == (f.nextseq - 1) & MASK and no_sfr:
            a |= BIT["keep_alive"]
        if same and s.win != 0 and s.win != f.window:
            a |= BIT["window_update"]
        if s.length > 0 and r.win_scale != -1 and no_sfr:
            shift = 0 if r.is_first_ack or r.win_scale == -2 else r.win_scale
            if (s.seq + s.length) & MASK == (r.lastack + ((r.window << shift) & MASK)) & MASK:
                a |= BIT["window_full"]
        if same and s.win != 0 and s.win == f.window and (
                r.lastsegmentflags & BIT["keep_alive"]):
            a |= BIT["keep_alive_ack"]
        elif same and s.win == 0 and s.win == f.window and (
                r.lastsegmentflags & BIT["zero_window_probe"]):
            a |= BIT["zero_window_probe_ack"]
        elif same and s.win != 0 and s.win == f.window:
            f.dupacknum = 1 if f.dupacknum == DUPACK_UNSEEN else f.dupacknum + 1
            a |= BIT["duplicate_ack"]
            row.dup_num, row.dup_frame = f.dupacknum, f.lastnondupack
    if s.ack != f.lastack:  # 9b
        f.lastnondupack, f.dupacknum = s.frame, 0
    if r.maxseqtobeacked and gt(s.ack, r.maxseqtobeacked) and s.flags & TcpFlag.ACK:
        if lt(r.maxseqtobeacked, r.nextseq):
            r.maxseqtobeacked = r.nextseq
            a |= BIT["ack_lost_segment"]
        else:
            if r.dupacknum == 0:
                a |= BIT["ack_lost_segment"]
            r.dupacknum = DUPACK_UNSEEN
    return a


def retransmission(s: Segment, f: Flow, r: Flow, a: int, first_rtt: int) -> int:
    """Step 11: at most one of spurious, fast, out of order, retransmission (tshark
    also marks the fast and spurious kinds retransmission)."""
    syn_fin = bool(s.flags & (TcpFlag.SYN | TcpFlag.FIN))
    if not (s.length > 0 or syn_fin) or a & BIT["keep_alive"]:
        return 0
    not_advanced = bool(f.nextseq) and lt(s.seq, f.nextseq)
    if s.length > 1 and (f.nextseq - 1) & MASK == s.seq:
        not_advanced = False
    if s.length > 0 and r.lastack and le(s.seq + s.length, r.lastack):
        return BIT["spurious_retransmission"] | BIT["retransmission"]
    if not not_advanced:
        return 0
    if r.dupacknum >= 2 and r.lastack == s.seq and s.ts_ns - r.lastacktime < FAST_RT_NS:
        return BIT["fast_retransmission"] | BIT["retransmission"]
    threshold = first_rtt or DEFAULT_OOO_NS
    if (s.ts_ns - f.nextseqtime < threshold
            and f.nextseq != (s.seq + s.length + (1 if syn_fin else 0)) & MASK):
        return BIT["out_of_order"]
    return BIT["retransmission"]


def advance(s: Segment, i: int, f: Flow, r: Flow, row: FlagRow, conn: Connection) -> None:
    """The directions' state after the segment, acks_frame/ack_rtt, bytes in flight."""
    syn, fin = bool(s.flags & TcpFlag.SYN), bool(s.flags & TcpFlag.FIN)
    probe = bool(row.bits & BIT["zero_window_probe"])
    nextseq = (s.seq + s.length) & MASK
    if (s.length or syn or fin) and len(f.unacked) < MAX_UNACKED:
        nextseq = (nextseq + (1 if syn or fin else 0)) & MASK
        f.unacked.append(Unacked(s.frame, s.seq, nextseq, s.ts_ns))
    if (gt(nextseq, f.nextseq) or not f.nextseq) and not probe:
        f.nextseq, f.nextseqtime = nextseq, s.ts_ns
    if (s.seq == f.maxseqtobeacked or not f.maxseqtobeacked) and not probe:
        f.maxseqtobeacked = f.nextseq
    f.window, f.lastack, f.lastacktime = s.win, s.ack, s.ts_ns
    f.lastsegmentflags = row.bits
    acknowledge(s, r, row)
    if s.length and f.unacked and f.valid_bif:
        row.bytes_in_flight = in_flight(f, r, syn or fin)
    f.sack_bytes = sum(s.sack[k + 1] - s.sack[k] for k in range(0, len(s.sack) - 1, 2)) & MASK
    if syn and not s.flags & TcpFlag.ACK:
        conn.mru_syn = s.ts_ns
    if s.flags & (TcpFlag.SYN | TcpFlag.ACK) == TcpFlag.ACK and conn.mru_syn and not (
            conn.first_rtt):
        conn.first_rtt = s.ts_ns - conn.mru_syn
    if syn:
        f.is_first_ack = True
    elif s.flags & TcpFlag.ACK:
        f.is_first_ack = False
    if s.wscale >= 0:  # options are read after the analysis
        f.win_scale = min(s.wscale, 14)
    if syn:
        if f.win_scale == -1:
            f.win_scale = r.win_scale = -2
        elif s.flags & TcpFlag.ACK and r.win_scale == -2:
            f.win_scale = -2


def acknowledge(s: Segment, r: Flow, row: FlagRow) -> None:
    """Match the ack against r's unacked segments, newest first (the oldest full match
    is the one reported)."""
    kept = []
    for u in reversed(r.unacked):
        if s.ack == u.nextseq:
            row.acked_frame = u.frame
            row.ack_rtt = math.nan if s.ts_ns == u.ts_ns else (s.ts_ns - u.ts_ns) / 1e9
            continue
        if gt(s.ack, u.seq) and le(s.ack, u.nextseq):
            u.seq = s.ack  # a partial ACK trims it
        elif not gt(u.nextseq, s.ack):
            continue
        kept.append(u)
    r.unacked = kept[::-1]


def in_flight(f: Flow, r: Flow, syn_fin: bool) -> int:
    """Over numbers relative to f's base, compared as unsigned (not wrap-aware)."""
    base = f.base or 0
    first = min((u.seq - base) & MASK for u in f.unacked)
    last = max((u.nextseq - base) & MASK for u in f.unacked)
    value = (last - first - r.sack_bytes) & MASK
    if not 0 < value < 2_000_000_000:
        return -1
    value -= 1 if syn_fin else 0
    return value if value else -1
