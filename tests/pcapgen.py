"""Rewriting real captures into the other on-disk forms the reader must accept.

Used only by tests: the packets stay the ones the kernel sent; only the container
changes (byte order, timestamp resolution, block kinds), the way other tools write it.
"""

from __future__ import annotations

import struct
from pathlib import Path


def read_pcap(path: Path) -> tuple[int, int, list[tuple[int, int, int, bytes]]]:
    """(linktype, snaplen, [(sec, usec, origlen, data)]) of a little-endian µs pcap."""
    raw = path.read_bytes()
    magic, _, _, _, _, snap, lt = struct.unpack_from("<IHHiIII", raw, 0)
    assert magic == 0xA1B2C3D4
    pos, recs = 24, []
    while pos + 16 <= len(raw):
        sec, usec, incl, orig = struct.unpack_from("<IIII", raw, pos)
        recs.append((sec, usec, orig, raw[pos + 16:pos + 16 + incl]))
        pos += 16 + incl
    return lt, snap, recs


def write_pcap(path: Path, linktype: int, recs, *, big: bool = False, nano: bool = False,
               snaplen: int = 262144) -> None:
    e = ">" if big else "<"
    magic = 0xA1B23C4D if nano else 0xA1B2C3D4
    out = [struct.pack(e + "IHHiIII", magic, 2, 4, 0, 0, snaplen, linktype)]
    for sec, usec, orig, data in recs:
        frac = usec * 1000 if nano else usec
        out.append(struct.pack(e + "IIII", sec, frac, len(data), orig) + data)
    path.write_bytes(b"".join(out))


def _block(e: str, btype: int, body: bytes) -> bytes:
    body += b"\0" * (-len(body) % 4)
    n = len(body) + 12
    return struct.pack(e + "II", btype, n) + body + struct.pack(e + "I", n)


def write_pcapng(path: Path, linktype: int, recs, *, big: bool = False, tsresol: int = 6,
                 kinds: tuple[str, ...] = ("epb",)) -> None:
    """One section, one interface; packets cycle through ``kinds`` (epb, spb, opb)."""
    e = ">" if big else "<"
    shb = _block(e, 0x0A0D0D0A, struct.pack(e + "IHHq", 0x1A2B3C4D, 1, 0, -1))
    opt = struct.pack(e + "HHB3x", 9, 1, tsresol) + struct.pack(e + "HH", 0, 0)
    idb = _block(e, 1, struct.pack(e + "HHI", linktype, 0, 262144) + opt)
    out = [shb, idb]
    for i, (sec, usec, orig, data) in enumerate(recs):
        units = sec * 10**tsresol + usec * 10 ** (tsresol - 6)
        kind = kinds[i % len(kinds)]
        if kind == "epb":
            out.append(_block(e, 6, struct.pack(e + "IIIII", 0, units >> 32, units & 0xFFFFFFFF,
                                                len(data), orig) + data))
        elif kind == "opb":
            out.append(_block(e, 2, struct.pack(e + "HHIIII", 0, 0, units >> 32,
                                                units & 0xFFFFFFFF, len(data), orig) + data))
        else:  # SPB: no timestamp, captured length implied by the block
            out.append(_block(e, 3, struct.pack(e + "I", len(data)) + data))
    path.write_bytes(b"".join(out))
