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

from ..engine.flags import has_event
from ..vocab import Col, TcpFlag
from .episodes import episodes
from .groups import Groups
from .outcome import conn_state, history, zeek_endpoint_states

_NONE = np.iinfo(np.int64).max  # "no such frame" in min() aggregations

SUMMARY_COLUMNS = (
    "conn", "client", "server", "start", "duration", "pkts_client", "pkts_server",
    "bytes_client", "bytes_server", "handshake", "ended", "win_min_client",
    "win_max_client", "win_min_server", "win_max_server", "final_client", "final_server",
    "closed_first", "conn_state", "history", "retransmissions", "fast_retransmissions",
    "dup_acks", "zero_window_s", "rtt_min", "rtt_median", "rtt_max",
)


def _endpoint(addr: pd.Series, port: pd.Series) -> pd.Series:
    a = addr.astype(str)
    a = a.where(~a.str.contains(":", regex=False), "[" + a + "]")
    return a + ":" + port.astype(str)


def summarize_connections(seg: pd.DataFrame, ep: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per connection; see the module docstring for the columns.  ``ep``: the
    table's flow-control episodes when the caller has them already."""
    if seg.empty:
        return pd.DataFrame(columns=list(SUMMARY_COLUMNS))
    g = Groups(seg[Col.CONN].to_numpy())
    flags = seg[Col.FLAGS].to_numpy()
    is_client = (seg[Col.ROLE] == "client").to_numpy()
    syn = (flags & int(TcpFlag.SYN)) != 0
    has_ack = (flags & int(TcpFlag.ACK)) != 0
    rst = (flags & int(TcpFlag.RST)) != 0
    fin = (flags & int(TcpFlag.FIN)) != 0
    frame = seg[Col.FRAME].to_numpy()
    ts = seg[Col.TS].to_numpy()
    length = seg[Col.LEN].to_numpy().astype(np.int64)
    win = seg[Col.WIN].to_numpy().astype(np.float64)
    c_syn, s_synack = g.any(is_client & syn & ~has_ack), g.any(~is_client & syn & has_ack)
    # the client's ACK that completes the handshake: a non-SYN ACK after the SYN+ACK
    first_synack = g.spread(g.min(np.where(~is_client & syn & has_ack, frame, np.inf)))
    c_ack3 = g.any(is_client & has_ack & ~syn & (frame > first_synack))
    c_fin, s_fin = g.any(is_client & fin), g.any(~is_client & fin)
    rst_c = g.min(np.where(is_client & rst, frame, _NONE))
    rst_s = g.min(np.where(~is_client & rst, frame, _NONE))
    start, end = g.min(ts), g.max(ts)

    first = seg.iloc[g.first_row()]
    sender_is_client = (first[Col.ROLE] == "client").to_numpy()
    src = _endpoint(first[Col.SRC], first[Col.SPORT]).to_numpy()
    dst = _endpoint(first[Col.DST], first[Col.DPORT]).to_numpy()

    parts = np.where(c_syn, "SYN", "")
    parts = np.where(s_synack, np.where(parts == "", "SYN+ACK", "SYN, SYN+ACK"), parts)
    handshake = np.where(c_syn & s_synack & c_ack3, "yes", np.where(parts == "", "no", parts))
    any_rst = (rst_c != _NONE) | (rst_s != _NONE)
    ended = np.select(
        [any_rst & (rst_c <= rst_s), any_rst, c_fin & s_fin, c_fin, s_fin],
        ["RST by client", "RST by server", "FIN both ways", "FIN by client",
         "FIN by server"], "open")
    out = pd.DataFrame({
        "conn": g.ids,
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
    })
    for side, mine in (("client", is_client), ("server", ~is_client)):
        w = np.where(mine & ~rst, win, np.nan)  # an RST's window means nothing
        out[f"win_min_{side}"] = pd.array(g.min(w), dtype="Int64")
        out[f"win_max_{side}"] = pd.array(g.max(w), dtype="Int64")
    if Col.STATE_AFTER_CLIENT in seg.columns:
        last = seg.iloc[g.last_row()]
        out["final_client"] = last[Col.STATE_AFTER_CLIENT].astype(str).to_numpy()
        out["final_server"] = last[Col.STATE_AFTER_SERVER].astype(str).to_numpy()
        first_close = g.min(np.where(fin | rst, np.arange(len(seg)), _NONE))
        closed = first_close != _NONE
        out["closed_first"] = np.where(
            closed, np.where(is_client[np.where(closed, first_close, 0)], "client", "server"),
            "")
        both = out["ended"] == "FIN both ways"
        out.loc[both, "ended"] = "FIN both ways, " + out.loc[both, "closed_first"] + " first"
        hist = history(seg).reindex(g.ids).fillna("")
        z = zeek_endpoint_states(seg).reindex(g.ids)
        total = out["bytes_client"].to_numpy() + out["bytes_server"].to_numpy()
        out["conn_state"] = conn_state(z["orig"].to_numpy(), z["resp"].to_numpy(), hist,
                                       total)
        out["history"] = hist.to_numpy()
    if Col.EVENTS in seg.columns:
        ev = seg[Col.EVENTS]
        # fast and spurious included: the engine sets retransmission with them, as tshark
        out["retransmissions"] = g.sum(has_event(ev, "retransmission"))
        out["fast_retransmissions"] = g.sum(has_event(ev, "fast_retransmission"))
        out["dup_acks"] = g.sum(has_event(ev, "duplicate_ack"))
        rtt = seg[Col.ACK_RTT].to_numpy().astype(np.float64)
        out["rtt_min"], out["rtt_median"], out["rtt_max"] = g.min(rtt), g.median(rtt), \
            g.max(rtt)
        ep = episodes(seg) if ep is None else ep
        zw = ep[ep["kind"] == "zero_window"].groupby("conn")["duration"].sum()
        out["zero_window_s"] = zw.reindex(g.ids).fillna(0.0).to_numpy()
    return out
