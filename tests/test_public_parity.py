"""Every public sample capture tshark can read: conn, rel_seq, rel_ack, len, win_raw and win
equal tshark -2's tcp.stream, tcp.seq, tcp.ack, tcp.len, window_size_value and window_size
on every TCP frame (and no frame is missing on either side)."""

from __future__ import annotations

import pytest

import tcpwatch

from .conftest import needs_tshark, public_captures
from .tshark import compare_with_tshark

CAPTURES = public_captures()


@needs_tshark
@pytest.mark.parametrize("path", CAPTURES, ids=lambda p: p.name)
def test_public_capture_matches_tshark(path):
    seg = tcpwatch.analyze(path)
    diff = compare_with_tshark(seg, path)
    assert diff.empty, f"{len(diff)} frames differ from tshark:\n{diff.head(20).to_string()}"


def test_the_public_set_is_there():
    # the parity test above must not silently run on nothing in CI
    assert len(CAPTURES) >= 30
