"""Which segment-table columns Wireshark also computes, and the one comparison with it.

``MAPPED`` holds, as data, every column tshark can check: the tshark fields it is read
from and, in words, how both sides are normalised.  Both sides become the text a golden
file holds (``golden.golden_frame``: decimal integers, ``True``/``False``, SACK blocks as
``left-right`` pairs, empty = absent), so the same comparison checks a fresh analysis
(``compare_with_tshark``) and a golden file on disk (``compare_golden_with_tshark``).

One tshark run (``-2``) per capture.  Only frames whose outermost transport is TCP are
compared (tshark also decodes TCP headers quoted inside ICMP errors; those are not
segments), and the two frame sets are compared too.  ``NOT_MAPPED`` lists the columns
Wireshark cannot compute and the reference that guards each instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..engine.registry import FLAGS
from ..vocab import Col, tcpdump_flag_str
from .golden import T_US, golden_frame
from .verify import tshark_fields

TCP_ONLY = "tcp && !icmp && !icmpv6"
ACK_RTT_NS = "ack_rtt_ns"  # ack_rtt as integer nanoseconds (both sides are exact)
DIFF_COLUMNS = ("frame", "column", "tcpwatch", "tshark")


@dataclass(frozen=True, slots=True)
class Mapping:
    column: str  # the compared column (golden-file text)
    fields: tuple[str, ...]  # tshark fields it is computed from
    how: str  # the normalisation, in words


MAPPED: tuple[Mapping, ...] = (
    Mapping(T_US, ("frame.time_epoch",),
            "µs since the first TCP frame: round((epoch_ns - first_ns) / 1000); "
            "frame.time_epoch is printed with 9 decimals, read as exact integer ns"),
    Mapping(Col.TS_NS, ("frame.time_epoch",), "exact integer nanoseconds"),
    Mapping(Col.CONN, ("tcp.stream",), "equal"),
    Mapping(Col.SRC, ("frame.protocols", "ip.src", "ipv6.src"),
            "the IP header right below TCP in frame.protocols (the innermost one: in a "
            "tunnel the last occurrence of ip.src or ipv6.src), as text"),
    Mapping(Col.DST, ("frame.protocols", "ip.dst", "ipv6.dst"), "as src"),
    Mapping(Col.IP_VERSION, ("frame.protocols",), "4 or 6: the IP header right below TCP"),
    Mapping(Col.SPORT, ("tcp.srcport",), "equal"),
    Mapping(Col.DPORT, ("tcp.dstport",), "equal"),
    Mapping(Col.FLAGS, ("tcp.flags",), "tcp.flags (hex, 12 bits) masked to the 9 flag bits"),
    Mapping(Col.FLAG_STR, ("tcp.flags",),
            "tcpdump's letters (print-tcp.c order) for tcp.flags; tests/references also "
            "check it against tcpdump's own output"),
    Mapping(Col.SEQ, ("tcp.seq_raw",), "equal"),
    Mapping(Col.ACK, ("tcp.ack_raw",), "equal (the field as sent, whatever the ACK bit)"),
    Mapping(Col.REL_SEQ, ("tcp.seq",), "equal"),
    Mapping(Col.REL_ACK, ("tcp.ack",), "equal"),
    Mapping(Col.LEN, ("tcp.len",), "equal"),
    Mapping(Col.WIN_RAW, ("tcp.window_size_value",), "equal"),
    Mapping(Col.WIN, ("tcp.window_size",), "equal"),
    Mapping(Col.MSS, ("tcp.options.mss_val",), "equal; last occurrence; absent = empty"),
    Mapping(Col.WSCALE, ("tcp.options.wscale.shift",), "as mss"),
    Mapping(Col.SACK_PERM, ("tcp.option_kind",), "option kind 4 is listed"),
    Mapping(Col.SACK, ("tcp.options.sack_le", "tcp.options.sack_re", "tcp.ack_raw", "tcp.ack"),
            "tshark 4.0 shows SACK edges relative to the same base as tcp.ack and has no raw "
            "field: absolute = (edge + tcp.ack_raw - tcp.ack) mod 2^32"),
    Mapping(Col.TSVAL, ("tcp.options.timestamp.tsval",), "as mss"),
    Mapping(Col.TSECR, ("tcp.options.timestamp.tsecr",), "as mss"),
    Mapping(Col.TRUNCATED, ("frame.cap_len", "frame.len"),
            "frame.cap_len < frame.len (a snaplen cut inside the IP datagram; a cut "
            "that removes only an Ethernet trailer would need a snaplen under 60)"),
    Mapping(Col.EVENTS, tuple(f.field for f in FLAGS),
            "the set of tcp.analysis.<flag> fields present, in registry order"),
    Mapping(Col.DUP_ACK_NUM, ("tcp.analysis.duplicate_ack_num",), "equal"),
    Mapping(Col.DUP_ACK_FRAME, ("tcp.analysis.duplicate_ack_frame",), "equal"),
    Mapping(Col.BYTES_IN_FLIGHT, ("tcp.analysis.bytes_in_flight",), "equal"),
    Mapping(Col.ACKED_FRAME, ("tcp.analysis.acks_frame",), "equal"),
    Mapping(ACK_RTT_NS, ("tcp.analysis.ack_rtt",), "exact integer nanoseconds"),
    Mapping(Col.ACK_RTT_US, ("tcp.analysis.ack_rtt",), "round(ns / 1000) (golden files)"),
)
BY_COLUMN = {m.column: m for m in MAPPED}

#: columns Wireshark does not compute -> the reference that guards each instead
NOT_MAPPED: dict[str, str] = {
    Col.TS: "the float view of ts_ns (mapped); tests/test_public_parity.py checks "
            "ts == ts_ns / 1e9 within 1 µs",
    Col.ROLE: "Zeek conn.log id.orig_h/orig_p and options.out is_orig "
              "(tests/references/test_zeek.py), Arkime source (test_arkime.py), nDPI's "
              "client (test_ndpi.py)",
    Col.STATE_BEFORE_CLIENT: "the kernel's own socket states (tests/states/"
                             "test_kernel_truth.py), Zeek conn_state/history and endpoint "
                             "states (tests/states/test_zeek.py), hand-written transitions "
                             "(tests/states/test_transitions.py)",
    Col.STATE_AFTER_CLIENT: "as state_before_client",
    Col.STATE_BEFORE_SERVER: "as state_before_client",
    Col.STATE_AFTER_SERVER: "as state_before_client",
    Col.TRANSITION: "hand-written per scenario (tests/states/test_transitions.py)",
    Col.VIOLATION: "the RFC 9293 table as data (tests/states/test_table.py)",
    Col.STATES_INFERRED: "tests/states (captures without a handshake)",
    Col.EVENT_CLIENT: "the class precedence from the flags (mapped) and sequence numbers, "
                      "recomputed in tests/references/test_event_classes.py",
    Col.EVENT_SERVER: "as event_client",
    Col.ACK_RTT: "mapped as ack_rtt_ns (exact) and, in golden files, ack_rtt_us",
}


def _last(col: pd.Series) -> pd.Series:
    """The last of several comma-aggregated occurrences ('' when absent)."""
    return col.fillna("").str.rsplit(",", n=1).str[-1]


def _int_text(values) -> pd.Series:
    return pd.Series(values).astype("Int64").astype("string").fillna("")


def _ns(text: str) -> int | None:
    """A decimal seconds value as tshark prints it (``1418145369.924505488``), exactly, in
    integer nanoseconds; None when empty."""
    if not text:
        return None
    whole, _, frac = text.partition(".")
    sign = -1 if whole.startswith("-") else 1
    return sign * (abs(int(whole)) * 1_000_000_000 + int(frac.ljust(9, "0")[:9]))


def _inner_ip(ref: pd.DataFrame) -> tuple[pd.Series, pd.Series, pd.Series]:
    """(version, src, dst) of the IP header right below the first TCP layer."""
    below = ref["frame.protocols"].fillna("").str.split(":").apply(_ip_below_tcp)
    v6 = below == "ipv6"
    src = _last(ref["ip.src"]).where(~v6, _last(ref["ipv6.src"]))
    dst = _last(ref["ip.dst"]).where(~v6, _last(ref["ipv6.dst"]))
    version = below.map({"ip": "4", "ipv6": "6"}).fillna("")
    return version, src, dst


def _ip_below_tcp(layers: list[str]) -> str:
    head = layers[:layers.index("tcp")] if "tcp" in layers else layers
    return next((x for x in reversed(head) if x in ("ip", "ipv6")), "")


def _sack(ref: pd.DataFrame) -> list[str]:
    out = []
    for le, re_, ack_raw, ack in zip(ref["tcp.options.sack_le"], ref["tcp.options.sack_re"],
                                     _last(ref["tcp.ack_raw"]), _last(ref["tcp.ack"]),
                                     strict=True):
        if not le:
            out.append("")
            continue
        base = (int(ack_raw) - int(ack)) if ack and ack_raw else 0
        pairs = zip(le.split(","), re_.split(","), strict=True)
        out.append(" ".join(f"{(int(a) + base) % 2**32}-{(int(b) + base) % 2**32}"
                            for a, b in pairs))
    return out


def _events(ref: pd.DataFrame) -> pd.Series:
    present = [np.where(ref[f.field].fillna("") != "", f.name, "") for f in FLAGS]
    return pd.Series([";".join(n for n in names if n) for names in zip(*present, strict=True)],
                     index=ref.index, dtype=object)


def tshark_text(path: Path | str) -> pd.DataFrame:
    """tshark's values of every mapped column, per TCP frame, as golden-file text."""
    fields = sorted({f for m in MAPPED for f in m.fields})
    ref = tshark_fields(path, fields, display_filter=TCP_ONLY)
    out = pd.DataFrame({Col.FRAME: ref["frame.number"].astype("int64").astype(str)})
    ns = np.array([_ns(t) for t in ref["frame.time_epoch"]], np.int64)
    out[Col.TS_NS] = ns.astype(str)
    out[T_US] = np.round((ns - (ns.min() if len(ns) else 0)) / 1000).astype(np.int64).astype(str)
    out[Col.IP_VERSION], out[Col.SRC], out[Col.DST] = _inner_ip(ref)
    for col in (Col.CONN, Col.SPORT, Col.DPORT, Col.SEQ, Col.ACK, Col.REL_SEQ, Col.REL_ACK,
                Col.LEN, Col.WIN_RAW, Col.WIN, Col.MSS, Col.WSCALE, Col.TSVAL, Col.TSECR,
                Col.DUP_ACK_NUM, Col.DUP_ACK_FRAME, Col.BYTES_IN_FLIGHT, Col.ACKED_FRAME):
        out[col] = _last(ref[BY_COLUMN[col].fields[0]])
    flags = _last(ref["tcp.flags"]).apply(lambda h: int(h, 16) & 0x1FF if h else 0)
    out[Col.FLAGS] = flags.astype(str)
    out[Col.FLAG_STR] = flags.apply(tcpdump_flag_str)
    out[Col.SACK_PERM] = ref["tcp.option_kind"].fillna("").str.split(",").apply(
        lambda kinds: str("4" in kinds))
    out[Col.SACK] = _sack(ref)
    out[Col.TRUNCATED] = (ref["frame.cap_len"].astype("int64")
                          < ref["frame.len"].astype("int64")).astype(str)
    out[Col.EVENTS] = _events(ref)
    rtt = _last(ref["tcp.analysis.ack_rtt"])
    rtt_ns = pd.Series([_ns(r) for r in rtt], dtype="Int64", index=ref.index)
    out[ACK_RTT_NS] = rtt_ns.astype("string").fillna("")
    out[Col.ACK_RTT_US] = _int_text(np.round(rtt_ns.astype("Float64") / 1000))
    return out.reset_index(drop=True)


def segment_text(seg: pd.DataFrame) -> pd.DataFrame:
    """tcpwatch's values of every mapped column, as golden-file text."""
    out = golden_frame(seg)
    out[Col.TS_NS] = seg[Col.TS_NS].astype("int64").astype(str).to_numpy()
    out[Col.IP_VERSION] = seg[Col.IP_VERSION].astype("int64").astype(str).to_numpy()
    out[Col.FLAGS] = seg[Col.FLAGS].astype("int64").astype(str).to_numpy()
    out[ACK_RTT_NS] = _int_text(np.round(seg[Col.ACK_RTT].to_numpy(dtype=float) * 1e9)).to_numpy()
    return out


def _canonical_events(text: pd.Series) -> pd.Series:
    order = {f.name: i for i, f in enumerate(FLAGS)}
    return text.fillna("").astype(str).apply(
        lambda s: ";".join(sorted((n for n in s.split(";") if n), key=lambda n: order.get(n, 99))))


def compare_text(ours: pd.DataFrame, theirs: pd.DataFrame) -> pd.DataFrame:
    """Every (frame, column) where two golden-text tables differ, on the mapped columns
    both hold; a frame on one side only is one row with column ``*``."""
    cols = [m.column for m in MAPPED if m.column in ours.columns and m.column in theirs.columns]
    a = ours.assign(**{Col.FRAME: ours[Col.FRAME].astype("int64")}).set_index(Col.FRAME)
    b = theirs.assign(**{Col.FRAME: theirs[Col.FRAME].astype("int64")}).set_index(Col.FRAME)
    rows = [(f, "*", "present", "absent") for f in a.index.difference(b.index)]
    rows += [(f, "*", "absent", "present") for f in b.index.difference(a.index)]
    common = a.index.intersection(b.index)
    a, b = a.loc[common, cols].astype(str), b.loc[common, cols].astype(str)
    if Col.EVENTS in cols:
        a[Col.EVENTS] = _canonical_events(a[Col.EVENTS])
        b[Col.EVENTS] = _canonical_events(b[Col.EVENTS])
    for j, col in enumerate(cols):
        differ = np.flatnonzero(a[col].to_numpy() != b[col].to_numpy())
        rows += [(int(common[i]), col, a.iat[i, j], b.iat[i, j]) for i in differ]
    diff = pd.DataFrame(rows, columns=list(DIFF_COLUMNS))
    return diff.sort_values(["frame", "column"], kind="stable").reset_index(drop=True)


def compare_with_tshark(seg: pd.DataFrame, path: Path | str) -> pd.DataFrame:
    """Disagreements (frame, column, tcpwatch, tshark) between an analysed segment table
    and tshark -2 on the same capture; empty = full agreement on every mapped column."""
    return compare_text(segment_text(seg), tshark_text(path))


def compare_golden_with_tshark(golden: pd.DataFrame, path: Path | str) -> pd.DataFrame:
    """The same for a golden file's table (``golden.read_golden``) and its capture."""
    return compare_text(golden, tshark_text(path))


def describe(diff: pd.DataFrame, limit: int = 20, ours: str = "tcpwatch") -> list[str]:
    """One line per disagreement, at most ``limit`` and a count of the rest; ``ours``
    names the side that is not tshark (tcpwatch, or a golden file)."""
    lines = [f"#{frame} {column}: {ours} {mine!r}, tshark {theirs!r}"
             for frame, column, mine, theirs in diff.head(limit).itertuples(index=False)]
    if len(diff) > limit:
        lines.append(f"... and {len(diff) - limit} more")
    return lines
