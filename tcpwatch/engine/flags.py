"""Add Wireshark's analysis flags and numbers to the segment table.

Columns: ``events`` (semicolon-separated flag names, registry order), ``dup_ack_num``,
``dup_ack_frame``, ``bytes_in_flight``, ``ack_rtt`` (seconds from the data's capture to
the ACK's) and ``acked_frame`` -- Wireshark's tcp.analysis.duplicate_ack_num,
duplicate_ack_frame, bytes_in_flight, ack_rtt and acks_frame.  The flags are decided in
one compiled pass in file order (Wireshark's rules are sequential); the text column is
built once per distinct combination of bits.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from ..decode.columns import Coded, Masked, numpy_of
from ..vocab import Col
from .native import _seqwalk
from .registry import FLAGS


def sack_arrays(sack: pa.ListArray) -> tuple[np.ndarray, np.ndarray]:
    """(offsets int32[n+1], edges uint32) of a SACK column (one flat list per row)."""
    offsets = numpy_of(sack.offsets)
    values = numpy_of(sack.values) if len(sack.values) else np.zeros(0, np.uint32)
    if offsets.size and offsets[0] != 0:  # a sliced array: rebase
        values = values[offsets[0]:]
        offsets = offsets - offsets[0]
    return np.ascontiguousarray(offsets), np.ascontiguousarray(values, np.uint32)


def event_names(bits: np.ndarray) -> Coded:
    """The ``events`` text of each row; names are built once per distinct bit pattern."""
    present = np.flatnonzero(np.bincount(bits, minlength=1 << 16))
    names = [";".join(f.name for f in FLAGS if b & f.bit) for b in present.tolist()]
    cats = list(dict.fromkeys(names))
    lookup = np.zeros(1 << 16, np.int32)
    lookup[present] = [cats.index(n) for n in names]
    return Coded(lookup[bits], tuple(cats))


def analyze_flags(conn, sender, inputs, reused, sack, *context) -> tuple[np.ndarray, ...]:
    """The compiled cascade: (bits, dup_num, dup_frame, bif, acked, rtt) per row.
    ``context``: (ctx,) to carry it across calls (tcpwatch.live)."""
    n = conn.shape[0]
    out = (np.empty(n, np.uint16), np.empty(n, np.int32), np.empty(n, np.int64),
           np.empty(n, np.int64), np.empty(n, np.int64), np.empty(n, np.float64))
    _seqwalk.analyze_flags(conn, sender, *inputs, reused, *sack, *out, *context)
    return out


def flag_columns(bits, dup_num, dup_frame, bif, acked, rtt) -> dict[str, object]:
    return {
        Col.EVENTS: event_names(bits),
        Col.DUP_ACK_NUM: Masked(dup_num, dup_num == 0),
        Col.DUP_ACK_FRAME: Masked(dup_frame, dup_frame < 0),
        Col.BYTES_IN_FLIGHT: Masked(bif, bif < 0),
        Col.ACK_RTT: rtt,
        Col.ACKED_FRAME: Masked(acked, acked < 0),
    }
