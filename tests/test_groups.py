"""report/groups.py's reductions and running operations equal pandas groupby on random
keys and values, NaN included (the summary's oracle test checks the reductions again on
real captures), and a plain per-direction loop on real captures."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tcpwatch
from tcpwatch.report.groups import Groups
from tcpwatch.vocab import Col

from .conftest import REPO

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



@settings(max_examples=200, deadline=None)
@given(values, st.lists(st.booleans(), min_size=60, max_size=60))
def test_reductions_over_columns_in_group_order(rows, flags):
    """reduce / reduce_where / first_where / median(grouped=True) take columns already in
    group order; pandas on the rows where the mask holds."""
    key = np.array([k for k, _ in rows])
    x = np.array([v for _, v in rows])
    mask = np.array(flags[:len(rows)])
    g = Groups(key)
    gx, gmask = g.grouped(x), g.grouped(mask)
    ref = pd.Series(x).groupby(key)
    np.testing.assert_allclose(g.reduce(np.fmax, gx), ref.max().to_numpy(), equal_nan=True)
    np.testing.assert_allclose(g.median(gx, grouped=True), ref.median().to_numpy(),
                               equal_nan=True)
    kept = pd.Series(x[mask]).groupby(key[mask]).min().reindex(g.ids).to_numpy()
    has = pd.Series(mask).groupby(key).any().to_numpy()  # else the fill
    np.testing.assert_allclose(g.reduce_where(np.fmin, gmask, gx, -7.0),
                               np.where(has, kept, -7.0), equal_nan=True)
    first = pd.Series(np.flatnonzero(mask)).groupby(key[mask]).min().reindex(g.ids)
    got = g.first_where(gmask)
    assert np.where(got >= 0, g.order[np.maximum(got, 0)], -1).tolist() == \
        first.fillna(-1).astype(int).tolist()


def test_median_of_more_groups_than_16_bits():
    """Past 65,536 groups the median's second sort is not on 16-bit group numbers."""
    rng = np.random.default_rng(7)
    key = rng.integers(0, 200_000, 600_000)
    x = np.where(rng.random(key.size) < 0.3, np.nan, rng.normal(size=key.size).round(2))
    g = Groups(key)
    assert g.ids.size > 1 << 16
    np.testing.assert_array_equal(g.median(x), pd.Series(x).groupby(key).median().to_numpy())


ints = st.lists(st.tuples(st.integers(0, 6), st.one_of(st.integers(-50, 50),
                                                        st.integers(-2**62, 2**62)),
                          st.booleans()), min_size=1, max_size=60)


@settings(max_examples=200, deadline=None)
@given(ints)
def test_running_operations_equal_pandas(rows):
    """running_max / previous / ranks (group order) against pandas cummax / shift /
    cumcount in file order; values up to 2**62 take running_max's dense-rank path."""
    key = np.array([k for k, _, _ in rows])
    x = np.array([v for _, v, _ in rows], np.int64)
    mask = np.array([m for _, _, m in rows])
    g = Groups(key)
    back = np.empty(len(key), np.intp)
    back[g.order] = np.arange(len(key))  # row -> position in group order
    ref = pd.Series(x, dtype="Int64").groupby(key)  # exact: no float on the way
    assert g.running_max(g.grouped(x))[back].tolist() == ref.cummax().tolist()
    prev = g.previous(g.grouped(x), -7)[back]
    assert prev.tolist() == ref.shift(1).fillna(-7).tolist()
    at, rank = g.ranks(g.grouped(mask))
    assert sorted(g.order[at].tolist()) == np.flatnonzero(mask).tolist()
    want = pd.Series(np.ones(mask.sum(), int)).groupby(key[mask]).cumsum().to_numpy()
    got = np.zeros(len(key), np.int64)
    got[g.order[at]] = rank
    assert got[mask].tolist() == want.tolist()
    assert g.index_of(np.arange(-1, 8)).tolist() == [
        g.ids.tolist().index(k) if k in g.ids else -1 for k in range(-1, 8)]


@settings(max_examples=100, deadline=None)
@given(ints)
def test_order_within_group_by_a_column(rows):
    key = np.array([k for k, _, _ in rows])
    x = np.array([v for _, v, _ in rows], np.int64)
    g = Groups(key, by=x)
    want = sorted(range(len(key)), key=lambda i: (key[i], x[i], i))
    assert g.order.tolist() == want


@pytest.mark.parametrize("name", ["many_short.pcap", "lossy_bulk.pcap"])
def test_running_operations_per_direction_of_a_capture(name):
    """Per direction (conn, role) in file order, as history() uses them: the highest
    sequence end sent before each segment, and the count of data segments so far."""
    seg = tcpwatch.analyze(REPO / "captures" / name)
    key = seg[Col.CONN].to_numpy() * 2 + (seg[Col.ROLE] == "server").to_numpy()
    end = (seg[Col.REL_SEQ].to_numpy() + seg[Col.LEN].to_numpy()).astype(np.int64)
    data = seg[Col.LEN].to_numpy() > 0
    highest: dict[int, int] = {}
    count: dict[int, int] = {}
    before, nth = [], []
    for k, e, d in zip(key.tolist(), end.tolist(), data.tolist(), strict=True):
        before.append(highest.get(k, -1))
        highest[k] = max(highest.get(k, e), e)
        count[k] = count.get(k, 0) + d
        nth.append(count[k] if d else 0)
    assert len(highest) >= 2 and max(nth) > 0 and data.sum() > 10  # not a trivial case
    g = Groups(key)
    got = np.empty(len(key), np.int64)
    got[g.order] = g.previous(g.running_max(g.grouped(end)), -1)
    assert got.tolist() == before
    at, rank = g.ranks(g.grouped(data))
    got[:] = 0
    got[g.order[at]] = rank
    assert got.tolist() == nth
