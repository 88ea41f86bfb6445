"""Compiled walks over record and block headers of a capture buffer.

Theory of operation: finding where each record starts is the one inherently sequential
step of reading a capture (record N+1 starts where record N's length says).  Everything
after it is vectorized numpy over whole columns.  These loops only read a few header
words per record and write them into preallocated arrays; they never allocate by a
length read from the file, and they stop (status code) at the first record that is
incomplete or corrupt so the caller can report it precisely.

Status codes returned by the walks:
    OK         every complete record of the buffer was walked (a partial tail may remain)
    CORRUPT    a record length is impossible (see MAX_CAPLEN / block rules)
"""

from __future__ import annotations

import numpy as np
from numba import njit

OK = 0
CORRUPT = 1

#: Largest captured length accepted for one packet record (Wireshark's
#: WTAP_MAX_PACKET_SIZE_STANDARD).  Anything larger is a corrupt length, not a packet.
MAX_CAPLEN = 262144
#: Largest pcapng block accepted (Wireshark's MAX_BLOCK_SIZE is 16 MiB).
MAX_BLOCK = 16 * 1024 * 1024

PCAP_RECORD_HEADER = 16

# pcapng block types (draft-ietf-opsawg-pcapng §4)
BT_SHB = 0x0A0D0D0A
BT_IDB = 0x00000001
BT_OPB = 0x00000002  # obsolete packet block
BT_SPB = 0x00000003  # simple packet block
BT_EPB = 0x00000006  # enhanced packet block


@njit(cache=True, inline="always")
def _u32(buf, pos, big):
    if big:
        return (
            (np.uint32(buf[pos]) << 24)
            | (np.uint32(buf[pos + 1]) << 16)
            | (np.uint32(buf[pos + 2]) << 8)
            | np.uint32(buf[pos + 3])
        )
    return (
        (np.uint32(buf[pos + 3]) << 24)
        | (np.uint32(buf[pos + 2]) << 16)
        | (np.uint32(buf[pos + 1]) << 8)
        | np.uint32(buf[pos])
    )


@njit(cache=True, inline="always")
def _u16(buf, pos, big):
    if big:
        return (np.uint32(buf[pos]) << 8) | np.uint32(buf[pos + 1])
    return (np.uint32(buf[pos + 1]) << 8) | np.uint32(buf[pos])


@njit(cache=True)
def walk_pcap(buf, pos, big, fill, off, caplen, origlen, sec, frac):
    """Walk pcap records from ``pos``.  With ``fill`` False only count them.

    Returns ``(count, end_pos, status)``: ``end_pos`` is the start of the first record
    not walked (an incomplete tail, or the corrupt record when status is CORRUPT).
    """
    n = buf.shape[0]
    count = 0
    while pos + PCAP_RECORD_HEADER <= n:
        incl = _u32(buf, pos + 8, big)
        if incl > MAX_CAPLEN:
            return count, pos, CORRUPT
        end = pos + PCAP_RECORD_HEADER + np.int64(incl)
        if end > n:
            break
        if fill:
            sec[count] = _u32(buf, pos, big)
            frac[count] = _u32(buf, pos + 4, big)
            caplen[count] = incl
            origlen[count] = _u32(buf, pos + 12, big)
            off[count] = pos + PCAP_RECORD_HEADER
        count += 1
        pos = end
    return count, pos, OK


@njit(cache=True)
def walk_pcapng(buf, pos, big, n_idb, section_base, fill,
                off, caplen, origlen, iface, ts_raw, idb_pos, idb_big):
    """Walk pcapng blocks from ``pos``; byte order may change at each SHB.

    Packet blocks (EPB, SPB, OPB) fill the packet arrays; IDBs are listed by position
    (their options are parsed in Python: they are few).  Returns
    ``(count, n_idb_here, end_pos, status, big, n_idb, section_base)`` so the caller can
    resume at the next chunk with the same state.
    """
    n = buf.shape[0]
    count = 0
    k = 0
    while pos + 12 <= n:
        btype = _u32(buf, pos, big)
        if btype == BT_SHB:
            magic = _u32(buf, pos + 8, False)
            if magic == 0x1A2B3C4D:
                big = False
            elif magic == 0x4D3C2B1A:
                big = True
            else:
                return count, k, pos, CORRUPT, big, n_idb, section_base
        blen = np.int64(_u32(buf, pos + 4, big))
        if blen < 12 or blen % 4 != 0 or blen > MAX_BLOCK:
            return count, k, pos, CORRUPT, big, n_idb, section_base
        if pos + blen > n:
            break
        if btype == BT_SHB:
            section_base = n_idb
        elif btype == BT_IDB:
            if fill:
                idb_pos[k] = pos
                idb_big[k] = big
            k += 1
            n_idb += 1
        elif btype == BT_EPB or btype == BT_OPB:  # noqa: SIM109 (numba)
            if blen < 32:
                return count, k, pos, CORRUPT, big, n_idb, section_base
            incl = _u32(buf, pos + 20, big)
            if incl > blen - 32:
                return count, k, pos, CORRUPT, big, n_idb, section_base
            if fill:
                if btype == BT_EPB:
                    iface[count] = section_base + _u32(buf, pos + 8, big)
                else:
                    iface[count] = section_base + _u16(buf, pos + 8, big)
                ts_raw[count] = (np.uint64(_u32(buf, pos + 12, big)) << 32) | np.uint64(
                    _u32(buf, pos + 16, big))
                caplen[count] = incl
                origlen[count] = _u32(buf, pos + 24, big)
                off[count] = pos + 28
            count += 1
        elif btype == BT_SPB:
            if blen < 16:
                return count, k, pos, CORRUPT, big, n_idb, section_base
            orig = _u32(buf, pos + 8, big)
            incl = min(np.int64(orig), blen - 16)
            if fill:
                iface[count] = section_base
                ts_raw[count] = np.uint64(0xFFFFFFFFFFFFFFFF)  # SPBs carry no timestamp
                caplen[count] = incl
                origlen[count] = orig
                off[count] = pos + 12
            count += 1
        pos += blen
    return count, k, pos, OK, big, n_idb, section_base
