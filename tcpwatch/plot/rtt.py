"""``rtt``: Wireshark's ACK RTT (``tcp.analysis.ack_rtt``) of every acknowledged segment,
over time, per direction -- the time from a data segment to the first ACK that covers it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .common import Conn, conn_of, layout, scatter, sides
from .hover import hover_lines


@dataclass(frozen=True)
class RttData:
    conn: Conn
    direction: str
    #: one row per ACK that has an RTT: frame, t (s since the connection's first segment),
    #: rtt_ms, acked_frame, and the acking segment's hover text
    points: pd.DataFrame


def data(segs: pd.DataFrame, *, direction: str = "client") -> RttData:
    """The RTT samples of the data ``direction``'s side sends (measured at its peer's ACK)."""
    c = conn_of(segs)
    _, acker = sides(direction)
    rtt = segs["ack_rtt"].to_numpy(dtype=np.float64, na_value=np.nan)
    keep = ~np.isnan(rtt) & (segs["role"].astype(str).to_numpy() == acker)
    rows = segs[keep]
    points = pd.DataFrame({
        "frame": rows["frame"].to_numpy(),
        "t": rows["ts"].to_numpy() - c.t0,
        "rtt_ms": rtt[keep] * 1e3,
        "acked_frame": rows["acked_frame"].to_numpy(dtype=np.int64, na_value=-1),
        "hover": hover_lines(rows) if len(rows) else np.array([], dtype=str),
    })
    return RttData(c, direction, points)


def draw(d: RttData, ax) -> None:
    p = d.points
    ax.plot(p["t"], p["rtt_ms"], ".", ms=3, color="tab:blue", label="ACK RTT")
    ax.set_xlabel("time since first segment (s)")
    ax.set_ylabel("RTT (ms)")
    ax.set_title(f"{d.conn.title} · RTT of {d.direction}'s data", fontsize=9)
    if len(p):
        ax.set_ylim(bottom=0)


def figure(d: RttData) -> dict:
    p = d.points
    trace = scatter(p["t"].to_numpy(), p["rtt_ms"].to_numpy(), name="ACK RTT",
                    customdata=p["frame"].tolist(), text=p["hover"].tolist(),
                    hovertemplate="%{text}<br>RTT %{y:.3f} ms<extra></extra>",
                    marker={"size": 4})
    return {"data": [trace],
            "layout": layout(f"{d.conn.title} · RTT of {d.direction}'s data",
                             "time since first segment (s)", "RTT (ms)")}
