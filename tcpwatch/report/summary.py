"""Per-connection summary of the segment table (one row per ``conn``), whole-column.

Vocabulary of the summary columns:

* ``client`` / ``server``: ``addr:port`` of each end (``[v6]:port`` for IPv6).
* ``start``: epoch seconds of the connection's first segment; ``duration``: seconds from
  its first to its last captured segment.
* ``pkts_*`` / ``bytes_*``: segments and payload bytes sent by that end (retransmitted
  bytes count again: this is what crossed the wire, not goodput).
* ``handshake``: ``yes`` when the client's SYN, the server's SYN+ACK and the client's
  first ACK after it were all captured; otherwise the parts seen (``SYN``, ``SYN+ACK``),
  or ``no``.
* ``ended``: ``RST by client|server`` (the first RST), else ``FIN both ways``, else
  ``FIN by client|server`` (the other direction still open), else ``open``.
* ``win_min_*`` / ``win_max_*``: the smallest and largest window that end advertised
  (``win``, in bytes), over segments without RST (an RST's window means nothing).
* ``final_client`` / ``final_server``: each end's RFC 9293 state after the last captured
  segment (``states`` stage); ``closed_first``: who sent the first FIN or RST.
* ``conn_state`` / ``history``: Zeek's conn.log fields (``report/outcome.py``).
* ``retransmissions`` (Wireshark's retransmission flag, fast and spurious included),
  ``fast_retransmissions``, ``dup_acks``; ``zero_window_s``: seconds spent in zero-window
  episodes (``report/episodes.py``); ``rtt_min/median/max``: of ``ack_rtt``.
* after those, the statistics of ``report/connstats.py`` (``STATS_COLUMNS``): throughput
  each way, ``irtt``, out-of-order and lost counts, and -- from a table that has the option
  and ``bytes_in_flight`` columns -- each side's largest bytes in flight and SYN options.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..decode.columns import Columns, Masked, from_frame
from ..engine.arrays import SegmentArrays
from ..engine.registry import BY_NAME
from ..vocab import STATE_NAMES, TcpFlag
from .connstats import (
    SIDE_COLUMNS,
    SIDE_INPUTS,
    STATS_COLUMNS,
    array_stats,
    side_stats,
    summary_frame,
)
from .episodes import episode_table
from .groups import Groups
from .outcome import conn_state, history, zeek_endpoint_states

if TYPE_CHECKING:
    import pandas as pd

_NONE = np.iinfo(np.int64).max  # "no such frame" in min() aggregations
_HANDSHAKE = ("no", "SYN", "SYN+ACK", "SYN, SYN+ACK", "yes")
_ENDED = ("RST by client", "RST by server", "FIN both ways", "FIN by client", "FIN by server",
          "open", "FIN both ways, client first", "FIN both ways, server first")
_CLOSER = ("client", "server", "")

SUMMARY_COLUMNS = (
    "conn", "client", "server", "start", "duration", "pkts_client", "pkts_server",
    "bytes_client", "bytes_server", "handshake", "ended", "win_min_client",
    "win_max_client", "win_min_server", "win_max_server", "final_client", "final_server",
    "closed_first", "conn_state", "history", "retransmissions", "fast_retransmissions",
    "dup_acks", "rtt_min", "rtt_median", "rtt_max", "zero_window_s",
) + STATS_COLUMNS


def summarize_connections(seg: pd.DataFrame | SegmentArrays,
                          ep: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per connection; see the module docstring for the columns.  ``seg``: an
    annotated table, or the engine's typed arrays of one; ``ep``: the flow-control
    episodes when the caller has them already."""
    import pandas as pd

    if len(seg) == 0:
        return pd.DataFrame(columns=list(SUMMARY_COLUMNS))
    a = SegmentArrays.of(seg)
    out = connection_table(a, None if ep is None else from_frame(ep, ep.columns))
    if not isinstance(seg, SegmentArrays) and all(c in seg.columns for c in SIDE_INPUTS):
        out.update(join_side_stats(out, side_stats(from_frame(seg, SIDE_INPUTS))))
    return summary_frame(out)


def join_side_stats(summary: Columns, stats: Columns, names=SIDE_COLUMNS) -> Columns:
    """``stats``' columns ``names`` (``connstats.side_stats``) in the order of the
    summary's connections (missing where ``stats`` has no row for one)."""
    conn = np.asarray(summary["conn"], np.int64)
    ids = np.asarray(stats["conn"], np.int64)
    at = np.minimum(np.searchsorted(ids, conn), max(ids.size - 1, 0))
    found = ids[at] == conn if ids.size else np.zeros(conn.size, bool)
    out: Columns = {}
    for name in names:
        col = stats[name]
        if ids.size:
            out[name] = Masked(col.values[at], col.missing[at] | ~found)
        else:
            out[name] = Masked(np.zeros(conn.size, np.int64), np.ones(conn.size, bool))
    return out


def connection_table(a: SegmentArrays, ep: Columns | None = None) -> Columns:
    """The summary as typed columns (text as object arrays, windows with a missing mask):
    what the streamed report keeps and prints, without pandas.  ``ep``: the episodes'
    columns (``episode_table``) when the caller has them already."""
    # every column read once into connection order; masks and reductions work there
    g = Groups(a.conn)
    order = g.order
    flags = a.flags[order]
    is_client = a.sender[order] == 0
    syn = (flags & int(TcpFlag.SYN)) != 0
    has_ack = (flags & int(TcpFlag.ACK)) != 0
    rst = (flags & int(TcpFlag.RST)) != 0
    fin = (flags & int(TcpFlag.FIN)) != 0
    frame, length = a.frame[order], a.length[order]
    synack = ~is_client & syn & has_ack
    seen = g.reduce(np.bitwise_or, _bit(is_client & syn & ~has_ack, 1) | _bit(synack, 2)
                    | _bit(is_client & fin, 4) | _bit(~is_client & fin, 8))
    c_syn, s_synack, c_fin, s_fin = ((seen & bit) != 0 for bit in (1, 2, 4, 8))
    # the client's ACK that completes the handshake: a non-SYN ACK after the SYN+ACK
    first_synack = g.reduce_where(np.minimum, synack, frame, _NONE)
    c_ack3 = g.reduce(np.maximum, np.where(is_client & has_ack & ~syn, frame, -1)) \
        > first_synack
    rst_c = g.reduce_where(np.minimum, is_client & rst, frame, _NONE)
    rst_s = g.reduce_where(np.minimum, ~is_client & rst, frame, _NONE)
    ts = a.ts[order]
    start, end = g.reduce(np.fmin, ts), g.reduce(np.fmax, ts)

    client, server = _endpoints(a, g.first_row())
    handshake = np.where(c_syn & s_synack & c_ack3, 4, c_syn + 2 * s_synack)
    any_rst = (rst_c != _NONE) | (rst_s != _NONE)
    ended = np.select([any_rst & (rst_c <= rst_s), any_rst, c_fin & s_fin, c_fin, s_fin],
                      [0, 1, 2, 3, 4], 5)
    pkts_client = g.reduce(np.add, is_client.astype(np.int64))
    bytes_client = g.reduce(np.add, np.where(is_client, length, 0))
    out = {
        "conn": g.ids.astype(np.int32),  # as in the segment table
        "client": client,
        "server": server,
        "start": start,
        "duration": end - start,
        "pkts_client": pkts_client,
        "pkts_server": g.sizes - pkts_client,
        "bytes_client": bytes_client,
        "bytes_server": g.reduce(np.add, length) - bytes_client,
        "handshake": _text(_HANDSHAKE, handshake),
        "ended": None,  # below: with who closed first, when known
    }
    server_win = a.win[order]
    np.copyto(server_win, np.nan, where=rst)  # an RST's window means nothing
    client_win = server_win.copy()
    np.copyto(client_win, np.nan, where=~is_client)
    np.copyto(server_win, np.nan, where=is_client)
    for side, w in (("client", client_win), ("server", server_win)):
        out[f"win_min_{side}"] = _masked(g.reduce(np.fmin, w))
        out[f"win_max_{side}"] = _masked(g.reduce(np.fmax, w))
    if a.after_client is not None:
        last = g.last_row()
        out["final_client"] = _text(STATE_NAMES, a.after_client[last])
        out["final_server"] = _text(STATE_NAMES, a.after_server[last])
        first_close = g.first_where(fin | rst)
        closed = first_close >= 0
        closer = np.where(closed, ~is_client[np.maximum(first_close, 0)], 2)  # 0/1/none
        out["closed_first"] = _text(_CLOSER, closer)
        ended = np.where((ended == 2) & closed, 6 + closer, ended)
        hist = history(a, g)
        orig, resp = zeek_endpoint_states(a, g)
        total = out["bytes_client"] + out["bytes_server"]
        out["conn_state"] = conn_state(orig, resp, hist, total)
        out["history"] = hist
    if a.bits is not None:
        # fast and spurious included: the engine sets retransmission with them, as tshark
        bits = a.bits[order]
        for name, flag in (("retransmissions", "retransmission"),
                           ("fast_retransmissions", "fast_retransmission"),
                           ("dup_acks", "duplicate_ack")):
            out[name] = g.reduce(np.add, ((bits & BY_NAME[flag].bit) != 0).astype(np.int64))
        rtt = a.rtt[order]
        known = ~np.isnan(rtt)
        out["rtt_min"] = g.reduce_where(np.minimum, known, rtt, np.nan)
        out["rtt_median"] = g.median(rtt, grouped=True)
        out["rtt_max"] = g.reduce_where(np.maximum, known, rtt, np.nan)
        ep = episode_table(a) if ep is None else ep
        zero = ep["kind"] == "zero_window"
        stalled = Groups(np.asarray(ep["conn"][zero], np.int64))
        seconds = np.zeros(g.ids.size)
        if stalled.n:
            at = np.searchsorted(g.ids, stalled.ids)
            open_is_0 = np.nan_to_num(np.asarray(ep["duration"][zero], np.float64))
            seconds[at] = stalled.sum(open_is_0)
        out["zero_window_s"] = seconds
    out["ended"] = _text(_ENDED, ended)
    array_stats(a, g, out)
    return out


def _text(vocabulary: tuple[str, ...], codes: np.ndarray) -> np.ndarray:
    """A text column from codes into a small vocabulary (the same few strings shared)."""
    return np.array(vocabulary, dtype=object)[codes]


def _masked(values: np.ndarray) -> Masked:
    """Whole numbers from a float reduction, missing where it is NaN."""
    missing = np.isnan(values)
    return Masked(np.where(missing, 0, values).astype(np.int64), missing)


def _endpoints(a: SegmentArrays, first: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``addr:port`` of each connection's client and server, from its first row."""
    by_client = a.sender[first] == 0
    src, dst = a.endpoints(first, source=True), a.endpoints(first, source=False)
    return np.where(by_client, src, dst), np.where(by_client, dst, src)


def _bit(mask: np.ndarray, bit: int) -> np.ndarray:
    return mask.view(np.uint8) * np.uint8(bit)
