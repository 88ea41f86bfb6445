"""TCP options (RFC 9293 §3.2, RFC 7323, RFC 2018), parsed over whole columns.

Theory of operation: option lists are short (at most 40 bytes) but differ per segment,
so the parse walks all segments' option areas in lock-step: each round reads one option
kind at every still-active position, records the options it knows, and advances by 1
(NOP) or by the option's length.  A round costs a few numpy operations over the active
rows; a Linux data segment (NOP NOP TS) is done after three rounds.  A malformed option
(length < 2 or running past the header) ends that segment's parse, as in Wireshark.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from .capture.bytes import u8, u16, u32


@dataclass(frozen=True, slots=True)
class OptionKind:
    kind: int
    name: str
    lengths: tuple[int, ...]  # valid total lengths (kind + length bytes included)


EOL, NOP, MSS, WSCALE, SACK_PERM, SACK, TIMESTAMPS = 0, 1, 2, 3, 4, 5, 8

#: The options tcpwatch records; other kinds are skipped by their length byte.
OPTIONS: dict[int, OptionKind] = {
    o.kind: o
    for o in (
        OptionKind(MSS, "mss", (4,)),
        OptionKind(WSCALE, "wscale", (3,)),
        OptionKind(SACK_PERM, "sack_perm", (2,)),
        OptionKind(SACK, "sack", (10, 18, 26, 34)),
        OptionKind(TIMESTAMPS, "timestamps", (10,)),
    )
}
MAX_ROUNDS = 40  # 40 option bytes, one byte per round at worst


def parse_options(buf: np.ndarray, start: np.ndarray, stop: np.ndarray) -> dict[str, object]:
    """Parse the option areas ``[start, stop)`` of ``n`` segments.

    Returns columns ``mss``, ``wscale``, ``tsval``, ``tsecr`` (pandas nullable integer
    arrays), ``sack_perm`` (bool) and ``sack`` (Arrow list<uint32> of flat block edges).
    """
    n = start.shape[0]
    mss = np.zeros(n, np.uint16)
    has_mss = np.zeros(n, bool)
    wscale = np.zeros(n, np.uint8)
    has_ws = np.zeros(n, bool)
    sack_perm = np.zeros(n, bool)
    tsval = np.zeros(n, np.uint32)
    tsecr = np.zeros(n, np.uint32)
    has_ts = np.zeros(n, bool)
    sack_row, sack_at, sack_blocks = [], [], []

    rows = np.flatnonzero(start < stop)
    pos = start[rows]
    end = stop[rows]
    for _ in range(MAX_ROUNDS):
        if rows.size == 0:
            break
        kind = u8(buf, pos)
        length = np.where(kind <= NOP, 1, u8(buf, pos + 1).astype(np.int64))
        ok = (kind != EOL) & (length >= 1) & (pos + length <= end) & ((kind <= NOP) | (length >= 2))
        for opt in OPTIONS.values():
            hit = ok & (kind == opt.kind) & np.isin(length, opt.lengths)
            if not hit.any():
                continue
            r, p = rows[hit], pos[hit]
            if opt.kind == MSS:
                mss[r] = u16(buf, p + 2)
                has_mss[r] = True
            elif opt.kind == WSCALE:
                wscale[r] = u8(buf, p + 2)
                has_ws[r] = True
            elif opt.kind == SACK_PERM:
                sack_perm[r] = True
            elif opt.kind == TIMESTAMPS:
                tsval[r] = u32(buf, p + 2)
                tsecr[r] = u32(buf, p + 6)
                has_ts[r] = True
            elif opt.kind == SACK:
                sack_row.append(r)
                sack_at.append(p + 2)
                sack_blocks.append((length[hit] - 2) // 8)
        pos = pos + length
        keep = ok & (pos < end)
        rows, pos, end = rows[keep], pos[keep], end[keep]

    return {
        "mss": pd.arrays.IntegerArray(mss, ~has_mss),
        "wscale": pd.arrays.IntegerArray(wscale, ~has_ws),
        "sack_perm": sack_perm,
        "sack": _sack_column(buf, n, sack_row, sack_at, sack_blocks),
        "tsval": pd.arrays.IntegerArray(tsval, ~has_ts),
        "tsecr": pd.arrays.IntegerArray(tsecr, ~has_ts),
    }


def _sack_column(buf, n, rows, at, blocks) -> pa.Array:
    """Flat ``[left1, right1, left2, right2, ...]`` per segment, empty when no SACK."""
    counts = np.zeros(n, np.int32)
    if rows:
        r = np.concatenate(rows)
        p = np.concatenate(at)
        b = np.concatenate(blocks)
        # a segment with two SACK options keeps the last one, as a receiver would
        counts[r] = 2 * b
        order = np.argsort(r, kind="stable")
        last = np.ones(r.size, bool)
        last[order[:-1]] = r[order[:-1]] != r[order[1:]]
        r, p, b = r[last], p[last], b[last]
        order = np.argsort(r, kind="stable")
        r, p, b = r[order], p[order], b[order]
        edge_pos = np.repeat(p, 2 * b) + 4 * _ramp(2 * b)
        values = u32(buf, edge_pos)
    else:
        values = np.empty(0, np.uint32)
    offsets = np.zeros(n + 1, np.int32)
    np.cumsum(counts, out=offsets[1:])
    return pa.ListArray.from_arrays(pa.array(offsets), pa.array(values, pa.uint32()))


def _ramp(lengths: np.ndarray) -> np.ndarray:
    """0..k-1 for each k in ``lengths``, concatenated."""
    total = int(lengths.sum())
    starts = np.repeat(np.cumsum(lengths) - lengths, lengths)
    return np.arange(total, dtype=np.int64) - starts
