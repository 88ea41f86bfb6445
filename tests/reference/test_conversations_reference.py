"""The compiled conversation walk (``walk_conversations`` via ``flows.py``) equals the
pure-Python reference (``tests/reference/conversations.py``) on every capture of the
suite: ``conn``, ``role``, ``rel_seq``, ``rel_ack`` and ``win``, row by row (the TCP
headers quoted in ICMP errors taken in frame order, as the pipeline does)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tcpwatch.vocab import Col

from .captures import analysed, capture_id, suite_captures
from .compare import first_difference
from .conversations import Header, walk_conversations

CAPTURES = suite_captures()
COLUMNS = [Col.CONN, Col.ROLE, Col.REL_SEQ, Col.REL_ACK, Col.WIN]


def headers_of(seg: pd.DataFrame) -> list[Header]:
    """The segments and the quoted headers, in frame order (a segment before a quote of
    the same frame)."""
    ws = seg[Col.WSCALE].to_numpy(dtype=object, na_value=None)
    cols = zip(seg[Col.FRAME].tolist(), seg[Col.SRC].astype(str).tolist(),
               seg[Col.SPORT].tolist(), seg[Col.DST].astype(str).tolist(),
               seg[Col.DPORT].tolist(), seg[Col.FLAGS].tolist(), seg[Col.SEQ].tolist(),
               seg[Col.ACK].tolist(), ws.tolist(), seg[Col.WIN_RAW].tolist(), strict=True)
    keyed = [((frame, 0, i), Header((src, int(sp)), (dst, int(dp)), int(f), int(sq), int(ak),
                                    None if w is None else int(w), int(wr)))
             for i, (frame, src, sp, dst, dp, f, sq, ak, w, wr) in enumerate(cols)]
    quoted = getattr(seg.attrs.get("tcpwatch"), "quoted", None)
    if quoted is not None:
        for j in range(len(quoted)):
            keyed.append(((int(quoted.frame[j]), 1, j), Header(
                (str(quoted.src[j]), int(quoted.sport[j])),
                (str(quoted.dst[j]), int(quoted.dport[j])),
                int(quoted.flags[j]), int(quoted.seq[j]), quoted=True)))
    return [h for _, h in sorted(keyed, key=lambda kh: kh[0])]


def reference_columns(seg: pd.DataFrame) -> pd.DataFrame:
    rows = walk_conversations(headers_of(seg))
    return pd.DataFrame({
        Col.CONN: [r.conn for r in rows], Col.ROLE: [r.role for r in rows],
        Col.REL_SEQ: [r.rel_seq for r in rows], Col.REL_ACK: [r.rel_ack for r in rows],
        Col.WIN: [r.win for r in rows]}, index=seg.index, dtype=object)


@pytest.mark.parametrize("path", CAPTURES, ids=capture_id)
def test_conversations_equal_reference(path: Path) -> None:
    seg = analysed(path)
    assert (diff := first_difference(seg, reference_columns(seg))) is None, diff
