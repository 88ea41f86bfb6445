"""``tcpwatch verify``: Wireshark's own analysis of the same file, flag by flag.

The reference is tshark (two passes, ``-2``), read through pyshark for ordinary
captures; for large ones pyshark's per-packet objects are too slow and tshark's
``-T fields`` output is read directly (``engine="fields"``; same tshark, same fields).
"""

from __future__ import annotations

import contextlib
import csv
import io
import shutil
import subprocess
import warnings
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..engine.arrays import event_bits
from ..engine.registry import FLAGS
from ..errors import TcpwatchError
from ..vocab import Col
from .fit import PIPE_WIDTH, Column, FittedTable, fitted_table

PYSHARK_MAX_SEGMENTS = 50_000
NUMBER_FIELDS = {Col.BYTES_IN_FLIGHT: "tcp.analysis.bytes_in_flight",
                 Col.ACKED_FRAME: "tcp.analysis.acks_frame",
                 Col.DUP_ACK_NUM: "tcp.analysis.duplicate_ack_num"}
REF_FIELDS = [f.field for f in FLAGS] + list(NUMBER_FIELDS.values())


def tshark_fields(path: Path | str, fields: list[str], display_filter: str = "tcp",
                  two_pass: bool = True) -> pd.DataFrame:
    """tshark ``-T fields``: one row per frame matching ``display_filter`` (strings)."""
    exe = shutil.which("tshark")
    if exe is None:
        raise TcpwatchError("tshark is not installed (scripts/setup installs it)")
    cmd = [exe, "-n", "-r", str(path), "-T", "fields", "-E", "header=y", "-E", "separator=/t",
           "-E", "occurrence=a", "-E", "aggregator=,", "-e", "frame.number"]
    if two_pass:
        cmd.insert(1, "-2")
    for f in fields:
        cmd += ["-e", f]
    if display_filter:
        cmd += ["-Y", display_filter]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        raise TcpwatchError(f"tshark failed: {res.stderr.strip().splitlines()[-1:]}")
    rows = list(csv.reader(io.StringIO(res.stdout), delimiter="\t", quoting=csv.QUOTE_NONE))
    if not rows:
        return pd.DataFrame(columns=["frame.number", *fields])
    return pd.DataFrame(rows[1:], columns=rows[0])


def _pyshark_reference(path: Path) -> pd.DataFrame:
    import pyshark

    cap = pyshark.FileCapture(str(path), display_filter="tcp && !icmp && !icmpv6",
                              keep_packets=False, custom_parameters=["-2"])
    rows = []
    try:
        for pkt in cap:
            tcp = pkt.tcp
            row = {"frame.number": str(pkt.number)}
            for field in REF_FIELDS:
                name = field.removeprefix("tcp.").replace(".", "_")
                value = tcp.get_field(name)
                row[field] = "" if value is None else (str(value) if str(value) else "1")
            rows.append(row)
    finally:
        cap.close()
        _detach_child_watcher()
    return pd.DataFrame(rows, columns=["frame.number", *REF_FIELDS])


def _detach_child_watcher() -> None:
    """pyshark installs a SafeChildWatcher with its SIGCHLD handler on its event loop;
    every later child process's exit then writes to the loop's wake-up pipe, which nobody
    reads, until it is full.  Detach it, and put back Python's default watcher (a thread
    per child): a detached one is inactive, and the next asyncio subprocess in this
    process (playwright's driver, say) would be refused.  The next FileCapture installs
    its own again."""
    import asyncio

    with contextlib.suppress(Exception), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        asyncio.get_child_watcher().attach_loop(None)
        asyncio.set_child_watcher(asyncio.ThreadedChildWatcher())


def tshark_reference(path: Path | str, engine: str = "pyshark") -> pd.DataFrame:
    """Wireshark's analysis fields per TCP frame (strings; empty = absent)."""
    path = Path(path)
    if engine == "pyshark":
        return _pyshark_reference(path)
    return tshark_fields(path, REF_FIELDS, display_filter="tcp && !icmp && !icmpv6")


@dataclass(frozen=True, slots=True)
class Verdict:
    table: pd.DataFrame  # one row per flag / number
    disagreements: list[str]

    @property
    def ok(self) -> bool:
        return bool((self.table["agree"]).all())


def compare(seg: pd.DataFrame, ref: pd.DataFrame, show: int = 5) -> Verdict:
    ref = ref.assign(frame=ref["frame.number"].astype(int))
    m = seg.merge(ref, on=Col.FRAME, how="outer", indicator=True)
    bits = event_bits(m[Col.EVENTS])  # one parse per distinct text, then bits per row
    rows, notes = [], []
    for flag in FLAGS:
        ours = (bits & flag.bit) != 0
        theirs = (m[flag.field].fillna("") != "").to_numpy()
        tp = int((ours & theirs).sum())
        differ = m.loc[ours != theirs, Col.FRAME].tolist()
        rows.append({"check": flag.name, "tcpwatch": int(ours.sum()),
                     "wireshark": int(theirs.sum()), "both": tp,
                     "precision": tp / ours.sum() if ours.sum() else 1.0,
                     "recall": tp / theirs.sum() if theirs.sum() else 1.0,
                     "agree": not differ})
        for frame in differ[:show]:
            r = m[m[Col.FRAME] == frame].iloc[0]
            theirs_here = [f.name for f in FLAGS if str(r[f.field] or "")]
            notes.append(f"{flag.name}: frame {frame}: tcpwatch [{r[Col.EVENTS]}], "
                         f"wireshark [{';'.join(theirs_here)}]")
    for col, field in NUMBER_FIELDS.items():
        want = pd.to_numeric(m[field].fillna("").str.split(",").str[0], errors="coerce")
        got = m[col].astype("float")
        differ = m.loc[want.fillna(-1) != got.fillna(-1), Col.FRAME].tolist()
        rows.append({"check": col, "tcpwatch": int(got.notna().sum()),
                     "wireshark": int(want.notna().sum()),
                     "both": int((want == got).sum()), "precision": float("nan"),
                     "recall": float("nan"), "agree": not differ})
        notes += [f"{col}: frame {f}: tcpwatch {got[m[Col.FRAME] == f].iloc[0]}, wireshark "
                  f"{want[m[Col.FRAME] == f].iloc[0]}" for f in differ[:show]]
    missing = int((m["_merge"] != "both").sum())
    if missing:
        notes.append(f"{missing} frames are TCP for only one of the two")
        rows.append({"check": "frames", "tcpwatch": int((m["_merge"] != "right_only").sum()),
                     "wireshark": int((m["_merge"] != "left_only").sum()),
                     "both": int((m["_merge"] == "both").sum()), "precision": float("nan"),
                     "recall": float("nan"), "agree": False})
    return Verdict(pd.DataFrame(rows), notes)


def render(verdict: Verdict, title: str, width: int | None = None) -> FittedTable:
    """The verdict as a table no wider than ``width`` (agreement in green or red on a
    terminal)."""
    rows = list(verdict.table.itertuples(index=False))

    def share(v) -> str:
        return "" if pd.isna(v) else f"{v:.4f}"

    return fitted_table([
        Column("check", [r.check for r in rows]),
        Column("tcpwatch", [f"{r.tcpwatch:,}" for r in rows], numeric=True),
        Column("wireshark", [f"{r.wireshark:,}" for r in rows], numeric=True),
        Column("both", [f"{r.both:,}" for r in rows], numeric=True, rank=1),
        Column("precision", [share(r.precision) for r in rows], numeric=True, rank=2),
        Column("recall", [share(r.recall) for r in rows], numeric=True, rank=2),
        Column("agreement", ["agree" if r.agree else "DISAGREE" for r in rows],
               styles=["green" if r.agree else "red" for r in rows]),
    ], width or PIPE_WIDTH, title=title)
