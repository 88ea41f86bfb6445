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
from .tunnels import PORT_TABLE

#: per-frame outcomes (``status``), from the compiled module
ST_TCP, ST_SHORT_TCP, ST_NOT_TCP, ST_QUOTE = _S.ST_TCP, _S.ST_SHORT_TCP, _S.ST_NOT_TCP, \
    _S.ST_QUOTE
ST_FRAGMENT, ST_BAD_IP, ST_NOT_IP, ST_UNSUPPORTED_LINK = _S.ST_FRAGMENT, _S.ST_BAD_IP, \
    _S.ST_NOT_IP, _S.ST_UNSUPPORTED_LINK
N_STATUS = _S.N_STATUS


@dataclass(slots=True)
class Frames:
    """One row per frame of the batch."""

    status: np.ndarray  # uint8: ST_*
    l3: np.ndarray  # int64: the innermost IP header (ST_QUOTE: the quoted IP header)
    version: np.ndarray  # int64: its version, 4 or 6
    l4: np.ndarray  # int64: the TCP header (ST_QUOTE: the quoted one)
    l4_len: np.ndarray  # int64: TCP header + payload, as the IP header says

    def counts(self) -> np.ndarray:
        """Frames per status (index ST_*)."""
        return np.bincount(self.status, minlength=N_STATUS)


def walk_frames(raw: RawFrames) -> Frames:
    n = len(raw)
    out = np.empty((4, n), np.int64)
    status = np.empty(n, np.uint8)
    _S.walk_frames(raw.buf, raw.off, raw.caplen, raw.origlen, raw.linktype, LINK_TABLE,
                   PORT_TABLE, out.reshape(-1), status)
    return Frames(status, out[0], out[1], out[2], out[3])


def addresses(buf: np.ndarray, l3: np.ndarray, version: np.ndarray) -> tuple[Coded, Coded]:
    """Source and destination addresses of the IP headers at ``l3`` as one pair of
    categoricals (shared names: IPv4 in order of first appearance among the sources then
    the destinations, then IPv6 in byte order)."""
    n = l3.shape[0]
    codes = np.empty(2 * n, np.int32)
    v4 = np.empty(2 * n, np.uint32)
    v6 = np.empty((2 * n, 16), np.uint8)
    n4, n6 = _S.address_codes(buf, np.ascontiguousarray(l3, np.int64),
                              np.ascontiguousarray(version, np.int64), codes, v4,
                              v6.reshape(-1))
    names = tuple([str(ipaddress.IPv4Address(int(a))) for a in v4[:n4].tolist()]
                  + [str(ipaddress.IPv6Address(bytes(a))) for a in v6[:n6]])
    return Coded(codes[:n], names), Coded(codes[n:], names)
