"""The checks of one capture: tcpwatch against ``tshark -2`` frame by frame, the live
session against offline analysis column by column, and no traceback in either.

:func:`tshark_disagreements` is the one column comparison (``parity.compare_with_tshark``:
every contract column tshark also computes, in the long shape ``(frame, column, tcpwatch,
tshark)``); :func:`live_differences` gives the same shape for live vs offline.
"""

from __future__ import annotations

import random
import traceback
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from ...capture.pcapfile import CaptureReader
from ...engine.incremental import IncrementalEngine
from ...engine.pipeline import analyze
from ...report.parity import DIFF_COLUMNS as _PARITY_COLUMNS
from ...report.parity import compare_with_tshark
from ...vocab import Col

DIFF_COLUMNS = list(_PARITY_COLUMNS)


def tshark_disagreements(seg: pd.DataFrame, path: Path | str) -> pd.DataFrame:
    """Every (frame, column) where tcpwatch's table ``seg`` of ``path`` differs from
    ``tshark -2``, on every contract column Wireshark also computes and every analysis
    flag (``parity.compare_with_tshark``; a frame only one of them calls TCP is a ``*``
    row).  Empty: full agreement."""
    return compare_with_tshark(seg, path)


def replay_live(path: Path | str, batch_sizes: Callable[[], int]) -> pd.DataFrame:
    """The live session fed ``path``'s frames in batches of ``batch_sizes()`` frames (as
    ``tcpwatch live`` gets them off the wire); its whole table."""
    session = IncrementalEngine()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for raw in CaptureReader(path, 1 << 20):
            a = 0
            while a < len(raw):
                cut = slice(a, min(a + batch_sizes(), len(raw)))
                session.add_frames(replace(
                    raw, off=raw.off[cut], caplen=raw.caplen[cut], origlen=raw.origlen[cut],
                    ts=raw.ts[cut], ts_ns=raw.ts_ns[cut], linktype=raw.linktype[cut],
                    frame=raw.frame[cut]))
                a = cut.stop
    return session.table()


def _text(col: pd.Series) -> pd.Series:
    """Exact text of every value (NA/NaN/None all '<NA>': they compare equal)."""
    return col.astype(object).map(
        lambda v: "<NA>" if v is None or v is pd.NA or (isinstance(v, float) and v != v)
        else str(v))


def live_differences(live: pd.DataFrame, offline: pd.DataFrame) -> pd.DataFrame:
    """Every (frame, column) where the live table differs from offline analysis, in
    the same long shape (``tcpwatch`` = offline, ``tshark`` = live).  Rows are matched by
    frame; rows in a different order are one ``row_order`` row (at the first row that
    differs), and a frame only one of them has is a ``*`` row."""
    out = []
    if list(live.columns) != list(offline.columns):
        out.append(pd.DataFrame([{"frame": 0, "column": "columns",
                                   "tcpwatch": " ".join(offline.columns),
                                   "tshark": " ".join(live.columns)}]))
        return pd.concat(out, ignore_index=True)
    a_frames, b_frames = offline[Col.FRAME].to_numpy(), live[Col.FRAME].to_numpy()
    if len(a_frames) == len(b_frames) and (a_frames != b_frames).any():
        i = int(np.flatnonzero(a_frames != b_frames)[0])
        out.append(pd.DataFrame([{"frame": int(a_frames[i]), "column": "row_order",
                                  "tcpwatch": f"row {i}: frame {a_frames[i]}",
                                  "tshark": f"row {i}: frame {b_frames[i]}"}]))
    m = offline.merge(live, on=Col.FRAME, how="outer", suffixes=("", "@live"),
                      indicator=True)
    one = m[m["_merge"] != "both"]
    out.append(pd.DataFrame({"frame": one[Col.FRAME], "column": "*",
                             "tcpwatch": np.where(one["_merge"] == "left_only", "TCP", ""),
                             "tshark": np.where(one["_merge"] == "right_only", "TCP", "")}))
    m = m[m["_merge"] == "both"]
    for col in offline.columns.drop(Col.FRAME):
        a, b = _text(m[col]), _text(m[f"{col}@live"])
        differ = (a != b).to_numpy()
        out.append(pd.DataFrame({"frame": m.loc[differ, Col.FRAME], "column": col,
                                 "tcpwatch": a[differ], "tshark": b[differ]}))
    return pd.concat(out, ignore_index=True)[DIFF_COLUMNS].astype({"frame": "int64"})


@dataclass(slots=True)
class Findings:
    """What the checks of one capture found."""

    segments: int = 0
    connections: int = 0
    tracebacks: list[str] = field(default_factory=list)  # "analyze: ...", "live: ..."
    tshark: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=DIFF_COLUMNS))
    live: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=DIFF_COLUMNS))
    offline: pd.DataFrame | None = None  # tcpwatch's table, when analyze ran

    @property
    def ok(self) -> bool:
        return not self.tracebacks and self.tshark.empty and self.live.empty

    def kinds(self) -> list[str]:
        return (["traceback"] * bool(self.tracebacks) + ["tshark"] * (not self.tshark.empty)
                + ["live"] * (not self.live.empty))


def _traceback(where: str) -> str:
    return f"{where}: {traceback.format_exc(limit=-3).strip()}"


def check(path: Path | str, seed: int = 0) -> Findings:
    """Every check of one capture.  The live session's batch sizes come from ``seed``
    (1 to 400 frames, so batch boundaries fall everywhere)."""
    found = Findings()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            offline = analyze(path)
        found.offline = offline
        found.segments = len(offline)
        found.connections = int(offline[Col.CONN].nunique())
    except Exception:
        found.tracebacks.append(_traceback("analyze"))
        offline = None
    if offline is not None:
        try:
            found.tshark = tshark_disagreements(offline, path)
        except Exception:
            found.tracebacks.append(_traceback("tshark comparison"))
    rng = random.Random(seed)
    try:
        live = replay_live(path, lambda: rng.choice((1, 2, 7, 50, 400)))
        if offline is not None:
            found.live = live_differences(live, offline)
    except Exception:
        found.tracebacks.append(_traceback("live"))
    return found
