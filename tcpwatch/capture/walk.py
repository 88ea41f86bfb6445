"""Walks over record and block headers of a capture buffer (compiled: ``csrc/capture.c``).

Theory of operation: finding where each record starts is the one inherently sequential
step of reading a capture (record N+1 starts where record N's length says).  Everything
after it is vectorized numpy over whole columns.  The C loops only read a few header
words per record and write them into arrays allocated here; they never allocate by a
length read from the file, and they stop (status code) at the first record that is
incomplete or corrupt so the caller can report it precisely.  Each walk runs twice per
chunk: once to count, once to fill arrays of exactly that size.

Status codes:
    OK         every complete record of the buffer was walked (a partial tail may remain)
    CORRUPT    a record length is impossible (over MAX_CAPLEN, or a malformed block)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..engine.native import _seqwalk

# the walks' return codes and limits, from the compiled source (one definition)
OK: int = _seqwalk.OK
CORRUPT: int = _seqwalk.CORRUPT

#: Largest captured length accepted for one packet record (Wireshark's
#: WTAP_MAX_PACKET_SIZE_STANDARD).  Anything larger is a corrupt length, not a packet.
MAX_CAPLEN: int = _seqwalk.MAX_CAPLEN  # the compiled walk's limit, from its source
#: Largest pcapng block accepted (Wireshark's MAX_BLOCK_SIZE is 16 MiB).
MAX_BLOCK: int = _seqwalk.MAX_BLOCK
PCAP_RECORD_HEADER: int = _seqwalk.PCAP_RECORD_HEADER

_NONE64 = np.empty(0, np.int64)
_NONEU64 = np.empty(0, np.uint64)
_NONE8 = np.empty(0, np.uint8)


@dataclass(slots=True)
class PcapRecords:
    off: np.ndarray  # int64 offset of each record's data in the buffer
    caplen: np.ndarray
    origlen: np.ndarray
    sec: np.ndarray
    frac: np.ndarray
    end: int  # first byte not walked
    status: int


def walk_pcap(buf: np.ndarray, big: bool) -> PcapRecords:
    count, _, _ = _seqwalk.walk_pcap(buf, 0, big, *(_NONE64,) * 5)
    cols = [np.empty(count, np.int64) for _ in range(5)]
    count2, end, status = _seqwalk.walk_pcap(buf, 0, big, *cols)
    assert count2 == count
    return PcapRecords(*cols, end=end, status=status)


@dataclass(slots=True)
class PcapngBlocks:
    off: np.ndarray
    caplen: np.ndarray
    origlen: np.ndarray
    iface: np.ndarray  # global interface index (IDBs numbered across sections)
    ts_raw: np.ndarray  # uint64 timestamp in interface units (all ones: none)
    idb_pos: np.ndarray  # offsets of the IDBs of this chunk
    idb_big: np.ndarray  # their byte order
    end: int
    status: int
    big: bool  # state to carry into the next chunk
    n_idb: int
    section_base: int


def walk_pcapng(buf: np.ndarray, big: bool, n_idb: int, section_base: int) -> PcapngBlocks:
    count, k, *_ = _seqwalk.walk_pcapng(buf, 0, big, n_idb, section_base,
                                        *(_NONE64,) * 4, _NONEU64, _NONE64, _NONE8)
    cols = [np.empty(count, np.int64) for _ in range(4)]
    ts_raw = np.empty(count, np.uint64)
    idb_pos = np.empty(k, np.int64)
    idb_big = np.empty(k, np.uint8)
    count2, k2, end, status, big2, n_idb2, base2 = _seqwalk.walk_pcapng(
        buf, 0, big, n_idb, section_base, *cols, ts_raw, idb_pos, idb_big)
    assert (count2, k2) == (count, k)
    return PcapngBlocks(*cols, ts_raw, idb_pos, idb_big.astype(bool), end, status, bool(big2),
                        n_idb2, base2)
