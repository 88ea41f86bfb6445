"""Which connections' states are inferred (the capture misses their start), for the note
under the summary table; numpy only (the streamed report has no pandas)."""

from __future__ import annotations

import numpy as np

from ..engine.arrays import SegmentArrays
from ..vocab import TcpFlag
from .groups import Groups

#: connection numbers named in the note; the rest are counted
NAMED = 10


def inferred_conns(a: SegmentArrays) -> np.ndarray:
    """Connections whose first segment is not the client's SYN (engine/states.py's rule
    for ``states_inferred``), ascending."""
    if not len(a.conn):
        return np.empty(0, np.int64)
    g = Groups(a.conn)
    first = g.first_row()
    f = a.flags[first].astype(np.int64)
    client_syn = ((f & int(TcpFlag.SYN)) != 0) & ((f & int(TcpFlag.ACK | TcpFlag.RST)) == 0) \
        & (a.sender[first] == 0)
    return np.asarray(g.ids[~client_syn], np.int64)


def inferred_note(named: list[int], total: int) -> str | None:
    """``connections 3, 7: the capture misses their start; states inferred`` (None: none)."""
    if not total:
        return None
    ids = ", ".join(map(str, named[:NAMED]))
    more = f" and {total - min(len(named), NAMED)} more" if total > min(len(named), NAMED) else ""
    if total == 1:
        return f"connection {ids}: the capture misses its start; states inferred"
    return f"connections {ids}{more}: the capture misses their start; states inferred"
