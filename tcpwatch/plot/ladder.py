"""``ladder``: the connection as a ladder diagram -- the client's time line on the left,
the server's on the right, time running down, one arrow per segment from its sender's
line to its receiver's, labelled in tcpdump's notation, and each end's RFC 9293 state
written beside its own line where it changes.

Rows are evenly spaced, one per segment (the time of each is written at the left); an
arrow leaves its sender at its row and reaches the receiver half a row later, so the
receiver's new state is written where the segment arrives. Each line is banded in the
colour of its end's state. What the wire never shows is drawn dashed and grey: the
inferred states before a capture that starts mid-connection, and TIME_WAIT's end 2·MSL
after the last segment. A long connection keeps its handshake, its teardown, every state
change and every flagged row, and folds the rest into labelled gaps
(:mod:`tcpwatch.plot.ladder_rows`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..vocab import Col
from .common import Conn, conn_of
from .hover import hover_lines
from .ladder_rows import MAX_ROWS, choose, names
from .ladder_text import STATE_COLOURS, label_rows

#: x of the time column, the client's line, the server's line (axis runs 0..100)
X_TIME, X_CLIENT, X_SERVER = 0.0, 29.0, 81.0
X_MID = (X_CLIENT + X_SERVER) / 2
#: rows an arrow drops from sender to receiver
SLOPE = 0.5
#: height of a gap's slot, in rows (one line of label, two lines)
GAP_H, GAP_H2 = 0.75, 1.05
#: rows kept below everything for the arrows' legend
LEGEND_H = 1.4
#: closest two state labels on one line may be, in rows
STATE_GAP = 0.62
#: a pause between two drawn segments worth writing in the time column (seconds)
IDLE_MIN = 1.0
#: what the unseen states say
INFERRED_NOTE = "states inferred: the capture starts mid-connection"
EXPIRY_NOTE = "2·MSL later, not on the wire"
SIDES = ("client", "server")
_X = {"client": X_CLIENT, "server": X_SERVER}
_MONO = "DejaVu Sans Mono"


@dataclass(frozen=True)
class LadderData:
    conn: Conn
    #: segments in the connection
    n_segments: int
    #: one row per drawn segment: frame, t (s since the first segment), sender, receiver,
    #: y (the sender's end; the receiver's is y + SLOPE), flag_str, label (tcpdump line),
    #: note (SYN options, SACK blocks), tags (analysis flags), events, kind, colour,
    #: idle (seconds since the row drawn above), hover
    rows: pd.DataFrame
    #: one row per state label: side, state, kind (start, inferred, change, unseen),
    #: frame (-1 when no segment), y (where the state begins), y_label (where it is written)
    states: pd.DataFrame
    #: one row per folded run: y (its slot's top), height, segments, bytes_client,
    #: bytes_server, seconds, first_frame, last_frame, label
    gaps: pd.DataFrame
    #: the colour bands of each line: side, state, y0, y1, seen (False: not on the wire)
    spans: pd.DataFrame
    #: where the lines end (below the last arrow), and below the unseen states
    y_end: float
    y_bottom: float


def data(segs: pd.DataFrame, *, direction: str = "both",
         max_rows: int = MAX_ROWS) -> LadderData:
    """The ladder of one connection (both directions: ``direction`` is ignored), at most
    ``max_rows`` segments drawn (:mod:`tcpwatch.plot.ladder_rows`)."""
    segs = segs.copy(deep=False)
    segs.attrs = {}  # the capture's summary: pandas would deep-copy it on every step
    c = conn_of(segs)
    fold = choose(segs, max_rows=max_rows)
    drawn = segs.iloc[fold.keep]
    # one slot per drawn row or gap, in capture order, from y = 1 down (y = 0: the
    # starting states); a row is 1 high, a gap less (more when its label has two lines)
    starts = np.r_[fold.keep, fold.gaps["start"].to_numpy(dtype=np.int64)]
    height = np.r_[np.ones(len(fold.keep)),
                   np.where(["\n" in t for t in fold.gaps["label"]], GAP_H2, GAP_H)]
    order = np.argsort(starts, kind="stable")
    top = np.empty(len(starts), np.float64)
    top[order] = 1.0 + np.cumsum(height[order]) - height[order]
    y_rows, y_gaps = top[:len(fold.keep)], top[len(fold.keep):]
    sender = names(drawn[Col.ROLE])
    rows = pd.DataFrame({
        "frame": drawn[Col.FRAME].to_numpy(), "t": drawn[Col.TS].to_numpy() - c.t0,
        "sender": sender, "receiver": np.where(sender == "client", "server", "client"),
        "y": y_rows, "flag_str": names(drawn[Col.FLAG_STR]),
        "events": names(drawn[Col.EVENTS])})
    # rows are evenly spaced: say where the clock jumped (an idle second or more)
    rows["idle"] = np.r_[0.0, np.diff(rows["t"].to_numpy())] if len(rows) else []
    rows = pd.concat([rows, label_rows(drawn).reset_index(drop=True)], axis=1)
    rows["hover"] = hover_lines(drawn) if len(drawn) else []
    frames = segs[Col.FRAME].to_numpy()
    g = fold.gaps
    gaps = pd.DataFrame({"y": y_gaps, "segments": g["segments"].to_numpy(),
                         "bytes_client": g["bytes_client"].to_numpy(),
                         "bytes_server": g["bytes_server"].to_numpy(),
                         "seconds": g["seconds"].to_numpy(),
                         "first_frame": frames[g["start"].to_numpy(dtype=np.int64)],
                         "last_frame": frames[g["stop"].to_numpy(dtype=np.int64) - 1],
                         "height": height[len(fold.keep):], "label": g["label"].to_numpy()})
    y_end = 1.0 + float(height.sum()) - 0.5 + SLOPE
    states, spans, y_bottom = _states(segs, drawn, rows, y_end)
    return LadderData(c, len(segs), rows, states, gaps, spans, y_end, y_bottom + LEGEND_H)


def _states(segs: pd.DataFrame, drawn: pd.DataFrame, rows: pd.DataFrame,
            y_end: float) -> tuple[pd.DataFrame, pd.DataFrame, float]:
    """The state labels and the bands of both lines."""
    inferred = bool(segs[Col.STATES_INFERRED].iloc[0])
    labels, spans = [], []
    y_bottom = y_end
    for side in SIDES:
        before = names(drawn[f"state_before_{side}"])
        after = names(drawn[f"state_after_{side}"])
        changed = np.flatnonzero(before != after)
        y = rows["y"].to_numpy()[changed] + np.where(
            rows["sender"].to_numpy()[changed] == side, 0.0, SLOPE)
        first = str(segs[f"state_before_{side}"].iloc[0])
        side_labels = pd.DataFrame({
            "side": side, "state": [first, *after[changed]],
            "kind": ["inferred" if inferred else "start", *["change"] * len(changed)],
            "frame": [-1, *rows["frame"].to_numpy()[changed]], "y": [0.0, *y]})
        last = str(segs[f"state_after_{side}"].iloc[-1])
        bounds = [*side_labels["y"], y_end]
        spans.append(pd.DataFrame({"side": side, "state": side_labels["state"],
                                   "y0": bounds[:-1], "y1": bounds[1:], "seen": True}))
        if inferred:  # the band above the first segment is a guess, not the wire's
            spans[-1].loc[0, "seen"] = False
            spans[-1].loc[0, "y1"] = min(1.0, bounds[1])
            if bounds[1] > 1.0:
                spans.append(pd.DataFrame({"side": [side], "state": [first], "y0": [1.0],
                                           "y1": [bounds[1]], "seen": [True]}))
        if last == "TIME_WAIT":  # RFC 9293 §3.6: CLOSED after 2·MSL, which no segment shows
            y_exp = y_end + 0.9
            side_labels.loc[len(side_labels)] = [side, "CLOSED", "unseen", -1, y_exp]
            spans.append(pd.DataFrame({"side": [side], "state": ["TIME_WAIT"],
                                       "y0": [y_end], "y1": [y_exp], "seen": [False]}))
            y_bottom = max(y_bottom, y_exp + 0.9)
        side_labels["y_label"] = _dodge(side_labels["y"].to_numpy())
        labels.append(side_labels)
    states = pd.concat(labels, ignore_index=True).astype({"frame": np.int64})
    return states, pd.concat(spans, ignore_index=True), y_bottom


def _dodge(y: np.ndarray) -> np.ndarray:
    """Where to write labels meant for ``y`` (ascending) so none overlaps the one above."""
    out = y.astype(np.float64).copy()
    for i in range(1, len(out)):
        out[i] = max(out[i], out[i - 1] + STATE_GAP)
    return out


def line_pieces(d: LadderData) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
    """The solid and the dotted (folded) stretches of both lines, from 0 to y_end."""
    top = 1.0 if (d.states["kind"] == "inferred").any() else 0.0
    cuts = sorted((float(y) - 0.15, float(y) + h - 0.35)
                  for y, h in zip(d.gaps["y"], d.gaps["height"], strict=True))
    solid, dotted, at = [], [], top
    for a, b in cuts:
        solid.append((at, a))
        dotted.append((a, b))
        at = b
    solid.append((at, d.y_end))
    return solid, dotted


def idle_text(seconds: float) -> str:
    return f"⋮ {seconds:.3g} s idle"


def panel_height(d: LadderData) -> float:
    return 0.3 * (d.y_bottom + 2.0) + 0.5


def html_height(d: LadderData) -> int:
    return int(34 * (d.y_bottom + 2.0) + 110)


def ladder_title(d: LadderData) -> str:
    folded = int(d.gaps["segments"].sum())
    tail = f", {len(d.rows)} drawn, {folded:,} folded" if folded else ""
    return f"{d.conn.title} · ladder: {d.n_segments:,} segments{tail}"


def draw(d: LadderData, ax) -> None:
    ax.set_xlim(-1, 101)
    ax.set_ylim(d.y_bottom, -1.9)
    ax.set_axis_off()
    ax.set_title(ladder_title(d), fontsize=9)
    sp = d.spans
    for seen in (True, False):
        s = sp[sp["seen"] == seen]
        ax.vlines(s["side"].map(_X), s["y0"], s["y1"], colors=s["state"].map(STATE_COLOURS),
                  linewidth=9, alpha=1.0 if seen else 0.55, zorder=1)
    solid, dotted = line_pieces(d)
    for pieces, style in ((solid, "solid"), (dotted, (0, (1, 2)))):
        for x in (X_CLIENT, X_SERVER):
            ax.vlines([x] * len(pieces), [a for a, _ in pieces], [b for _, b in pieces],
                      colors="#333333", linewidth=1.1, linestyles=style, zorder=2)
    unseen = sp[~sp["seen"]]
    ax.vlines(unseen["side"].map(_X), unseen["y0"], unseen["y1"], colors="#888888",
              linewidth=1.1, linestyles="dashed", zorder=2)
    for side, who in (("client", d.conn.client), ("server", d.conn.server)):
        ax.text(_X[side], -0.75, f"{side}\n{who}", ha="center", va="bottom", fontsize=8.5,
                fontweight="bold")
    ax.text(X_TIME, -0.45, "frame  time (s)", ha="left", va="center", fontsize=7,
            color="#666666", family=_MONO)
    for r in d.rows.itertuples(index=False):
        x0, x1 = _X[r.sender], _X[r.receiver]
        # a line with a triangle at the receiver's end: the arrow drops half a row over
        # half the width, under 2 degrees, so an upright triangle reads as its head (and
        # costs a fraction of a FancyArrowPatch)
        tip = x1 - 0.45 if x1 > x0 else x1 + 0.45  # the triangle's tip on the line
        ax.plot([x0, tip], [r.y, r.y + SLOPE], color=r.colour, lw=1.1, zorder=3,
                marker=">" if x1 > x0 else "<", markevery=[1], ms=5.5,
                gid=f"arrow-{r.frame}")
        mid = r.y + SLOPE / 2
        ax.text(X_MID, mid - 0.02, r.label, ha="center", va="center", fontsize=7.2,
                family=_MONO, zorder=4, gid=f"label-{r.frame}",
                bbox={"boxstyle": "square,pad=0.12", "fc": "white", "ec": "none",
                      "alpha": 0.88})
        extra = " · ".join(t for t in (r.tags, r.note) if t)
        if extra:
            ax.text(X_MID, mid + 0.2, extra, ha="center", va="top", fontsize=6.2,
                    color=r.colour if r.tags else "#555555", zorder=4,
                    fontweight="bold" if r.tags else "normal", gid=f"note-{r.frame}")
        ax.text(X_TIME, r.y, f"#{r.frame:<6} {r.t:.6f}", ha="left", va="center",
                fontsize=6.6, family=_MONO, color="#444444")
        if r.idle >= IDLE_MIN:
            ax.text(X_TIME + 5, r.y - 0.5, idle_text(r.idle), ha="left", va="center",
                    fontsize=6.2, style="italic", color="#aa5500")
    for i, g in enumerate(d.gaps.itertuples(index=False)):
        ax.text(X_MID, g.y + g.height / 2 - 0.25, g.label, ha="center", va="center", fontsize=7,
                style="italic", color="#555555", linespacing=1.3, gid=f"gap-{i}")
    _draw_states(d, ax)
    _legend(d, ax)
    # everything sits inside the axes' limits: tight_layout need not measure each text
    for artist in (*ax.texts, *ax.patches, *ax.collections, *ax.lines):
        artist.set_in_layout(False)


def _legend(d: LadderData, ax) -> None:
    """What each arrow colour means (only the kinds drawn), along the bottom."""
    from matplotlib.lines import Line2D

    kinds = d.rows.drop_duplicates("kind")
    if kinds.empty:
        return
    handles = [Line2D([], [], color=c, lw=1.4, label=k)
               for k, c in zip(kinds["kind"], kinds["colour"], strict=True)]
    ax.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, 0.0),
              ncol=min(6, len(handles)), fontsize=7, frameon=False, handlelength=1.8,
              columnspacing=1.4, borderaxespad=0.1)


def _draw_states(d: LadderData, ax) -> None:
    st = d.states
    changes = st[st["kind"] != "unseen"]
    ax.scatter(changes["side"].map(_X), changes["y"], s=10, c="#333333", zorder=3,
               linewidths=0)
    count = dict.fromkeys(SIDES, 0)
    for s in st.itertuples(index=False):
        left = s.side == "client"
        seen = s.kind in ("start", "change")
        if s.kind == "change":
            gid = f"state-{s.side}-{count[s.side]}"
            count[s.side] += 1
        else:
            gid = f"state-{s.kind}-{s.side}"
        x = _X[s.side] + (-2.2 if left else 2.2)
        ax.text(x, s.y_label, s.state, ha="right" if left else "left", va="center",
                fontsize=7.2, fontweight="bold" if seen else "normal",
                color="#111111" if seen else "#777777", zorder=5, gid=gid,
                bbox={"boxstyle": "round,pad=0.25", "fc": STATE_COLOURS.get(s.state, "white"),
                      "ec": "#555555" if seen else "#999999", "lw": 0.6,
                      "ls": "solid" if seen else "dashed"})
        if s.kind == "unseen":
            ax.text(x, s.y_label + 0.55, EXPIRY_NOTE, ha="right" if left else "left",
                    va="center", fontsize=6.2, style="italic", color="#777777")
    if (st["kind"] == "inferred").any():
        ax.text(X_MID, 0.5, INFERRED_NOTE, ha="center", va="center", fontsize=6.6,
                style="italic", color="#777777")


def figure(d: LadderData) -> dict:
    from .ladder_figure import ladder_figure

    return ladder_figure(d)
