"""tshark as the reference: run it on a capture and return its fields per frame."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tcpwatch.verify import tshark_fields

#: tcpwatch column -> tshark field it must equal, frame for frame
TCP_PARITY_FIELDS = {
    "conn": "tcp.stream",
    "rel_seq": "tcp.seq",
    "rel_ack": "tcp.ack",
    "len": "tcp.len",
    "win_raw": "tcp.window_size_value",
    "win": "tcp.window_size",
}


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
