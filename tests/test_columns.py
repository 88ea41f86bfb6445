"""The typed columns the pipeline passes (decode/columns.py): what each edge makes of them
-- a DataFrame, an Arrow table -- says the same thing, row for row, on real captures."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from tcpwatch.capture.pcapfile import CaptureReader
from tcpwatch.decode.columns import (
    Coded,
    Masked,
    arrow_of,
    concat,
    list_array,
    numpy_of,
    table,
    take,
    to_frame,
)
from tcpwatch.decode.concat import concat_columns
from tcpwatch.decode.segments import decode
from tcpwatch.engine.flags import sack_arrays
from tcpwatch.vocab import Col

from .conftest import PUBLIC, REPO

CAPTURES = [REPO / "captures" / "ipv4_ipv6_interleaved.pcap",
            PUBLIC / "chrissanders-packets" / "tcp_retransmissions.pcapng",
            REPO / "captures" / "lossy_bulk.pcap"]


def chunks(path, size=4096):
    """The capture decoded in small chunks (several batches, each with its own names)."""
    return [decode(raw)[0] for raw in CaptureReader(path, size)]


@pytest.mark.parametrize("path", CAPTURES, ids=lambda p: p.name)
def test_arrow_and_pandas_edges_agree(path):
    parts = chunks(path)
    assert len(parts) > 1
    texts = [to_frame(p) for p in parts]  # each chunk on its own, as pandas sees it
    columns = concat_columns(parts)
    frame = to_frame(columns)
    arrow = table(columns).to_pandas()
    expect = pd.concat(texts, ignore_index=True)
    assert list(frame.columns) == list(arrow.columns)
    for c in frame.columns:
        if c == Col.SACK:
            want = [list(v) for v in expect[c]]
            assert [list(v) for v in frame[c]] == want
            assert [list(v) for v in arrow[c]] == want
            continue
        want = expect[c].astype(str).tolist()
        assert frame[c].astype(str).tolist() == want, c
        got = arrow[c]
        if isinstance(frame[c].dtype, pd.api.extensions.ExtensionDtype) and \
                not isinstance(frame[c].dtype, pd.CategoricalDtype):
            got = got.astype(frame[c].dtype)  # Arrow's nullable ints come back as floats
        assert got.astype(str).tolist() == want, c
    # one list of names for both address columns: the same address, the same code
    assert columns[Col.SRC].names == columns[Col.DST].names


def test_concat_recodes_names_in_order_of_first_appearance():
    a = Coded(np.array([0, 1, -1, 1]), ("x", "y"))
    b = Coded(np.array([1, 0, 2]), ("y", "z", "x"))
    both = concat([a, b])
    assert both.names == ("x", "y", "z")
    text = [None if c < 0 else both.names[c] for c in both.codes]
    assert text == ["x", "y", None, "y", "z", "y", "x"]


def test_arrow_buffers_keep_nulls_and_slices():
    m = Masked(np.array([5, 0, 7], np.uint16), np.array([False, True, False]))
    arr = arrow_of(m.values, m.missing)
    assert arr.type == pa.uint16() and arr.to_pylist() == [5, None, 7]
    flags = arrow_of(np.array([True, False, True, True, False, False, False, False, True]))
    assert flags.to_pylist() == [True, False, True, True, False, False, False, False, True]
    sliced = arrow_of(np.arange(10, dtype=np.int64)).slice(3, 4)
    assert numpy_of(sliced).tolist() == [3, 4, 5, 6]
    assert take(m, np.array([True, False, True])).values.tolist() == [5, 7]


def test_sack_of_a_slice_is_rebased():
    """A SACK column cut out of a longer one (offsets not starting at 0) gives the same
    edges as one built for those rows alone."""
    offsets = np.array([0, 2, 2, 6], np.int32)
    values = np.array([10, 20, 30, 40, 50, 60], np.uint32)
    whole = list_array(offsets, values)
    off, val = sack_arrays(whole.slice(1, 2))
    assert off.tolist() == [0, 0, 4] and val.tolist() == [30, 40, 50, 60]
    assert take(whole, np.array([2, 0])).to_pylist() == [[30, 40, 50, 60], [10, 20]]
