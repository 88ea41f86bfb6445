"""The live view's board: one line of state per connection, kept up to date from each
batch's rows only (counters add up, "last" values are copied, the first and last rows
are pointed at), so a refresh costs what the batch costs.  Connections the session
walked again are rebuilt from their rows; connections whose rows the session dropped
(over, ``keep=False``) go into the folded total for good.  Rendering reads the few rows
the board points at."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from ..engine.incremental import IncrementalEngine, is_over
from ..engine.registry import BY_NAME
from ..engine.states import transition_name
from ..engine.store import Store, last_by
from ..vocab import STATE_NAMES

_ZERO_WINDOW = BY_NAME["zero_window"].bit
_RETRANSMISSION = BY_NAME["retransmission"].bit  # fast and spurious included (engine)

_SPEC = {
    "first_row": (np.int64, -1, 0), "last_row": (np.int64, -1, 0),
    "segs": (np.int64, 0, 0), "retrans": (np.int64, 0, 0), "zero_win": (np.int64, 0, 0),
    # the last state change: both ends' states before/after it, and when (-1: none)
    "trans": (np.uint8, 0, 4), "trans_ns": (np.int64, -1, 0),
    "win": (np.int64, -1, 2),  # the last window the client / the server sent (-1: none)
    "bif": (np.int64, -1, 2),  # the last bytes in flight, by sender (-1: none)
    "gone": (np.uint8, 0, 0),  # its rows were dropped: counted in the folded total
}
_POINTERS = ("first_row", "last_row")

BOARD_COLUMNS = ("conn", "client → server", "client / server", "last transition",
                 "window c→s / s→c", "in flight c→s / s→c", "retrans", "zero win", "segs",
                 "idle s")


class Board:
    def __init__(self, session: IncrementalEngine):
        self.s = session
        self.b = Store(_SPEC)
        self.gone_conns = 0
        self.gone_segs = 0

    def update(self) -> None:
        """Take in the session's last batch, its re-walked connections and the rows it
        dropped."""
        R, B = self.s.rows, self.b
        B.reserve(self.s.conns.n)
        B.n = self.s.conns.n
        if self.s.compaction is not None:
            self._dropped(*self.s.compaction)
        rows = self.s.last_rows
        idx = np.arange(rows.start, rows.stop)
        again = self.s.rewalked
        if again.size:
            for name, (_, fill, _w) in _SPEC.items():
                B.full(name)[again] = fill
            idx = np.union1d(idx[~np.isin(R["conn"][idx], again)],
                             np.flatnonzero(np.isin(R["conn"], again)))
        if not idx.size:
            return
        conn = R["conn"][idx]
        n = B.n
        bits = R["bits"][idx]
        B.full("segs")[:n] += np.bincount(conn, minlength=n)
        B.full("retrans")[:n] += np.bincount(
            conn, (bits & _RETRANSMISSION) != 0, minlength=n).astype(np.int64)
        B.full("zero_win")[:n] += np.bincount(
            conn, (bits & _ZERO_WINDOW) != 0, minlength=n).astype(np.int64)
        u, first = np.unique(conn, return_index=True)
        fr = B.full("first_row")
        fr[u] = np.where(fr[u] < 0, idx[first], fr[u])
        u, last = last_by(conn, idx)
        B.full("last_row")[u] = last
        # the session keeps these of its last batch only (keep=False): copied here
        walked = self.s.outputs_of("walked", idx)
        changed = np.flatnonzero((walked[:, 0] != walked[:, 1]) | (walked[:, 2] != walked[:, 3]))
        if changed.size:
            u, at = last_by(conn[changed], changed)  # positions in idx
            B.full("trans")[u] = walked[at, :4]
            B.full("trans_ns")[u] = R["ts_ns"][idx[at]]
        sender = R["sender"][idx]
        win, bif = self.s.window(idx), self.s.outputs_of("bif", idx)
        for d in (0, 1):
            mine = np.flatnonzero(sender == d)
            u, at = last_by(conn[mine], mine)
            B.full("win")[u, d] = win[at]
            mine = mine[bif[mine] >= 0]
            u, at = last_by(conn[mine], mine)
            B.full("bif")[u, d] = bif[at]

    def _dropped(self, remap: np.ndarray, gone: np.ndarray) -> None:
        B = self.b
        first_time = gone[B["gone"][gone] == 0]
        self.gone_conns += first_time.size
        self.gone_segs += int(B["segs"][first_time].sum())
        for name, (_, fill, _w) in _SPEC.items():
            B.full(name)[gone] = fill
        B.full("gone")[gone] = 1
        for name in _POINTERS:
            p = B[name]
            valid = p >= 0
            p[valid] = remap[p[valid]]

    def frame(self, now_ns: int, linger_s: float = 5.0, limit: int = 30
              ) -> tuple[pd.DataFrame, int, int, int]:
        """(board rows to show, newest first; closed connections folded, their segments;
        open connections not shown).  A connection folds when both ends are CLOSED or
        TIME_WAIT and it has been idle for ``linger_s``."""
        R, B = self.s.rows, self.b
        seen = np.flatnonzero((B["last_row"] >= 0) & (B["gone"] == 0))
        last = B["last_row"][seen]
        after = R["after"][last]
        idle = (now_ns - R["ts_ns"][last]) / 1e9
        folded = is_over(after) & (idle >= linger_s)
        show = seen[~folded]
        by_conn = dict(zip(seen.tolist(), range(seen.size), strict=True))
        order = show[np.argsort(-B["last_row"][show], kind="stable")]
        hidden = max(0, order.size - limit)
        order = order[:limit]
        rows = [self._row(c, after[by_conn[c]], idle[by_conn[c]]) for c in order.tolist()]
        return (pd.DataFrame(rows, columns=list(BOARD_COLUMNS)),
                int(folded.sum()) + self.gone_conns,
                int(B["segs"][seen[folded]].sum()) + self.gone_segs, hidden)

    def _row(self, c: int, after: np.ndarray, idle: float) -> list:
        R, B = self.s.rows, self.b
        first = int(B["first_row"][c])
        ends = self.s.endpoints(first)
        if R["sender"][first]:  # the first segment came from the server
            ends = ends[::-1]
        trans_text = "-"
        if B["trans_ns"][c] >= 0:
            states = (int(v) for v in B["trans"][c])
            trans_text = f"{transition_name(*states)} at {_clock(B['trans_ns'][c])}"

        def per_way(col: str) -> str:
            return " / ".join("-" if v < 0 else f"{v:,}" for v in B[col][c].tolist())

        return [c, f"{ends[0]} → {ends[1]}",
                f"{STATE_NAMES[after[0]]} / {STATE_NAMES[after[1]]}", trans_text,
                per_way("win"), per_way("bif"),
                int(B["retrans"][c]), int(B["zero_win"][c]), int(B["segs"][c]),
                f"{idle:.1f}"]


def _clock(ts_ns: int) -> str:
    return dt.datetime.fromtimestamp(int(ts_ns) / 1e9).strftime("%H:%M:%S.%f")[:-3]
