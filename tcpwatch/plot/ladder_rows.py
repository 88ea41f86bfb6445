"""Which segments a ladder draws, and the gaps that stand for the rest.

A short connection is drawn whole. A long one keeps, in order of need:

0. the handshake and the teardown (the first and last few rows), every SYN, FIN and
   RST, every row where either end's state changes, and every state-machine violation;
1. every row with a loss, reordering or closed-window flag (:data:`EVENT_MARKS` tier 1);
2. every other flagged row (duplicate ACKs, window updates, keep-alives);

each group whole if it fits in what is left of :data:`MAX_ROWS`, else spread evenly
over the connection. A run of unkept rows becomes one gap, labelled with its segment
count, the bytes each way and the time it spans (and the flags it hides, if any); a gap
of one segment is drawn instead when the budget allows. All of it is whole-column numpy,
so a connection of a million segments costs milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..vocab import Col, TcpFlag
from .ladder_text import event_names, event_tier, short_tag

#: a connection with at most this many segments is drawn whole
FULL_MAX = 80
#: most segment rows a folded ladder draws (matplotlib draws a row's texts in about 10 ms: 60 rows
#: keep a 10k-segment connection's PNG under a second)
MAX_ROWS = 60
#: rows of the handshake and of the teardown always drawn
HEAD = TAIL = 5


@dataclass(frozen=True)
class Fold:
    keep: np.ndarray  # sorted row positions drawn
    gaps: pd.DataFrame  # one row per gap: start, stop (row positions, stop exclusive), ...


def names(col: pd.Series) -> np.ndarray:
    """A text or categorical column as a numpy array of ``str`` objects ("" for missing),
    through the categories when it has them (no per-row string conversion)."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        cats = np.array([str(c) for c in col.cat.categories] + [""], dtype=object)
        return cats[col.cat.codes.to_numpy()]  # code -1 (missing) picks the ""
    return np.array(["" if pd.isna(v) else str(v) for v in col], dtype=object)


def equals(col: pd.Series, value: str) -> np.ndarray:
    """col == value for a text or categorical column, without building row strings."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        cats = [str(c) for c in col.cat.categories]
        return (col.cat.codes.to_numpy() == cats.index(value)) if value in cats else \
            np.zeros(len(col), bool)
    return names(col) == value


def nonempty(col: pd.Series) -> np.ndarray:
    """Rows of a text or categorical column that say something (not missing, not "")."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        codes = col.cat.codes.to_numpy()
        cats = [str(c) for c in col.cat.categories]
        return (codes >= 0) & (codes != (cats.index("") if "" in cats else -1))
    return names(col) != ""


def differs(a: pd.Series, b: pd.Series) -> np.ndarray:
    """a != b for two state columns (category codes when both share categories)."""
    if (isinstance(a.dtype, pd.CategoricalDtype) and isinstance(b.dtype, pd.CategoricalDtype)
            and a.dtype == b.dtype):
        return a.cat.codes.to_numpy() != b.cat.codes.to_numpy()
    return names(a) != names(b)


def state_changes(segs: pd.DataFrame) -> np.ndarray:
    """Rows where either end's state changes."""
    return (differs(segs[Col.STATE_BEFORE_CLIENT], segs[Col.STATE_AFTER_CLIENT])
            | differs(segs[Col.STATE_BEFORE_SERVER], segs[Col.STATE_AFTER_SERVER]))


def _event_codes(segs: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
    """Each row's ``events`` as a code into a list of distinct values (few)."""
    ev = segs[Col.EVENTS]
    if not isinstance(ev.dtype, pd.CategoricalDtype):
        ev = ev.astype("category")
    cats = [str(c) for c in ev.cat.categories]
    codes = ev.cat.codes.to_numpy().astype(np.int64)
    codes[codes < 0] = len(cats)
    return codes, [*cats, ""]


def _pick(mask: np.ndarray, taken: np.ndarray, budget: int) -> np.ndarray:
    """Rows of ``mask`` not yet ``taken``: all if they fit ``budget``, else spread evenly."""
    idx = np.flatnonzero(mask & ~taken)
    if len(idx) <= budget:
        return idx
    if budget <= 0:
        return idx[:0]
    return np.unique(idx[np.linspace(0, len(idx) - 1, budget).round().astype(np.int64)])


def choose(segs: pd.DataFrame, *, max_rows: int = MAX_ROWS, full_max: int = FULL_MAX) -> Fold:
    """The rows to draw and the gaps between them (module docstring)."""
    n = len(segs)
    if n <= full_max:
        return Fold(np.arange(n), _gaps(segs, np.ones(n, bool), *_event_codes(segs)))
    pos = np.arange(n)
    flags = segs[Col.FLAGS].to_numpy()
    codes, cats = _event_codes(segs)
    tier_of = np.array([event_tier(c) for c in cats], np.int8)
    tier = tier_of[codes]
    ends = (pos < HEAD) | (pos >= n - TAIL)
    control = (((flags & int(TcpFlag.SYN | TcpFlag.FIN | TcpFlag.RST)) != 0)
               | state_changes(segs) | nonempty(segs[Col.VIOLATION]))
    taken = np.zeros(n, bool)
    for mask in (ends, control, tier == 1, tier == 2):
        taken[_pick(mask, taken, max_rows - int(taken.sum()))] = True
    # a gap of one segment costs a row as much as the segment: draw it while rows are left
    lone = np.flatnonzero(~taken[1:-1] & taken[:-2] & taken[2:]) + 1
    taken[lone[:max(0, max_rows - int(taken.sum()))]] = True
    return Fold(np.flatnonzero(taken), _gaps(segs, taken, codes, cats))


def _gaps(segs: pd.DataFrame, taken: np.ndarray, codes: np.ndarray,
          cats: list[str]) -> pd.DataFrame:
    """One row per run of unkept rows: start, stop, segments, bytes each way, seconds
    spanned, and the text of its label."""
    edge = np.diff(np.r_[0, (~taken).astype(np.int8), 0])
    start, stop = np.flatnonzero(edge == 1), np.flatnonzero(edge == -1)
    if not len(start):
        none = np.zeros(0, np.int64)
        return pd.DataFrame({"start": none, "stop": none, "segments": none,
                             "bytes_client": none, "bytes_server": none,
                             "seconds": np.zeros(0), "label": np.zeros(0, object)})
    length = segs[Col.LEN].to_numpy().astype(np.int64)
    client = equals(segs[Col.ROLE], "client")
    cum_c = np.r_[0, np.cumsum(np.where(client, length, 0))]
    cum_s = np.r_[0, np.cumsum(np.where(client, 0, length))]
    ts = segs[Col.TS].to_numpy()
    gaps = pd.DataFrame({"start": start, "stop": stop, "segments": stop - start,
                         "bytes_client": cum_c[stop] - cum_c[start],
                         "bytes_server": cum_s[stop] - cum_s[start],
                         "seconds": ts[stop - 1] - ts[start]})
    hidden = _hidden_flags(taken, codes, cats, start, len(gaps))
    gaps["label"] = [_gap_label(g, h) for g, h in zip(gaps.itertuples(), hidden, strict=True)]
    return gaps


def _hidden_flags(taken: np.ndarray, codes: np.ndarray, cats: list[str], start: np.ndarray,
                  n_gaps: int) -> list[dict[str, int]]:
    """Per gap, how many rows of each analysis flag it folds away."""
    marker = np.zeros(len(taken), np.int64)
    marker[start] = 1
    gap_of = np.cumsum(marker) - 1
    folded = ~taken
    counts = np.bincount(gap_of[folded] * len(cats) + codes[folded],
                         minlength=n_gaps * len(cats)).reshape(n_gaps, len(cats))
    out: list[dict[str, int]] = []
    for row in counts:
        per: dict[str, int] = {}
        for k in np.flatnonzero(row):
            for name in event_names(cats[k]):
                per[name] = per.get(name, 0) + int(row[k])
        out.append(per)
    return out


def human_bytes(n: int) -> str:
    """1,234 B · 12.3 kB · 1.7 MB (decimal units, as Wireshark's statistics)."""
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n:,} B"


def human_seconds(s: float) -> str:
    """0.83 s · 12.4 ms · 38 µs"""
    for unit, size in (("s", 1.0), ("ms", 1e-3)):
        if s >= size:
            return f"{s / size:.3g} {unit}"
    return f"{s * 1e6:.3g} µs"


def _gap_label(g, hidden: dict[str, int]) -> str:
    parts = [f"{g.segments:,} segment{'s' if g.segments != 1 else ''}"]
    parts += [f"{human_bytes(int(n))} {arrow}" for n, arrow in
              ((g.bytes_client, "→"), (g.bytes_server, "←")) if n]
    if g.segments > 1:
        parts.append(human_seconds(float(g.seconds)))
    text = "⋯ " + " · ".join(parts) + " ⋯"
    if hidden:
        text += "\n(" + ", ".join(f"{v:,} {short_tag(k)}" for k, v in
                                  sorted(hidden.items(), key=lambda kv: -kv[1])) + ")"
    return text
