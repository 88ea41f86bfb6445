"""Every frame of a batch, walked once by compiled code (``csrc/frames.c``): link layer
(``capture/linktypes.py``'s table), IPv4/IPv6, the tunnels of ``tunnels.py``, and what the
innermost IP header carries.  And the addresses of chosen rows as codes into the
distinct ones (``csrc/addresses.c``), only those turned into text.

``tests/reference/`` holds the same rules as whole-column numpy; a test checks that both
agree on every capture of the suite and on generated frames.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import numpy as np

from .. import _seqwalk as _S
from ..capture.linktypes import LINK_TABLE
from ..capture.pcapfile import RawFrames
from .columns import Coded
from .tcpheader import tcp_columns
from .tunnels import PORT_TABLE

#: per-frame outcomes (``status``), from the compiled module
ST_TCP, ST_SHORT_TCP, ST_NOT_TCP, ST_QUOTE = _S.ST_TCP, _S.ST_SHORT_TCP, _S.ST_NOT_TCP, \
    _S.ST_QUOTE
ST_FRAGMENT, ST_BAD_IP, ST_NOT_IP, ST_UNSUPPORTED_LINK = _S.ST_FRAGMENT, _S.ST_BAD_IP, \
    _S.ST_NOT_IP, _S.ST_UNSUPPORTED_LINK


@dataclass(slots=True)
class Rows:
    """Some frames of a batch (TCP segments, or ICMP errors quoting a TCP header)."""

    row: np.ndarray  # int64: the frame's index in the batch
    end: np.ndarray  # int64: the first byte past its captured bytes
    l3: np.ndarray  # int64: the innermost IP header (a quote: the quoted IP header)
    version: np.ndarray  # int64: its version, 4 or 6
    l4: np.ndarray  # int64: the TCP header (a quote: the quoted one)
    l4_len: np.ndarray  # int64: TCP header + payload, as the IP header says
    addr: np.ndarray  # uint8 (rows, ADDR_BYTES): source and destination address


@dataclass(slots=True)
class Frames:
    """One batch walked: what each frame is, and the rows the decoder keeps."""

    status: np.ndarray  # uint8 per frame: ST_*
    counts: tuple[int, ...]  # frames per status (index ST_*)
    tcp: Rows  # the ST_TCP frames, in order
    quotes: Rows  # the ST_QUOTE frames, in order
    headers: dict[str, object]  # the ST_TCP frames' TCP headers (tcpheader.tcp_headers)


def walk_frames(raw: RawFrames) -> Frames:
    """The compiled walk over every frame of the batch (``csrc/frames.c``)."""
    n = len(raw)
    out = np.empty((_S.FR_NCOLS, n), np.int64)
    status = np.empty(n, np.uint8)
    tcp_out = np.empty((_S.TCP_NCOLS, n), np.uint32)
    sack_at = np.empty(n, np.int64)
    addr = np.empty((n, _S.ADDR_BYTES), np.uint8)
    i64 = [np.ascontiguousarray(a, np.int64) for a in (raw.off, raw.caplen, raw.origlen)]
    counts = _S.walk_frames(raw.buf, *i64, np.ascontiguousarray(raw.linktype, np.int32),
                            LINK_TABLE, PORT_TABLE, out.reshape(-1), status,
                            tcp_out.reshape(-1), sack_at, addr.reshape(-1))
    n_tcp, n_quote = counts[ST_TCP], counts[ST_QUOTE]
    cols = (_S.FR_ROW, _S.FR_END, _S.FR_L3, _S.FR_VERSION, _S.FR_L4, _S.FR_L4_LEN)
    tcp = Rows(*(out[c, :n_tcp] for c in cols), addr[:n_tcp])
    quotes = Rows(*(out[c, n - n_quote:][::-1] for c in cols), addr[n - n_quote:][::-1])
    headers = tcp_columns(tcp_out[:, :n_tcp], sack_at[:n_tcp])
    return Frames(status, counts, tcp, quotes, headers)


def addresses(rows: Rows) -> tuple[Coded, Coded]:
    """Source and destination addresses of the rows as one pair of categoricals (shared
    names: IPv4 in order of first appearance among the sources then the destinations,
    then IPv6 in byte order)."""
    n = rows.version.shape[0]
    codes = np.empty(2 * n, np.int32)
    v4 = np.empty(2 * n, np.uint32)
    v6 = np.empty((2 * n, 16), np.uint8)
    n4, n6 = _S.address_codes(np.ascontiguousarray(rows.addr).reshape(-1),
                              np.ascontiguousarray(rows.version), codes, v4, v6.reshape(-1))
    names = tuple([str(ipaddress.IPv4Address(int(a))) for a in v4[:n4].tolist()]
                  + [str(ipaddress.IPv6Address(bytes(a))) for a in v6[:n6]])
    return Coded(codes[:n], names), Coded(codes[n:], names)
