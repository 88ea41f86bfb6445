"""Growable column stores for the incremental engine: numpy arrays with amortized
geometric growth, so that appending a batch costs what the batch costs."""

from __future__ import annotations

import mmap

import numpy as np

#: capacity (rows) from which a store grows by a quarter instead of doubling
GROW_SLOWER = 1 << 16
#: arrays from this size are mapped from the system, not taken from malloc's heap
MAPPED_BYTES = 1 << 20
_PAGE = mmap.PAGESIZE


def _empty(shape: int | tuple[int, int], dtype) -> tuple[np.ndarray, mmap.mmap | None]:
    """An uninitialised array, and the anonymous mapping it lives in when it is large:
    its memory goes back to the system the moment the array is dropped (from malloc's
    heap the pages of a store's old arrays would stay in the process until a trim),
    and pages never written are never resident."""
    dtype = np.dtype(dtype)
    count = shape if isinstance(shape, int) else shape[0] * shape[1]
    if count * dtype.itemsize < MAPPED_BYTES:
        return np.empty(shape, dtype), None
    # private: MADV_DONTNEED frees its pages (of a shared mapping it only unmaps them)
    mapping = mmap.mmap(-1, count * dtype.itemsize, flags=mmap.MAP_PRIVATE)
    return np.frombuffer(mapping, dtype).reshape(shape), mapping


class Store:
    """Named arrays of a common length ``n``; ``spec``: name -> (dtype, fill, width)
    (width 0: one value per row, else ``width`` values per row).  ``fill``: rows past
    ``n`` hold their fill value (the compiled walks that write into :meth:`full`
    arrays rely on it); without it they are never written before :meth:`extend`
    hands them out, and a mapped array's room costs no memory until it is used."""

    def __init__(self, spec: dict[str, tuple[type, int, int]], *, fill: bool = True):
        self.spec = spec
        self.fill = fill
        self.n = 0
        self.cap = 0
        self.arrays: dict[str, np.ndarray] = {}
        self.maps: dict[str, mmap.mmap | None] = {}
        self.reserve(64)

    def reserve(self, need: int) -> None:
        if need <= self.cap:
            return
        cap = max(self.cap, 64)
        while cap < need:  # doubling while small; then by a quarter, so that a store
            cap += cap if cap < GROW_SLOWER else cap // 4  # just past a peak wastes little
        for name, (dtype, fill, width) in self.spec.items():
            shape = (cap, width) if width else cap
            arr = self._grown(name, shape, dtype)
            if arr is None:
                arr, self.maps[name] = _empty(shape, dtype)
                if self.cap:
                    arr[:self.n] = self.arrays[name][:self.n]
            if self.fill:
                arr[self.n:] = fill  # rows past n hold the fill value until written
            self.arrays[name] = arr
        self.cap = cap

    def _grown(self, name: str, shape, dtype) -> np.ndarray | None:
        """The array ``name`` in its own mapping made larger (mremap: the pages move,
        nothing is copied), or None where that cannot be done: no mapping yet, another
        view of the array still alive, a system without mremap."""
        mapping = self.maps.get(name)
        if mapping is None:
            return None
        del self.arrays[name]  # the mapping cannot be resized while a view exports it
        size = int(np.prod(shape)) * np.dtype(dtype).itemsize
        try:
            mapping.resize(size)
        except (BufferError, OSError, SystemError, ValueError):
            self.arrays[name] = np.frombuffer(mapping, dtype).reshape(
                (-1, shape[1]) if isinstance(shape, tuple) else -1)
            return None
        return np.frombuffer(mapping, dtype).reshape(shape)

    def extend(self, k: int) -> slice:
        """Room for ``k`` more rows; returns their slice."""
        self.reserve(self.n + k)
        start = self.n
        self.n += k
        return slice(start, self.n)

    def full(self, name: str) -> np.ndarray:
        """The whole allocated array (for the compiled walks that fill it in place)."""
        return self.arrays[name]

    def __getitem__(self, name: str) -> np.ndarray:
        return self.arrays[name][:self.n]

    def compact(self, keep: np.ndarray, *, release: bool = False) -> None:
        """Keep only the rows where ``keep`` (bool[n]) is true, in order.  ``release``
        (a store without ``fill``): the pages past the rows kept go back to the system,
        as if never written (a long connection's rows just left)."""
        k = int(keep.sum())
        for name in self.spec:
            arr = self.arrays[name]
            arr[:k] = arr[:self.n][keep]
            mapping = self.maps[name]
            if release and not self.fill and mapping is not None:
                start = -(-k * (arr.nbytes // self.cap) // _PAGE) * _PAGE
                if start < len(mapping):
                    mapping.madvise(mmap.MADV_DONTNEED, start, len(mapping) - start)
        self.n = k


class Ragged:
    """A list of uint32 lists (the SACK edges of each row), flat: one byte per row (its
    count of values; a SACK option holds at most 4 blocks, 8 edges) and the values."""

    def __init__(self):
        self.values = Store({"v": (np.uint32, 0, 0)}, fill=False)
        self.rows = Store({"count": (np.uint8, 0, 0)}, fill=False)

    def append(self, offsets: np.ndarray, values: np.ndarray) -> None:
        count = np.diff(offsets)
        if count.size and count.max() > 255:
            raise ValueError("more than 255 values in one row")
        rows, vals = self.rows.extend(count.size), self.values.extend(values.shape[0])
        self.rows.full("count")[rows] = count  # full() after extend(): it may reallocate
        self.values.full("v")[vals] = values

    def compact(self, keep: np.ndarray, *, release: bool = False) -> None:
        """As :meth:`Store.compact` (the values are kept in row order)."""
        kept_values = np.repeat(keep, self.rows["count"])
        self.rows.compact(keep, release=release)
        self.values.compact(kept_values, release=release)

    def take(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(offsets int32[len(rows)+1], values uint32) of these rows."""
        all_counts = self.rows["count"]
        count = all_counts[rows].astype(np.int64)
        offsets = np.zeros(rows.shape[0] + 1, np.int32)
        np.cumsum(count, out=offsets[1:])
        if not offsets[-1]:  # no values in these rows (most batches: no SACK)
            return offsets, np.zeros(0, np.uint32)
        # where each row's values start, from the first row asked for on (a batch is
        # at the end): the values before it, then a running sum
        lo = int(rows.min())
        tail = all_counts[lo:].astype(np.int64)
        start = np.empty(tail.size + 1, np.int64)
        start[0] = self.values.n - int(tail.sum())
        np.cumsum(tail, out=start[1:])
        start[1:] += start[0]
        idx = np.repeat(start[rows - lo] - offsets[:-1], count) + np.arange(int(offsets[-1]))
        return offsets, np.ascontiguousarray(self.values["v"][idx])


def last_by(keys: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(each distinct key, its last row); ``rows`` ascending, aligned with ``keys``."""
    u, i = np.unique(keys[::-1], return_index=True)
    return u, rows[::-1][i]


class Recent:
    """Columns kept for some rows only: contiguous runs of rows (a batch each) and, over
    them, single rows whose values changed later (a re-walk: the latest wins).  ``spec``
    as :class:`Store`'s; rows are a store's row numbers."""

    def __init__(self, spec: dict[str, tuple[type, int, int]]):
        self.spec = spec
        self.clear()

    def clear(self) -> None:
        self.parts: list[tuple[int, int, dict[str, np.ndarray]]] = []  # (first, end, cols)
        self.rows = np.zeros(0, np.int64)  # rows changed later, ascending
        self.changed: dict[str, np.ndarray] = {}

    def add(self, rows: slice | np.ndarray, cols: dict[str, np.ndarray]) -> None:
        if isinstance(rows, slice):
            self.parts.append((rows.start, rows.stop, cols))
            return
        merged = np.concatenate([self.rows, rows])
        u, last = last_by(merged, np.arange(merged.size))
        self.rows = u
        self.changed = {k: np.concatenate([self.changed[k], v])[last] if self.changed else
                        v[last] for k, v in cols.items()}

    def drop_before(self, row: int) -> None:
        """Forget every row before ``row``."""
        self.parts = [p for p in self.parts if p[1] > row]
        keep = self.rows >= row
        self.rows = self.rows[keep]
        self.changed = {k: v[keep] for k, v in self.changed.items()}

    def get(self, name: str, rows: np.ndarray | slice) -> np.ndarray:
        """Column ``name`` of ``rows`` (a slice, or row numbers in any order); every
        row must be kept."""
        dtype, _, width = self.spec[name]
        if isinstance(rows, slice):  # a run of rows (a flush): copied part by part
            lo, hi = rows.start, rows.stop
            out = np.empty((hi - lo, width) if width else hi - lo, dtype)
            found = 0
            for first, end, cols in self.parts:
                a, b = max(lo, first), min(hi, end)
                if a < b:
                    out[a - lo:b - lo] = cols[name][a - first:b - first]
                    found += b - a
            if found != hi - lo:
                raise KeyError(f"{hi - lo - found} rows are not kept")
            at = np.arange(np.searchsorted(self.rows, lo), np.searchsorted(self.rows, hi))
            out[self.rows[at] - lo] = self.changed[name][at] if at.size else out[:0]
            return out
        out = np.empty((rows.size, width) if width else rows.size, dtype)
        found_at = np.zeros(rows.size, bool)
        for first, end, cols in self.parts:
            sel = (rows >= first) & (rows < end)
            out[sel] = cols[name][rows[sel] - first]
            found_at |= sel
        if self.rows.size:
            at = np.minimum(np.searchsorted(self.rows, rows), self.rows.size - 1)
            hit = self.rows[at] == rows
            out[hit] = self.changed[name][at[hit]]
            found_at |= hit
        if not found_at.all():
            raise KeyError(f"{int((~found_at).sum())} rows are not kept")
        return out
