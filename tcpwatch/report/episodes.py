"""Flow-control episodes: stretches of time when one side's window was closed or full.

* zero-window episode: from a segment advertising a zero window (no SYN/FIN/RST) until
  the same side's first segment advertising a non-zero window again (the window
  update); the side that advertised zero stalled its peer's sending.  ``probes`` counts
  the peer's probes meanwhile (Wireshark: keep_alive for Linux's probes, or
  zero_window_probe).  An episode still open at the end of the capture has no end.
* window-full episode: consecutive segments of one side flagged window_full.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..engine.arrays import SegmentArrays
from ..vocab import TcpFlag

EPISODE_COLUMNS = ("conn", "kind", "side", "stalled", "start", "end", "duration", "segments",
                   "probes")


def _runs(key: np.ndarray, on: np.ndarray):
    """Start and end row positions (within ``key``-sorted rows) of runs where ``on``."""
    prev_on = np.r_[False, on[:-1]] & (np.r_[-1, key[:-1]] == key)
    next_on = np.r_[on[1:], False] & (np.r_[key[1:], -1] == key)
    return np.flatnonzero(on & ~prev_on), np.flatnonzero(on & ~next_on)


def episodes(seg: pd.DataFrame | SegmentArrays) -> pd.DataFrame:
    """The episodes of an annotated table (or the engine's typed arrays of one)."""
    if len(seg) == 0:
        return pd.DataFrame(columns=list(EPISODE_COLUMNS))
    a = SegmentArrays.from_frame(seg) if isinstance(seg, pd.DataFrame) else seg
    key = a.conn * 2 + a.sender
    order = np.lexsort((a.frame, key))
    k = key[order]
    ts = a.ts[order]
    frame = a.frame[order]
    sfr = (a.flags[order] & (TcpFlag.SYN | TcpFlag.FIN | TcpFlag.RST)) != 0
    zero = (a.win_raw[order] == 0) & ~sfr
    full = a.has("window_full")[order]
    probe_rows = a.has("keep_alive", "zero_window_probe")[order]
    out = []
    for kind, on in (("zero_window", zero), ("window_full", full)):
        starts, ends = _runs(k, on)
        for s, e in zip(starts.tolist(), ends.tolist(), strict=True):
            c, side_client = int(k[s] // 2), k[s] % 2 == 0
            side = "client" if side_client else "server"
            peer = "server" if side_client else "client"
            if kind == "zero_window":
                # ends at this side's next segment with a window again
                nxt = e + 1 if e + 1 < len(k) and k[e + 1] == k[s] else None
                end_ts = ts[nxt] if nxt is not None else np.nan
                peer_key = c * 2 + (1 if side_client else 0)
                lo = np.searchsorted(k, peer_key)
                hi = np.searchsorted(k, peer_key, side="right")
                t_end = end_ts if nxt is not None else np.inf
                between = (frame[lo:hi] > frame[s]) & (ts[lo:hi] <= t_end)
                probes = int((probe_rows[lo:hi] & between).sum())
                stalled = f"{side}'s window closed: {peer} stalled"
            else:
                end_ts, probes = ts[e], 0
                stalled = f"{side} filled {peer}'s window"
            out.append({"conn": c, "kind": kind, "side": side, "stalled": stalled,
                        "start": ts[s], "end": end_ts, "duration": end_ts - ts[s],
                        "segments": int(e - s + 1), "probes": probes})
    return pd.DataFrame(out, columns=list(EPISODE_COLUMNS)).sort_values(
        ["conn", "start"], kind="stable").reset_index(drop=True)
