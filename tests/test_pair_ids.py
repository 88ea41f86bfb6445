"""flows.pair_ids, the one 4-tuple key of the conversation walk (offline and live): the
same pair gets the same id, different pairs different ids, in both of its ways of
factorizing; with a ``known`` table (live) ids stay stable from batch to batch."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tcpwatch.engine.flows import pair_ids
from tcpwatch.engine.native import _seqwalk

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
    """The compiled table (csrc/pairs.c) numbers pairs as a dict would: a new pair gets
    the next id, in the order the batch shows them first, and keeps it."""
    table = _seqwalk.new_context(_seqwalk.CTX_PAIRS)
    model: dict[tuple[int, int], int] = {}
    first_id: dict[tuple[int, int], int] = {}
    for rows in batches:
        lo = np.array([a for a, _ in rows], np.int64)
        hi = np.array([b for _, b in rows], np.int64)
        ids, n = pair_ids(lo, hi, table)
        for p in dict.fromkeys(rows):  # factorize's order: first appearance
            model.setdefault(p, len(model))
        assert n == len(model)
        assert ids.tolist() == [model[p] for p in rows]
        for p, i in zip(rows, ids.tolist(), strict=True):
            assert first_id.setdefault(p, i) == i


def test_the_table_grows_past_many_pairs_and_wide_endpoints():
    """Enough pairs to rehash many times, endpoints beyond 32 bits, in batches."""
    table = _seqwalk.new_context(_seqwalk.CTX_PAIRS)
    rng = np.random.default_rng(3)
    lo = rng.integers(0, 2**47, 20_000) | (1 << 46)
    hi = lo + rng.integers(1, 2**20, 20_000)
    seen: dict[tuple[int, int], int] = {}
    for part in np.array_split(np.arange(40_000) % 20_000, 7):  # every pair twice
        ids, n = pair_ids(lo[part], hi[part], table)
        for p, i in zip(zip(lo[part].tolist(), hi[part].tolist(), strict=True),
                        ids.tolist(), strict=True):
            assert seen.setdefault(p, i) == i
        assert n == len(seen)
    assert sorted(seen.values()) == list(range(len(seen)))
