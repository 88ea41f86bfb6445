"""The checks of one capture: tcpwatch against ``tshark -2`` frame by frame, the live
session against offline analysis column by column, and no traceback in either.

:func:`tshark_disagreements` is the one column comparison; it returns the long shape
``(frame, column, tcpwatch, tshark)`` that ``tcpwatch.parity.compare_with_tshark`` also
returns: once that module is in, the body becomes ``return compare_with_tshark(seg, path)``
(every contract column instead of the 20 of :data:`FIELDS`).
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

from ..analysis.registry import FLAGS
from ..capture.pcapfile import CaptureReader
from ..live import LiveSession
from ..pipeline import analyze
from ..verify import tshark_fields
from ..vocab import Col

DIFF_COLUMNS = ["frame", "column", "tcpwatch", "tshark"]

#: tcpwatch column -> the tshark field it must equal on every TCP frame
FIELDS: dict[str, str] = {
    Col.CONN: "tcp.stream", Col.REL_SEQ: "tcp.seq", Col.REL_ACK: "tcp.ack",
    Col.LEN: "tcp.len", Col.WIN_RAW: "tcp.window_size_value", Col.WIN: "tcp.window_size",
    Col.SPORT: "tcp.srcport", Col.DPORT: "tcp.dstport", Col.SEQ: "tcp.seq_raw",
    Col.ACK: "tcp.ack_raw", Col.FLAGS: "tcp.flags", Col.MSS: "tcp.options.mss_val",
    Col.WSCALE: "tcp.options.wscale.shift", Col.TSVAL: "tcp.options.timestamp.tsval",
    Col.TSECR: "tcp.options.timestamp.tsecr",
    Col.DUP_ACK_NUM: "tcp.analysis.duplicate_ack_num",
    Col.DUP_ACK_FRAME: "tcp.analysis.duplicate_ack_frame",
    Col.BYTES_IN_FLIGHT: "tcp.analysis.bytes_in_flight",
    Col.ACKED_FRAME: "tcp.analysis.acks_frame", Col.ACK_RTT: "tcp.analysis.ack_rtt",
}
RTT_TOLERANCE_S = 1e-6  # tshark prints nanoseconds; tcpwatch keeps a float


def _ours(col: pd.Series, name: str) -> pd.Series:
    """A column as text: integers in decimal (even when a merge made them floats),
    absent as ''."""
    if name == Col.ACK_RTT:
        return col.map(lambda v: "" if pd.isna(v) else repr(float(v)))
    return col.astype("object").map(lambda v: "" if pd.isna(v) else str(int(v)))


def _theirs(col: pd.Series, name: str) -> pd.Series:
    last = col.fillna("").str.split(",").str[-1]  # the innermost TCP header's
    if name == Col.FLAGS:
        return last.map(lambda v: str(int(v, 16)) if v else "")
    return last


def tshark_disagreements(seg: pd.DataFrame, path: Path | str) -> pd.DataFrame:
    """Every (frame, column) where tcpwatch's table ``seg`` of ``path`` differs from
    ``tshark -2``: the columns of :data:`FIELDS` and every analysis flag (the ``events``
    column, compared as a set of names).  A frame that only one of the two calls TCP is
    a ``frame`` row.  Empty: full agreement."""
    flag_fields = [f.field for f in FLAGS]
    ref = tshark_fields(path, [*FIELDS.values(), *flag_fields],
                        display_filter="tcp && !icmp && !icmpv6")
    ref = ref.assign(frame=ref["frame.number"].astype("int64"))
    m = seg.merge(ref, on=Col.FRAME, how="outer", indicator=True)
    one = m.loc[m["_merge"] != "both", ["frame", "_merge"]]
    out = [pd.DataFrame({"frame": one["frame"], "column": "frame",
                         "tcpwatch": np.where(one["_merge"] == "left_only", "TCP", ""),
                         "tshark": np.where(one["_merge"] == "right_only", "TCP", "")})]
    m = m[m["_merge"] == "both"].reset_index(drop=True)
    for col, fld in FIELDS.items():
        ours, theirs = _ours(m[col], col), _theirs(m[fld], col)
        if col == Col.ACK_RTT:
            a = pd.to_numeric(ours, errors="coerce").to_numpy()
            b = pd.to_numeric(theirs, errors="coerce").to_numpy()
            differ = ~((np.isnan(a) & np.isnan(b)) | (np.abs(a - b) <= RTT_TOLERANCE_S))
        else:
            differ = (ours != theirs).to_numpy()
        out.append(pd.DataFrame({"frame": m.loc[differ, Col.FRAME], "column": col,
                                 "tcpwatch": ours[differ], "tshark": theirs[differ]}))
    ours = m[Col.EVENTS].astype(str).map(lambda t: ";".join(sorted(filter(None, t.split(";")))))
    present = pd.DataFrame({f.name: m[f.field].fillna("") != "" for f in FLAGS})
    theirs = present.apply(lambda r: ";".join(sorted(r.index[r.to_numpy()])), axis=1) \
        if len(m) else pd.Series([], dtype=object)
    differ = (ours != theirs).to_numpy()
    out.append(pd.DataFrame({"frame": m.loc[differ, Col.FRAME], "column": Col.EVENTS,
                             "tcpwatch": ours[differ], "tshark": theirs[differ]}))
    diff = pd.concat(out, ignore_index=True)[DIFF_COLUMNS]
    return diff.astype({"frame": "int64"}).sort_values(["frame", "column"],
                                                       ignore_index=True)


def replay_live(path: Path | str, batch_sizes: Callable[[], int]) -> pd.DataFrame:
    """The live session fed ``path``'s frames in batches of ``batch_sizes()`` frames (as
    ``tcpwatch live`` gets them off the wire); its whole table."""
    session = LiveSession()
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
    differs), and a frame only one of them has is a ``frame`` row."""
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
    out.append(pd.DataFrame({"frame": one[Col.FRAME], "column": "frame",
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
