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

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..vocab import Col, TcpFlag

ZEEK_INACTIVE, ZEEK_SYN_SENT, ZEEK_SYN_ACK_SENT, ZEEK_PARTIAL = 0, 1, 2, 3
ZEEK_ESTABLISHED, ZEEK_CLOSED, ZEEK_RESET = 4, 5, 6

#: letter kinds in the order Zeek adds them within one packet
_ORDER = {"flags": 0, "gap": 1, "retx": 2, "zero": 3}


def _flags(seg):
    f = seg[Col.FLAGS].to_numpy().astype(np.int64)
    return ((f & TcpFlag.SYN) != 0, (f & TcpFlag.FIN) != 0, (f & TcpFlag.RST) != 0,
            (f & TcpFlag.ACK) != 0)


def zeek_endpoint_states(seg: pd.DataFrame) -> pd.DataFrame:
    """Zeek's final endpoint state of the originator (client) and responder (server)."""
    syn, fin, rst, ack = _flags(seg)
    client = (seg[Col.ROLE] == "client").to_numpy()
    w = pd.DataFrame({
        "conn": seg[Col.CONN].to_numpy(),
        "c_any": client, "s_any": ~client,
        "c_syn": client & syn & ~ack, "s_synack": ~client & syn & ack,
        "c_fin": client & fin, "s_fin": ~client & fin,
        "c_rst": client & rst, "s_rst": ~client & rst,
    }).groupby("conn").any()
    hand = w["c_syn"] & w["s_synack"]

    def state(any_, opened, fin_, rst_):
        return np.select([rst_, fin_, hand, opened, any_],
                         [ZEEK_RESET, ZEEK_CLOSED, ZEEK_ESTABLISHED, -1, ZEEK_PARTIAL],
                         ZEEK_INACTIVE)

    orig = state(w["c_any"], w["c_syn"], w["c_fin"], w["c_rst"])
    orig = np.where(orig == -1, ZEEK_SYN_SENT, orig)
    resp = state(w["s_any"], w["s_synack"], w["s_fin"], w["s_rst"])
    resp = np.where(resp == -1, ZEEK_SYN_ACK_SENT, resp)
    return pd.DataFrame({"orig": orig, "resp": resp}, index=w.index)


def conn_state(orig: np.ndarray, resp: np.ndarray, history: pd.Series,
               bytes_total: np.ndarray) -> np.ndarray:
    """Zeek's ``conn_state()`` decision list, in its order."""
    o_in = np.isin(orig, (ZEEK_INACTIVE, ZEEK_PARTIAL))
    r_in = np.isin(resp, (ZEEK_INACTIVE, ZEEK_PARTIAL))
    s0_rst = history.str.match(r"^\^?S[^HAFGIQ]*R").to_numpy()
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


def _log_marks(mask: np.ndarray, key: np.ndarray) -> np.ndarray:
    """Rows where a per-key count of ``mask`` events reaches 1, 10, 100, ..."""
    out = np.zeros(mask.shape[0], bool)
    idx = np.flatnonzero(mask)
    if idx.size:
        count = pd.Series(np.ones(idx.size, np.int64)).groupby(key[idx]).cumsum().to_numpy()
        lg = np.log10(count)
        out[idx] = lg == np.floor(lg)
    return out


def history(seg: pd.DataFrame) -> pd.Series:
    """Zeek's history string per connection (index: conn)."""
    n = len(seg)
    if n == 0:
        return pd.Series([], dtype=object)
    syn, fin, rst, ack = _flags(seg)
    conn = seg[Col.CONN].to_numpy().astype(np.int64)
    client = (seg[Col.ROLE] == "client").to_numpy()
    d = (~client).astype(np.int64)
    key = conn * 2 + d
    seq = seg[Col.REL_SEQ].to_numpy().astype(np.int64)
    ackn = seg[Col.REL_ACK].to_numpy().astype(np.int64)
    length = seg[Col.LEN].to_numpy().astype(np.int64)
    frame = seg[Col.FRAME].to_numpy()
    rows, kinds, letters = [], [], []

    def add(mask, letter, kind="flags"):
        idx = np.flatnonzero(mask)
        rows.append(idx)
        kinds.append(np.full(idx.size, _ORDER[kind]))
        letters.append(np.where(client[idx], letter.upper(), letter.lower()))

    def first_per_key(mask):
        out = np.zeros(n, bool)
        idx = np.flatnonzero(mask)
        _, first = np.unique(key[idx], return_index=True)
        out[idx[first]] = True
        return out

    def changed_per_key(mask, value):
        """Rows of ``mask`` whose ``value`` differs from the previous such row (same key)."""
        out = np.zeros(n, bool)
        idx = np.flatnonzero(mask)
        if idx.size:
            s = pd.Series(value[idx])
            prev = s.groupby(key[idx]).shift(1)
            out[idx] = prev.isna().to_numpy() | (prev.to_numpy() != s.to_numpy())
        return out

    bits = syn.astype(int) + fin + rst
    add(first_per_key((bits > 1) & fin & rst), "i")
    add(first_per_key((bits > 1) & ~(fin & rst)), "q")
    one = bits == 1
    add(changed_per_key(one & syn & ~ack, seq), "s")
    add(changed_per_key(one & syn & ack, seq), "h")
    add(changed_per_key(one & fin, seq + length), "f")
    add(changed_per_key(one & rst, seq), "r")
    add(first_per_key((bits == 0) & (length > 0)), "d")
    add(first_per_key((bits == 0) & (length == 0) & ack), "a")

    # retransmitted data: nothing new beyond what this direction already sent
    end = seq + length + syn + fin
    prev_max = pd.Series(end).groupby(key).cummax().groupby(key).shift(1).to_numpy()
    retx = (length > 0) & ~np.isnan(prev_max) & (seq + length <= np.nan_to_num(prev_max))
    add(_log_marks(retx, key), "t", "retx")

    win0 = (seg[Col.WIN_RAW].to_numpy() == 0) & ~rst
    add(_log_marks(win0, key), "w", "zero")

    # content gaps: the peer acknowledges beyond the first byte the capture lacks
    hole = _first_hole(seg, key, seq, length, syn, fin)
    peer_key = conn * 2 + (1 - d)
    limit = pd.Series(hole).reindex(peer_key).to_numpy()
    prev_ack = pd.Series(np.where(ack, ackn, -1)).groupby(key).cummax().groupby(
        key).shift(1).fillna(-1).to_numpy()
    gap = ack & ~np.isnan(limit) & (ackn > np.nan_to_num(limit, nan=np.inf)) & (ackn > prev_ack)
    gap_rows = np.flatnonzero(gap)
    marks = np.zeros(n, bool)
    marks[gap_rows] = _log_marks(gap, peer_key)[gap_rows]
    # a gap belongs to the peer's direction: its letter takes the peer's case
    idx = np.flatnonzero(marks)
    rows.append(idx)
    kinds.append(np.full(idx.size, _ORDER["gap"]))
    letters.append(np.where(client[idx], "g", "G"))

    allrows = np.concatenate(rows)
    order = np.lexsort((np.concatenate(kinds), frame[allrows], conn[allrows]))
    r = allrows[order]
    # the letters in connection order, joined per connection by Arrow (no Python loop)
    owners = conn[r]
    ids, starts = np.unique(owners, return_index=True)
    offsets = pa.array(np.append(starts, owners.size).astype(np.int32))
    per_conn = pa.ListArray.from_arrays(offsets, pa.array(np.concatenate(letters)[order]))
    first_row = np.unique(conn, return_index=True)
    flip = np.where(pd.Series(client[first_row[1]], index=first_row[0]).reindex(ids)
                    .to_numpy(), "", "^")
    text = pc.binary_join_element_wise(pa.array(flip), pc.binary_join(per_conn, ""), "")
    return pd.Series(text.to_numpy(zero_copy_only=False), index=ids, dtype=object)


def _first_hole(seg, key, seq, length, syn, fin) -> pd.Series:
    """Per direction: the first sequence number not held by the capture (SYN and FIN
    count as one byte each; a snaplen-cut segment holds none of its payload)."""
    truncated = seg[Col.TRUNCATED].to_numpy()
    starts = np.concatenate([seq[syn] - 0, seq[~truncated & (length > 0)],
                             (seq + length)[fin]])
    ends = np.concatenate([seq[syn] + 1, (seq + length)[~truncated & (length > 0)],
                           (seq + length + 1)[fin]])
    keys = np.concatenate([key[syn], key[~truncated & (length > 0)], key[fin]])
    # where a direction starts: its SYN, or its first segment (midstream: rel seq 1)
    origin = pd.Series(seq).groupby(key).min()
    df = pd.DataFrame({"k": keys, "s": starts, "e": ends}).sort_values(["k", "s"])
    covered = df.groupby("k")["e"].cummax()
    prev = covered.groupby(df["k"]).shift(1)
    df["prev"] = prev.fillna(df["k"].map(origin)).to_numpy()
    holes = df[df["s"] > df["prev"]].groupby("k")["prev"].first()
    full = covered.groupby(df["k"]).last()
    out = origin.astype(float).copy()
    out.loc[full.index] = full.astype(float)
    out.loc[holes.index] = holes.astype(float)
    # a direction that sent data but none of it captured: the hole is at its start
    return out
