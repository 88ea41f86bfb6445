"""Rendering: DataFrames -> rich Tables.  Pure; the CLI only prints what these return."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from rich.console import Console
from rich.table import Table

from ..vocab import Col


def _clock(ts: float) -> str:
    if pd.isna(ts):
        return "-"
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%H:%M:%S.%f")


def _win(lo, hi) -> str:
    if pd.isna(lo):
        return "-"
    return f"{int(lo):,}" if lo == hi else f"{int(lo):,}–{int(hi):,}"


TOP = 50  # connections shown by default: a terminal table of 100,000 rows helps nobody


def render_connections(summary: pd.DataFrame, title: str = "TCP connections",
                       top: int = TOP) -> Table:
    """The summary as a table; with more than ``top`` connections (``top`` > 0) only the
    busiest ``top`` (most segments), in connection order, and a caption saying so."""
    caption = None
    if 0 < top < len(summary):
        busiest = (summary["pkts_client"] + summary["pkts_server"]).to_numpy().argsort(
            kind="stable")[::-1][:top]
        caption = (f"the {top} busiest of {len(summary):,} connections "
                   f"(--top 0: all; -o FILE: every segment)")
        summary = summary.iloc[sorted(busiest)]
    table = Table(title=title, title_justify="left", caption=caption, caption_justify="left")
    for name, just in (("conn", "right"), ("client → server", "left"),
                       ("duration s", "right"), ("segs c→s / s→c", "right"),
                       ("bytes c→s / s→c", "right"), ("handshake", "left"),
                       ("ended", "left"), ("window c→s", "right"), ("window s→c", "right"),
                       ("final client / server", "left"), ("zeek", "left"),
                       ("retrans / dup ack", "right"), ("rtt ms min/med/max", "right")):
        table.add_column(name, justify=just, no_wrap=name.startswith("client"))
    has_states = "final_client" in summary.columns
    for r in summary.itertuples(index=False):
        table.add_row(
            str(r.conn), f"{r.client} → {r.server}", f"{r.duration:.6f}",
            f"{r.pkts_client:,} / {r.pkts_server:,}", f"{r.bytes_client:,} / {r.bytes_server:,}",
            r.handshake, r.ended, _win(r.win_min_client, r.win_max_client),
            _win(r.win_min_server, r.win_max_server),
            f"{r.final_client} / {r.final_server}" if has_states else "-",
            f"{r.conn_state} {r.history}" if has_states else "-",
            f"{r.retransmissions} / {r.dup_acks}" if hasattr(r, "dup_acks") else "-",
            _rtt(r) if hasattr(r, "rtt_min") else "-")
    return table


def _rtt(r) -> str:
    if pd.isna(r.rtt_min):
        return "-"
    return f"{1e3 * r.rtt_min:.3f}/{1e3 * r.rtt_median:.3f}/{1e3 * r.rtt_max:.3f}"


def render_episodes(ep: pd.DataFrame, title: str = "Flow-control episodes") -> Table:
    table = Table(title=title, title_justify="left")
    for c in ("conn", "kind", "who", "start UTC", "duration s", "segments", "probes"):
        table.add_column(c, justify="right" if c in ("conn", "duration s", "segments",
                                                      "probes") else "left")
    for r in ep.itertuples(index=False):
        table.add_row(str(r.conn), r.kind, r.stalled, _clock(r.start),
                      "open" if pd.isna(r.duration) else f"{r.duration:.6f}",
                      str(r.segments), str(r.probes))
    return table


#: width of tables when stdout is not a terminal (a pipe or a file): wide, never wrapped
PIPE_WIDTH = 200


def console() -> Console:
    """A stdout console: the terminal's width, or a wide one (no wrapping) for pipes."""
    probe = Console()
    return Console(highlight=False, soft_wrap=True,
                   width=None if probe.is_terminal else PIPE_WIDTH)


def render_segments(seg: pd.DataFrame, title: str = "TCP segments") -> Table:
    """One row per segment: time since the first one, direction, flags (tcpdump letters),
    relative seq/ack (Wireshark's), payload length, raw and scaled window."""
    table = Table(title=title, title_justify="left")
    for name in ("frame", "time s", "conn", "dir", "flags", "seq", "ack", "len", "win_raw",
                 "win"):
        table.add_column(name, justify="left" if name in ("dir", "flags") else "right")
    t0 = float(seg[Col.TS].min()) if len(seg) else 0.0
    rel_t = (seg[Col.TS] - t0).map("{:.6f}".format)
    direction = (seg[Col.ROLE] == "client").map({True: "c→s", False: "s→c"})
    cols = [seg[Col.FRAME], rel_t, seg[Col.CONN], direction, seg[Col.FLAG_STR],
            seg[Col.REL_SEQ], seg[Col.REL_ACK], seg[Col.LEN], seg[Col.WIN_RAW], seg[Col.WIN]]
    for row in zip(*(c.astype(str).tolist() for c in cols), strict=True):
        table.add_row(*row)
    return table
