"""engine/store.py's Recent: the stages' output kept for the rows not handed out yet
(the streamed analysis), batch by batch, with re-walked rows replacing what they had."""

from __future__ import annotations

import numpy as np
import pytest

from tcpwatch.engine.store import Recent

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
