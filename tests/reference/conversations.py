"""Wireshark's ``tcp.stream``, roles, relative seq/ack and scaled window: the reference of
``walk_conversations`` and the columns ``flows.py`` builds from it.

One plain loop in frame order, the rules as packet-tcp.c (tshark 4.0, ``tshark -2``)
applies them:

* A conversation is a 4-tuple, whichever way round.  Conversations are numbered from 0
  in the order of their first frame.  A pure SYN opens a new conversation on a 4-tuple
  already in use when its direction already has a base sequence number and the SYN's
  ISN differs from it (Wireshark's "reused ports"); with the same ISN it is a
  retransmission and stays.  A SYN+ACK with a new ISN never opens one: it re-bases its
  direction.
* TCP headers quoted in ICMP errors take part in frame order: they find or open their
  conversation (the reuse rule included) and change nothing else.
* Base sequence number per direction: the ISN when the direction's first segment is a
  SYN (or SYN+ACK), else that segment's seq - 1; a segment carrying ACK gives the other
  direction, if it has none yet, ack - 1.  ``tshark -2`` shows each row against the
  base its second pass holds there: a direction's base is set again at each of its
  SYN+ACKs, so rows from a SYN+ACK on use that SYN+ACK's ISN; rows before the
  direction's first SYN+ACK use the final base.  ``rel_ack`` is the raw field when the
  ACK bit is off.
* Window scale per direction (RFC 7323 §2.2; Wireshark's ``verify_tcp_window_scaling``):
  unknown (-1) until a SYN; the WS option of any segment sets its direction's shift
  (at most 14); a SYN or SYN+ACK whose direction has no shift means "not used" (-2) for
  both directions; a SYN+ACK with the option answering a SYN without it is -2 as well.
  ``win`` is the raw window shifted by the direction's final shift, for non-SYN
  segments when the shift is known.
* Roles: the client sends the first pure SYN; failing that it receives the first
  SYN+ACK; failing that it sends the conversation's first segment (not a quote).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tcpwatch.vocab import TcpFlag

MASK = 0xFFFFFFFF
MAX_SHIFT = 14
UNKNOWN, NOT_USED = -1, -2
#: what decided the roles, weakest first
BY_FIRST_SEGMENT, BY_SYNACK, BY_SYN = 0, 1, 2

Endpoint = tuple[str, int]


@dataclass(frozen=True, slots=True)
class Header:
    """One TCP header in frame order: a segment, or a header quoted in an ICMP error."""

    src: Endpoint
    dst: Endpoint
    flags: int
    seq: int
    ack: int = 0
    wscale: int | None = None
    win_raw: int = 0
    quoted: bool = False


@dataclass(frozen=True, slots=True)
class ConnRow:
    conn: int
    role: str  # "client" / "server"
    rel_seq: int
    rel_ack: int
    win: int


@dataclass(slots=True)
class Conversation:
    number: int
    client: Endpoint | None = None
    decided_by: int = -1  # BY_*; -1 while only quotes were seen
    base: dict[Endpoint, int] = field(default_factory=dict)
    shift: dict[Endpoint, int] = field(default_factory=dict)


def key_of(h: Header) -> frozenset[Endpoint]:
    return frozenset((h.src, h.dst))


def walk_conversations(headers: list[Header]) -> list[ConnRow]:
    """The rows of the segments (quotes are numbered but get no row), in order."""
    current: dict[frozenset[Endpoint], Conversation] = {}
    convs: list[Conversation] = []
    placed: list[tuple[Header, Conversation]] = []
    for h in headers:
        conv = current.get(key_of(h))
        syn, has_ack = bool(h.flags & TcpFlag.SYN), bool(h.flags & TcpFlag.ACK)
        if conv is not None and syn and h.src in conv.base and h.seq != conv.base[h.src]:
            if not has_ack:
                conv = None  # reused ports: a new connection on the same 4-tuple
            elif not h.quoted:
                conv.base[h.src] = h.seq  # a SYN+ACK with a new ISN: re-base
        if conv is None:
            conv = Conversation(len(convs))
            convs.append(conv)
            current[key_of(h)] = conv
        if h.quoted:
            continue
        placed.append((h, conv))
        decide_roles(conv, h, syn, has_ack)
        if h.src not in conv.base:
            conv.base[h.src] = h.seq if syn else (h.seq - 1) & MASK
        if has_ack and h.dst not in conv.base:
            conv.base[h.dst] = (h.ack - 1) & MASK
        record_shift(conv, h, syn, has_ack)
    return rows_of(placed)


def decide_roles(conv: Conversation, h: Header, syn: bool, has_ack: bool) -> None:
    if conv.decided_by < BY_FIRST_SEGMENT:
        conv.client, conv.decided_by = h.src, BY_FIRST_SEGMENT
    if syn and not has_ack and conv.decided_by < BY_SYN:
        conv.client, conv.decided_by = h.src, BY_SYN
    elif syn and has_ack and conv.decided_by < BY_SYNACK:
        conv.client, conv.decided_by = h.dst, BY_SYNACK


def record_shift(conv: Conversation, h: Header, syn: bool, has_ack: bool) -> None:
    if h.wscale is not None and h.wscale >= 0:
        conv.shift[h.src] = min(h.wscale, MAX_SHIFT)
    if syn:
        if conv.shift.get(h.src, UNKNOWN) == UNKNOWN:
            conv.shift[h.src] = conv.shift[h.dst] = NOT_USED
        elif has_ack and conv.shift.get(h.dst, UNKNOWN) == NOT_USED:
            conv.shift[h.src] = NOT_USED


def rows_of(placed: list[tuple[Header, Conversation]]) -> list[ConnRow]:
    """The columns, once every base and shift is final (tshark's second pass)."""
    rebased: dict[tuple[int, Endpoint], int] = {}  # the last SYN+ACK's ISN so far
    rows = []
    for h, conv in placed:
        synack = TcpFlag.SYN | TcpFlag.ACK
        if h.flags & synack == synack:
            rebased[(conv.number, h.src)] = h.seq
        own = rebased.get((conv.number, h.src), conv.base[h.src])
        other = rebased.get((conv.number, h.dst), conv.base.get(h.dst, 0))
        rel_ack = (h.ack - other) & MASK if h.flags & TcpFlag.ACK else h.ack
        s = conv.shift.get(h.src, UNKNOWN)
        win = h.win_raw << s if not h.flags & TcpFlag.SYN and s >= 0 else h.win_raw
        rows.append(ConnRow(conv.number, "client" if h.src == conv.client else "server",
                            (h.seq - own) & MASK, rel_ack, win))
    return rows
