"""Flow-control episodes: stretches of time when one side's window was closed or full.

* zero-window episode: from a segment advertising a zero window (no SYN/FIN/RST) until
  the same side's first segment advertising a non-zero window again (the window
  update); the side that advertised zero stalled its peer's sending.  ``probes`` counts
  the peer's probes meanwhile (Wireshark: keep_alive for Linux's probes, or
  zero_window_probe).  An episode still open at the end of the capture has no end.
* window-full episode: consecutive segments of one side flagged window_full.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..engine.arrays import SegmentArrays
from ..vocab import TcpFlag

EPISODE_COLUMNS = ("conn", "kind", "side", "stalled", "start", "end", "duration", "segments",
                   "probes")


def _runs(key: np.ndarray, on: np.ndarray):
    """Start and end row positions (within ``key``-sorted rows) of runs where ``on``."""
    prev_on = np.r_[False, on[:-1]] & (np.r_[-1, key[:-1]] == key)
    next_on = np.r_[on[1:], False] & (np.r_[key[1:], -1] == key)
    return np.flatnonzero(on & ~prev_on), np.flatnonzero(on & ~next_on)


_SIDE = np.array(["client", "server"], dtype=object)
_STALLED = np.array(["client's window closed: server stalled",
                     "server's window closed: client stalled",
                     "client filled server's window", "server filled client's window"],
                    dtype=object)


def episodes(seg: pd.DataFrame | SegmentArrays) -> pd.DataFrame:
    """The episodes of an annotated table (or the engine's typed arrays of one)."""
    if len(seg) == 0:
        return pd.DataFrame(columns=list(EPISODE_COLUMNS))
    a = SegmentArrays.from_frame(seg) if isinstance(seg, pd.DataFrame) else seg
    key = a.conn * 2 + a.sender
    order = np.lexsort((a.frame, key))  # each direction's rows in frame order
    k = key[order]
    ts = a.ts[order]
    frame = a.frame[order]
    sfr = (a.flags[order] & (TcpFlag.SYN | TcpFlag.FIN | TcpFlag.RST)) != 0
    zero = (a.win_raw[order] == 0) & ~sfr
    full = a.has("window_full")[order]

    # zero window: ends at this side's next segment (a window again), if captured
    z_start, z_last = _runs(k, zero)
    nxt = np.minimum(z_last + 1, len(k) - 1)
    closes = (z_last + 1 < len(k)) & (k[nxt] == k[z_start])
    z_end = np.where(closes, ts[nxt], np.nan)
    probes = _probes(k, frame, ts, a.has("keep_alive", "zero_window_probe")[order],
                     k[z_start] ^ 1, frame[z_start], np.where(closes, z_end, np.inf))
    # window full: from its first to its last flagged segment
    f_start, f_last = _runs(k, full)
    starts, lasts = np.r_[z_start, f_start], np.r_[z_last, f_last]
    end = np.r_[z_end, ts[f_last]]
    sender = k[starts] % 2
    is_full = np.r_[np.zeros(z_start.size, bool), np.ones(f_start.size, bool)]
    if starts.size:
        table = pd.DataFrame({
            "conn": k[starts] // 2, "kind": np.where(is_full, "window_full", "zero_window"),
            "side": _SIDE[sender], "stalled": _STALLED[sender + 2 * is_full],
            "start": ts[starts], "end": end, "duration": end - ts[starts],
            "segments": (lasts - starts + 1).astype(np.int64),
            "probes": np.r_[probes, np.zeros(f_start.size, np.int64)]})
    else:  # as a table built from no rows: every column of object dtype
        table = pd.DataFrame([], columns=list(EPISODE_COLUMNS))
    return table.sort_values(["conn", "start"], kind="stable").reset_index(drop=True)


def _probes(k, frame, ts, probe, peer, after_frame, until) -> np.ndarray:
    """Per zero-window episode: the peer's probes (``probe`` rows of direction ``peer``)
    after frame ``after_frame`` at a time no later than ``until``.  Over the probe rows
    only, sorted like the columns (direction, then frame): each episode's candidates run
    from its peer's first probe after ``after_frame`` to the last one whose own time or
    any later one's in that direction is within ``until`` (a suffix minimum, so
    out-of-order timestamps are still counted exactly); those are then checked one by
    one."""
    at = np.flatnonzero(probe)
    if not at.size or not peer.size:
        return np.zeros(peer.size, np.int64)
    pk, pframe, pts = k[at], frame[at], ts[at]
    lo = _count_before(pk, pframe, peer, after_frame)
    hi = _count_before(pk, _suffix_min(pk, pts), peer, until)
    size = np.maximum(hi - lo, 0)
    which = np.repeat(np.arange(peer.size), size)
    step = np.arange(which.size) - np.repeat(np.cumsum(size) - size, size)
    within = pts[lo[which] + step] <= until[which]
    return np.bincount(which[within], minlength=peer.size).astype(np.int64)


def _count_before(key, value, q_key, q_value) -> np.ndarray:
    """For each query: how many rows (sorted by ``key``, then ``value``) are at or
    before it in (key, value) order; one merge of rows and queries."""
    n = key.size
    tie = np.r_[np.zeros(n, np.int8), np.ones(q_key.size, np.int8)]  # rows first on ties
    merged = np.lexsort((tie, np.r_[value, q_value], np.r_[key, q_key]))
    query = merged >= n
    out = np.empty(q_key.size, np.intp)
    out[merged[query] - n] = np.cumsum(~query)[query]
    return out


def _suffix_min(key, value) -> np.ndarray:
    """Within each run of equal ``key``: the minimum of ``value`` from each row on."""
    rank_of, rank = np.unique(value, return_inverse=True)
    rank = rank.ravel()[::-1].astype(np.int64)
    head = np.r_[True, key[::-1][1:] != key[::-1][:-1]]
    lift = np.cumsum(head) * rank_of.size  # each later run lies below all earlier ones
    return rank_of[(np.minimum.accumulate(rank - lift) + lift)[::-1]]
