"""Whole-column reads of big-endian integers from a capture buffer.

Every function takes the chunk buffer (``uint8``) and an int64 array of byte offsets and
returns one value per offset.  Offsets past the end of the buffer read as 0: callers
check captured lengths themselves, this only keeps the gather in bounds.
"""

from __future__ import annotations

import numpy as np


def u8(buf: np.ndarray, pos: np.ndarray) -> np.ndarray:
    return buf.take(pos, mode="clip") * (pos < buf.shape[0])


def u16(buf: np.ndarray, pos: np.ndarray) -> np.ndarray:
    return (u8(buf, pos).astype(np.uint16) << 8) | u8(buf, pos + 1)


def u32(buf: np.ndarray, pos: np.ndarray) -> np.ndarray:
    return (u16(buf, pos).astype(np.uint32) << 16) | u16(buf, pos + 2)


def u32le(buf: np.ndarray, pos: np.ndarray) -> np.ndarray:
    b = [u8(buf, pos + i).astype(np.uint32) for i in range(4)]
    return b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24)


def bytes16(buf: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """16 bytes at each offset, as an ``(n, 16)`` uint8 array (IPv6 addresses)."""
    idx = pos[:, None] + np.arange(16, dtype=np.int64)
    return buf.take(idx, mode="clip") * (idx < buf.shape[0])
