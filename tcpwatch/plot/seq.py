"""``seq``: the Stevens / tcptrace time-sequence graph of a direction's data.

What is drawn, for the data one side sends (``direction``; ``both``: the two directions
on one axes, the server's in other colours):

* every segment that occupies sequence space, at its capture time, as a vertical bar from
  its first byte (``rel_seq``) to the byte after its last (``rel_seq + len``); a SYN and a
  FIN also as a glyph (they occupy one sequence number each);
* the ACK line: the receiver's cumulative ACK over time as a step line -- it holds its
  last value until the next ACK and rises there, as tcptrace draws it;
* the receive-window line: ACK + the receiver's advertised (scaled) window, also a step;
* the SACK blocks of the receiver's ACKs, as vertical bars at the ACK's time;
* marks in distinct glyphs, from Wireshark's flags of the segment table (``events``):
  retransmission (also fast and spurious), out-of-order, lost segment ("previous segment
  not captured", at the gap's top), zero-window probe, keep-alive (Linux's zero-window
  probe, sent one byte below SND.UNA, is Wireshark's keep-alive); zero-window ACKs on the
  window line;
* zero-window stalls shaded: from an ACK advertising a zero window (not a SYN or FIN) to
  the receiver's next ACK that opens it, or the end of the capture -- the zero-window
  episodes of ``report/episodes.py``.

Sequence numbers are relative (the table's ``rel_seq``/``rel_ack``: Wireshark's), unwrapped
to 64 bits so a transfer longer than 4 GiB keeps rising; :attr:`SeqData.isn` gives the
absolute number of relative 0 per sender (tcptrace's y axis is absolute: see the test).
The receiver's RST segments are not ACKs here (tcptrace skips them too).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..engine.arrays import event_bits
from ..engine.registry import BY_NAME
from ..vocab import Col, TcpFlag
from .common import Conn, conn_of, layout, scatter, sides, typed
from .decimate import keep
from .hover import hover_lines


@dataclass(frozen=True)
class Mark:
    """A glyph drawn on the segments a set of Wireshark flags marks."""

    name: str  # the column of SeqData.segments
    flags: tuple[str, ...]  # tcp.analysis.* names (any of them)
    label: str
    at_top: bool  # at the segment's end (else at its first byte)
    mpl: str  # matplotlib marker
    symbol: str  # Plotly marker symbol
    color: str


MARKS: tuple[Mark, ...] = (
    Mark("retransmission", ("retransmission", "fast_retransmission",
                            "spurious_retransmission"),
         "retransmission", True, "x", "x-thin-open", "#d62728"),
    Mark("out_of_order", ("out_of_order",), "out-of-order", True, "D", "diamond-open",
         "#e377c2"),
    Mark("lost_segment", ("lost_segment",), "previous segment not captured", False, "v",
         "triangle-down-open", "#8c564b"),
    Mark("zero_window_probe", ("zero_window_probe",), "zero-window probe", True, "^",
         "triangle-up", "#ff7f0e"),
    Mark("keep_alive", ("keep_alive",), "keep-alive (Linux's zero-window probe)", True, ">",
         "triangle-right", "#bcbd22"),
)

#: colours of data bars, ACK line, window line, SACK bars (tcptrace's: white data on black,
#: green ACKs, yellow window, purple SACKs -- here on white); the second set is the
#: server's when both directions share the axes
PALETTES = (("#222222", "#2ca02c", "#d4a017", "#9467bd"),
            ("#1f77b4", "#17becf", "#9edae5", "#c5b0d5"))
STALL_COLOR = "rgba(214,39,40,0.12)"


@dataclass(frozen=True)
class SeqData:
    conn: Conn
    direction: str
    #: per sender drawn ("client"/"server"): the absolute sequence number of relative 0
    isn: dict[str, int]
    #: one row per segment that occupies sequence space (payload, SYN or FIN) or carries a
    #: probe/keep-alive mark: sender, row (index into ``rows``), frame, t (s since the
    #: connection's first segment), seq, end (= seq + len), len, syn, fin, and one bool
    #: column per :data:`MARKS` name
    segments: pd.DataFrame
    #: one row per ACK of the receiver (ACK flag, not RST): sender (whose data it
    #: acknowledges), row, frame, t, ack, win, winend (= ack + win), zero (win == 0)
    acks: pd.DataFrame
    #: one row per SACK block of those ACKs: sender, row, frame, t, block (0 = first in
    #: the option), left, right (relative, like ``seq``)
    sacks: pd.DataFrame
    #: one row per zero-window stall: sender, start, end (s), frame_start, frame_end (the
    #: ACK that opened the window; -1: still closed at the end of the capture)
    stalls: pd.DataFrame
    #: the connection's rows (hover text is made for the points drawn only)
    rows: pd.DataFrame


def data(segs: pd.DataFrame, *, direction: str = "client") -> SeqData:
    """Everything the time-sequence graph of ``direction``'s data shows."""
    c = conn_of(segs)
    # the table's attrs (the capture's summary, with arrays) are deep-copied by every
    # pandas operation on a derived frame: the hover text would spend most of its time so
    segs = segs.copy(deep=False)
    segs.attrs = {}
    senders = ("client", "server") if direction == "both" else (sides(direction)[0],)
    cols = _Columns.of(segs, c.t0)
    parts = [_one_sender(cols, s) for s in senders]
    return SeqData(c, direction, {s: p[0] for s, p in zip(senders, parts, strict=True)},
                   *(pd.concat([p[k] for p in parts], ignore_index=True) for k in range(1, 5)),
                   rows=segs)


@dataclass(frozen=True)
class _Columns:
    """The connection's columns as numpy arrays, read once."""

    client: np.ndarray  # bool: the client sent it
    t: np.ndarray
    frame: np.ndarray
    flags: np.ndarray
    length: np.ndarray
    seq: np.ndarray  # uint32 absolute
    ack: np.ndarray
    rel_seq: np.ndarray  # uint32 relative
    rel_ack: np.ndarray
    win: np.ndarray
    bits: np.ndarray
    sack: pd.Series
    t_end: float

    @classmethod
    def of(cls, segs: pd.DataFrame, t0: float) -> _Columns:
        t = segs[Col.TS].to_numpy(dtype=np.float64) - t0
        return cls(
            client=(segs[Col.ROLE] == "client").to_numpy(dtype=bool), t=t,
            frame=segs[Col.FRAME].to_numpy(dtype=np.int64),
            flags=segs[Col.FLAGS].to_numpy(dtype=np.int64),
            length=segs[Col.LEN].to_numpy(dtype=np.int64),
            seq=segs[Col.SEQ].to_numpy(dtype=np.int64),
            ack=segs[Col.ACK].to_numpy(dtype=np.int64),
            rel_seq=segs[Col.REL_SEQ].to_numpy(dtype=np.int64),
            rel_ack=segs[Col.REL_ACK].to_numpy(dtype=np.int64),
            win=segs[Col.WIN].to_numpy(dtype=np.int64),
            bits=event_bits(segs[Col.EVENTS]), sack=segs[Col.SACK],
            t_end=float(t.max()))

    def has(self, flag: int) -> np.ndarray:
        return (self.flags & flag) != 0

    def flagged(self, names: tuple[str, ...]) -> np.ndarray:
        bit = 0
        for n in names:
            bit |= BY_NAME[n].bit
        return (self.bits & bit) != 0


def unwrap(u32: np.ndarray) -> np.ndarray:
    """32-bit sequence numbers (relative ones, so near 0 at the start) as int64 that keep
    rising past 2**32: each step taken as the signed 32-bit difference (RFC 1982
    arithmetic, Wireshark's GT_SEQ); the first value read as signed, so an ACK just below
    the first byte seen is negative."""
    v = np.asarray(u32, dtype=np.int64)
    if not len(v):
        return v
    steps = (np.diff(v) + 2**31) % 2**32 - 2**31
    first = (v[0] + 2**31) % 2**32 - 2**31
    return np.concatenate(([first], first + np.cumsum(steps)))


def _one_sender(x: _Columns, sender: str) -> tuple:
    sent = x.client if sender == "client" else ~x.client
    rst = x.has(TcpFlag.RST)
    syn, fin = x.has(TcpFlag.SYN), x.has(TcpFlag.FIN)
    marks = {m.name: x.flagged(m.flags) for m in MARKS}
    probe = marks["zero_window_probe"] | marks["keep_alive"]
    occupies = (x.length > 0) | syn | fin | probe
    seg_rows = np.flatnonzero(sent & occupies)
    ack_rows = np.flatnonzero(~sent & x.has(TcpFlag.ACK) & ~rst)
    isn = _isn(x, np.flatnonzero(sent), ack_rows)

    seq = unwrap(x.rel_seq[seg_rows])
    ln = x.length[seg_rows]
    segments = pd.DataFrame({
        "sender": sender, "row": seg_rows, "frame": x.frame[seg_rows], "t": x.t[seg_rows],
        "seq": seq, "end": seq + ln, "len": ln, "syn": syn[seg_rows], "fin": fin[seg_rows],
        **{name: m[seg_rows] for name, m in marks.items()}})

    ack = unwrap(x.rel_ack[ack_rows])
    win = x.win[ack_rows]
    acks = pd.DataFrame({"sender": sender, "row": ack_rows, "frame": x.frame[ack_rows],
                         "t": x.t[ack_rows], "ack": ack, "win": win, "winend": ack + win,
                         "zero": win == 0})
    return (isn, segments, acks, _sacks(x, sender, acks, isn), _stalls(x, sender, acks))


def _isn(x: _Columns, sent_rows: np.ndarray, ack_rows: np.ndarray) -> int:
    """Absolute sequence number of the sender's relative 0: from its own segments, else
    from the ACKs of them."""
    if len(sent_rows):
        i = sent_rows[0]
        return int((x.seq[i] - x.rel_seq[i]) % 2**32)
    if len(ack_rows):
        i = ack_rows[0]
        return int((x.ack[i] - x.rel_ack[i]) % 2**32)
    return 0


def _sacks(x: _Columns, sender: str, acks: pd.DataFrame, isn: int) -> pd.DataFrame:
    lists = pa.array(x.sack.iloc[acks["row"].to_numpy()].array)
    if isinstance(lists, pa.ChunkedArray):
        lists = lists.combine_chunks()
    edges = pc.list_flatten(lists).to_numpy(zero_copy_only=False).astype(np.int64)
    parent = pc.list_parent_indices(lists).to_numpy(zero_copy_only=False).astype(np.int64)
    # each list is [left1, right1, left2, right2, ...]: a left edge is at an even place
    # in its list and has its right edge after it (a cut list drops its odd last edge)
    place = np.arange(len(edges)) - np.searchsorted(parent, parent)
    lefts = np.flatnonzero((place % 2 == 0) & (np.r_[parent[1:], -1] == parent))
    left, right, owner, block = edges[lefts], edges[lefts + 1], parent[lefts], place[lefts] // 2
    a = acks.iloc[owner]
    near = a["ack"].to_numpy()

    def rel(edge: np.ndarray) -> np.ndarray:  # relative, unwrapped next to the ACK
        return near + ((edge - isn - near) + 2**31) % 2**32 - 2**31

    return pd.DataFrame({"sender": sender, "row": a["row"].to_numpy(),
                         "frame": a["frame"].to_numpy(), "t": a["t"].to_numpy(),
                         "block": block, "left": rel(left),
                         "right": rel(right)})


def _stalls(x: _Columns, sender: str, acks: pd.DataFrame) -> pd.DataFrame:
    # as the flow-control episodes count them (report/episodes.py): a zero window in a
    # SYN or FIN does not start a stall, any non-zero window ends it
    zero = acks["zero"].to_numpy()
    eligible = np.flatnonzero(zero & ~x.has(TcpFlag.SYN | TcpFlag.FIN)[acks["row"].to_numpy()])
    last_open = np.maximum.accumulate(np.where(zero, -1, np.arange(len(zero))))
    # the first eligible zero window after each opening
    starts = eligible[np.unique(last_open[eligible], return_index=True)[1]]
    opens = np.flatnonzero(~zero)
    t, frame = acks["t"].to_numpy(), acks["frame"].to_numpy()
    end, frame_end = np.full(len(starts), x.t_end), np.full(len(starts), -1)
    if len(opens):
        pos = np.searchsorted(opens, starts)
        closed = pos < len(opens)
        j = opens[np.minimum(pos, len(opens) - 1)]
        end, frame_end = np.where(closed, t[j], end), np.where(closed, frame[j], frame_end)
    return pd.DataFrame({"sender": sender, "start": t[starts], "end": end,
                         "frame_start": frame[starts], "frame_end": frame_end})


# -- matplotlib -------------------------------------------------------------------------

def panel_height(d: SeqData) -> float:
    return 4.4


def html_height(d: SeqData) -> int:
    return 540


def draw(d: SeqData, ax) -> None:
    for sender in d.isn:
        _draw_sender(d, sender, ax, both=len(d.isn) > 1)
    spans = d.stalls
    if len(spans):
        ax.broken_barh(list(zip(spans["start"], spans["end"] - spans["start"], strict=True)),
                       (0, 1), transform=ax.get_xaxis_transform(), color="#d62728",
                       alpha=0.12, lw=0, label="zero-window stall")
    ax.set_xlabel("time since first segment (s)")
    ax.set_ylabel("relative sequence number")
    ax.set_title(f"{d.conn.title} · time-sequence of {_whose(d)} data", fontsize=9)
    ax.ticklabel_format(axis="y", style="plain", useOffset=False)
    if ax.get_legend_handles_labels()[0]:  # (nothing sent: an empty graph, no legend)
        ax.legend(fontsize=7, loc="upper left", ncol=2, framealpha=0.85)


def _whose(d: SeqData) -> str:
    return "both sides'" if d.direction == "both" else f"the {d.direction}'s"


def _vertical(x: pd.Series, lo: pd.Series, hi: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Vertical bars as one NaN-separated line: one path to draw, not one per bar (a
    LineCollection of 10k bars costs a second in matplotlib)."""
    n = len(x)
    xs, ys = np.full(3 * n, np.nan), np.full(3 * n, np.nan)
    xs[0::3] = xs[1::3] = x.to_numpy(dtype=np.float64)
    ys[0::3], ys[1::3] = lo.to_numpy(dtype=np.float64), hi.to_numpy(dtype=np.float64)
    return xs, ys


def _draw_sender(d: SeqData, sender: str, ax, *, both: bool) -> None:
    who = f" ({sender})" if both else ""
    c_data, c_ack, c_win, c_sack = PALETTES[both and sender == "server"]
    s = d.segments[d.segments["sender"] == sender]
    a = d.acks[d.acks["sender"] == sender]
    k = d.sacks[d.sacks["sender"] == sender]
    bars = s[s["len"] > 0]
    ax.plot(*_vertical(bars["t"], bars["seq"], bars["end"]), color=c_data, lw=1.2,
            label=f"data{who}")
    if len(a):
        ax.step(a["t"], a["ack"], where="post", color=c_ack, lw=0.9, label=f"ACK{who}")
        ax.step(a["t"], a["winend"], where="post", color=c_win, lw=0.9,
                label=f"ACK + window{who}")
    if len(k):
        ax.plot(*_vertical(k["t"], k["left"], k["right"]), color=c_sack, lw=2.0,
                alpha=0.8, label=f"SACK{who}")
    for m in MARKS:
        p = s[s[m.name]]
        if len(p):
            ax.plot(p["t"], p["end" if m.at_top else "seq"], m.mpl, color=m.color, ms=5,
                    mew=1.2, fillstyle="none" if m.mpl in "xDv" else "full",
                    label=f"{m.label}{who}", ls="none")
    syn, fin = s[s["syn"]], s[s["fin"]]
    if len(syn):
        ax.plot(syn["t"], syn["seq"], "d", color="#ff7f0e", ms=5, ls="none",
                label=f"SYN{who}")
    if len(fin):
        ax.plot(fin["t"], fin["end"], "s", color="#ff7f0e", ms=4, ls="none",
                label=f"FIN{who}")
    zero = a[a["zero"]]
    if len(zero):
        ax.plot(zero["t"], zero["winend"], "o", color="#d62728", ms=5, fillstyle="none",
                ls="none", label=f"zero window{who}")


# -- Plotly ---------------------------------------------------------------------------

def figure(d: SeqData) -> dict:
    traces: list[dict] = []
    for sender in d.isn:
        traces += _traces(d, sender, both=len(d.isn) > 1)
    _add_hover(d, traces)
    shapes = [{"type": "rect", "xref": "x", "yref": "paper", "x0": float(a), "x1": float(b),
               "y0": 0, "y1": 1, "fillcolor": STALL_COLOR, "line": {"width": 0},
               "layer": "below"}
              for a, b in zip(d.stalls["start"], d.stalls["end"], strict=True)]
    return {"data": traces,
            "layout": layout(f"{d.conn.title} · time-sequence of {_whose(d)} data",
                             "time since first segment (s)", "relative sequence number",
                             shapes=shapes)}


#: the columns hover_lines reads
HOVER_COLUMNS = (Col.FRAME, Col.TS, Col.ROLE, Col.FLAG_STR, Col.REL_SEQ, Col.REL_ACK, Col.WIN,
                 Col.LEN, Col.STATE_AFTER_CLIENT, Col.STATE_AFTER_SERVER, Col.EVENTS)


def _add_hover(d: SeqData, traces: list[dict]) -> None:
    """Each trace's hover text, made once for all the rows drawn (``_rows`` of each)."""
    rows = [t.pop("_rows") for t in traces]
    drawn = np.unique(np.concatenate(rows)) if rows else np.array([], dtype=np.int64)
    if not len(drawn):
        return
    text = hover_lines(d.rows[list(HOVER_COLUMNS)].iloc[drawn], t0=d.conn.t0)
    for t, r in zip(traces, rows, strict=True):
        t["text"] = text[np.searchsorted(drawn, r)].tolist()


def _points(d: SeqData, p: pd.DataFrame, x: str, y: str, *, name: str, **extra) -> dict:
    """A trace whose points are segments: frames as customdata, the hover text (added by
    :func:`_add_hover` from ``_rows``)."""
    return scatter(p[x].to_numpy(), p[y].to_numpy(), name=name,
                   customdata=p["frame"].tolist(), _rows=p["row"].to_numpy(),
                   hovertemplate="%{text}<extra>%{fullData.name}</extra>", **extra)


def _bars(d: SeqData, p: pd.DataFrame, lo: str, hi: str, *, name: str, color: str,
          width: float = 1.0) -> dict:
    """Vertical bars from ``lo`` to ``hi``: a marker at the top, an error bar down."""
    return _points(d, p, "t", hi, name=name, marker={"size": 3, "color": color},
                   error_y={"type": "data", "symmetric": False,
                            "array": typed(np.zeros(len(p))),
                            "arrayminus": typed((p[hi] - p[lo]).to_numpy(np.float64)),
                            "width": 0, "thickness": width, "color": color})


def _traces(d: SeqData, sender: str, *, both: bool) -> list[dict]:
    who = f" ({sender})" if both else ""
    c_data, c_ack, c_win, c_sack = PALETTES[both and sender == "server"]
    s = d.segments[d.segments["sender"] == sender].reset_index(drop=True)
    a = d.acks[d.acks["sender"] == sender].reset_index(drop=True)
    k = d.sacks[d.sacks["sender"] == sender].reset_index(drop=True)
    marked = s[[m.name for m in MARKS]].to_numpy().any(axis=1) | s["syn"] | s["fin"]
    bars = s.iloc[keep(s["t"].to_numpy(), s["seq"].to_numpy(), s["end"].to_numpy(),
                       marked=marked.to_numpy())]
    bars = bars[bars["len"] > 0]
    out = [_bars(d, bars, "seq", "end", name=f"data{who}", color=c_data)]
    for col, color, label in (("ack", c_ack, "ACK"), ("winend", c_win, "ACK + window")):
        kept = a.iloc[keep(a["t"].to_numpy(), a[col].to_numpy(), marked=a["zero"].to_numpy())]
        out.append(_points(d, kept, "t", col, name=f"{label}{who}", mode="lines",
                           line={"shape": "hv", "width": 1.2, "color": color}))
    if len(k):
        kept = k.iloc[keep(k["t"].to_numpy(), k["left"].to_numpy(), k["right"].to_numpy())]
        out.append(_bars(d, kept, "left", "right", name=f"SACK{who}", color=c_sack,
                         width=2.0))
    for m in MARKS:
        p = s[s[m.name]]
        if len(p):
            out.append(_points(d, p, "t", "end" if m.at_top else "seq",
                               name=f"{m.label}{who}",
                               marker={"symbol": m.symbol, "size": 8 if len(p) < 1000 else 5,
                                       "color": m.color}))
    for flag, y, symbol in (("syn", "seq", "diamond"), ("fin", "end", "square")):
        p = s[s[flag]]
        if len(p):
            out.append(_points(d, p, "t", y, name=f"{flag.upper()}{who}",
                               marker={"symbol": symbol, "size": 7, "color": "#ff7f0e"}))
    zero = a[a["zero"]]
    if len(zero):
        out.append(_points(d, zero, "t", "winend", name=f"zero window{who}",
                           marker={"symbol": "circle-open", "size": 8, "color": "#d62728"}))
    return out
