"""Which connections a picture or a report shows: the ones named, else those a display
filter touches, else the busiest."""

from __future__ import annotations

import pandas as pd

from ..errors import TcpwatchError
from ..vocab import Col


def busiest(segs: pd.DataFrame, n: int) -> list[int]:
    """The ``n`` connections with the most segments (ties: the earlier one first)."""
    counts = segs[Col.CONN].value_counts(sort=False)
    order = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return [int(c) for c, _ in order[:n]]


def choose_conns(segs: pd.DataFrame, conns: list[int] | None, mask=None, *,
                 n: int = 1, source: str = "the capture") -> list[int]:
    """Connections to draw: ``conns`` (each must exist), else the busiest ``n`` of those
    with a segment ``mask`` selects (a boolean array over ``segs``), else of all."""
    have = set(segs[Col.CONN].unique().tolist())
    if conns:
        missing = sorted(set(conns) - have)
        if missing:
            raise TcpwatchError(f"no connection {', '.join(map(str, missing))} in {source}"
                                f" (it has {has_text(segs[Col.CONN])})")
        return list(dict.fromkeys(conns))
    pool = segs if mask is None else segs[segs[Col.CONN].isin(segs.loc[mask, Col.CONN])]
    if pool.empty:
        raise TcpwatchError(f"no TCP connection to draw in {source}"
                            + (" matches the filter" if mask is not None else ""))
    return busiest(pool, n)


def has_text(ids: pd.Series) -> str:
    """What a capture has, for an error naming a connection it has not: "connection 0",
    "connections 0 to 41", "no connection"."""
    if not len(ids):
        return "no connection"
    lo, hi = int(ids.min()), int(ids.max())
    return f"connection {lo}" if lo == hi else f"connections {lo} to {hi}"


def conn_rows(segs: pd.DataFrame, conn: int) -> pd.DataFrame:
    """One connection's rows, frame order, fresh index -- without the capture's ``attrs``
    (its summary), which pandas would deep-copy at every step the kinds take."""
    rows = segs[segs[Col.CONN].to_numpy() == conn].reset_index(drop=True)
    rows.attrs = {}
    return rows
