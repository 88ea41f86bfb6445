"""``window``: bytes in flight against the advertised receive window, over time, per
direction -- Wireshark's window-scaling graph with the flow-control episodes shaded.

For a direction (the side that sends the data):

* bytes in flight: Wireshark's ``tcp.analysis.bytes_in_flight`` on each of the sender's
  data segments (the ``bytes_in_flight`` column);
* receive window: the window the receiver advertises (``tcp.window_size``, scaled), as a
  step line held from each of its segments to the next (RSTs left out: their window is
  meaningless);
* shaded: the receiver's zero-window episodes and the sender's window-full episodes
  (:func:`tcpwatch.report.episodes.episodes`);
* marked: window full, zero window, the sender's probes (Wireshark's zero_window_probe,
  or keep_alive: Linux probes a closed window that way) and the receiver's window updates;
* noted: each side's window scale, from the SYN and SYN-ACK.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..engine.arrays import event_bits
from ..engine.registry import BY_NAME
from ..report.episodes import episodes as flow_episodes
from ..vocab import TcpFlag
from .common import Conn, conn_of, layout, scatter, sides
from .decimate import keep as decimated
from .hover import hover_lines

#: the marks drawn on the lines: (kind, whose segment: sender or receiver, label)
MARKS = (("window_full", "sender", "window full"),
         ("zero_window", "receiver", "zero window"),
         ("probe", "sender", "zero-window probe / keep-alive"),
         ("window_update", "receiver", "window update"))
#: colours per data direction: (bytes in flight, receive window)
COLOURS = {"client": ("#1f77b4", "#2ca02c"), "server": ("#9467bd", "#bcbd22")}
SHADES = {"zero_window": ("#d62728", 0.18), "window_full": ("#ff7f0e", 0.45)}
#: the part of the height an episode's shading covers (from, to): a zero window the whole
#: height, window-full runs a band along the top (a bulk transfer has hundreds of them)
BANDS = {"zero_window": (0.0, 1.0), "window_full": (0.93, 1.0)}
GLYPHS = {"window_full": ("^", "triangle-up", "#ff7f0e"),
          "zero_window": ("x", "x", "#d62728"),
          "probe": ("D", "diamond", "#000000"),
          "window_update": ("|", "line-ns-open", "#7f7f7f")}


@dataclass(frozen=True)
class WindowData:
    conn: Conn
    direction: str
    #: the sender's data segments: dir (the sender's role), frame, t, bytes_in_flight, hover
    flight: pd.DataFrame
    #: the receiver's segments: dir (the data direction they limit), frame, t, win, hover
    window: pd.DataFrame
    #: flow-control episodes: dir, kind (zero_window, window_full), side (whose segments),
    #: start, end (s since the first segment; end NaN: still open at the capture's end),
    #: segments, probes, stalled (a sentence)
    episodes: pd.DataFrame
    #: marked segments: dir, kind (MARKS), frame, t, y (where it sits: its bytes in flight,
    #: or the window then), hover
    marks: pd.DataFrame
    #: each side's window-scale shift from its SYN: an int, -2 (no scaling: a SYN without
    #: the option) or None (its SYN was not seen)
    scale: dict[str, int | None]
    #: the window scale in words, e.g. "window scale: client shift 7 (×128), server ..."
    scale_note: str
    #: time of the connection's last segment (where an open episode's shading ends)
    t_end: float


def _has(bits: np.ndarray, *names: str) -> np.ndarray:
    """Rows (their analysis ``bits``) flagged with any of ``names``."""
    mask = 0
    for name in names:
        mask |= BY_NAME[name].bit
    return (bits & mask) != 0


def _directions(direction: str) -> tuple[str, ...]:
    return ("client", "server") if direction == "both" else (sides(direction)[0],)


def data(segs: pd.DataFrame, *, direction: str = "client") -> WindowData:
    """Everything the window graph of ``direction``'s data shows."""
    c = conn_of(segs)
    t = segs["ts"].to_numpy(dtype=np.float64) - c.t0
    role = segs["role"].astype(str).to_numpy()
    flags = segs["flags"].to_numpy().astype(np.int64)
    bif = segs["bytes_in_flight"].to_numpy(dtype=np.float64, na_value=np.nan)
    win = segs["win"].to_numpy().astype(np.int64)
    hover = hover_lines(segs)
    frame = segs["frame"].to_numpy()
    bits = event_bits(segs["events"])
    # what an episode starts at (episodes(): a zero raw window on no SYN/FIN/RST, or a
    # window-full flag)
    closed = (segs["win_raw"].to_numpy() == 0) & (
        (flags & (TcpFlag.SYN | TcpFlag.FIN | TcpFlag.RST)) == 0)
    full = _has(bits, "window_full")
    marked = {"window_full": full,
              "zero_window": _has(bits, "zero_window"),
              "probe": _has(bits, "zero_window_probe", "keep_alive"),
              "window_update": _has(bits, "window_update")}
    flights, windows, marks = [], [], []
    for d in _directions(direction):
        sender, receiver = sides(d)
        f = (role == sender) & ~np.isnan(bif)
        flights.append(pd.DataFrame({"dir": d, "frame": frame[f],
                                     "t": t[f], "bytes_in_flight": bif[f].astype(np.int64),
                                     "hover": hover[f]}))
        w = (role == receiver) & ((flags & TcpFlag.RST) == 0)
        windows.append(pd.DataFrame({"dir": d, "frame": frame[w],
                                     "t": t[w], "win": win[w], "hover": hover[w]}))
        wt, wv = t[w], win[w]
        for kind, whose, _ in MARKS:
            m = marked[kind] & (role == (sender if whose == "sender" else receiver))
            if kind == "window_full":
                y = np.nan_to_num(bif[m])
            elif whose == "receiver":
                y = win[m].astype(np.float64)
            else:  # a probe sits on the window line as it stood then
                at = np.searchsorted(wt, t[m], side="right") - 1
                y = np.where(at >= 0, wv[np.maximum(at, 0)], 0).astype(np.float64)
            marks.append((d, kind, frame[m], t[m], y, hover[m]))
    scale = _scales(segs, role, flags)
    return WindowData(c, direction, pd.concat(flights, ignore_index=True),
                      pd.concat(windows, ignore_index=True),
                      _episodes(segs, c, direction, bool(closed.any() or full.any())),
                      _marks(marks), scale, _scale_note(scale),
                      float(t[-1]) if len(t) else 0.0)


def _marks(parts: list[tuple]) -> pd.DataFrame:
    """One table of the marks gathered per (direction, kind)."""
    size = [len(p[2]) for p in parts]
    return pd.DataFrame({
        "dir": np.repeat([p[0] for p in parts], size).astype(object),
        "kind": np.repeat([p[1] for p in parts], size).astype(object),
        "frame": np.concatenate([p[2] for p in parts]).astype(np.int64),
        "t": np.concatenate([p[3] for p in parts]).astype(np.float64),
        "y": np.concatenate([p[4] for p in parts]).astype(np.float64),
        "hover": np.concatenate([p[5] for p in parts]).astype(object)})


def _episodes(segs: pd.DataFrame, c: Conn, direction: str, any_: bool) -> pd.DataFrame:
    """The connection's episodes that hold up each drawn direction's data: the receiver's
    zero windows and the sender's window-full runs (none looked for unless ``any_``: a
    zero window or a window-full segment is in the rows)."""
    cols = ["dir", "kind", "side", "start", "end", "segments", "probes", "stalled"]
    ep = flow_episodes(segs) if any_ else None
    if ep is None or ep.empty:
        return pd.DataFrame(columns=cols)
    kind, side = ep["kind"].astype(str), ep["side"].astype(str)
    # the data direction an episode holds up: a window-full run is the sender's own, a
    # zero window is the receiver's
    other = side.map({"client": "server", "server": "client"})
    ep = ep.assign(dir=np.where(kind == "window_full", side, other),
                   start=ep["start"].astype(float) - c.t0, end=ep["end"].astype(float) - c.t0)
    ep = ep[ep["dir"].isin(_directions(direction))]
    return ep[cols].reset_index(drop=True)


def _scales(segs: pd.DataFrame, role: np.ndarray, flags: np.ndarray) -> dict[str, int | None]:
    """Each side's shift from its SYN (RFC 7323 §2.2: scaling is on only when both SYNs
    carry the option; otherwise neither side scales, shown as -2 like Wireshark)."""
    syn = (flags & TcpFlag.SYN) != 0
    ws = segs["wscale"].to_numpy(dtype=np.float64, na_value=np.nan)
    out: dict[str, int | None] = {}
    for side in ("client", "server"):
        rows = np.flatnonzero(syn & (role == side))
        out[side] = None if not rows.size else (
            -2 if np.isnan(ws[rows[0]]) else int(ws[rows[0]]))
    if -2 in out.values():  # one SYN without the option turns scaling off both ways
        out = {k: (None if v is None else -2) for k, v in out.items()}
    return out


def _scale_note(scale: dict[str, int | None]) -> str:
    vals = list(scale.values())
    if all(v is None for v in vals):
        return "window scale unknown: no handshake seen"
    if -2 in vals:
        return "no window scaling (a SYN without the option): windows unscaled"

    def one(side: str) -> str:
        v = scale[side]
        return f"{side} unknown (no SYN seen)" if v is None else f"{side} shift {v} (×{1 << v})"

    return "window scale: " + ", ".join(map(one, ("client", "server")))


def _title(d: WindowData) -> str:
    what = "both directions" if d.direction == "both" else f"{sides(d.direction)[0]}'s data"
    return f"{d.conn.title} · window, {what}"


def _span_end(d: WindowData, end: float) -> float:
    return d.t_end if np.isnan(end) else end


def panel_height(d: WindowData) -> float:
    return 4.2


def draw(d: WindowData, ax) -> None:
    for _, e in d.episodes.iterrows():
        colour, alpha = SHADES[e["kind"]]
        end = _span_end(d, e["end"])
        lo, hi = BANDS[e["kind"]]
        if end > e["start"]:
            ax.axvspan(e["start"], end, lo, hi, color=colour, alpha=alpha, lw=0)
        else:  # one segment: an instant, drawn as a line
            ax.axvline(e["start"], lo, hi, color=colour, alpha=min(1.0, 2 * alpha), lw=1.5)
    for side in _directions(d.direction):
        cf, cw = COLOURS[side]
        w = d.window[d.window["dir"] == side]
        f = d.flight[d.flight["dir"] == side]
        peer = sides(side)[1]
        if len(w):
            ax.step(np.r_[w["t"], d.t_end], np.r_[w["win"], w["win"].iloc[-1]], where="post",
                    color=cw, lw=1.2, label=f"{peer}'s receive window")
        if len(f):
            ax.plot(f["t"], f["bytes_in_flight"], ".", ms=3, color=cf,
                    label=f"{side}'s bytes in flight")
    for kind, _, label in MARKS:
        m = d.marks[d.marks["kind"] == kind]
        if len(m):
            glyph, _, colour = GLYPHS[kind]
            ax.plot(m["t"], m["y"], glyph, ms=5 if kind != "window_update" else 7,
                    color=colour, mfc="none" if glyph == "D" else colour, label=label,
                    linestyle="none")
    for kind, (colour, alpha) in SHADES.items():
        if (d.episodes["kind"] == kind).any():
            ax.fill_between([], [], color=colour, alpha=alpha,
                            label=kind.replace("_", " ") + " episode")
    ax.set_xlabel("time since first segment (s)")
    ax.set_ylabel("bytes")
    ax.set_title(f"{_title(d)}\n{d.scale_note}", fontsize=9)
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.25)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=4,
                  frameon=False)


def _trace(x, y, *, name: str, frames, text, marked=None, **extra) -> dict:
    keep = decimated(np.asarray(x), np.asarray(y), marked=marked)
    return scatter(np.asarray(x)[keep], np.asarray(y)[keep], name=name,
                   customdata=np.asarray(frames)[keep].tolist(),
                   text=np.asarray(text)[keep].tolist(),
                   hovertemplate="%{text}<br>%{y} bytes<extra>" + name + "</extra>", **extra)


def figure(d: WindowData) -> dict:
    traces, shapes = [], []
    for side in _directions(d.direction):
        cf, cw = COLOURS[side]
        w = d.window[d.window["dir"] == side]
        f = d.flight[d.flight["dir"] == side]
        peer = sides(side)[1]
        traces.append(_trace(w["t"], w["win"], name=f"{peer}'s receive window",
                             frames=w["frame"], text=w["hover"], mode="lines",
                             line={"shape": "hv", "color": cw, "width": 1.5}))
        traces.append(_trace(f["t"], f["bytes_in_flight"], name=f"{side}'s bytes in flight",
                             frames=f["frame"], text=f["hover"], mode="markers",
                             marker={"size": 4, "color": cf}))
    for kind, _, label in MARKS:
        m = d.marks[d.marks["kind"] == kind]
        if len(m):
            _, symbol, colour = GLYPHS[kind]
            traces.append(scatter(m["t"].to_numpy(), m["y"].to_numpy(), name=label,
                                  customdata=m["frame"].tolist(), text=m["hover"].tolist(),
                                  hovertemplate="%{text}<extra>" + label + "</extra>",
                                  marker={"symbol": symbol, "size": 8,
                                          "color": colour}))
    for _, e in d.episodes.iterrows():
        colour, alpha = SHADES[e["kind"]]
        shapes.append({"type": "rect", "xref": "x", "yref": "paper", "x0": e["start"],
                       "x1": _span_end(d, e["end"]), "y0": BANDS[e["kind"]][0],
                       "y1": BANDS[e["kind"]][1],
                       "line": {"width": 2, "color": colour},
                       "fillcolor": colour, "opacity": alpha,
                       "layer": "below"})
    lay = layout(f"{_title(d)}<br><span style='font-size:11px'>{d.scale_note}</span>",
                 "time since first segment (s)", "bytes", shapes=shapes)
    lay["margin"] = {**lay["margin"], "t": 60}
    lay["yaxis"]["rangemode"] = "tozero"
    return {"data": traces, "layout": lay}
