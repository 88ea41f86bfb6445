"""Every public capture: every column tshark also computes (tcpwatch.report.parity.MAPPED: times,
addresses, ports, flags, raw and relative seq/ack, len, windows, options, truncation,
connection numbers, analysis flags and numbers) equals tshark -2 on every TCP frame, and the
two frame sets are the same."""

from __future__ import annotations

import numpy as np
import pytest

import tcpwatch
from tcpwatch.report.parity import MAPPED, NOT_MAPPED, compare_with_tshark, segment_text
from tcpwatch.vocab import SEGMENT_COLUMNS, Col

from .conftest import needs_tshark, public_captures

CAPTURES = public_captures()


@needs_tshark
@pytest.mark.parametrize("path", CAPTURES, ids=lambda p: p.name)
def test_public_capture_matches_tshark(path):
    seg = tcpwatch.analyze(path)
    diff = compare_with_tshark(seg, path)
    assert diff.empty, f"{len(diff)} cells differ from tshark:\n{diff.head(20).to_string()}"
    # ts is not a tshark field of its own: it is the float view of ts_ns (checked above)
    timed = seg[Col.TS_NS] >= 0
    assert np.allclose(seg.loc[timed, Col.TS], seg.loc[timed, Col.TS_NS] / 1e9, rtol=0,
                       atol=1e-6)


def test_every_contract_column_is_mapped_or_has_another_reference():
    mapped = {m.column for m in MAPPED}
    # frame is the key: both frame sets are compared (a frame on one side only is reported)
    assert set(SEGMENT_COLUMNS) <= mapped | set(NOT_MAPPED) | {Col.FRAME}
    assert not mapped & set(NOT_MAPPED)


def test_the_public_set_exercises_every_mapped_column():
    """A parity over empty columns is no parity: across the public captures every mapped
    column holds a non-empty value, and the boolean ones are True somewhere."""
    text = [segment_text(tcpwatch.analyze(p)) for p in CAPTURES]
    for m in MAPPED:
        values = np.concatenate([t[m.column].to_numpy(dtype=str) for t in text])
        assert (values != "").any(), m.column
    for col in (Col.SACK_PERM, Col.TRUNCATED):
        assert any((t[col] == "True").any() for t in text), col
    assert any((t[Col.IP_VERSION] == "6").any() for t in text)


def test_the_public_set_is_there():
    # the parity test above must not silently run on nothing in CI
    assert len(CAPTURES) >= 30
