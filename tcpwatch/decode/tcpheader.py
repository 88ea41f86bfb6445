"""The TCP header of every segment of a batch: fixed fields and options, read by the
compiled walk ``tcp_headers`` (``csrc/tcpheader.c``) in one pass.

Options recorded (RFC 9293 §3.2, RFC 7323, RFC 2018), each only at its valid length:
MSS (kind 2, length 4), window scale (3, 3), SACK-permitted (4, 2), SACK (5, 10/18/26/34:
1-4 blocks; of two SACK options the last counts) and timestamps (8, 10).  Other kinds are
skipped by their length byte.  EOL, a length below 2 or an option running past the area
ends the parse, as in Wireshark.  The area is bytes 20 up to the data offset, or up to
the end of the captured bytes when the snaplen cut it.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from ..capture.bytes import u32
from ..engine.native import _seqwalk
from .columns import Masked, list_array

_S = _seqwalk
TCP_MIN_HEADER = _S.TCP_MIN_HEADER


def tcp_headers(buf: np.ndarray, l4: np.ndarray, end: np.ndarray) -> dict[str, object]:
    """The TCP header at ``l4`` of every row (``end``: first byte not captured).

    Returns ``thl`` (header length in bytes from the data offset; 0 when the 20 fixed
    bytes are not captured), ``sport``, ``dport``, ``seq``, ``ack``, ``flags`` (AE as bit
    8), ``win``, and the options: ``mss``, ``wscale``, ``tsval``, ``tsecr`` (Masked:
    missing where absent), ``sack_perm`` (bool), and where the SACK blocks are:
    ``sack_edges`` (edges of the last SACK option, 0 without) and ``sack_at`` (the offset
    of its first edge) -- :func:`sack_column` reads them, once the rows are chosen.
    """
    n = l4.shape[0]
    out = np.empty((_S.TCP_NCOLS, n), np.uint32)  # a contiguous column each
    sack_at = np.empty(n, np.int64)
    _S.tcp_headers(buf, np.ascontiguousarray(l4, np.int64),
                   np.ascontiguousarray(end, np.int64), out.reshape(-1), sack_at)
    return tcp_columns(out, sack_at)


def tcp_columns(out: np.ndarray, sack_at: np.ndarray) -> dict[str, object]:
    """:func:`tcp_headers`' columns from the compiled walk's output (``TCP_NCOLS`` rows of
    ``uint32``, one per column; the frame walk writes the same)."""
    has = out[_S.TCP_COL_HAS]

    def col(name: str, dtype) -> np.ndarray:
        return out[getattr(_S, f"TCP_COL_{name}")].astype(dtype)

    def opt(name: str, dtype, bit: int) -> Masked:
        return Masked(col(name, dtype), (has & bit) == 0)

    has_ts = _S.TCP_HAS_TIMESTAMPS
    return {
        "thl": col("THL", np.int64), "sport": col("SPORT", np.uint16),
        "dport": col("DPORT", np.uint16), "seq": col("SEQ", np.uint32),
        "ack": col("ACK", np.uint32), "flags": col("FLAGS", np.uint16),
        "win": col("WIN", np.uint16),
        "mss": opt("MSS", np.uint16, _S.TCP_HAS_MSS),
        "wscale": opt("WSCALE", np.uint8, _S.TCP_HAS_WSCALE),
        "sack_perm": (has & _S.TCP_HAS_SACK_PERM) != 0,
        "sack_edges": col("SACK_EDGES", np.int64), "sack_at": sack_at,
        "tsval": opt("TSVAL", np.uint32, has_ts), "tsecr": opt("TSECR", np.uint32, has_ts),
    }


def sack_column(buf: np.ndarray, edges: np.ndarray, at: np.ndarray) -> pa.Array:
    """Flat ``[left1, right1, left2, right2, ...]`` per segment, empty when no SACK."""
    offsets = np.zeros(edges.shape[0] + 1, np.int32)
    np.cumsum(edges, out=offsets[1:])
    rows = np.flatnonzero(edges)
    if rows.size:
        k = edges[rows].astype(np.int64)
        ramp = np.arange(int(k.sum()), dtype=np.int64) - np.repeat(np.cumsum(k) - k, k)
        values = u32(buf, np.repeat(at[rows], k) + 4 * ramp)
    else:
        values = np.empty(0, np.uint32)
    return list_array(offsets, values.astype(np.uint32, copy=False))
