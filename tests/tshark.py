"""tshark as the reference: run it on a capture and return its fields per frame."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from pathlib import Path

import pandas as pd

TSHARK = shutil.which("tshark")

#: tcpwatch column -> tshark field it must equal, frame for frame
TCP_PARITY_FIELDS = {
    "conn": "tcp.stream",
    "rel_seq": "tcp.seq",
    "rel_ack": "tcp.ack",
    "len": "tcp.len",
    "win_raw": "tcp.window_size_value",
    "win": "tcp.window_size",
}


def tshark_fields(path: Path | str, fields: list[str], display_filter: str = "tcp",
                  two_pass: bool = True) -> pd.DataFrame:
    """Fields of every frame matching ``display_filter``; one row per frame."""
    cmd = [TSHARK or "tshark", "-n", "-r", str(path), "-T", "fields", "-E", "header=y",
           "-E", "separator=/t", "-E", "occurrence=a", "-E", "aggregator=,",
           "-e", "frame.number"]
    if two_pass:
        cmd.insert(1, "-2")
    for f in fields:
        cmd += ["-e", f]
    if display_filter:
        cmd += ["-Y", display_filter]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rows = list(csv.reader(io.StringIO(out), delimiter="\t", quoting=csv.QUOTE_NONE))
    return pd.DataFrame(rows[1:], columns=rows[0]) if rows else pd.DataFrame(
        columns=["frame.number", *fields])


def compare_with_tshark(seg: pd.DataFrame, path: Path | str) -> pd.DataFrame:
    """Rows where any parity column differs from tshark (empty frame = 100 % agreement).

    Only frames whose outermost transport is TCP are compared: tshark also shows TCP
    fields for TCP headers quoted inside ICMP errors, which are not segments.
    """
    ref = tshark_fields(path, list(TCP_PARITY_FIELDS.values()),
                        display_filter="tcp && !icmp && !icmpv6")
    ref = ref.rename(columns={"frame.number": "frame"}).astype({"frame": "int64"})
    for fld in TCP_PARITY_FIELDS.values():
        ref[fld] = pd.to_numeric(ref[fld].str.split(",").str[-1], errors="coerce")
    ours = seg[["frame", *TCP_PARITY_FIELDS]].astype("int64")
    merged = ours.merge(ref, on="frame", how="outer", indicator=True)
    bad = merged["_merge"] != "both"
    for col, fld in TCP_PARITY_FIELDS.items():
        bad |= merged[col] != merged[fld]
    return merged[bad]
