"""Row-by-row comparison of the pipeline's columns with a reference's."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from tcpwatch.vocab import Col


def cell_text(v: object) -> str:
    """One token for every missing value (NaN, None, <NA>); numpy scalars as Python's."""
    if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
        return "-"
    return repr(v.item() if isinstance(v, np.generic) else v)


def first_difference(seg: pd.DataFrame, want: pd.DataFrame) -> str | None:
    """None when ``seg`` holds ``want``'s columns cell for cell; else how many rows
    differ and, for the first, the frame and each column's two values."""
    cols = list(want.columns)
    got = seg[cols].astype(object)
    if len(got) != len(want):
        return f"{len(got)} rows in the pipeline, {len(want)} in the reference"
    a = np.array([[cell_text(v) for v in row] for row in got.itertuples(index=False)],
                 dtype=object).reshape(len(got), len(cols))
    b = np.array([[cell_text(v) for v in row] for row in want.itertuples(index=False)],
                 dtype=object).reshape(len(want), len(cols))
    bad = np.flatnonzero((a != b).any(axis=1))
    if not bad.size:
        return None
    i = int(bad[0])
    detail = ", ".join(f"{c}: pipeline {a[i, k]} reference {b[i, k]}"
                       for k, c in enumerate(cols) if a[i, k] != b[i, k])
    return f"{bad.size} rows differ; first: frame {seg[Col.FRAME].iloc[i]}, {detail}"
