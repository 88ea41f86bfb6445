"""The numbers ``--explain`` tells beside each flow-control or loss event, computed over
whole columns of the annotated table (file order, grouped by connection and sender).

Each column is about the row's own segment:

* ``orig_frame`` / ``orig_ts``: the earlier segment of the same sender with the same
  relative sequence number that carried data, SYN or FIN (what a retransmission repeats);
* ``peer_nxt``: the highest sequence number the *other* end had sent by then (its
  snd.nxt), so ``peer_nxt - rel_ack`` is what the other end has unacknowledged;
* ``own_prev_nxt``: this sender's highest next-sequence before this segment;
* ``peer_max_ack``: the highest ack the other end had sent (spurious retransmissions);
* ``peer_win`` / ``peer_win_raw``: the window the other end last advertised;
* ``prev_win``: this sender's previous advertised window; ``stall_start``: when this
  sender's current run of zero windows began (``peer_stall_start``: the other end's);
* ``peer_dup_num``: the other end's last duplicate-ACK count (fast retransmissions).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..vocab import Col, TcpFlag


def _ffill_by(values: pd.Series, keys: list[pd.Series]) -> pd.Series:
    return values.groupby(keys, sort=False, observed=True).ffill()


def _cummax_by(values: pd.Series, keys: list[pd.Series]) -> pd.Series:
    """Running maximum per group, carried over rows where ``values`` is NaN."""
    return _ffill_by(values.groupby(keys, sort=False, observed=True).cummax(), keys)


def _peer(seg: pd.DataFrame, values: pd.Series, how: str) -> pd.Series:
    """Per row: the other end's running ``how`` ("last" or "max") of ``values``."""
    conn = seg[Col.CONN]
    client = (seg[Col.ROLE] == "client").to_numpy()
    run = _cummax_by if how == "max" else _ffill_by
    of_client = run(values.where(client), [conn])
    of_server = run(values.where(~client), [conn])
    return pd.Series(np.where(client, of_server, of_client), index=seg.index)


def numbers(seg: pd.DataFrame) -> pd.DataFrame:
    """The columns described in the module docstring, one row per row of ``seg``."""
    conn, role = seg[Col.CONN], seg[Col.ROLE].astype(str)
    flags = seg[Col.FLAGS].astype(np.int64)
    syn_fin = ((flags & int(TcpFlag.SYN | TcpFlag.FIN)) != 0).astype(np.int64)
    length = seg[Col.LEN].astype(np.int64)
    rel_seq = seg[Col.REL_SEQ].astype(np.float64)
    rel_ack = seg[Col.REL_ACK].astype(np.float64)
    has_ack = (flags & int(TcpFlag.ACK)) != 0
    rst = (flags & int(TcpFlag.RST)) != 0
    nxt = rel_seq + length + syn_fin
    out = pd.DataFrame(index=seg.index)

    # the original of a retransmission: previous data/SYN/FIN of the same (conn, sender, seq)
    carries = (length > 0) | (syn_fin > 0)
    frame = seg[Col.FRAME].astype(np.float64).where(carries)
    ts = seg[Col.TS].astype(np.float64).where(carries)
    keys = [conn, role, rel_seq]
    out["orig_frame"] = _ffill_by(frame, keys).groupby(keys, sort=False).shift(1)
    out["orig_ts"] = _ffill_by(ts, keys).groupby(keys, sort=False).shift(1)
    # ... shift(1) of the forward-filled value: the last earlier one that carried data
    mine = _cummax_by(nxt, [conn, role])
    out["own_prev_nxt"] = mine.groupby([conn, role], sort=False).shift(1)
    out["peer_nxt"] = _peer(seg, nxt, "max")
    out["peer_max_ack"] = _peer(seg, rel_ack.where(has_ack), "max")
    win = seg[Col.WIN].astype(np.float64).where(~rst)
    out["peer_win"] = _peer(seg, win, "last")
    out["peer_win_raw"] = _peer(seg, seg[Col.WIN_RAW].astype(np.float64).where(~rst), "last")
    out["prev_win"] = _ffill_by(win, [conn, role]).groupby([conn, role], sort=False).shift(1)
    zero = (win == 0) & ((flags & int(TcpFlag.SYN)) == 0)
    began = zero & ~zero.groupby([conn, role], sort=False).shift(1, fill_value=False)
    started = seg[Col.TS].astype(np.float64).where(began)
    # the run's start, carried while the window stays 0 and to the first nonzero window
    run_start = _ffill_by(started, [conn, role])
    was_zero = zero.groupby([conn, role], sort=False).shift(1, fill_value=False)
    out["stall_start"] = run_start.where(zero | was_zero)
    out["peer_stall_start"] = _peer(seg, run_start.where(zero | was_zero), "last")
    out["peer_dup_num"] = _peer(seg, seg[Col.DUP_ACK_NUM].astype(np.float64), "last")
    return out
