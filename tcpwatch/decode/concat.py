"""Decoded chunks -> one set of segment columns, column by column."""

from __future__ import annotations

import numpy as np

from ..capture.bytes import PAD
from ..capture.pcapfile import RawFrames
from ..vocab import DECODE_COLUMNS, Col
from .columns import Coded, Columns, concat
from .segments import decode

#: columns whose codes share one list of names (an address is the same code either way)
_SHARED = (Col.SRC, Col.DST)


def concat_columns(parts: list[Columns]) -> Columns:
    """Concatenate decoded chunks column by column, releasing each chunk's column as soon
    as it is copied (peak memory: the table plus one column); categoricals are recoded
    onto shared names."""
    if not parts:
        parts = [decode(NO_FRAMES)[0]]
    columns: Columns = {}
    n = [len(p[Col.FRAME]) for p in parts]
    both = concat([p.pop(c) for c in _SHARED for p in parts])  # src of every part, then dst
    half = sum(n)
    columns[Col.SRC] = Coded(both.codes[:half], both.names)
    columns[Col.DST] = Coded(both.codes[half:], both.names)
    for c in DECODE_COLUMNS:
        if c not in columns:
            columns[c] = concat([p.pop(c) for p in parts])
    return {c: columns[c] for c in DECODE_COLUMNS}


NO_FRAMES = RawFrames(np.zeros(PAD, np.uint8), *(np.zeros(0, np.int64) for _ in range(3)),
                      np.zeros(0, np.float64), np.zeros(0, np.int64), np.zeros(0, np.int32),
                      np.zeros(0, np.int64))
