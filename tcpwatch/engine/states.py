"""Walk every connection's segments through the state table: both endpoints, each row.

Theory of operation.  Event classes that depend only on flags are computed over whole
columns (``segment_class``, one ``np.select`` whose list order is the precedence).  The
initial states of each connection are inferred from its first segments (below).  Then
one compiled pass in file order (``walk_states`` in ``csrc/states.c``) turns sequence
numbers into the remaining classes (ACK of FIN, data past FIN, acceptable RST) and reads
each endpoint's next state from ``table.NEXT``; state between control segments simply
carries forward.  Text columns are built only for the rows where something changed.

Initial states (what the capture cannot show, inferred and marked ``states_inferred``):

* the connection starts with the client's SYN: client CLOSED, server LISTEN -- or
  server CLOSED when its first segment is an RST (nobody listening: refused);
* it starts with the server's SYN+ACK (SYN not captured): client SYN_SENT, server
  SYN_RECEIVED, inferred;
* anything else (a capture that starts mid-connection): both ESTABLISHED, inferred.
"""

from __future__ import annotations

import numpy as np

from ..decode.columns import Coded
from ..vocab import (
    N_CLASSES,
    STATE_NAMES,
    Col,
    EndpointState,
    SegClass,
    TcpFlag,
    event_name,
)
from .native import _seqwalk
from .transitions import NEXT, describe

S = EndpointState
EVENT_NAMES = tuple(event_name(e) for e in range(2 * N_CLASSES))

def _segment_class(flags: np.ndarray, length: np.ndarray) -> np.ndarray:
    """Flag-only event class; the list order is the precedence (conntrack-style)."""
    f = flags.astype(np.int64)
    rst = (f & TcpFlag.RST) != 0
    syn = (f & TcpFlag.SYN) != 0
    ack = (f & TcpFlag.ACK) != 0
    fin = (f & TcpFlag.FIN) != 0
    return np.select(
        [rst, syn & ack, syn, fin, length > 0, ack],
        [SegClass.RST, SegClass.SYNACK, SegClass.SYN, SegClass.FIN, SegClass.DATA,
         SegClass.ACK],
        SegClass.NONE).astype(np.uint8)


#: the flags the class depends on, and a bit above them for "carries data"
_CLASS_FLAGS = int(TcpFlag.RST | TcpFlag.SYN | TcpFlag.ACK | TcpFlag.FIN)
_HAS_DATA = 1 << _CLASS_FLAGS.bit_length()
#: every combination of those through the rule above, once
_CLASS_OF = _segment_class(np.arange(2 * _HAS_DATA) & _CLASS_FLAGS,
                           (np.arange(2 * _HAS_DATA) & _HAS_DATA) != 0)


def segment_class(flags: np.ndarray, length: np.ndarray) -> np.ndarray:
    """:func:`_segment_class` of every row, looked up (three passes, not fifteen)."""
    key = np.bitwise_and(flags, _CLASS_FLAGS, dtype=np.int64)
    key[length > 0] |= _HAS_DATA
    return _CLASS_OF[key]


def initial_states_from(first_cls, first_sender, first_server_cls
                        ) -> tuple[np.ndarray, np.ndarray]:
    """The same from each connection's first segment (class, sender) and the class of
    the server's first segment (-1: none yet)."""
    server_refuses = first_server_cls == SegClass.RST
    client_syn = (first_cls == SegClass.SYN) & (first_sender == 0)
    synack = first_cls == SegClass.SYNACK
    init = np.empty((first_cls.shape[0], 2), np.uint8)
    init[:, 0] = np.select([client_syn, synack], [S.CLOSED, S.SYN_SENT], S.ESTABLISHED)
    init[:, 1] = np.select([client_syn & server_refuses, client_syn, synack],
                           [S.CLOSED, S.LISTEN, S.SYN_RECEIVED], S.ESTABLISHED)
    return init, ~client_syn


def walk_states(conn, sender, cls, flags, rel_seq, rel_ack, length, win, init,
                *context) -> np.ndarray:
    """The compiled walk; returns uint8[7, n]: before/after client, before/after server,
    sender's event, receiver's event, violation bits.  ``context``: (ctx, dirty) to carry
    the walk across calls (tcpwatch.live)."""
    out = np.empty((7, conn.shape[0]), np.uint8)
    _seqwalk.walk_states(conn, sender, cls, flags, rel_seq, rel_ack, length, win,
                         np.ascontiguousarray(init), NEXT, NEXT.shape[1], int(S.SYN_SENT),
                         *out, *context)
    return out


def state_columns(walked: np.ndarray, sender: np.ndarray, inferred: np.ndarray
                  ) -> dict[str, object]:
    """The states stage's columns from the walk's output (``inferred``: per row)."""
    bc, ac, bs, as_, snd_ev, rcv_ev, bad = walked
    return {
        Col.STATE_BEFORE_CLIENT: Coded(bc, STATE_NAMES),
        Col.STATE_AFTER_CLIENT: Coded(ac, STATE_NAMES),
        Col.STATE_BEFORE_SERVER: Coded(bs, STATE_NAMES),
        Col.STATE_AFTER_SERVER: Coded(as_, STATE_NAMES),
        Col.TRANSITION: _transitions(bc, ac, bs, as_),
        Col.VIOLATION: _violations(bad, sender, bc, bs, snd_ev, rcv_ev),
        Col.STATES_INFERRED: np.asarray(inferred, bool),
        Col.EVENT_CLIENT: Coded(np.where(sender == 0, snd_ev, rcv_ev), EVENT_NAMES),
        Col.EVENT_SERVER: Coded(np.where(sender == 1, snd_ev, rcv_ev), EVENT_NAMES),
    }


def transition_name(bc: int, ac: int, bs: int, as_: int) -> str:
    """``client SYN_SENT→ESTABLISHED`` and/or the server's; empty when nothing changed."""
    return ", ".join(f"{end} {STATE_NAMES[b]}→{STATE_NAMES[a]}"
                     for end, b, a in (("client", bc, ac), ("server", bs, as_)) if b != a)


def _transitions(bc, ac, bs, as_) -> Coded:
    """``client SYN_SENT→ESTABLISHED`` (and/or the server's), only where a state changed."""
    changed = np.flatnonzero((bc != ac) | (bs != as_))
    codes = np.zeros(bc.shape[0], np.int32)
    index: dict[str, int] = {"": 0}
    if changed.size:
        key = (bc[changed].astype(np.int64) << 24) | (ac[changed].astype(np.int64) << 16) | (
            bs[changed].astype(np.int64) << 8) | as_[changed]
        uniq, inv = np.unique(key, return_inverse=True)
        # The text names only the end(s) whose state changed, so two quadruples can share
        # one text (the same end, the same change, the other end elsewhere): one category.
        code_of_key = np.array([
            index.setdefault(transition_name((k >> 24) & 255, (k >> 16) & 255,
                                             (k >> 8) & 255, k & 255), len(index))
            for k in uniq.tolist()], np.int32)
        codes[changed] = code_of_key[inv.reshape(-1)]
    return Coded(codes, tuple(index))


def _violations(bad, sender, bc, bs, snd_ev, rcv_ev) -> Coded:
    """Why a segment breaks the state machine (empty for almost every row)."""
    rows = np.flatnonzero(bad)
    codes = np.zeros(bad.shape[0], np.int32)
    index: dict[str, int] = {"": 0}
    for i in rows.tolist():
        before = (EndpointState(int(bc[i])), EndpointState(int(bs[i])))
        s = int(sender[i])
        parts = []
        if bad[i] & 1:
            parts.append(f"{('client', 'server')[s]}: {describe(before[s], int(snd_ev[i]))}")
        if bad[i] & 2:
            parts.append(f"{('client', 'server')[1 - s]}: "
                         f"{describe(before[1 - s], int(rcv_ev[i]))}")
        text = "; ".join(parts)
        codes[i] = index.setdefault(text, len(index))
    return Coded(codes, tuple(index))
