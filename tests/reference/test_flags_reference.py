"""The compiled analysis cascade (``analyze_flags`` via ``engine/flags.py``) equals the
pure-Python reference (``tests/reference/flags.py``) on every capture of the suite:
``events`` (every flag in ``engine/registry.py``), ``dup_ack_num``, ``dup_ack_frame``,
``bytes_in_flight``, ``acked_frame`` and ``ack_rtt``, row by row."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from tcpwatch.engine.registry import FLAGS
from tcpwatch.vocab import Col

from .captures import analysed, capture_id, suite_captures
from .compare import first_difference
from .flags import FlagRow, Segment, analyze, reused_conns

CAPTURES = suite_captures()
COLUMNS = [Col.EVENTS, Col.DUP_ACK_NUM, Col.DUP_ACK_FRAME, Col.BYTES_IN_FLIGHT,
           Col.ACKED_FRAME, Col.ACK_RTT]


def segments_of(seg: pd.DataFrame) -> tuple[list[Segment], list[frozenset]]:
    """The cascade's inputs (raw numbers), and each segment's 4-tuple."""
    ws = seg[Col.WSCALE].to_numpy(dtype=object, na_value=None).tolist()
    sack = seg[Col.SACK].tolist()
    cols = zip(seg[Col.CONN].tolist(), (seg[Col.ROLE].cat.codes == 1).tolist(),
               seg[Col.FLAGS].tolist(), seg[Col.SEQ].tolist(), seg[Col.ACK].tolist(),
               seg[Col.LEN].tolist(), seg[Col.WIN_RAW].tolist(), ws,
               seg[Col.TS_NS].tolist(), seg[Col.FRAME].tolist(), sack, strict=True)
    segments = [Segment(int(c), int(s), int(f), int(sq), int(ak), int(ln), int(w),
                        -1 if o is None else int(o), int(t), int(fr),
                        tuple(int(e) for e in (sk if sk is not None else ())))
                for c, s, f, sq, ak, ln, w, o, t, fr, sk in cols]
    tuples = [frozenset(((a, p), (b, q))) for a, p, b, q in zip(
        seg[Col.SRC].astype(str).tolist(), seg[Col.SPORT].tolist(),
        seg[Col.DST].astype(str).tolist(), seg[Col.DPORT].tolist(), strict=True)]
    return segments, tuples


def events_text(bits: int) -> str:
    """Flag names in registry order."""
    return ";".join(f.name for f in FLAGS if bits & f.bit)


def reference_columns(seg: pd.DataFrame) -> pd.DataFrame:
    segments, tuples = segments_of(seg)
    rows: list[FlagRow] = analyze(segments, reused_conns(segments, tuples))
    return pd.DataFrame({
        Col.EVENTS: [events_text(r.bits) for r in rows],
        Col.DUP_ACK_NUM: [r.dup_num or None for r in rows],
        Col.DUP_ACK_FRAME: [None if r.dup_frame < 0 else r.dup_frame for r in rows],
        Col.BYTES_IN_FLIGHT: [None if r.bytes_in_flight < 0 else r.bytes_in_flight
                              for r in rows],
        Col.ACKED_FRAME: [None if r.acked_frame < 0 else r.acked_frame for r in rows],
        Col.ACK_RTT: [None if math.isnan(r.ack_rtt) else r.ack_rtt for r in rows],
    }, index=seg.index, dtype=object)


@pytest.mark.parametrize("path", CAPTURES, ids=capture_id)
def test_flags_equal_reference(path: Path) -> None:
    seg = analysed(path)
    assert (diff := first_difference(seg, reference_columns(seg))) is None, diff
