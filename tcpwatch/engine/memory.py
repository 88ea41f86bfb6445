"""Give freed heap memory back to the operating system (glibc ``malloc_trim``).

The reader frees many chunk-sized temporaries while the decoded chunks it keeps are
interleaved with them on the heap; glibc keeps such holes mapped.  Trimming at the two
points where the most has just been freed (after the last chunk, after concatenation)
keeps peak memory near "the table plus one column" at the cost of a few milliseconds.
Does nothing where glibc is not the C library.
"""

from __future__ import annotations

import ctypes
import ctypes.util


def _load():
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc.malloc_trim
    except (OSError, AttributeError):
        return None


_TRIM = _load()


def release_free_memory() -> None:
    if _TRIM is not None:
        _TRIM(0)
