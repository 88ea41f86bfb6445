"""The ladder as a Plotly figure (plain dicts): the lines and their state bands as
shapes; one line trace per arrow colour (every point's ``customdata`` its frame, hover
the segment's text, an arrowhead at the receiver's end); the tcpdump labels and the
state names as text traces named ``segment labels``, ``client states``, ``server
states``, ``start states`` and ``unseen states``; the folded gaps as annotations."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .ladder import (
    EXPIRY_NOTE,
    IDLE_MIN,
    INFERRED_NOTE,
    SLOPE,
    X_CLIENT,
    X_MID,
    X_SERVER,
    X_TIME,
    LadderData,
    idle_text,
    ladder_title,
    line_pieces,
)
from .ladder_text import STATE_COLOURS

_X = {"client": X_CLIENT, "server": X_SERVER}
_MONO = "DejaVu Sans Mono, Menlo, Consolas, monospace"
_HOVER = "%{text}<extra></extra>"


def _line(x: float, y0: float, y1: float, **style) -> dict:
    return {"type": "line", "xref": "x", "yref": "y", "x0": x, "x1": x, "y0": y0, "y1": y1,
            "layer": "below", "line": style}


def _shapes(d: LadderData) -> list[dict]:
    shapes = [_line(_X[s.side], s.y0, s.y1, color=STATE_COLOURS.get(s.state, "#ffffff"),
                    width=11) | {"opacity": 1.0 if s.seen else 0.55}
              for s in d.spans.itertuples(index=False)]
    solid, dotted = line_pieces(d)
    for x in (X_CLIENT, X_SERVER):
        shapes += [_line(x, a, b, color="#333333", width=1.2) for a, b in solid]
        shapes += [_line(x, a, b, color="#333333", width=1.2, dash="dot") for a, b in dotted]
    shapes += [_line(_X[s.side], s.y0, s.y1, color="#888888", width=1.2, dash="dash")
               for s in d.spans[~d.spans["seen"]].itertuples(index=False)]
    return shapes


def _arrows(rows: pd.DataFrame) -> list[dict]:
    """One trace per colour: sender end, receiver end (with the arrowhead), a break."""
    traces = []
    for (kind, colour), r in rows.groupby(["kind", "colour"], sort=False):
        n = len(r)
        x = np.c_[r["sender"].map(_X), r["receiver"].map(_X), np.full(n, np.nan)].ravel()
        y = np.c_[r["y"], r["y"] + SLOPE, np.full(n, np.nan)].ravel()
        frames = np.repeat(r["frame"].to_numpy(), 3).tolist()
        hover = np.repeat(r["hover"].to_numpy(), 3).tolist()
        traces.append({
            "type": "scatter", "mode": "lines+markers", "name": kind, "meta": "arrow",
            "x": [None if np.isnan(v) else float(v) for v in x],
            "y": [None if np.isnan(v) else float(v) for v in y],
            "line": {"color": colour, "width": 1.6},
            "marker": {"symbol": "arrow", "angleref": "previous", "color": colour,
                       "size": np.tile([0, 11, 0], n).tolist()},
            "customdata": frames, "text": hover, "hovertemplate": _HOVER})
    return traces


def _text_trace(name: str, x, y, text, *, frames, hover=None, colour="#222222",
                size: float = 11, position: str = "middle center", bold=False) -> dict:
    return {"type": "scatter", "mode": "text", "name": name, "x": list(x), "y": list(y),
            "text": list(text), "textposition": position, "showlegend": False,
            "textfont": {"family": _MONO, "size": size, "color": colour,
                         "weight": 700 if bold else 400},
            "customdata": list(frames), "hovertext": list(hover if hover is not None else text),
            "hovertemplate": "%{hovertext}<extra></extra>"}


def ladder_figure(d: LadderData) -> dict:
    r = d.rows
    mid = (r["y"] + SLOPE / 2).tolist()
    traces = _arrows(r)
    # the labels are annotations (a white box hides the arrow behind them); this trace
    # holds the same text and gives the label's middle a hover with the segment's frame
    traces.append(_text_trace("segment labels", [X_MID] * len(r), mid, r["label"],
                              frames=r["frame"].tolist(), hover=r["hover"]) | {
        "mode": "markers", "marker": {"size": 16, "opacity": 0}})
    extra = [" · ".join(t for t in (tg, nt) if t) for tg, nt in zip(r["tags"], r["note"],
                                                                 strict=True)]
    traces.append(_text_trace("segment notes", [X_MID] * len(r), [m + 0.42 for m in mid],
                              extra, frames=r["frame"].tolist(), hover=r["hover"], size=9,
                              colour=[c if t else "#555555" for c, t in
                                      zip(r["colour"], r["tags"], strict=True)]))
    traces.append(_text_trace("time", [X_TIME] * len(r), r["y"],
                              [f"#{f:<6} {t:.6f}" for f, t in zip(r["frame"], r["t"],
                                                                 strict=True)],
                              frames=r["frame"].tolist(), hover=r["hover"], size=9,
                              colour="#444444", position="middle right"))
    st = d.states
    for name, sel in (("client states", (st["kind"] == "change") & (st["side"] == "client")),
                      ("server states", (st["kind"] == "change") & (st["side"] == "server")),
                      ("start states", st["kind"].isin(["start", "inferred"])),
                      ("unseen states", st["kind"] == "unseen")):
        s = st[sel]
        left = (s["side"] == "client").to_numpy()
        seen = name != "unseen states" and not (s["kind"] == "inferred").any()
        traces.append(_text_trace(
            name, np.where(left, X_CLIENT - 1.8, X_SERVER + 1.8).tolist(), s["y_label"],
            s["state"], frames=s["frame"].tolist(), bold=seen,
            hover=[f"{sd}: {state}" + ("" if seen else f" ({_why(k)})") for sd, state, k in
                   zip(s["side"], s["state"], s["kind"], strict=True)],
            colour="#111111" if seen else "#777777",
            position=["middle left" if lf else "middle right" for lf in left]))
    notes = [{"x": X_MID, "y": m - 0.02, "text": t, "showarrow": False, "bgcolor":
              "rgba(255,255,255,0.9)", "borderpad": 1, "font": {"family": _MONO, "size": 10}}
             for m, t in zip(mid, r["label"], strict=True)]
    notes += [{"x": X_MID, "y": g.y + g.height / 2 - 0.25, "text": g.label.replace("\n", "<br>"),
              "showarrow": False, "font": {"size": 11, "color": "#555555"},
              "bgcolor": "rgba(255,255,255,0.9)"} for g in d.gaps.itertuples(index=False)]
    notes += [{"x": _X[side], "y": -0.75, "text": f"<b>{side}</b><br>{who}",
               "showarrow": False, "yanchor": "bottom", "font": {"size": 12}}
              for side, who in (("client", d.conn.client), ("server", d.conn.server))]
    notes += [{"x": _X[u.side] + (-1.8 if u.side == "client" else 1.8), "y": u.y_label + 0.55,
               "text": f"<i>{EXPIRY_NOTE}</i>", "showarrow": False,
               "xanchor": "right" if u.side == "client" else "left",
               "font": {"size": 9, "color": "#777777"}}
              for u in st[st["kind"] == "unseen"].itertuples(index=False)]
    notes += [{"x": X_TIME + 5, "y": y - 0.5, "text": f"<i>{idle_text(i)}</i>",
               "showarrow": False, "xanchor": "left", "font": {"size": 9, "color": "#aa5500"}}
              for y, i in zip(r["y"], r["idle"], strict=True) if i >= IDLE_MIN]
    if (st["kind"] == "inferred").any():
        notes.append({"x": X_MID, "y": 0.5, "text": f"<i>{INFERRED_NOTE}</i>",
                      "showarrow": False, "font": {"size": 10, "color": "#777777"}})
    return {"data": traces, "layout": {
        "title": {"text": ladder_title(d), "font": {"size": 14}},
        "xaxis": {"range": [-1, 101], "visible": False, "fixedrange": False},
        "yaxis": {"range": [d.y_bottom, -1.9], "visible": False},
        "shapes": _shapes(d), "annotations": notes, "hovermode": "closest",
        "dragmode": "pan", "showlegend": True, "legend": {"orientation": "h", "x": 0.5,
                                                          "xanchor": "center", "y": 0.0,
                                                          "yanchor": "top"},
        "margin": {"l": 10, "r": 10, "t": 70, "b": 10}, "plot_bgcolor": "white"}}


def _why(kind: str) -> str:
    return INFERRED_NOTE if kind == "inferred" else EXPIRY_NOTE
