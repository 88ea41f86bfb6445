"""Fewer points for an interactive trace, the picture unchanged: per pixel column of the
time axis, the points that make its vertical extent (lowest, highest, first, last), plus
every point the caller marks (a retransmission, a probe: an event is never dropped).

``data()`` keeps every point; only ``figure()`` decimates, and only above
:data:`MAX_POINTS` points in a trace."""

from __future__ import annotations

import numpy as np

#: a trace with at most this many points is drawn whole
MAX_POINTS = 20_000
#: pixel columns of the time axis (a wide screen; zooming in shows the kept points only)
COLUMNS = 2_000


def keep(x: np.ndarray, lo: np.ndarray, hi: np.ndarray | None = None, *,
         marked: np.ndarray | None = None, max_points: int = MAX_POINTS,
         columns: int = COLUMNS) -> np.ndarray:
    """Sorted indices of the points to draw: all of them when there are at most
    ``max_points``, else per column of ``x`` the first, the last, the one with the lowest
    ``lo`` and the one with the highest ``hi`` (``lo`` again when not given), and every
    ``marked`` one."""
    n = len(x)
    if n <= max_points:
        return np.arange(n)
    hi = lo if hi is None else hi
    x = np.asarray(x, dtype=np.float64)
    span = float(x.max() - x.min()) or 1.0
    col = np.minimum(((x - x.min()) / span * columns).astype(np.int64), columns - 1)
    idx = np.arange(n)
    picks = [np.flatnonzero(marked)] if marked is not None else []
    for key in (idx, -idx, np.asarray(lo), -np.asarray(hi)):
        order = np.lexsort((key, col))  # by column, then by key within it
        first = np.flatnonzero(np.r_[True, col[order][1:] != col[order][:-1]])
        picks.append(order[first])
    return np.unique(np.concatenate(picks))
