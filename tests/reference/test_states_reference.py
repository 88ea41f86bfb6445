"""The compiled state walk (``walk_states`` via ``states/apply.py``) equals the
pure-Python reference (``tests/reference/states.py``) on every capture of the suite:
both endpoints' states before and after each segment, both events, the violation text
and ``states_inferred``, row by row."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tcpwatch.states.table import describe
from tcpwatch.vocab import Col, EndpointState

from .captures import analysed, capture_id, suite_captures
from .states import BAD_RECEIVER, BAD_SENDER, Segment, StateRow, walk_states

CAPTURES = suite_captures()


def segments_of(seg: pd.DataFrame) -> list[Segment]:
    """The state walk's inputs: the connection stage's columns."""
    cols = [seg[Col.CONN].to_numpy(), (seg[Col.ROLE].cat.codes.to_numpy() == 1),
            seg[Col.FLAGS].to_numpy(), seg[Col.REL_SEQ].to_numpy(),
            seg[Col.REL_ACK].to_numpy(), seg[Col.LEN].to_numpy(), seg[Col.WIN].to_numpy()]
    return [Segment(*(int(v) for v in row)) for row in zip(*(c.tolist() for c in cols),
                                                           strict=True)]


def violation_text(row: StateRow, sender: int) -> str:
    """The ``violation`` column as documented: ``<end>: <why>`` per offending end."""
    ends = ("client", "server")
    parts = []
    if row.bad & BAD_SENDER:
        parts.append(f"{ends[sender]}: "
                     f"{describe(EndpointState(row.before[sender]), row.snd_event)}")
    if row.bad & BAD_RECEIVER:
        parts.append(f"{ends[1 - sender]}: "
                     f"{describe(EndpointState(row.before[1 - sender]), row.rcv_event)}")
    return "; ".join(parts)


def reference_columns(seg: pd.DataFrame) -> pd.DataFrame:
    segments = segments_of(seg)
    rows = walk_states(segments)
    names = [str(EndpointState(s).name) for s in EndpointState]
    from tcpwatch.vocab import event_name

    return pd.DataFrame({
        Col.STATE_BEFORE_CLIENT: [names[r.before[0]] for r in rows],
        Col.STATE_AFTER_CLIENT: [names[r.after[0]] for r in rows],
        Col.STATE_BEFORE_SERVER: [names[r.before[1]] for r in rows],
        Col.STATE_AFTER_SERVER: [names[r.after[1]] for r in rows],
        Col.EVENT_CLIENT: [event_name(r.snd_event if s.sender == 0 else r.rcv_event)
                           for r, s in zip(rows, segments, strict=True)],
        Col.EVENT_SERVER: [event_name(r.snd_event if s.sender == 1 else r.rcv_event)
                           for r, s in zip(rows, segments, strict=True)],
        Col.VIOLATION: [violation_text(r, s.sender) for r, s in zip(rows, segments,
                                                                    strict=True)],
        Col.STATES_INFERRED: [r.inferred for r in rows],
    }, index=seg.index)


def first_difference(got: pd.DataFrame, want: pd.DataFrame, frames: np.ndarray) -> str:
    diff = (got.astype(str).to_numpy() != want.astype(str).to_numpy())
    i = int(np.flatnonzero(diff.any(axis=1))[0])
    cols = [c for c, d in zip(got.columns, diff[i], strict=True) if d]
    return (f"{int(diff.any(axis=1).sum())} rows differ; first: frame {frames[i]}, "
            + ", ".join(f"{c}: pipeline {got[c].iloc[i]!r} reference {want[c].iloc[i]!r}"
                        for c in cols))


@pytest.mark.parametrize("path", CAPTURES, ids=capture_id)
def test_states_equal_reference(path: Path) -> None:
    seg = analysed(path)
    want = reference_columns(seg)
    got = seg[list(want.columns)].astype(object)
    got[Col.STATES_INFERRED] = got[Col.STATES_INFERRED].astype(bool)
    same = (got.astype(str).to_numpy() == want.astype(str).to_numpy()).all()
    assert same, first_difference(got, want, seg[Col.FRAME].to_numpy())


def test_captures_found() -> None:
    assert len(CAPTURES) > 40
