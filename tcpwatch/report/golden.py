"""Golden files: the expected annotation of a recorded capture, and the comparison.

``<stem>.pcap`` pairs with ``<stem>.expected.csv`` by stem.  The CSV is made to be read
and diffed by people: a fixed column order, no index, ``\\n`` line endings, time as
integer microseconds since the capture's first segment, names rather than codes.  A
golden file is a claim about TCP, reviewed once when it is made and guarded after; it is
written only through ``bless.bless``, which first checks it against tshark.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..vocab import Col
from .export import sack_text

T_US = "t_us"  # microseconds since the first segment of the capture

#: columns of a golden file, in order
GOLDEN_COLUMNS = (
    Col.FRAME, T_US, Col.CONN, Col.ROLE, Col.SRC, Col.SPORT, Col.DST, Col.DPORT,
    Col.FLAG_STR, Col.SEQ, Col.ACK, Col.REL_SEQ, Col.REL_ACK, Col.LEN, Col.WIN_RAW, Col.WIN,
    Col.MSS, Col.WSCALE, Col.SACK_PERM, Col.SACK, Col.TSVAL, Col.TSECR, Col.TRUNCATED,
    Col.STATE_BEFORE_CLIENT, Col.STATE_AFTER_CLIENT, Col.STATE_BEFORE_SERVER,
    Col.STATE_AFTER_SERVER, Col.TRANSITION, Col.VIOLATION, Col.STATES_INFERRED,
    Col.EVENT_CLIENT, Col.EVENT_SERVER, Col.EVENTS, Col.DUP_ACK_NUM, Col.DUP_ACK_FRAME,
    Col.BYTES_IN_FLIGHT, Col.ACK_RTT_US, Col.ACKED_FRAME,
)


def golden_frame(seg: pd.DataFrame) -> pd.DataFrame:
    """The annotated segment table as the text a golden file holds (all strings)."""
    t0 = seg[Col.TS].min() if len(seg) else 0.0
    out = _with_sack_text(seg).assign(**{
        T_US: np.round((seg[Col.TS] - t0) * 1e6).astype("Int64"),
        Col.ACK_RTT_US: np.round(seg[Col.ACK_RTT] * 1e6).astype("Int64"),
    })
    out = out[list(GOLDEN_COLUMNS)]
    # text, with missing values (no option, say) as empty cells on every pandas version
    return out.astype("string").fillna("").astype(object).reset_index(drop=True)


def _with_sack_text(seg: pd.DataFrame) -> pd.DataFrame:
    return seg.assign(**{Col.SACK: sack_text(seg[Col.SACK])})


def read_golden(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


@dataclass(frozen=True, slots=True)
class Drift:
    """One difference between a golden file and today's analysis."""

    frame: str
    column: str
    expected: str
    actual: str


def compare(expected: pd.DataFrame, actual: pd.DataFrame) -> list[Drift]:
    """Every differing cell, frame by frame; missing/extra columns and frames too."""
    drifts: list[Drift] = []
    for c in expected.columns.difference(actual.columns):
        drifts.append(Drift("*", c, "column present", "column missing"))
    for c in actual.columns.difference(expected.columns):
        drifts.append(Drift("*", c, "column missing", "column present"))
    cols = [c for c in expected.columns if c in actual.columns and c != Col.FRAME]
    e = expected.set_index(Col.FRAME)
    a = actual.set_index(Col.FRAME)
    for f in e.index.difference(a.index, sort=False):
        drifts.append(Drift(f, "*", "frame present", "frame missing"))
    for f in a.index.difference(e.index, sort=False):
        drifts.append(Drift(f, "*", "frame missing", "frame present"))
    common = e.index.intersection(a.index, sort=False)
    ev, av = e.loc[common, cols], a.loc[common, cols]
    differs = ev.to_numpy() != av.to_numpy()
    for i, j in zip(*np.nonzero(differs), strict=True):
        drifts.append(Drift(common[i], cols[j], ev.iat[i, j], av.iat[i, j]))
    return drifts
