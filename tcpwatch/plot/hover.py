"""The hover text of one segment, the same in every interactive kind: its frame, time,
tcpdump-style line, both ends' states and Wireshark's flags."""

from __future__ import annotations

import numpy as np
import pandas as pd


def _text(col: pd.Series) -> np.ndarray:
    """A column as strings, missing values empty; a categorical through its categories
    (one string per category, then the codes: a tenth of the time of the object path)."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        names = np.append(col.cat.categories.astype(str).to_numpy(dtype=str), "")
        return names[col.cat.codes.to_numpy()]  # code -1 (missing) takes the "" at the end
    return col.astype(object).where(col.notna(), "").astype(str).to_numpy()


def hover_lines(segs: pd.DataFrame, t0: float | None = None) -> np.ndarray:
    """One HTML hover string per row of ``segs`` (whole columns, no per-row Python objects
    beyond the final strings); times are seconds since ``t0`` (the connection's first
    segment, :attr:`Conn.t0`), else since the first of ``segs``."""
    if t0 is None:
        t0 = float(segs["ts"].iloc[0]) if len(segs) else 0.0
    frame = segs["frame"].astype(str).to_numpy()
    rel = np.char.mod("%.6f", (segs["ts"].to_numpy() - t0))
    role = _text(segs["role"])
    flags = _text(segs["flag_str"])
    seq = segs["rel_seq"].astype(str).to_numpy()
    ack = segs["rel_ack"].astype(str).to_numpy()
    win = segs["win"].astype(str).to_numpy()
    ln = segs["len"].astype(str).to_numpy()
    cstate = _text(segs["state_after_client"])
    sstate = _text(segs["state_after_server"])
    events = _text(segs["events"])
    out = np.char.add("frame ", frame)
    for part in (" · t=", rel, "s<br>", role, " [", flags, "] seq ", seq, " ack ", ack,
                 " win ", win, " len ", ln, "<br>client ", cstate, " · server ", sstate):
        out = np.char.add(out, part)
    has_ev = events != ""
    out[has_ev] = np.char.add(np.char.add(out[has_ev], "<br>"), events[has_ev])
    return out
