"""Connections: ``conn`` (= Wireshark's ``tcp.stream``), ``role``, relative seq/ack, ``win``.

Theory of operation.  A connection is identified by its canonical 4-tuple: the two
(address, port) endpoints in a fixed order, never an XOR of the two (which collides).
Wireshark numbers TCP conversations in the order of their first frame and starts a new
one when a SYN reuses the 4-tuple of an earlier conversation (packet-tcp.c, "reused
ports"): a pure SYN whose sequence number differs from the base sequence number already
recorded for its direction.  tshark 4.0 (the reference here) keeps a SYN with the *same*
ISN in its stream even after a FIN or an RST (a retransmission; newer Wireshark releases
also split there); a SYN+ACK with a new ISN never starts a conversation, it only re-bases
its direction's relative sequence numbers.  TCP headers quoted in ICMP errors take part
(``quoted.py``): they find or open their conversation and change nothing else.

Which segment starts a new conversation depends on the state the earlier segments of
the same 4-tuple left behind (base seq), so this is one sequential pass
in file order.  It is a compiled loop over integer columns (``walk_conversations`` in
``csrc/conversations.c``) with per-conversation state in small arrays; everything before and after
it is whole-column numpy.

Per direction it also records, exactly like Wireshark's first pass:

* the base sequence number (relative numbers): the ISN when the direction's first
  segment is a SYN, otherwise ``seq - 1`` of its first segment (so the first relative
  seq shown is 1); and, from the first segment carrying ACK in the *other* direction,
  ``ack - 1`` if this direction has no base yet.
* the window scale shift (RFC 7323 §2.2): from the WS option of the direction's SYN
  (Wireshark takes it from any segment that carries it), clamped to 14; -2 ("not
  used") for both directions as soon as a SYN or SYN+ACK arrives without the option,
  and for the SYN+ACK side when its SYN had none.  Until a
  SYN is seen it stays -1 ("unknown").  ``win`` is ``win_raw << shift`` for non-SYN
  segments when the shift is >= 0 and ``win_raw`` otherwise -- Wireshark's
  ``tcp.window_size`` with its default preference ("not known": the header value is
  shown unscaled).  Like ``tshark -2``, the shift used is the direction's final one.

Roles: the client is the sender of the first SYN without ACK; failing that, the
receiver of the first SYN+ACK; failing that, the sender of the conversation's first
segment (Wireshark's conversation initiator, "A" in its Conversations table and the
client of Follow TCP Stream).
"""

from __future__ import annotations

import numpy as np

from ..decode.columns import Columns, factorize
from ..decode.quoted import QUOTED_FLAG, QuotedHeaders
from ..vocab import Col, TcpFlag
from .native import _seqwalk

_SYN = int(TcpFlag.SYN)
_ACK = int(TcpFlag.ACK)


def endpoint_pairs(src: np.ndarray, sport: np.ndarray, dst: np.ndarray, dport: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(direction int8, lower endpoint, higher endpoint) from integer address ids and
    ports; direction 0: sent by the lower endpoint."""
    ep_src = (src.astype(np.int64) << 16) | sport
    ep_dst = (dst.astype(np.int64) << 16) | dport
    direction = (ep_src > ep_dst).astype(np.int8)
    return direction, np.minimum(ep_src, ep_dst), np.maximum(ep_src, ep_dst)


def pair_ids(lo: np.ndarray, hi: np.ndarray, table: object | None = None
             ) -> tuple[np.ndarray, int]:
    """The 4-tuple key the conversation walk takes: one dense id per distinct (lower,
    higher) endpoint pair, and how many ids exist.  Without ``table`` the ids are
    numbered here; with one (a ``CTX_PAIRS`` context: the engine's, for the whole
    capture) they stay stable from call to call, the batch's new pairs numbered next in
    the compiled hash table (``csrc/pairs.c``)."""
    span = int(hi.max()) + 1 if hi.size else 1
    if span < 2**31:  # the pair fits one int64: factorize a column, not rows
        codes, combined = factorize(lo * span + hi)
        uniq_lo, uniq_hi = combined // span, combined % span
    else:  # very many addresses: factorize the pair as rows
        rows, codes = np.unique(np.stack([lo, hi], axis=1), axis=0, return_inverse=True)
        uniq_lo, uniq_hi = rows[:, 0], rows[:, 1]
    codes = codes.reshape(-1).astype(np.int64, copy=False)
    if table is None:
        return codes, len(uniq_lo)
    ids = np.empty(len(uniq_lo), np.int64)
    n = _seqwalk.pair_ids(np.ascontiguousarray(uniq_lo, np.int64),
                          np.ascontiguousarray(uniq_hi, np.int64), ids, table)
    return (ids[codes] if ids.size else codes), n


def walk_inputs(seg: Columns) -> tuple[np.ndarray, ...]:
    """(flags, seq, ack, wscale) of decoded columns as the compiled walks take them."""
    ws = seg[Col.WSCALE]
    return (np.ascontiguousarray(seg[Col.FLAGS], np.uint16),
            np.ascontiguousarray(seg[Col.SEQ], np.uint32),
            np.ascontiguousarray(seg[Col.ACK], np.uint32),
            np.where(ws.missing, -1, ws.values.astype(np.int16)).astype(np.int16))


def with_quotes(walk: tuple[np.ndarray, ...], frame: np.ndarray, addresses: dict[str, int],
                quoted: QuotedHeaders) -> tuple[tuple[np.ndarray, ...], np.ndarray]:
    """The walk's inputs with the quoted headers merged in frame order (flagged
    ``QUOTED_FLAG``), and the segments' positions among them.  ``addresses``: address ->
    id; an address seen first in a quoted header gets the next id (added to it)."""
    ids = np.array([addresses.setdefault(a, len(addresses))
                    for a in np.concatenate([quoted.src, quoted.dst]).tolist()], np.int64)
    q = len(quoted)
    extra = (ids[:q], quoted.sport, ids[q:], quoted.dport, quoted.flags | QUOTED_FLAG,
             quoted.seq, np.zeros(q, np.uint32), np.full(q, -1, np.int16))
    order = np.argsort(np.concatenate([frame, quoted.frame]), kind="stable")
    merged = tuple(np.ascontiguousarray(np.concatenate([a, b.astype(a.dtype)])[order])
                   for a, b in zip(walk, extra, strict=True))
    at = np.empty(order.size, np.int64)
    at[order] = np.arange(order.size)
    return merged, at[: frame.size]


def connection_columns(conv, direction, flags, seq, ack, win_raw, base, shift, client_dir
                       ) -> dict[str, object]:
    """The connection stage's per-row values from the walk's per-conversation results
    (rows in file order; all rows of a connection whose base a SYN+ACK moved): the
    sender's role code (``ROLE_NAMES``), rel_seq, rel_ack and the scaled window."""
    own, other = bases_in_effect(conv, direction, flags, seq, base)
    rel_seq = seq - own
    has_ack = (flags & _ACK) != 0
    # without the ACK bit Wireshark shows the raw field (usually 0)
    rel_ack = np.where(has_ack, ack - other, ack)
    return {
        "sender": (direction != client_dir[conv]).astype(np.int8),  # role code, 0: client
        Col.REL_SEQ: rel_seq.astype(np.uint32),
        Col.REL_ACK: rel_ack.astype(np.uint32),
        Col.WIN: scaled_window(conv, direction, flags, win_raw, shift),
    }


def scaled_window(conv, direction, flags, win_raw, shift) -> np.ndarray:
    """``win``: the window field scaled by its direction's final shift, except on SYNs
    and while the shift is unknown or unused (see the module docstring)."""
    s = shift[conv, direction].astype(np.int64)
    scaled = ((flags & _SYN) == 0) & (s >= 0)
    # at most 65535 << 14: fits in 32 bits
    return win_raw.astype(np.uint32) << np.where(scaled, s, 0).astype(np.uint32)


def bases_in_effect(conv, direction, flags, seq, base) -> tuple[np.ndarray, np.ndarray]:
    """The base sequence numbers tshark -2 shows each row's seq and ack against (its own
    direction's, the other's).

    The walk's base is the final one.  tshark's second pass sets a direction's base again
    at each of its SYN+ACKs (not at pure SYNs), so when a SYN+ACK with a new ISN re-based
    a direction, the rows from one SYN+ACK to the next use that SYN+ACK's ISN; rows
    before the direction's first SYN+ACK keep the final base.  A SYN+ACK's ISN equals
    the base in effect when it was seen, so nothing differs unless some SYN+ACK's ISN
    differs from the final base (arkime's tcp_handshake_synthetic.pcap, stream 5, shows
    the pure-SYN half: its SYN is shown against the final base)."""
    own, other = base[conv, direction], base[conv, 1 - direction]
    syn = np.flatnonzero((flags & (_SYN | _ACK)) == (_SYN | _ACK))
    moved = syn[seq[syn] != own[syn]]
    if moved.size == 0:
        return own, other
    # every SYN+ACK of the connections concerned, keyed (conversation, direction, row)
    hit = np.isin(conv[syn], conv[moved])
    syn = syn[hit]
    n = conv.shape[0] + 1
    events = (conv[syn].astype(np.int64) * 2 + direction[syn]) * n + syn
    order = np.argsort(events, kind="stable")
    events, isn = events[order], seq[syn][order]
    rows = np.arange(conv.shape[0], dtype=np.int64)
    out = []
    for d, fallback in ((direction, own), (1 - direction, other)):
        key = conv.astype(np.int64) * 2 + d
        at = np.searchsorted(events, key * n + rows, side="right") - 1
        found = (at >= 0) & (events[np.maximum(at, 0)] // n == key)
        out.append(np.where(found, isn[np.maximum(at, 0)], fallback))
    return out[0], out[1]
