"""``throughput``: Wireshark's TCP Stream Graph "Throughput" -- a one-second moving
average of the bytes a direction sends, with the receiver's goodput beside it.

The rule is Wireshark's (``ui/qt/tcp_stream_dialog.cpp``, ``fillThroughput`` with its
default time-based moving average, ``ma_window_size_`` = 1 s):

* every segment the sender sends, in frame order, adds its payload length (``tcp.len``,
  0 for a pure ACK) to a window; before it is added, every older segment more than
  ``WINDOW`` seconds before it leaves the window, and each departure is a point of its own
  at (its time + ``WINDOW``);
* the throughput at a point is the window's bytes × 8 / ``WINDOW`` (bits per second),
  drawn as a step held until the next point; two segments at the same instant make one
  point (the later value);
* goodput is the same moving average over the receiver's segments, each counting the bytes
  its cumulative ACK newly acknowledges (the ACK's advance past the highest earlier one; 0
  for an ACK that does not advance). Wireshark also credits SACKed bytes when first SACKed;
  this graph credits them when the cumulative ACK covers them (the same total, later).

The window is Wireshark's 1 s unless the connection lasts less than 10 s: then a 1-2-5
value near a tenth of its duration (a 1 s average of a 7 ms transfer is only a ramp), as
Wireshark's "MA window" box allows; the title names the window used.

Timestamps that go backwards within a direction are taken as the latest time seen.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..vocab import TcpFlag
from .common import Conn, conn_of, layout, scatter, sides
from .decimate import keep as decimated
from .hover import hover_lines

#: seconds of the moving average (Wireshark's default)
WINDOW = 1.0
#: a connection shorter than this many windows gets a shorter window (``auto_window``)
MIN_WINDOWS = 10
COLOURS = {"client": ("#1f77b4", "#ff7f0e", "#2ca02c"),
           "server": ("#9467bd", "#8c564b", "#bcbd22")}


@dataclass(frozen=True)
class ThroughputData:
    conn: Conn
    direction: str
    window: float
    #: the sender's segments: dir, frame, t, len, hover (Wireshark's "segment length" graph)
    segments: pd.DataFrame
    #: the moving averages as Wireshark draws them: dir, what ("throughput" of the sender's
    #: bytes, "goodput" of the bytes the receiver acknowledges), t, bps, frame (the segment
    #: whose arrival made the point; -1 for a point where a segment leaves the window)
    rates: pd.DataFrame


def moving_average(t: np.ndarray, nbytes: np.ndarray, window: float = WINDOW
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Wireshark's time-based moving average of ``nbytes`` sent at times ``t`` (frame
    order): the points' times, bits per second, and the index of the segment that made
    each point (-1: a departure from the window)."""
    n = len(t)
    if n == 0:
        return np.array([]), np.array([]), np.array([], dtype=np.int64)
    t = np.maximum.accumulate(np.asarray(t, dtype=np.float64))
    b = np.asarray(nbytes, dtype=np.float64)
    csum = np.r_[0.0, np.cumsum(b)]  # csum[k]: bytes of segments 0..k-1
    # oldest[i]: how many segments have left the window when segment i arrives
    oldest = _departed(t, window)
    entry_v = (csum[1:] - csum[oldest]) * 8.0 / window
    # segment j leaves at the first arrival i with oldest[i] > j; the window then holds
    # segments j+1 .. i-1
    n_left = int(oldest[-1])
    j = np.arange(n_left)
    step = np.searchsorted(oldest, j, side="right")
    leave_t = t[j] + window
    leave_v = (csum[step] - csum[j + 1]) * 8.0 / window
    # arrivals at the same instant as the previous one replace its point
    last_of_run = np.r_[t[1:] != t[:-1], True]
    first_of_run = np.r_[True, t[1:] != t[:-1]]
    run_start = np.maximum.accumulate(np.where(first_of_run, np.arange(n), 0))
    e = np.flatnonzero(last_of_run)
    # order of the points: by the arrival that emits them, departures first
    key_step = np.r_[step, run_start[e]]
    key_kind = np.r_[np.zeros(n_left, np.int8), np.ones(e.size, np.int8)]
    key_j = np.r_[j, e]
    order = np.lexsort((key_j, key_kind, key_step))
    times = np.r_[leave_t, t[e]][order]
    values = np.r_[leave_v, entry_v[e]][order]
    who = np.r_[np.full(n_left, -1, np.int64), e][order]
    return times, values, who


def _departed(t: np.ndarray, window: float) -> np.ndarray:
    """Per arrival i (``t`` ascending): the number of earlier segments j with
    ``t[i] - t[j] > window`` (the exact comparison Wireshark makes, not a rounded one)."""
    k = np.searchsorted(t, t - window, side="left")
    idx = np.arange(t.size)
    while True:  # fix the few places where t - window rounded across a neighbour
        back = (k > 0) & ~(t - t[np.maximum(k - 1, 0)] > window)
        fwd = (k < idx) & (t - t[np.minimum(k, t.size - 1)] > window)
        if not (back.any() or fwd.any()):
            return k
        k = k - back + fwd


def _acked_bytes(ack: np.ndarray, is_ack: np.ndarray) -> np.ndarray:
    """Bytes each of the receiver's segments newly acknowledges: its ACK's advance past the
    highest earlier ACK (32-bit wrap-aware), starting from its first ACK."""
    out = np.zeros(ack.size, dtype=np.float64)
    at = np.flatnonzero(is_ack)
    if not at.size:
        return out
    a = ack[at].astype(np.int64)
    step = ((a[1:] - a[:-1] + (1 << 31)) % (1 << 32)) - (1 << 31)  # signed 32-bit difference
    unwrapped = a[0] + np.r_[0, np.cumsum(step)]
    highest = np.maximum.accumulate(unwrapped)
    out[at] = np.diff(np.r_[unwrapped[0], highest])
    return out


def _directions(direction: str) -> tuple[str, ...]:
    return ("client", "server") if direction == "both" else (sides(direction)[0],)


def auto_window(duration: float) -> float:
    """Wireshark's 1 s, or for a connection shorter than ``MIN_WINDOWS`` s the largest
    1-2-5 step (1 µs at least) no longer than a tenth of its duration."""
    if duration >= MIN_WINDOWS * WINDOW:
        return WINDOW
    target = max(duration / MIN_WINDOWS, 1e-6)
    decade = 10.0 ** np.floor(np.log10(target))
    return float(max(m * decade for m in (1, 2, 5) if m * decade <= target * (1 + 1e-9)))


def data(segs: pd.DataFrame, *, direction: str = "client",
         window: float | None = None) -> ThroughputData:
    """The throughput and goodput of ``direction``'s data (both: of each direction), as
    moving averages over ``window`` seconds (default :func:`auto_window`)."""
    c = conn_of(segs)
    t = segs["ts"].to_numpy(dtype=np.float64) - c.t0
    if window is None:
        window = auto_window(float(t.max()) if len(t) else 0.0)
    role = segs["role"].astype(str).to_numpy()
    frame = segs["frame"].to_numpy()
    ln = segs["len"].to_numpy().astype(np.int64)
    is_ack = (segs["flags"].to_numpy().astype(np.int64) & TcpFlag.ACK) != 0
    ack = segs["ack"].to_numpy().astype(np.int64)
    hover = hover_lines(segs)
    seg_parts, rate_parts = [], []
    for d in _directions(direction):
        sender, receiver = sides(d)
        s = role == sender
        seg_parts.append(pd.DataFrame({"dir": d, "frame": frame[s], "t": t[s], "len": ln[s],
                                       "hover": hover[s]}))
        r = role == receiver
        for what, rows, nbytes in (("throughput", s, ln[s]),
                                   ("goodput", r, _acked_bytes(ack[r], is_ack[r]))):
            times, bps, who = moving_average(t[rows], nbytes, window)
            frames = np.where(who >= 0, frame[rows][np.maximum(who, 0)] if who.size else who,
                              -1)
            rate_parts.append(pd.DataFrame({"dir": d, "what": what, "t": times, "bps": bps,
                                            "frame": frames.astype(np.int64)}))
    return ThroughputData(c, direction, window, pd.concat(seg_parts, ignore_index=True),
                          pd.concat(rate_parts, ignore_index=True))


def _unit(peak: float) -> tuple[float, str]:
    for div, name in ((1e9, "Gbit/s"), (1e6, "Mbit/s"), (1e3, "kbit/s")):
        if peak >= div:
            return div, name
    return 1.0, "bit/s"


def _title(d: ThroughputData) -> str:
    what = "both directions" if d.direction == "both" else f"{sides(d.direction)[0]}'s data"
    return (f"{d.conn.title} · throughput of {what} "
            f"({_seconds(d.window)} moving average, Wireshark's rule)")


def _seconds(v: float) -> str:
    for div, name in ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs")):
        if v >= div * 0.999:
            return f"{v / div:g} {name}"
    return f"{v:g} s"


def draw(d: ThroughputData, ax) -> None:
    div, unit = _unit(float(d.rates["bps"].max()) if len(d.rates) else 0.0)
    ax2 = ax.twinx()
    for side in _directions(d.direction):
        cs, ct, cg = COLOURS[side]
        s = d.segments[d.segments["dir"] == side]
        ax.plot(s["t"], s["len"], ".", ms=2.5, color=cs, alpha=0.6,
                label=f"{side}'s segment length")
        for what, colour in (("throughput", ct), ("goodput", cg)):
            r = d.rates[(d.rates["dir"] == side) & (d.rates["what"] == what)]
            if len(r):
                who = side if what == "throughput" else sides(side)[1] + " acks"
                ax2.step(r["t"], r["bps"] / div, where="post", color=colour, lw=1.2,
                         label=f"{what} ({who})")
    ax.set_xlabel("time since first segment (s)")
    ax.set_ylabel("segment length (bytes)")
    ax2.set_ylabel(f"average throughput ({unit})")
    ax.set_ylim(bottom=0)
    ax2.set_ylim(bottom=0)
    ax.set_title(_title(d), fontsize=9)
    ax.grid(alpha=0.25)
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    if h1 or h2:
        ax.legend(h1 + h2, l1 + l2, fontsize=7, loc="upper center",
                  bbox_to_anchor=(0.5, -0.2), ncol=3, frameon=False)


def panel_height(d: ThroughputData) -> float:
    return 4.2


def figure(d: ThroughputData) -> dict:
    div, unit = _unit(float(d.rates["bps"].max()) if len(d.rates) else 0.0)
    traces = []
    for side in _directions(d.direction):
        cs, ct, cg = COLOURS[side]
        s = d.segments[d.segments["dir"] == side]
        keep = decimated(s["t"].to_numpy(), s["len"].to_numpy())
        traces.append(scatter(s["t"].to_numpy()[keep], s["len"].to_numpy()[keep],
                              name=f"{side}'s segment length",
                              customdata=s["frame"].to_numpy()[keep].tolist(),
                              text=s["hover"].to_numpy()[keep].tolist(),
                              hovertemplate="%{text}<extra>segment</extra>",
                              marker={"size": 3, "color": cs, "opacity": 0.6}))
        for what, colour in (("throughput", ct), ("goodput", cg)):
            r = d.rates[(d.rates["dir"] == side) & (d.rates["what"] == what)]
            keep = decimated(r["t"].to_numpy(), r["bps"].to_numpy())
            who = side if what == "throughput" else sides(side)[1] + " acks"
            traces.append(scatter(r["t"].to_numpy()[keep], r["bps"].to_numpy()[keep] / div,
                                  name=f"{what} ({who})", mode="lines", yaxis="y2",
                                  line={"shape": "hv", "color": colour, "width": 1.5},
                                  hovertemplate=f"%{{y:.3f}} {unit} at %{{x:.6f}} s"
                                  f"<extra>{what}</extra>"))
    lay = layout(_title(d), "time since first segment (s)", "segment length (bytes)")
    lay["yaxis"]["rangemode"] = "tozero"
    lay["margin"] = {**lay["margin"], "r": 80}  # room for the right axis' title
    lay["yaxis2"] = {"title": {"text": f"average throughput ({unit})"}, "overlaying": "y",
                     "side": "right", "rangemode": "tozero", "zeroline": False,
                     "showgrid": False}
    return {"data": traces, "layout": lay}
