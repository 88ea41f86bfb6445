"""Per-group reductions over whole columns: rows sorted by their key once, then each
reduction is one ``ufunc.reduceat`` over the sorted column (no pandas groupby, which
factorizes the key again for every aggregation).

The running operations (``running_max``, ``previous``, ``heads``, ``ranks``) take and
return columns already in group order (``g.grouped(x)``), so a chain of them sorts nothing
and scatters nothing back until the caller needs row numbers (``g.order[position]``)."""

from __future__ import annotations

import numpy as np


class Groups:
    """The rows of each distinct ``key``, in ascending key order (``ids``)."""

    def __init__(self, key: np.ndarray, by: np.ndarray | None = None):
        """Within a group the rows keep file order, or ascending ``by`` (ties in file
        order) when it is given."""
        key = np.asarray(key)
        self.n = key.size
        self.order = np.argsort(key, kind="stable") if by is None else \
            _order_by(key, np.asarray(by))
        k = key[self.order]
        self.starts = np.flatnonzero(np.r_[True, k[1:] != k[:-1]]) if self.n else \
            np.zeros(0, np.intp)
        self.ids = k[self.starts]
        self.sizes = np.diff(np.r_[self.starts, self.n])

    def _sorted(self, x) -> np.ndarray:
        return np.asarray(x)[self.order]

    grouped = _sorted  # a column in group order, for the running operations

    def index_of(self, keys: np.ndarray) -> np.ndarray:
        """Group number of each of ``keys`` (an index into ``ids``), -1 where absent."""
        if not self.ids.size:
            return np.full(np.shape(keys), -1, np.intp)
        at = np.minimum(np.searchsorted(self.ids, keys), self.ids.size - 1)
        return np.where(self.ids[at] == keys, at, -1)

    @property
    def group(self) -> np.ndarray:
        """Group number (index into ``ids``) of each row, in group order."""
        if not hasattr(self, "_group"):
            self._group = np.repeat(np.arange(self.ids.size), self.sizes)
        return self._group

    def previous(self, v: np.ndarray, fill) -> np.ndarray:
        """(group order) The previous row's value of ``v`` in the same group; a group's
        first row gets ``fill`` (a scalar, or one value per group)."""
        out = np.empty_like(v)
        out[1:] = v[:-1]
        out[self.starts] = fill
        return out

    def running_max(self, v: np.ndarray) -> np.ndarray:
        """(group order) Running maximum of the integers ``v`` within each group: one
        ``np.maximum.accumulate`` over the values lifted so that each group lies above
        all earlier groups (over dense ranks instead where that could overflow)."""
        v = np.asarray(v, np.int64)
        if not self.n:
            return v
        lo = int(v.min())
        width = int(v.max()) - lo + 1
        if width * self.ids.size >= 2**62:
            uniq, rank = np.unique(v, return_inverse=True)
            return uniq[self.running_max(rank)]
        lift = self.group * width
        out = v - lo
        out += lift
        np.maximum.accumulate(out, out=out)
        out -= lift
        out += lo
        return out

    def heads(self, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(group order) The positions where ``mask`` holds, and whether each is the
        first of them in its group."""
        at = np.flatnonzero(mask)
        group = self.group[at]
        return at, np.r_[True, group[1:] != group[:-1]] if at.size else np.zeros(0, bool)

    def ranks(self, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(group order) The positions where ``mask`` holds, and each one's 1-based count
        among them within its group."""
        at, head = self.heads(mask)
        step = np.arange(at.size)
        return at, step - np.maximum.accumulate(np.where(head, step, 0)) + 1

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

    def median(self, x, *, grouped: bool = False) -> np.ndarray:
        """Median of each group's non-NaN values (NaN where there are none); ``x`` in
        group order when ``grouped``.  Only the non-NaN rows are sorted: by value (any
        order among equal values gives the same median), then stably by group."""
        v = np.asarray(x, dtype=np.float64)
        v = v if grouped else v[self.order]
        at = np.flatnonzero(~np.isnan(v))
        out = np.full(self.ids.size, np.nan)
        if not at.size:
            return out
        v, group = v[at], self.group[at]
        by_value = np.argsort(v)
        # a stable sort of 16-bit integers is a radix sort
        small = group.astype(np.uint16) if self.ids.size <= 1 << 16 else group
        inner = by_value[np.argsort(small[by_value], kind="stable")]
        v, group = v[inner], group[inner]
        head = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
        count = np.diff(np.r_[head, v.size])
        out[group[head]] = (v[head + (count - 1) // 2] + v[head + count // 2]) / 2
        return out

    def reduce(self, ufunc: np.ufunc, v: np.ndarray) -> np.ndarray:
        """(group order) ``ufunc`` over each group's values of ``v`` (one reduceat)."""
        return ufunc.reduceat(v, self.starts) if self.n else v[:0]

    def reduce_where(self, ufunc: np.ufunc, mask: np.ndarray, v: np.ndarray,
                     fill) -> np.ndarray:
        """(group order) ``ufunc`` over each group's values of ``v`` on the rows where
        ``mask`` holds, ``fill`` for a group without such rows: one reduceat over those
        rows only (cheap when they are few)."""
        out = np.full(self.ids.size, fill, dtype=v.dtype)
        at = np.flatnonzero(mask)
        if at.size:
            group = self.group[at]
            head = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
            out[group[head]] = ufunc.reduceat(v[at], head)
        return out

    def first_where(self, mask: np.ndarray) -> np.ndarray:
        """(group order) Position of each group's first row where ``mask`` holds, -1
        where there is none."""
        at, head = self.heads(mask)
        out = np.full(self.ids.size, -1, np.intp)
        out[self.group[at[head]]] = at[head]
        return out

    def spread(self, per_group: np.ndarray) -> np.ndarray:
        """A per-group value back on every row (in the original order)."""
        out = np.empty(self.n, dtype=np.asarray(per_group).dtype)
        out[self.order] = np.repeat(per_group, self.sizes)
        return out


def _order_by(key: np.ndarray, by: np.ndarray) -> np.ndarray:
    """Rows by ``key``, then ``by``, then file order: one stable argsort of a combined
    integer when both are integers whose ranges multiply below 2**62 (much faster than
    ``np.lexsort`` on runs that are nearly in order already), else ``np.lexsort``."""
    if key.size and key.dtype.kind in "iub" and by.dtype.kind in "iub":
        k0, b0 = int(key.min()), int(by.min())
        width = int(by.max()) - b0 + 1
        if (int(key.max()) - k0 + 1) * width < 2**62:
            return np.argsort((key.astype(np.int64) - k0) * width + (by.astype(np.int64) - b0),
                              kind="stable")
    return np.lexsort((by, key))
