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
    #: one row per ACK that has an RTT: dir (whose data it times), frame, t (s since the
    #: connection's first segment), rtt_ms, acked_frame, and the acking segment's hover text
    points: pd.DataFrame


#: the colour of each direction's samples
COLOURS = {"client": "#1f77b4", "server": "#d62728"}


def _directions(direction: str) -> tuple[str, ...]:
    return ("client", "server") if direction == "both" else (sides(direction)[0],)


def data(segs: pd.DataFrame, *, direction: str = "client") -> RttData:
    """The RTT samples of the data ``direction``'s side sends (measured at its peer's ACK);
    ``both``: of both sides' data."""
    c = conn_of(segs)
    rtt = segs["ack_rtt"].to_numpy(dtype=np.float64, na_value=np.nan)
    role = segs["role"].astype(str).to_numpy()
    acked = np.isin(role, [sides(d)[1] for d in _directions(direction)])
    keep = ~np.isnan(rtt) & acked
    rows = segs[keep]
    points = pd.DataFrame({
        "dir": np.where(role[keep] == "server", "client", "server"),
        "frame": rows["frame"].to_numpy(),
        "t": rows["ts"].to_numpy() - c.t0,
        "rtt_ms": rtt[keep] * 1e3,
        "acked_frame": rows["acked_frame"].to_numpy(dtype=np.int64, na_value=-1),
        "hover": hover_lines(rows, t0=c.t0) if len(rows) else np.array([], dtype=str),
    })
    return RttData(c, direction, points)


def _title(d: RttData) -> str:
    what = "both sides' data" if d.direction == "both" else f"{d.direction}'s data"
    return f"{d.conn.title} · RTT of {what}"


def _label(d: RttData, side: str) -> str:
    return f"ACK RTT of {side}'s data" if d.direction == "both" else "ACK RTT"


def draw(d: RttData, ax) -> None:
    for side in _directions(d.direction):
        p = d.points[d.points["dir"] == side]
        ax.plot(p["t"], p["rtt_ms"], ".", ms=3, color=COLOURS[side], label=_label(d, side))
    ax.set_xlabel("time since first segment (s)")
    ax.set_ylabel("RTT (ms)")
    ax.set_title(_title(d), fontsize=9)
    if len(d.points):
        ax.set_ylim(bottom=0)
        if d.direction == "both":
            ax.legend(fontsize=7, loc="upper right")


def figure(d: RttData) -> dict:
    traces = []
    for side in _directions(d.direction):
        p = d.points[d.points["dir"] == side]
        traces.append(scatter(p["t"].to_numpy(), p["rtt_ms"].to_numpy(), name=_label(d, side),
                              customdata=p["frame"].tolist(), text=p["hover"].tolist(),
                              hovertemplate="%{text}<br>RTT %{y:.3f} ms<extra></extra>",
                              marker={"size": 4, "color": COLOURS[side]}))
    return {"data": traces,
            "layout": layout(_title(d), "time since first segment (s)", "RTT (ms)")}
