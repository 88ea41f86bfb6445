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
* ``conn_state`` / ``history``: Zeek's conn.log fields (``states/outcome.py``).
* ``retransmissions`` (Wireshark's retransmission flag, fast and spurious included),
  ``fast_retransmissions``, ``dup_acks``; ``zero_window_s``: seconds spent in zero-window
  episodes (``analysis/episodes.py``); ``rtt_min/median/max``: of ``ack_rtt``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..analysis.episodes import episodes
from ..analysis.flags import has_event
from ..states.outcome import conn_state, history, zeek_endpoint_states
from ..vocab import Col, TcpFlag

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


def rows_of_each_conn(seg: pd.DataFrame, which: str) -> pd.DataFrame:
    """Each connection's first (``which="first"``) or last captured segment, indexed by
    ``conn`` in ascending order.  (``groupby().head(1)``/``tail(1)`` keep *file* order,
    which differs from connection order as soon as connections interleave.)"""
    pos = pd.Series(np.arange(len(seg)), dtype=np.int64).groupby(
        seg[Col.CONN].to_numpy(), sort=True).agg("min" if which == "first" else "max")
    return seg.iloc[pos.to_numpy()].set_axis(pos.index.rename(Col.CONN), axis=0)


def summarize_connections(seg: pd.DataFrame) -> pd.DataFrame:
    """One row per connection; see the module docstring for the columns."""
    if seg.empty:
        return pd.DataFrame(columns=list(SUMMARY_COLUMNS))
    flags = seg[Col.FLAGS].to_numpy()
    is_client = (seg[Col.ROLE] == "client").to_numpy()
    syn = (flags & int(TcpFlag.SYN)) != 0
    has_ack = (flags & int(TcpFlag.ACK)) != 0
    rst = (flags & int(TcpFlag.RST)) != 0
    fin = (flags & int(TcpFlag.FIN)) != 0
    work = pd.DataFrame({
        "conn": seg[Col.CONN].to_numpy(),
        "ts": seg[Col.TS].to_numpy(),
        "client_pkt": is_client,
        "server_pkt": ~is_client,
        "client_bytes": np.where(is_client, seg[Col.LEN].to_numpy(), 0),
        "server_bytes": np.where(is_client, 0, seg[Col.LEN].to_numpy()),
        "c_syn": is_client & syn & ~has_ack,
        "s_synack": ~is_client & syn & has_ack,
        "c_fin": is_client & fin,
        "s_fin": ~is_client & fin,
        "rst_frame_c": np.where(is_client & rst, seg[Col.FRAME].to_numpy(), _NONE),
        "rst_frame_s": np.where(~is_client & rst, seg[Col.FRAME].to_numpy(), _NONE),
        "win_c": np.where(is_client & ~rst, seg[Col.WIN].to_numpy(), np.nan),
        "win_s": np.where(~is_client & ~rst, seg[Col.WIN].to_numpy(), np.nan),
    })
    # the client's ACK that completes the handshake: a non-SYN ACK after the SYN+ACK
    synack_frame = np.where(work["s_synack"], seg[Col.FRAME].to_numpy(), np.nan)
    first_synack = pd.Series(synack_frame).groupby(work["conn"]).transform("min").to_numpy()
    work["c_ack3"] = is_client & has_ack & ~syn & (seg[Col.FRAME].to_numpy() > first_synack)

    g = work.groupby("conn", sort=True)
    agg = g.agg(
        start=("ts", "min"), end=("ts", "max"),
        pkts_client=("client_pkt", "sum"), pkts_server=("server_pkt", "sum"),
        bytes_client=("client_bytes", "sum"), bytes_server=("server_bytes", "sum"),
        c_syn=("c_syn", "any"), s_synack=("s_synack", "any"), c_ack3=("c_ack3", "any"),
        c_fin=("c_fin", "any"), s_fin=("s_fin", "any"),
        rst_c=("rst_frame_c", "min"), rst_s=("rst_frame_s", "min"),
        win_min_client=("win_c", "min"), win_max_client=("win_c", "max"),
        win_min_server=("win_s", "min"), win_max_server=("win_s", "max"),
    )
    first = rows_of_each_conn(seg, "first")
    sender_is_client = first[Col.ROLE] == "client"
    src = _endpoint(first[Col.SRC], first[Col.SPORT])
    dst = _endpoint(first[Col.DST], first[Col.DPORT])
    client = src.where(sender_is_client, dst)
    server = dst.where(sender_is_client, src)

    full = agg["c_syn"] & agg["s_synack"] & agg["c_ack3"]
    parts = np.where(agg["c_syn"], "SYN", "")
    parts = np.where(agg["s_synack"], np.where(parts == "", "SYN+ACK", "SYN, SYN+ACK"), parts)
    handshake = np.where(full, "yes", np.where(parts == "", "no", parts))
    any_rst = (agg["rst_c"] != _NONE) | (agg["rst_s"] != _NONE)
    ended = np.select(
        [any_rst & (agg["rst_c"] <= agg["rst_s"]), any_rst,
         agg["c_fin"] & agg["s_fin"], agg["c_fin"], agg["s_fin"]],
        ["RST by client", "RST by server", "FIN both ways", "FIN by client",
         "FIN by server"], "open")
    out = pd.DataFrame({
        "conn": agg.index.to_numpy(),
        "client": client.to_numpy(),
        "server": server.to_numpy(),
        "start": agg["start"].to_numpy(),
        "duration": (agg["end"] - agg["start"]).to_numpy(),
        "pkts_client": agg["pkts_client"].to_numpy(),
        "pkts_server": agg["pkts_server"].to_numpy(),
        "bytes_client": agg["bytes_client"].to_numpy(),
        "bytes_server": agg["bytes_server"].to_numpy(),
        "handshake": handshake,
        "ended": ended,
    })
    for c in ("win_min_client", "win_max_client", "win_min_server", "win_max_server"):
        out[c] = agg[c].astype("Int64").to_numpy()
    if Col.STATE_AFTER_CLIENT in seg.columns:
        last = rows_of_each_conn(seg, "last")
        out["final_client"] = last[Col.STATE_AFTER_CLIENT].astype(str).to_numpy()
        out["final_server"] = last[Col.STATE_AFTER_SERVER].astype(str).to_numpy()
        closing = pd.Series(np.where(fin | rst, np.where(is_client, "client", "server"), ""))
        first_close = closing[closing != ""].groupby(work["conn"][closing != ""]).first()
        out["closed_first"] = first_close.reindex(agg.index).fillna("").to_numpy()
        both = out["ended"] == "FIN both ways"
        out.loc[both, "ended"] = "FIN both ways, " + out.loc[both, "closed_first"] + " first"
        hist = history(seg).reindex(agg.index).fillna("")
        z = zeek_endpoint_states(seg).reindex(agg.index)
        total = out["bytes_client"].to_numpy() + out["bytes_server"].to_numpy()
        out["conn_state"] = conn_state(z["orig"].to_numpy(), z["resp"].to_numpy(), hist,
                                       total)
        out["history"] = hist.to_numpy()
    if Col.EVENTS in seg.columns:
        ev = seg[Col.EVENTS]
        counts = pd.DataFrame({
            "conn": seg[Col.CONN].to_numpy(),
            # Wireshark sets retransmission with its fast and spurious kinds
            "retransmissions": has_event(ev, "retransmission", "fast_retransmission",
                                         "spurious_retransmission"),
            "fast_retransmissions": has_event(ev, "fast_retransmission"),
            "dup_acks": has_event(ev, "duplicate_ack"),
            "rtt": seg[Col.ACK_RTT].to_numpy(),
        }).groupby("conn").agg(
            retransmissions=("retransmissions", "sum"),
            fast_retransmissions=("fast_retransmissions", "sum"),
            dup_acks=("dup_acks", "sum"), rtt_min=("rtt", "min"),
            rtt_median=("rtt", "median"), rtt_max=("rtt", "max")).reindex(agg.index)
        for c in counts.columns:
            out[c] = counts[c].to_numpy()
        ep = episodes(seg)
        zw = ep[ep["kind"] == "zero_window"].groupby("conn")["duration"].sum()
        out["zero_window_s"] = zw.reindex(agg.index).fillna(0.0).to_numpy()
    return out
