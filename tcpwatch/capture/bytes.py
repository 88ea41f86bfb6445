"""Whole-column reads of big-endian integers from a capture buffer.

Every function takes the chunk buffer (``uint8``) and an int64 array of byte offsets and
returns one native-endian value per offset.  A read is one ``take`` through a strided
view that sees a big-endian integer at *every* byte offset (numpy allows unaligned
views), so a 32-bit field costs one gather instead of four.

Buffers must end with at least ``PAD`` zero bytes (the reader allocates them): offsets
past the end are clipped into that padding and read as 0.  Callers check captured
lengths themselves; this only keeps every gather in bounds.
"""

from __future__ import annotations

import numpy as np

PAD = 64

_BE = {1: np.dtype(np.uint8), 2: np.dtype(">u2"), 4: np.dtype(">u4")}
_NATIVE = {1: np.uint8, 2: np.uint16, 4: np.uint32}


def _view(buf: np.ndarray, width: int) -> np.ndarray:
    return np.ndarray(shape=(buf.shape[0] - width + 1,), dtype=_BE[width], buffer=buf,
                      strides=(1,))


def read(buf: np.ndarray, pos: np.ndarray, width: int) -> np.ndarray:
    """The ``width``-byte big-endian unsigned integer at each offset."""
    view = _view(buf, width)
    # fancy indexing after an explicit clip: several times faster than take(mode="clip")
    # on a strided view
    return view[np.minimum(pos, view.shape[0] - 1)].astype(_NATIVE[width], copy=False)


def u8(buf: np.ndarray, pos: np.ndarray) -> np.ndarray:
    return buf[np.minimum(pos, buf.shape[0] - 1)]


def u16(buf: np.ndarray, pos: np.ndarray) -> np.ndarray:
    return read(buf, pos, 2)


def u32(buf: np.ndarray, pos: np.ndarray) -> np.ndarray:
    return read(buf, pos, 4)


def u16le(buf: np.ndarray, pos: np.ndarray) -> np.ndarray:
    return u16(buf, pos).byteswap()


def u32le(buf: np.ndarray, pos: np.ndarray) -> np.ndarray:
    return u32(buf, pos).byteswap()


def bytes16(buf: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """16 bytes at each offset, as an ``(n, 16)`` uint8 array (IPv6 addresses)."""
    idx = np.minimum(pos[:, None] + np.arange(16, dtype=np.int64), buf.shape[0] - 1)
    return buf[idx]
