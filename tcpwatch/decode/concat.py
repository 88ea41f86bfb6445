"""Decoded chunks -> one segment table, column by column."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from ..capture.bytes import PAD
from ..capture.pcapfile import RawFrames
from ..vocab import DECODE_COLUMNS, Col
from .segments import Columns, decode

_CATEGORICAL_GROUPS = ((Col.SRC, Col.DST), (Col.FLAG_STR,))


def concat_columns(parts: list[Columns]) -> pd.DataFrame:
    """Concatenate decoded chunks column by column, releasing each chunk's column as soon
    as it is copied (peak memory: the table plus one column); categoricals are recoded
    onto shared categories."""
    if not parts:
        parts = [decode(NO_FRAMES)[0]]
    columns: dict[str, object] = {}
    for group in _CATEGORICAL_GROUPS:
        cats = pd.Index(pd.unique(np.concatenate(
            [p[c].categories.to_numpy(dtype=object) for p in parts for c in group])))
        for c in group:
            codes = np.concatenate([cats.get_indexer(p[c].categories)[p.pop(c).codes]
                                    for p in parts])
            columns[c] = pd.Categorical.from_codes(codes.astype(np.int32), cats, validate=False)
    for c in DECODE_COLUMNS:
        if c in columns:
            continue
        first = parts[0][c]
        if isinstance(first, pd.arrays.ArrowExtensionArray):
            # the chunks themselves: pa.chunked_array() of ChunkedArrays goes through Python
            chunks = [ch for p in parts for ch in p.pop(c)._pa_array.chunks]
            columns[c] = pd.arrays.ArrowExtensionArray(pa.chunked_array(chunks))
        elif isinstance(first, pd.arrays.IntegerArray):
            pieces = [p.pop(c) for p in parts]
            columns[c] = pd.arrays.IntegerArray(
                np.concatenate([x._data for x in pieces]),
                np.concatenate([x._mask for x in pieces]))
            del pieces
        else:
            columns[c] = np.concatenate([p.pop(c) for p in parts])
    return pd.DataFrame(columns, copy=False)[list(DECODE_COLUMNS)]


NO_FRAMES = RawFrames(np.zeros(PAD, np.uint8), *(np.zeros(0, np.int64) for _ in range(3)),
                      np.zeros(0, np.float64), np.zeros(0, np.int64), np.zeros(0, np.int32),
                      np.zeros(0, np.int64))
