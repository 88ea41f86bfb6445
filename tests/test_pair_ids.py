"""flows.pair_ids, the one 4-tuple key of the conversation walk (offline and live): the
same pair gets the same id, different pairs different ids, in both of its ways of
factorizing; with a ``known`` table (live) ids stay stable from batch to batch."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tcpwatch.engine.flows import pair_ids

small = st.integers(0, 50)
pairs = st.lists(st.tuples(small, small), min_size=0, max_size=40)


def _same_partition(ids: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> bool:
    seen: dict[int, tuple[int, int]] = {}
    back: dict[tuple[int, int], int] = {}
    for i, p in zip(ids.tolist(), zip(lo.tolist(), hi.tolist(), strict=True), strict=True):
        if seen.setdefault(i, p) != p or back.setdefault(p, i) != i:
            return False
    return True


@settings(max_examples=150, deadline=None)
@given(pairs, st.sampled_from([0, 2**40]))
def test_one_id_per_pair(rows, offset):
    lo = np.array([a for a, _ in rows], np.int64) + offset  # offset: the row-wise path
    hi = np.array([b for _, b in rows], np.int64) + offset
    ids, n = pair_ids(lo, hi)
    assert _same_partition(ids, lo, hi)
    assert n == len(set(rows)) and (ids.size == 0 or ids.max() == n - 1)


@settings(max_examples=100, deadline=None)
@given(st.lists(pairs, min_size=1, max_size=4))
def test_known_pairs_keep_their_ids_across_batches(batches):
    known: dict[tuple[int, int], int] = {}
    first_id: dict[tuple[int, int], int] = {}
    for rows in batches:
        lo = np.array([a for a, _ in rows], np.int64)
        hi = np.array([b for _, b in rows], np.int64)
        ids, n = pair_ids(lo, hi, known)
        assert n == len(known)
        for p, i in zip(rows, ids.tolist(), strict=True):
            assert first_id.setdefault(p, i) == i
