"""The segment table's columns as the pipeline holds them: typed, no pandas.

Inside tcpwatch a column is a numpy array, or one of three kinds numpy alone cannot
hold:

* :class:`Coded`: a categorical -- integer codes into a tuple of names (addresses,
  tcpdump flags, states, roles, the ``events`` text of each bit pattern);
* :class:`Masked`: integers with missing values (options absent, no duplicate ACK);
* a ``pyarrow.ListArray``: the SACK blocks of each segment.

pandas and Arrow objects are made only at the edges: :func:`to_frame` (the DataFrame
``tcpwatch.analyze`` returns) and :func:`table` (a Parquet row group).  So a command that
writes Parquet never imports pandas.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True, slots=True)
class Coded:
    """A categorical column: ``names[codes[i]]`` is row i's text (code -1: none)."""

    codes: np.ndarray
    names: tuple[str, ...]

    def __len__(self) -> int:
        return self.codes.shape[0]

    def take(self, idx) -> Coded:
        return Coded(self.codes[idx], self.names)


@dataclass(frozen=True, slots=True)
class Masked:
    """Integers, some missing (``missing[i]``: row i has no value)."""

    values: np.ndarray
    missing: np.ndarray

    def __len__(self) -> int:
        return self.values.shape[0]

    def take(self, idx) -> Masked:
        return Masked(self.values[idx], self.missing[idx])


# -- numpy <-> Arrow through buffers: pa.array() and np.asarray() of an Arrow array import
#    pandas (pyarrow asks it whether the object is one of its own), these never do --------
def arrow_of(values: np.ndarray, missing: np.ndarray | None = None) -> pa.Array:
    """A numpy array of numbers or bools as an Arrow array (``missing``: null rows)."""
    values = np.ascontiguousarray(values)
    if values.dtype == bool:
        typ, data = pa.bool_(), pa.py_buffer(np.packbits(values, bitorder="little"))
    else:
        typ, data = pa.from_numpy_dtype(values.dtype), pa.py_buffer(values)
    nulls = int(missing.sum()) if missing is not None else 0
    valid = pa.py_buffer(np.packbits(~missing, bitorder="little")) if nulls else None
    return pa.Array.from_buffers(typ, values.shape[0], [valid, data], null_count=nulls)


def numpy_of(arr: pa.Array) -> np.ndarray:
    """The values of an Arrow array of numbers without nulls, as numpy (no copy)."""
    dtype = np.dtype(arr.type.to_pandas_dtype())
    return np.frombuffer(arr.buffers()[1], dtype, count=len(arr), offset=arr.offset *
                         dtype.itemsize)


def strings(names) -> pa.Array:
    """Python strings as an Arrow string array."""
    data = [n.encode() for n in names]
    offsets = np.zeros(len(data) + 1, np.int32)
    np.cumsum([len(d) for d in data], out=offsets[1:])
    return pa.Array.from_buffers(pa.string(), len(data),
                                 [None, pa.py_buffer(offsets), pa.py_buffer(b"".join(data))])


def list_array(offsets: np.ndarray, values: np.ndarray) -> pa.ListArray:
    return pa.ListArray.from_arrays(arrow_of(offsets.astype(np.int32)), arrow_of(values))


Column = np.ndarray | Coded | Masked | pa.Array
Columns = dict[str, Column]  # column name -> column, one row per segment


def distinct(values: np.ndarray) -> np.ndarray:
    """The sorted distinct values: ``np.unique`` without its masked-array check, which
    imports numpy.ma (35 ms of every run's start)."""
    v = np.sort(values)
    return v[np.r_[True, v[1:] != v[:-1]]] if v.size else v


def factorize(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(each value's code, the distinct values in order of first appearance)."""
    uniq, first, inverse = np.unique(values, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")
    rank = np.empty(order.size, np.int64)
    rank[order] = np.arange(order.size)
    return rank[inverse.reshape(-1)], uniq[order]


def take(col: Column, idx) -> Column:
    """Rows ``idx`` (an index array or a boolean mask) of a column."""
    if isinstance(col, pa.Array):
        if isinstance(idx, np.ndarray) and idx.dtype == bool:
            return col.filter(arrow_of(idx))
        return col.take(arrow_of(np.asarray(idx, np.int64)))
    return col.take(idx) if isinstance(col, Coded | Masked) else col[idx]


def concat(pieces: list[Column]) -> Column:
    """One column from the same column of several batches (categoricals recoded onto
    the union of their names, in order of first appearance)."""
    first = pieces[0]
    if isinstance(first, Coded):
        names: dict[str, int] = {}
        codes = []
        for p in pieces:
            lookup = np.array([names.setdefault(n, len(names)) for n in p.names] + [-1],
                              np.int32)
            codes.append(lookup[p.codes])  # code -1 -> the appended -1
        return Coded(np.concatenate(codes), tuple(names))
    if isinstance(first, Masked):
        return Masked(np.concatenate([p.values for p in pieces]),
                      np.concatenate([p.missing for p in pieces]))
    if isinstance(first, pa.Array):
        return pa.concat_arrays(pieces)
    return np.concatenate(pieces)


def to_arrow(col: Column) -> pa.Array:
    if isinstance(col, Coded):
        return pa.DictionaryArray.from_arrays(
            arrow_of(col.codes.astype(np.int32, copy=False), col.codes < 0), strings(col.names))
    if isinstance(col, Masked):
        return arrow_of(col.values, col.missing)
    return col if isinstance(col, pa.Array) else arrow_of(col)


def table(columns: Columns) -> pa.Table:
    """An Arrow table of the columns (dictionaries int32 -> string, as Parquet keeps)."""
    return pa.Table.from_arrays([to_arrow(c) for c in columns.values()], names=list(columns))


def to_pandas(col: Column):
    import pandas as pd

    if isinstance(col, Coded):
        return pd.Categorical.from_codes(col.codes, list(col.names), validate=False)
    if isinstance(col, Masked):
        return pd.arrays.IntegerArray(col.values, col.missing)
    if isinstance(col, pa.Array):
        return pd.arrays.ArrowExtensionArray(col)
    return col


def to_frame(columns: Columns) -> pd.DataFrame:
    """The columns as a DataFrame: Categoricals, nullable integers, Arrow lists."""
    import pandas as pd

    return pd.DataFrame({name: to_pandas(col) for name, col in columns.items()}, copy=False)


def from_frame(df: pd.DataFrame, names) -> Columns:
    """Columns ``names`` of a DataFrame, typed as the decoder gives them."""
    import pandas as pd

    out: Columns = {}
    for name in names:
        col = df[name]
        if isinstance(col.dtype, pd.CategoricalDtype):
            out[name] = Coded(col.cat.codes.to_numpy(),
                              tuple(str(c) for c in col.cat.categories))
        elif isinstance(col.array, pd.arrays.IntegerArray):
            out[name] = Masked(col.array._data, col.array._mask)
        elif isinstance(col.dtype, pd.ArrowDtype) and pa.types.is_list(col.dtype.pyarrow_dtype):
            out[name] = col.array._pa_array.combine_chunks()
        elif isinstance(col.dtype, pd.StringDtype):
            out[name] = col.to_numpy(dtype=object)
        else:
            out[name] = col.to_numpy()
    return out
