"""The compiled state walk (``walk_states`` via ``engine/states.py``) equals the
pure-Python reference (``tests/reference/states.py``) on every capture of the suite:
both endpoints' states before and after each segment, both events, the violation text
and ``states_inferred``, row by row."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tcpwatch.engine.transitions import describe
from tcpwatch.vocab import Col, EndpointState

from .captures import analysed, capture_id, suite_captures
from .compare import first_difference
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
    }, index=seg.index, dtype=object)


@pytest.mark.parametrize("path", CAPTURES, ids=capture_id)
def test_states_equal_reference(path: Path) -> None:
    seg = analysed(path)
    assert (diff := first_difference(seg, reference_columns(seg))) is None, diff


def test_captures_found() -> None:
    assert len(CAPTURES) > 40


def test_the_event_class_of_every_flag_combination_is_the_references():
    """engine/states.py looks the class up in a table made from its rule; every 9-bit
    flag value, with and without data, gets the reference's class."""
    import numpy as np

    from tcpwatch.engine.states import segment_class

    from .states import flag_class

    flags = np.repeat(np.arange(1 << 9, dtype=np.uint16), 3)
    length = np.tile(np.array([0, 1, 1460], np.uint32), 1 << 9)
    got = segment_class(flags, length)
    want = [int(flag_class(int(f), int(n))) for f, n in zip(flags, length, strict=True)]
    assert got.tolist() == want
