"""engine/store.py: Recent, the stages' output kept for the rows not handed out yet
(the streamed analysis), batch by batch, with re-walked rows replacing what they had;
Ragged, the SACK edges of each row at one byte per row beside the values."""

from __future__ import annotations

import numpy as np
import pytest

from tcpwatch.engine.store import Ragged, Recent, Store

SPEC = {"v": (np.int64, -1, 0), "w": (np.uint8, 0, 2)}


def cols(rows: np.ndarray, base: int) -> dict[str, np.ndarray]:
    return {"v": rows + base, "w": np.stack([rows % 256, (rows + base) % 256], 1)
            .astype(np.uint8)}


def test_batches_then_a_rewalk_then_dropped_rows():
    r = Recent(SPEC)
    r.add(slice(0, 5), cols(np.arange(5), 100))
    r.add(slice(5, 9), cols(np.arange(5, 9), 100))
    r.add(np.array([1, 6, 8]), cols(np.array([1, 6, 8]), 1000))  # a re-walk wins
    r.add(np.array([6]), cols(np.array([6]), 5000))  # and the latest re-walk
    got = r.get("v", np.array([8, 0, 6, 1, 7]))  # any order
    assert got.tolist() == [1008, 100, 5006, 1001, 107]
    assert r.get("v", slice(0, 9)).tolist() == [100, 1001, 102, 103, 104, 105, 5006, 107,
                                                 1008]
    assert r.get("w", np.array([6]))[0].tolist() == [6, (5006) % 256]
    r.drop_before(5)
    with pytest.raises(KeyError):
        r.get("v", np.array([1]))
    assert r.get("v", np.arange(5, 9)).tolist() == [105, 5006, 107, 1008]
    assert r.get("v", slice(5, 9)).tolist() == [105, 5006, 107, 1008]  # a run: the same
    assert r.get("w", slice(6, 8)).tolist() == r.get("w", np.arange(6, 8)).tolist()
    with pytest.raises(KeyError):
        r.get("v", slice(4, 9))
    r.clear()
    with pytest.raises(KeyError):
        r.get("v", np.array([5]))
    assert r.get("v", np.zeros(0, np.int64)).size == 0


def test_ragged_rows_taken_anywhere_after_appends_and_a_compact():
    rng = np.random.default_rng(7)
    lists = [rng.integers(0, 2**32, rng.choice([0, 0, 0, 2, 4, 8]), dtype=np.uint32)
             for _ in range(3000)]
    r = Ragged()
    for lo in range(0, 3000, 700):  # batches
        part = lists[lo:lo + 700]
        offsets = np.r_[0, np.cumsum([x.size for x in part])].astype(np.int32)
        r.append(offsets, np.concatenate(part))

    def check(rows, expect):
        offsets, values = r.take(np.asarray(rows, np.int64))
        got = [values[offsets[i]:offsets[i + 1]].tolist() for i in range(len(rows))]
        assert got == [x.tolist() for x in expect]

    check(range(2990, 3000), lists[2990:])  # a batch at the end
    check([5, 17, 2999, 1500], [lists[i] for i in (5, 17, 2999, 1500)])  # a re-walk
    keep = np.arange(3000) % 3 != 0
    r.compact(keep, release=True)
    kept = [x for x, k in zip(lists, keep, strict=True) if k]
    check(range(len(kept)), kept)
    check([len(kept) - 1, 0], [kept[-1], kept[0]])


def test_a_store_compacted_with_release_keeps_its_rows_and_gives_back_the_rest():
    """Columns from 1 MB are mapped from the system: after a compact with ``release``
    the pages past the kept rows are no longer resident (mincore), the kept rows are
    intact, and the store grows again from there."""
    s = Store({"a": (np.int64, 0, 0), "b": (np.uint8, 0, 3)}, fill=False)
    rows = s.extend(400_000)
    s.full("a")[rows] = np.arange(400_000)
    s.full("b")[rows] = (np.arange(400_000) % 251)[:, None]
    mapping = s.maps["a"]
    assert mapping is not None
    resident = _resident_pages(mapping)
    keep = np.arange(400_000) % 10 == 0
    s.compact(keep, release=True)
    assert s.n == 40_000
    assert s["a"].tolist() == list(range(0, 400_000, 10))
    assert (s["b"][:, 2] == np.arange(0, 400_000, 10) % 251).all()
    assert _resident_pages(mapping) < resident / 5  # the rest went back
    more = s.extend(5)
    s.full("a")[more] = -1
    assert s["a"][-6:].tolist() == [399_990, -1, -1, -1, -1, -1]


def _resident_pages(mapping) -> int:
    """Pages of an anonymous mapping now in memory (mincore(2))."""
    import ctypes
    import ctypes.util
    import mmap

    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    n = -(-len(mapping) // mmap.PAGESIZE)
    vec = (ctypes.c_ubyte * n)()
    addr = ctypes.addressof(ctypes.c_char.from_buffer(mapping))
    assert libc.mincore(ctypes.c_void_p(addr), ctypes.c_size_t(len(mapping)), vec) == 0
    return sum(b & 1 for b in vec)


@pytest.mark.parametrize("fill", [True, False])
def test_a_mapped_store_grows_in_place_and_keeps_its_rows(fill):
    """Past MAPPED_BYTES a column lives in its own mapping, which grows by mremap (the
    same mapping object, nothing copied); with another view of the array alive it cannot,
    and the store copies into a new mapping instead.  Either way every row is kept, and
    (fill) rows past n hold the fill value."""
    s = Store(SPEC, fill=fill)
    total = 0
    mapping = None
    view = None
    for step in range(12):
        rows = s.extend(40_000)
        s.full("v")[rows] = np.arange(rows.start, rows.stop)
        s.full("w")[rows] = 1
        total += 40_000
        if mapping is None and s.maps["v"] is not None:
            mapping, first_cap = s.maps["v"], s.cap
        if step == 8:
            assert s.maps["v"] is mapping and s.cap > first_cap  # grown, same mapping
            view = s["v"][:10]  # an exported buffer: the next growth copies
    assert mapping is not None
    assert s["v"].tolist() == list(range(total)) and (s["w"] == 1).all()
    assert s.maps["v"] is not mapping  # moved once, when the view blocked a resize
    assert view.tolist() == list(range(10))
    if fill:
        assert (s.full("v")[s.n:] == -1).all()
