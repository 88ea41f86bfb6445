"""Fewer points for an interactive trace: per pixel column the first, last, lowest and
highest point, and every point the caller marks (a retransmission, a probe, a zero window),
so nothing that can be seen is lost and nothing marked disappears. ``data()`` keeps every
point; only ``figure()`` thins."""

from __future__ import annotations

import numpy as np

#: a trace with more points than this is thinned
MAX_POINTS = 20_000
#: pixel columns a thinned trace keeps four points of
COLUMNS = 4_000


def keep(x: np.ndarray, y: np.ndarray, marked: np.ndarray | None = None, *,
         limit: int = MAX_POINTS, columns: int = COLUMNS) -> np.ndarray:
    """Positions (ascending) of the points of (``x``, ``y``) to draw: all of them up to
    ``limit``, else per column of x the first, last, min and max, plus every ``marked``."""
    n = len(x)
    if n <= limit:
        return np.arange(n)
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    lo, hi = np.nanmin(x), np.nanmax(x)
    span = hi - lo if hi > lo else 1.0
    col = np.clip(((x - lo) / span * columns).astype(np.int64), 0, columns - 1)
    # sort by column, then value: a column's first and last rows are its min and max
    yv = np.where(np.isnan(y), -np.inf, y)
    by_val = np.lexsort((yv, col))
    c = col[by_val]
    edge = np.flatnonzero(np.r_[True, c[1:] != c[:-1]])
    last = np.r_[edge[1:] - 1, len(c) - 1]
    # the same by position: each column's first and last point in drawing order
    by_pos = np.lexsort((np.arange(n), col))
    cp = col[by_pos]
    pedge = np.flatnonzero(np.r_[True, cp[1:] != cp[:-1]])
    plast = np.r_[pedge[1:] - 1, len(cp) - 1]
    chosen = np.zeros(n, dtype=bool)
    chosen[by_val[edge]] = chosen[by_val[last]] = True
    chosen[by_pos[pedge]] = chosen[by_pos[plast]] = True
    if marked is not None:
        chosen |= np.asarray(marked, dtype=bool)
    return np.flatnonzero(chosen)
