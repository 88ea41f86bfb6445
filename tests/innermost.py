"""tshark's view of a frame's innermost TCP segment: the last IP layer's addresses and
version, the last TCP header's ports (tunnelled frames carry several of each)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tcpwatch.report.verify import tshark_fields

FIELDS = ["frame.protocols", "ip.src", "ip.dst", "ipv6.src", "ipv6.dst", "tcp.srcport",
          "tcp.dstport"]


def tshark_innermost(path: Path | str) -> pd.DataFrame:
    """One row per TCP frame (ICMP-quoted headers left out): frame, src, dst, sport,
    dport, ip_version, ``ip_layers`` (the number of IP headers tshark decoded) and
    ``outer_version`` (the first IP header's)."""
    ref = tshark_fields(path, FIELDS, display_filter="tcp && !icmp && !icmpv6")
    rows = []
    for r in ref.itertuples(index=False):
        protos = r[1].split(":")
        ips = [p for p in protos if p in ("ip", "ipv6")]
        last = ips[-1]
        src, dst = (r[2], r[3]) if last == "ip" else (r[4], r[5])
        rows.append({"frame": int(r[0]), "src": src.split(",")[-1],
                     "dst": dst.split(",")[-1], "sport": int(r[6].split(",")[-1]),
                     "dport": int(r[7].split(",")[-1]),
                     "ip_version": 4 if last == "ip" else 6, "ip_layers": len(ips),
                     "outer_version": 4 if ips[0] == "ip" else 6})
    return pd.DataFrame(rows, columns=["frame", "src", "dst", "sport", "dport", "ip_version",
                                       "ip_layers", "outer_version"])


def innermost_differences(seg: pd.DataFrame, path: Path | str) -> pd.DataFrame:
    """Frames whose src/dst/sport/dport/ip_version differ from tshark's innermost layer,
    or that only one side has as TCP."""
    ref = tshark_innermost(path)
    ours = seg[["frame", "src", "dst", "sport", "dport", "ip_version"]].astype(
        {"src": str, "dst": str, "sport": int, "dport": int, "ip_version": int})
    m = ours.merge(ref, on="frame", how="outer", suffixes=("", "_tshark"), indicator=True)
    bad = m["_merge"] != "both"
    for c in ("src", "dst", "sport", "dport", "ip_version"):
        bad |= m[c] != m[f"{c}_tshark"]
    return m[bad]
