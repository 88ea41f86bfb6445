"""Rendering: DataFrames -> rich Tables.  Pure; the CLI only prints what these return."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from rich.table import Table

from ..vocab import Col


def _clock(ts: float) -> str:
    if pd.isna(ts):
        return "-"
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _win(lo, hi) -> str:
    if pd.isna(lo):
        return "-"
    return f"{lo:,}" if lo == hi else f"{lo:,}–{hi:,}"


def render_connections(summary: pd.DataFrame, title: str = "TCP connections") -> Table:
    table = Table(title=title, title_justify="left")
    for name, just in (("conn", "right"), ("client → server", "left"), ("start (UTC)", "left"),
                       ("duration s", "right"), ("segs c→s / s→c", "right"),
                       ("bytes c→s / s→c", "right"), ("handshake", "left"),
                       ("ended", "left"), ("window c→s", "right"), ("window s→c", "right")):
        table.add_column(name, justify=just)
    for r in summary.itertuples(index=False):
        table.add_row(
            str(r.conn), f"{r.client} → {r.server}", _clock(r.start), f"{r.duration:.6f}",
            f"{r.pkts_client:,} / {r.pkts_server:,}", f"{r.bytes_client:,} / {r.bytes_server:,}",
            r.handshake, r.ended, _win(r.win_min_client, r.win_max_client),
            _win(r.win_min_server, r.win_max_server))
    return table


SEGMENT_VIEW = (Col.FRAME, Col.TS, Col.CONN, Col.ROLE, Col.SRC, Col.SPORT, Col.DST, Col.DPORT,
                Col.FLAG_STR, Col.REL_SEQ, Col.REL_ACK, Col.LEN, Col.WIN_RAW, Col.WIN)


def render_segments(seg: pd.DataFrame, title: str = "TCP segments") -> Table:
    table = Table(title=title, title_justify="left")
    for c in SEGMENT_VIEW:
        table.add_column(c, justify="left" if c in (Col.SRC, Col.DST, Col.ROLE,
                                                     Col.FLAG_STR) else "right")
    t0 = float(seg[Col.TS].min()) if len(seg) else 0.0
    view = seg[list(SEGMENT_VIEW)]
    for row in view.itertuples(index=False):
        cells = [str(v) for v in row]
        cells[1] = f"{row[1] - t0:.6f}"
        table.add_row(*cells)
    return table
