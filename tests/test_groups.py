"""report/groups.py's reductions equal pandas groupby on random keys and values, NaN
included (the summary's oracle test checks them again on real captures)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from tcpwatch.report.groups import Groups

values = st.lists(st.tuples(st.integers(0, 6), st.one_of(st.floats(-1e6, 1e6), st.just(np.nan))),
                  min_size=1, max_size=60)


@settings(max_examples=200, deadline=None)
@given(values)
def test_reductions_equal_pandas(rows):
    key = np.array([k for k, _ in rows])
    x = np.array([v for _, v in rows])
    g = Groups(key)
    ref = pd.Series(x).groupby(key)
    assert g.ids.tolist() == sorted(set(key.tolist()))
    np.testing.assert_allclose(g.min(x), ref.min().to_numpy(), equal_nan=True)
    np.testing.assert_allclose(g.max(x), ref.max().to_numpy(), equal_nan=True)
    np.testing.assert_allclose(g.median(x), ref.median().to_numpy(), equal_nan=True)
    np.testing.assert_array_equal(g.sum(x > 0), ref.apply(lambda s: (s > 0).sum()).to_numpy())
    np.testing.assert_array_equal(g.any(x > 0), ref.apply(lambda s: (s > 0).any()).to_numpy())
    pos = pd.Series(np.arange(len(key))).groupby(key)
    assert g.first_row().tolist() == pos.min().tolist()
    assert g.last_row().tolist() == pos.max().tolist()
    assert g.spread(g.sum(np.ones(len(key)))).tolist() == ref.transform("size").tolist()
