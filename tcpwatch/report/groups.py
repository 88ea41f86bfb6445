"""Per-group reductions over whole columns: rows sorted by their key once, then each
reduction is one ``ufunc.reduceat`` over the sorted column (no pandas groupby, which
factorizes the key again for every aggregation)."""

from __future__ import annotations

import numpy as np


class Groups:
    """The rows of each distinct ``key``, in ascending key order (``ids``)."""

    def __init__(self, key: np.ndarray):
        key = np.asarray(key)
        self.n = key.size
        self.order = np.argsort(key, kind="stable")  # within a group: file order
        k = key[self.order]
        self.starts = np.flatnonzero(np.r_[True, k[1:] != k[:-1]]) if self.n else \
            np.zeros(0, np.intp)
        self.ids = k[self.starts]
        self.sizes = np.diff(np.r_[self.starts, self.n])

    def _sorted(self, x) -> np.ndarray:
        return np.asarray(x)[self.order]

    def sum(self, x) -> np.ndarray:
        x = self._sorted(x)
        if x.dtype == bool:
            x = x.astype(np.int64)
        return np.add.reduceat(x, self.starts) if self.n else x[:0]

    def any(self, x) -> np.ndarray:
        return np.logical_or.reduceat(self._sorted(x), self.starts) if self.n else \
            np.zeros(0, bool)

    def min(self, x) -> np.ndarray:
        """Smallest value of each group, NaN ignored (NaN only where all are NaN)."""
        return np.fmin.reduceat(self._sorted(x), self.starts) if self.n else \
            np.asarray(x)[:0]

    def max(self, x) -> np.ndarray:
        return np.fmax.reduceat(self._sorted(x), self.starts) if self.n else \
            np.asarray(x)[:0]

    def first_row(self) -> np.ndarray:
        """Position (in the original order) of each group's first row."""
        return self.order[self.starts]

    def last_row(self) -> np.ndarray:
        return self.order[self.starts + self.sizes - 1]

    def median(self, x) -> np.ndarray:
        """Median of each group's non-NaN values (NaN where there are none)."""
        x = np.asarray(x, dtype=np.float64)
        group = np.repeat(np.arange(self.ids.size), self.sizes)
        v = x[self.order]
        inner = np.lexsort((v, group))  # NaN sorts last within its group
        v = v[inner]
        count = np.add.reduceat((~np.isnan(v)).astype(np.int64), self.starts) if self.n \
            else np.zeros(0, np.int64)
        have = count > 0
        lo = self.starts + np.maximum(count - 1, 0) // 2
        hi = self.starts + count // 2
        out = np.full(self.ids.size, np.nan)
        out[have] = (v[lo[have]] + v[np.minimum(hi, self.n - 1)[have]]) / 2
        return out

    def spread(self, per_group: np.ndarray) -> np.ndarray:
        """A per-group value back on every row (in the original order)."""
        out = np.empty(self.n, dtype=np.asarray(per_group).dtype)
        out[self.order] = np.repeat(per_group, self.sizes)
        return out
