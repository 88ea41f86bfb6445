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
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..engine.arrays import SegmentArrays
from ..vocab import STATE_NAMES, TcpFlag
from .episodes import episodes
from .groups import Groups
from .outcome import conn_state, history, zeek_endpoint_states

_NONE = np.iinfo(np.int64).max  # "no such frame" in min() aggregations
_STATE_TEXT = np.array(STATE_NAMES, dtype=object)

SUMMARY_COLUMNS = (
    "conn", "client", "server", "start", "duration", "pkts_client", "pkts_server",
    "bytes_client", "bytes_server", "handshake", "ended", "win_min_client",
    "win_max_client", "win_min_server", "win_max_server", "final_client", "final_server",
    "closed_first", "conn_state", "history", "retransmissions", "fast_retransmissions",
    "dup_acks", "zero_window_s", "rtt_min", "rtt_median", "rtt_max",
)


def summarize_connections(seg: pd.DataFrame | SegmentArrays,
                          ep: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per connection; see the module docstring for the columns.  ``seg``: an
    annotated table, or the engine's typed arrays of one; ``ep``: the flow-control
    episodes when the caller has them already."""
    if len(seg) == 0:
        return pd.DataFrame(columns=list(SUMMARY_COLUMNS))
    a = SegmentArrays.from_frame(seg) if isinstance(seg, pd.DataFrame) else seg
    g = Groups(a.conn)
    flags = a.flags
    is_client = a.sender == 0
    syn = (flags & int(TcpFlag.SYN)) != 0
    has_ack = (flags & int(TcpFlag.ACK)) != 0
    rst = (flags & int(TcpFlag.RST)) != 0
    fin = (flags & int(TcpFlag.FIN)) != 0
    frame, ts, length, win = a.frame, a.ts, a.length, a.win
    c_syn, s_synack = g.any(is_client & syn & ~has_ack), g.any(~is_client & syn & has_ack)
    # the client's ACK that completes the handshake: a non-SYN ACK after the SYN+ACK
    first_synack = g.spread(g.min(np.where(~is_client & syn & has_ack, frame, np.inf)))
    c_ack3 = g.any(is_client & has_ack & ~syn & (frame > first_synack))
    c_fin, s_fin = g.any(is_client & fin), g.any(~is_client & fin)
    rst_c = g.min(np.where(is_client & rst, frame, _NONE))
    rst_s = g.min(np.where(~is_client & rst, frame, _NONE))
    start, end = g.min(ts), g.max(ts)

    first = g.first_row()
    sender_is_client = is_client[first]
    src, dst = a.endpoints(first, source=True), a.endpoints(first, source=False)

    parts = np.where(c_syn, "SYN", "")
    parts = np.where(s_synack, np.where(parts == "", "SYN+ACK", "SYN, SYN+ACK"), parts)
    handshake = np.where(c_syn & s_synack & c_ack3, "yes", np.where(parts == "", "no", parts))
    any_rst = (rst_c != _NONE) | (rst_s != _NONE)
    ended = np.select(
        [any_rst & (rst_c <= rst_s), any_rst, c_fin & s_fin, c_fin, s_fin],
        ["RST by client", "RST by server", "FIN both ways", "FIN by client",
         "FIN by server"], "open").astype(object)
    out = {
        "conn": g.ids.astype(np.int32),  # as in the segment table
        "client": np.where(sender_is_client, src, dst),
        "server": np.where(sender_is_client, dst, src),
        "start": start,
        "duration": end - start,
        "pkts_client": g.sum(is_client),
        "pkts_server": g.sum(~is_client),
        "bytes_client": g.sum(np.where(is_client, length, 0)),
        "bytes_server": g.sum(np.where(is_client, 0, length)),
        "handshake": handshake,
        "ended": ended,
    }
    for side, mine in (("client", is_client), ("server", ~is_client)):
        w = np.where(mine & ~rst, win, np.nan)  # an RST's window means nothing
        out[f"win_min_{side}"] = pd.array(g.min(w), dtype="Int64")
        out[f"win_max_{side}"] = pd.array(g.max(w), dtype="Int64")
    if a.after_client is not None:
        last = g.last_row()
        out["final_client"] = _STATE_TEXT[a.after_client[last]]
        out["final_server"] = _STATE_TEXT[a.after_server[last]]
        first_close = g.min(np.where(fin | rst, np.arange(len(a)), _NONE))
        closed = first_close != _NONE
        closed_first = np.where(
            closed, np.where(is_client[np.where(closed, first_close, 0)], "client", "server"),
            "").astype(object)
        out["closed_first"] = closed_first
        both = ended == "FIN both ways"
        ended[both] = "FIN both ways, " + closed_first[both] + " first"
        hist = history(a, g)
        orig, resp = zeek_endpoint_states(a, g)
        total = out["bytes_client"] + out["bytes_server"]
        out["conn_state"] = conn_state(orig, resp, hist, total)
        out["history"] = hist
    if a.bits is not None:
        # fast and spurious included: the engine sets retransmission with them, as tshark
        out["retransmissions"] = g.sum(a.has("retransmission"))
        out["fast_retransmissions"] = g.sum(a.has("fast_retransmission"))
        out["dup_acks"] = g.sum(a.has("duplicate_ack"))
        out["rtt_min"], out["rtt_median"], out["rtt_max"] = g.min(a.rtt), g.median(a.rtt), \
            g.max(a.rtt)
        ep = episodes(a) if ep is None else ep
        zero = ep[ep["kind"] == "zero_window"]
        stalled = Groups(zero["conn"].to_numpy())
        seconds = np.zeros(g.ids.size)
        if stalled.n:
            at = np.searchsorted(g.ids, stalled.ids)
            open_is_0 = np.nan_to_num(zero["duration"].to_numpy(np.float64))
            seconds[at] = stalled.sum(open_is_0)
        out["zero_window_s"] = seconds
    return pd.DataFrame(out)
