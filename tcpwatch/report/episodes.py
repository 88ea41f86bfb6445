"""Flow-control episodes: stretches of time when one side's window was closed or full.

* zero-window episode: from a segment advertising a zero window (no SYN/FIN/RST) until
  the same side's first segment advertising a non-zero window again (the window
  update); the side that advertised zero stalled its peer's sending.  ``probes`` counts
  the peer's probes meanwhile (Wireshark: keep_alive for Linux's probes, or
  zero_window_probe).  An episode still open at the end of the capture has no end.
* window-full episode: consecutive segments of one side flagged window_full.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..decode.columns import Columns, to_frame
from ..engine.arrays import SegmentArrays
from ..vocab import TcpFlag

if TYPE_CHECKING:
    import pandas as pd

EPISODE_COLUMNS = ("conn", "kind", "side", "stalled", "start", "end", "duration", "segments",
                   "probes")


def _runs(k: np.ndarray, at: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and last positions of each run of consecutive positions ``at`` (ascending)
    within one direction (``k``: each position's direction)."""
    if not at.size:
        return at, at
    apart = (at[1:] != at[:-1] + 1) | (k[at[1:]] != k[at[:-1]])
    return at[np.r_[True, apart]], at[np.r_[apart, True]]


_ZERO, _FULL, _PROBE = 1, 2, 4  # a row's marks
_SIDE = np.array(["client", "server"], dtype=object)
_KIND = np.array(["zero_window", "window_full"], dtype=object)
_STALLED = np.array(["client's window closed: server stalled",
                     "server's window closed: client stalled",
                     "client filled server's window", "server filled client's window"],
                    dtype=object)


def episodes(seg: pd.DataFrame | SegmentArrays) -> pd.DataFrame:
    """The episodes of an annotated table (or the engine's typed arrays of one)."""
    import pandas as pd

    if len(seg) == 0:
        return pd.DataFrame(columns=list(EPISODE_COLUMNS))
    a = SegmentArrays.of(seg)
    table = episode_table(a)
    if len(table["conn"]) == 0:  # as a table built from no rows: every column object
        return pd.DataFrame([], columns=list(EPISODE_COLUMNS))
    return to_frame(table)


def episode_table(a: SegmentArrays) -> Columns:
    """The episodes as typed columns (text as object arrays), by connection and start:
    what the streamed report keeps and prints, without pandas."""
    key = a.conn * 2 + a.sender
    order = np.lexsort((a.frame, key))  # each direction's rows in frame order
    k = key[order]
    # each row's marks read into that order at once; only the marked rows are looked at
    closing = (a.flags & (TcpFlag.SYN | TcpFlag.FIN | TcpFlag.RST)) != 0
    marks = (((a.win_raw == 0) & ~closing).view(np.uint8) * np.uint8(_ZERO)
             | a.has("window_full").view(np.uint8) * np.uint8(_FULL)
             | a.has("keep_alive", "zero_window_probe").view(np.uint8) * np.uint8(_PROBE)
             )[order]
    marked = np.flatnonzero(marks)

    def ts(positions):
        return a.ts[order[positions]]

    def kind(bit):
        return marked[(marks[marked] & bit) != 0]

    # zero window: ends at this side's next segment (a window again), if captured
    z_start, z_last = _runs(k, kind(_ZERO))
    nxt = np.minimum(z_last + 1, len(k) - 1)
    closes = (z_last + 1 < len(k)) & (k[nxt] == k[z_start])
    z_end = np.where(closes, ts(nxt), np.nan)
    probe = kind(_PROBE)
    probes = _probes(k[probe], a.frame[order[probe]], ts(probe), k[z_start] ^ 1,
                     a.frame[order[z_start]], np.where(closes, z_end, np.inf))
    # window full: from its first to its last flagged segment
    f_start, f_last = _runs(k, kind(_FULL))
    starts, lasts = np.r_[z_start, f_start], np.r_[z_last, f_last]
    start, end = ts(starts), np.r_[z_end, ts(f_last)]
    sender = k[starts] % 2
    is_full = np.r_[np.zeros(z_start.size, bool), np.ones(f_start.size, bool)]
    conn = k[starts] // 2
    by = np.lexsort((start, conn))  # stable: by connection, then start
    table = {
        "conn": conn, "kind": _KIND[is_full.astype(np.int8)], "side": _SIDE[sender],
        "stalled": _STALLED[sender + 2 * is_full], "start": start, "end": end,
        "duration": end - start, "segments": (lasts - starts + 1).astype(np.int64),
        "probes": np.r_[probes, np.zeros(f_start.size, np.int64)]}
    return {name: col[by] for name, col in table.items()}


def _probes(pk, pframe, pts, peer, after_frame, until) -> np.ndarray:
    """Per zero-window episode: the peer's probes (direction ``peer``) after frame
    ``after_frame`` at a time no later than ``until``.  ``pk``, ``pframe``, ``pts``: the
    probes' directions, frames and times, sorted by direction then frame.  Each
    episode's candidates run from its peer's first probe after ``after_frame`` to the last
    one whose own time or any later one's in that direction is within ``until`` (a
    suffix minimum, so out-of-order timestamps are still counted exactly); those are
    then checked one by one."""
    if not pk.size or not peer.size:
        return np.zeros(peer.size, np.int64)
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
