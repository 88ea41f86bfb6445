"""Per-connection outcome in Zeek's vocabulary: ``conn_state`` and ``history``.

Definitions follow Zeek's ``base/protocols/conn/main.zeek`` and its TCP analyzer:

conn_state (from the two endpoints' Zeek states; "inactive" = INACTIVE or PARTIAL):
    S0 attempt seen, no reply | S1 established, not terminated | SF normal establishment
    and termination | REJ attempt rejected | S2/S3 established, close attempt by the
    originator/responder only | RSTO/RSTR established, the originator/responder aborted |
    RSTOS0 originator SYN then RST | RSTRH responder SYN+ACK then RST | SH/SHR SYN (or
    SYN+ACK) then FIN, no reply | OTH anything else (midstream).

history letters (upper case: originator = tcpwatch's client, lower case: responder):
    s SYN | h SYN+ACK | a pure ACK | d data | f FIN | r RST | q SYN/FIN/RST together |
    i FIN+RST | t retransmitted data | w zero window | g content gap | ^ roles flipped
    (the originator is not the sender of the first packet).  a d i q are recorded once per
    direction; s h f r again only when the sequence number differs from the previous
    packet with that flag; t w g logarithmically (at the 1st, 10th, 100th ... event).

A content gap is counted when the peer acknowledges data that the capture never held in
full (a segment not captured, or cut by the snaplen), as Zeek's reassembler reports it.
Relative sequence numbers are compared as plain integers here (a history over more than
4 GiB in one direction may miscount retransmissions).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from ..engine.arrays import SegmentArrays
from ..vocab import TcpFlag
from .groups import Groups

if TYPE_CHECKING:
    import pandas as pd

#: the originator's SYN, then its RST before any other letter of the originator (Zeek)
_S0_RST = re.compile(r"^\^?S[^HAFGIQ]*R")

ZEEK_INACTIVE, ZEEK_SYN_SENT, ZEEK_SYN_ACK_SENT, ZEEK_PARTIAL = 0, 1, 2, 3
ZEEK_ESTABLISHED, ZEEK_CLOSED, ZEEK_RESET = 4, 5, 6

#: letter kinds in the order Zeek adds them within one packet
_ORDER = {"flags": 0, "gap": 1, "retx": 2, "zero": 3}


def _flags(a: SegmentArrays, order: np.ndarray | None = None):
    """SYN, FIN, RST, ACK of each row (of rows ``order`` when given)."""
    f = a.flags if order is None else a.flags[order]
    return tuple((f & int(bit)) != 0 for bit in (TcpFlag.SYN, TcpFlag.FIN, TcpFlag.RST,
                                                   TcpFlag.ACK))


#: what a connection's packets showed of one endpoint, as bits
_SENT, _OPENED, _FIN, _RST = 1, 2, 4, 8


def zeek_endpoint_states(seg: pd.DataFrame | SegmentArrays, g: Groups | None = None
                         ) -> tuple[np.ndarray, np.ndarray]:
    """Zeek's final endpoint states of the originator (client) and the responder
    (server), one per connection in ascending order (``g``: the rows grouped by
    connection, when the caller has them)."""
    a = SegmentArrays.of(seg)
    syn, fin, rst, ack = _flags(a)
    client = a.sender == 0
    # opened: a SYN from the originator, a SYN+ACK from the responder
    bits = (_SENT | (syn & (ack != client)).view(np.uint8) * _OPENED
            | fin.view(np.uint8) * _FIN | rst.view(np.uint8) * _RST)
    # the originator's bits low, the responder's high: one OR per connection
    g = Groups(a.conn) if g is None else g
    both = np.where(client, bits, bits << 4).astype(np.uint8)
    seen = np.bitwise_or.reduceat(both[g.order], g.starts) if g.n else both
    orig, resp = seen & 15, seen >> 4
    hand = ((orig & _OPENED) != 0) & ((resp & _OPENED) != 0)

    def state(side, opened_state):
        return np.select([(side & _RST) != 0, (side & _FIN) != 0, hand,
                          (side & _OPENED) != 0, (side & _SENT) != 0],
                         [ZEEK_RESET, ZEEK_CLOSED, ZEEK_ESTABLISHED, opened_state,
                          ZEEK_PARTIAL], ZEEK_INACTIVE)

    return state(orig, ZEEK_SYN_SENT), state(resp, ZEEK_SYN_ACK_SENT)


def conn_state(orig: np.ndarray, resp: np.ndarray, history: np.ndarray,
               bytes_total: np.ndarray) -> np.ndarray:
    """Zeek's ``conn_state()`` decision list, in its order."""
    o_in = np.isin(orig, (ZEEK_INACTIVE, ZEEK_PARTIAL))
    r_in = np.isin(resp, (ZEEK_INACTIVE, ZEEK_PARTIAL))
    s0_rst = np.array([_S0_RST.match(h) is not None for h in history.tolist()], bool)
    return np.select(
        [
            (resp == ZEEK_RESET) & (np.isin(orig, (ZEEK_SYN_SENT, ZEEK_SYN_ACK_SENT))
                                    | ((orig == ZEEK_RESET) & (bytes_total == 0))),
            (resp == ZEEK_RESET) & o_in,
            resp == ZEEK_RESET,
            (orig == ZEEK_RESET) & r_in & s0_rst,
            (orig == ZEEK_RESET) & r_in,
            orig == ZEEK_RESET,
            (orig == ZEEK_CLOSED) & (resp == ZEEK_CLOSED),
            (orig == ZEEK_CLOSED) & r_in,
            orig == ZEEK_CLOSED,
            (resp == ZEEK_CLOSED) & o_in,
            resp == ZEEK_CLOSED,
            (orig == ZEEK_SYN_SENT) & (resp == ZEEK_INACTIVE),
            (orig == ZEEK_ESTABLISHED) & (resp == ZEEK_ESTABLISHED),
        ],
        ["REJ", "RSTRH", "RSTR", "RSTOS0", "OTH", "RSTO", "SF", "SH", "S2", "SHR", "S3", "S0",
         "S1"],
        "OTH")


#: counts at which a logarithmic letter (t w g) is recorded again
_POWERS_OF_TEN = 10 ** np.arange(19, dtype=np.int64)
_NEVER = np.iinfo(np.int64).max


def _log_marks(mask: np.ndarray, groups: Groups) -> np.ndarray:
    """(group order) Positions where a per-group count of ``mask`` events reaches 1, 10,
    100, ..."""
    at, count = groups.ranks(mask)
    nearest = np.searchsorted(_POWERS_OF_TEN, count).clip(max=_POWERS_OF_TEN.size - 1)
    return at[_POWERS_OF_TEN[nearest] == count]


def history(seg: pd.DataFrame | SegmentArrays, g: Groups | None = None) -> np.ndarray:
    """Zeek's history string per connection, in ascending connection order (``g``: the
    rows grouped by connection, when the caller has them); "" without letters."""
    a = SegmentArrays.of(seg)
    ids = (Groups(a.conn) if g is None else g).ids
    out = np.full(ids.size, "", dtype=object)
    if len(a) == 0:
        return out
    conn = a.conn
    client = a.sender == 0
    # one sort for every per-direction step: each direction's rows, in file order; the
    # work below is on columns in that order ("positions"), rows are order[position]
    direction = Groups(conn * 2 + ~client)
    order = direction.order
    syn, fin, rst, ack = _flags(a, order)
    client = client[order]
    seq = a.rel_seq[order]
    length = a.length[order]
    end = seq + length
    found: list[tuple[np.ndarray, int, np.ndarray]] = []  # (positions, kind, letters)

    def add(at, letter, kind="flags", upper=client):
        found.append((at, _ORDER[kind], np.where(upper[at], ord(letter.upper()),
                                                  ord(letter.lower())).astype(np.uint8)))

    def first(mask):
        at, head = direction.heads(mask)
        return at[head]

    def changed(mask, value):
        """Positions of ``mask`` whose ``value`` differs from the previous such row's
        (same direction)."""
        at, head = direction.heads(mask)
        v = value[at]
        return at[head | (v != np.r_[v[:1], v[:-1]])]

    bits = syn.astype(np.int8) + fin + rst
    one, none = bits == 1, bits == 0
    add(first((bits > 1) & fin & rst), "i")
    add(first((bits > 1) & ~(fin & rst)), "q")
    add(changed(one & syn & ~ack, seq), "s")
    add(changed(one & syn & ack, seq), "h")
    add(changed(one & fin, end), "f")
    add(changed(one & rst, seq), "r")
    add(first(none & (length > 0)), "d")
    add(first(none & (length == 0) & ack), "a")

    # retransmitted data: nothing new beyond what this direction already sent
    sent = direction.previous(direction.running_max(end + syn + fin), -1)
    add(_log_marks((length > 0) & (end <= sent), direction), "t", "retx")

    win0 = (a.win_raw[order] == 0) & ~rst
    add(_log_marks(win0, direction), "w", "zero")

    # content gaps: the peer acknowledges beyond the first byte the capture lacks
    hole = _first_hole(a, direction, seq, end, syn, fin)
    peer = direction.index_of(direction.ids ^ 1)
    limit = np.where(peer >= 0, hole[peer], _NEVER)[direction.group]
    ackn = np.where(ack, a.rel_ack[order], -1)
    acked = direction.previous(direction.running_max(ackn), -1)
    # a gap belongs to the peer's direction (counted there, i.e. per this direction's
    # packets too): its letter takes the peer's case
    add(_log_marks(ack & (ackn > limit) & (ackn > acked), direction), "g", "gap",
        upper=~client)
    with_letters, text = _joined(a, direction, found)
    out[np.searchsorted(ids, with_letters)] = text
    return out


def _joined(a: SegmentArrays, direction: Groups, found) -> tuple[np.ndarray, np.ndarray]:
    """Each connection's letters in packet order (a packet's in Zeek's order), after a
    ``^`` when the originator did not send the first packet; one Arrow string array
    built straight from the letter bytes (no Python loop)."""
    at = np.concatenate([f[0] for f in found])
    kinds = np.concatenate([np.full(f[0].size, f[1], np.int64) for f in found])
    frame = a.frame[direction.order[at]]
    letters = Groups(direction.ids[direction.group[at]] // 2, by=frame * len(_ORDER) + kinds)
    text = np.concatenate([f[2] for f in found])[letters.order]
    ids, starts = letters.ids, letters.starts
    # each connection's first row: the earlier of its two directions' first rows
    of_conn = direction.ids // 2
    first_of = np.flatnonzero(np.r_[True, of_conn[1:] != of_conn[:-1]])
    first_row = np.minimum.reduceat(direction.first_row(), first_of)
    client = a.sender == 0
    flip = ~client[first_row[np.searchsorted(of_conn[first_of], ids)]]
    # one '^' before the letters of a flipped connection
    text = np.insert(text, starts[flip], ord("^"))
    ends = np.append(starts[1:], letters.n) + np.cumsum(flip)
    offsets = np.r_[0, ends].astype(np.int64)
    arr = pa.LargeStringArray.from_buffers(ids.size, pa.py_buffer(offsets),
                                           pa.py_buffer(text))
    return ids, np.array(arr.to_pylist(), dtype=object)


def _first_hole(a: SegmentArrays, direction: Groups, seq, end, syn, fin) -> np.ndarray:
    """Per direction (``direction.ids``; the columns in its group order): the first
    sequence number not held by the capture (SYN and FIN count as one byte each; a
    snaplen-cut segment holds none of its payload)."""
    held = ~a.truncated[direction.order] & (end > seq)
    starts = np.concatenate([seq[syn], seq[held], end[fin]])
    ends = np.concatenate([seq[syn] + 1, end[held], end[fin] + 1])
    group = direction.group
    which = np.concatenate([group[syn], group[held], group[fin]])
    # where a direction starts: its SYN, or its first segment (midstream: rel seq 1);
    # a direction that sent data but none of it captured: the hole is at its start
    origin = np.minimum.reduceat(seq, direction.starts)
    spans = Groups(which, by=starts)  # a direction's byte ranges by where they start
    starts, ends = spans.grouped(starts), spans.grouped(ends)
    before = spans.previous(spans.running_max(ends), origin[spans.ids])
    out = origin.copy()
    out[spans.ids] = np.maximum.reduceat(ends, spans.starts)
    # the first range starting beyond all bytes before it: the hole is where they end
    at, head = spans.heads(starts > before)
    first = at[head]
    out[spans.ids[spans.group[first]]] = before[first]
    return out
