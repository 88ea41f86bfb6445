"""Rendering: DataFrames -> tables (drawn by fit.py).  Pure: the CLI prints them."""

from __future__ import annotations

import datetime as dt
import math
from collections import namedtuple
from typing import TYPE_CHECKING

import numpy as np

from ..decode.columns import Columns, Masked, from_frame, take
from ..vocab import Col
from .fit import PIPE_WIDTH, TOP, Column, FittedTable, fitted_table

if TYPE_CHECKING:
    import pandas as pd


def _none(x) -> bool:
    """No value: None (a missing integer) or NaN."""
    return x is None or (isinstance(x, float) and math.isnan(x))


def _clock(ts: float) -> str:
    if _none(ts):
        return "-"
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%H:%M:%S.%f")


def _win(lo, hi) -> str:
    if _none(lo):
        return "-"
    return f"{int(lo):,}" if lo == hi else f"{int(lo):,}–{int(hi):,}"


def busiest_index(conn: np.ndarray, segs: np.ndarray, top: int) -> np.ndarray:
    """Positions of the ``top`` connections with the most segments (of two with as many,
    the later), in connection order; all of them when ``top`` is 0.  A total order, so the
    busiest of the busiest of each part are the busiest of the whole
    (report/accumulate.py)."""
    by_conn = np.argsort(conn, kind="stable")
    if not 0 < top < by_conn.size:
        return by_conn
    return by_conn[np.sort(segs[by_conn].argsort(kind="stable")[::-1][:top])]


def busiest_rows(summary: pd.DataFrame | Columns, top: int) -> np.ndarray:
    """:func:`busiest_index` of a summary (typed columns or a DataFrame)."""
    segs = np.asarray(summary["pkts_client"]) + np.asarray(summary["pkts_server"])
    return busiest_index(np.asarray(summary["conn"]), segs, top)


def busiest(summary: pd.DataFrame, top: int) -> pd.DataFrame:
    """The same rows of a summary DataFrame."""
    return summary.iloc[busiest_rows(summary, top)]


def take_table(table: Columns, rows: np.ndarray) -> Columns:
    return {name: take(col, rows) for name, col in table.items()}


def _typed(table: pd.DataFrame | Columns) -> Columns:
    return table if isinstance(table, dict) else from_frame(table, table.columns)


def _records(table: Columns) -> list:
    """The rows of typed columns as named tuples (a missing integer is None)."""
    names = list(table)
    values = []
    for col in table.values():
        if isinstance(col, Masked):
            v = col.values.astype(object)
            v[col.missing] = None
            values.append(v.tolist())
        else:
            values.append(np.asarray(col).tolist())
    row = namedtuple("Row", names)  # type: ignore[misc]
    return [row(*r) for r in zip(*values, strict=True)]


def render_connections(summary: pd.DataFrame | Columns, title: str = "TCP connections",
                       top: int = TOP, width: int | None = None,
                       total: int | None = None) -> FittedTable:
    """The summary as a table no wider than ``width`` (the less important columns are left
    out on a narrow terminal, never cut); with more than ``top`` connections (``top`` > 0)
    only the busiest ``top`` (most segments), in connection order, and a caption saying so.
    ``total``: how many connections there are when ``summary`` holds the busiest only."""
    caption = None
    summary = _typed(summary)
    n = len(summary["conn"]) if "conn" in summary else 0
    total = n if total is None else total
    if 0 < top < total:
        caption = (f"the {top} busiest of {total:,} connections "
                   f"(--top 0: all; -o FILE: every segment)")
        if n:
            summary = take_table(summary, busiest_rows(summary, top))
    has_states = "final_client" in summary
    rows = _records(summary) if n else []

    def col(header: str, rank: int, cell, numeric: bool = True) -> Column:
        return Column(header, [cell(r) for r in rows], numeric=numeric, rank=rank)

    columns = [
        col("conn", 0, lambda r: str(r.conn)),
        col("client → server", 0, lambda r: f"{r.client} → {r.server}", numeric=False),
        col("duration s", 6, lambda r: f"{r.duration:.6f}"),
        col("segs c→s / s→c", 2, lambda r: f"{r.pkts_client:,} / {r.pkts_server:,}"),
        col("bytes c→s / s→c", 2, lambda r: f"{r.bytes_client:,} / {r.bytes_server:,}"),
        col("handshake", 4, lambda r: r.handshake, numeric=False),
        col("ended", 3, lambda r: r.ended, numeric=False),
        col("window c→s", 8, lambda r: _win(r.win_min_client, r.win_max_client)),
        col("window s→c", 8, lambda r: _win(r.win_min_server, r.win_max_server)),
        col("final client / server", 1, lambda r: f"{r.final_client} / {r.final_server}"
            if has_states else "-", numeric=False),
        col("zeek", 4, lambda r: f"{r.conn_state} {r.history}" if has_states else "-",
            numeric=False),
        col("retrans / dup ack", 5, lambda r: f"{r.retransmissions} / {r.dup_acks}"
            if hasattr(r, "dup_acks") else "-"),
        col("rtt ms min/med/max", 7, lambda r: _rtt(r) if hasattr(r, "rtt_min") else "-"),
    ]
    return fitted_table(columns, width or PIPE_WIDTH, title=title, caption=caption)


def _rtt(r) -> str:
    if _none(r.rtt_min):
        return "-"
    return f"{1e3 * r.rtt_min:.3f}/{1e3 * r.rtt_median:.3f}/{1e3 * r.rtt_max:.3f}"


def render_episodes(ep: pd.DataFrame | Columns, title: str = "Flow-control episodes",
                    width: int | None = None, limit: int = 0) -> FittedTable:
    """The episodes (the first ``limit``; 0: all) as a table no wider than ``width``."""
    ep = _typed(ep)
    rows = _records(ep) if "conn" in ep else []
    rows = rows[:limit] if limit else rows
    columns = [
        Column("conn", [str(r.conn) for r in rows], numeric=True),
        Column("kind", [r.kind for r in rows]),
        Column("who", [r.stalled for r in rows], rank=1),
        Column("start UTC", [_clock(r.start) for r in rows], numeric=True, rank=2),
        Column("duration s", ["open" if _none(r.duration) else f"{r.duration:.6f}"
                              for r in rows], numeric=True),
        Column("segments", [str(r.segments) for r in rows], numeric=True, rank=1),
        Column("probes", [str(r.probes) for r in rows], numeric=True, rank=1),
    ]
    return fitted_table(columns, width or PIPE_WIDTH, title=title)


def render_segments(seg: pd.DataFrame, title: str = "TCP segments",
                    width: int | None = None) -> FittedTable:
    """One row per segment: time since the first one, direction, flags (tcpdump letters),
    relative seq/ack (Wireshark's), payload length, the scaled window (the raw field
    beside it), bytes in flight, both ends' states after it (or the transition it made),
    and its analysis events; as a table no wider than ``width``."""
    import pandas as pd

    t0 = float(seg[Col.TS].min()) if len(seg) else 0.0

    def text(col: str) -> list[str]:
        return seg[col].astype(str).tolist() if col in seg else ["-"] * len(seg)

    def count(col: str) -> list[str]:
        if col not in seg:
            return ["-"] * len(seg)
        return ["-" if v is pd.NA or _none(v) else f"{int(v):,}"
                for v in seg[col].astype(object).tolist()]

    states = [t if t else f"{c} / {s}" for t, c, s in zip(
        text(Col.TRANSITION), text(Col.STATE_AFTER_CLIENT), text(Col.STATE_AFTER_SERVER),
        strict=True)] if Col.STATE_AFTER_CLIENT in seg else ["-"] * len(seg)
    columns = [
        Column("frame", text(Col.FRAME), numeric=True),
        Column("time s", [f"{t - t0:.6f}" for t in seg[Col.TS].tolist()], numeric=True,
               rank=5),
        Column("conn", text(Col.CONN), numeric=True, rank=3),
        Column("dir", ["c→s" if r == "client" else "s→c" for r in text(Col.ROLE)]),
        Column("flags", text(Col.FLAG_STR)),
        Column("seq", count(Col.REL_SEQ), numeric=True, rank=3),
        Column("ack", count(Col.REL_ACK), numeric=True, rank=3),
        Column("len", count(Col.LEN), numeric=True, rank=2),
        Column("win", count(Col.WIN), numeric=True, rank=2),
        Column("win raw", count(Col.WIN_RAW), numeric=True, rank=6),
        Column("in flight", count(Col.BYTES_IN_FLIGHT), numeric=True, rank=4),
        Column("states client / server (or the change)", states, rank=1),
        Column("events", [e.replace(";", " ") for e in text(Col.EVENTS)], rank=1),
    ]
    return fitted_table(columns, width or PIPE_WIDTH, title=title)
