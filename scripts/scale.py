"""Memory against capture size: ``tcpwatch analyze FILE -o x.parquet`` (the printed
report and the Parquet file, as users run it) on a capture and on N time-shifted copies
of it laid end to end, each run its own process, wall time and peak RSS from GNU time.

    scripts/scale [--capture PATH] [--copies N ...] [--keep]

The default capture is the benchmark's ``many`` (scripts/bench_capture.py: 16,004
connections, 0.3 % loss).  Copy k is the capture with every timestamp moved by k times
(its duration + 10 s) and both IPv4 addresses moved to 10.(240 + k // 256).(k % 256).x:
the same connections again on new 4-tuples (on the same ones their SYNs, with the same
ISNs, would be retransmissions of the first copy's), so an N-copy capture has N times
the segments and connections but never more open at once.  Copies are written to the cache
directory beside the benchmark captures, and deleted afterwards unless --keep.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
from rich.table import Table

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench import cache_dir, made_capture, measure  # noqa: E402

from tcpwatch.report.fit import console  # noqa: E402

GAP_S = 10


def records(path: Path) -> tuple[bytes, np.ndarray, np.ndarray]:
    """(global header, the records as bytes, offsets of each record's header): a
    little-endian classic Ethernet pcap of IPv4 only, which is what bench_capture
    writes."""
    data = path.read_bytes()
    if data[:4] not in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        raise SystemExit(f"{path}: not a little-endian pcap")
    body = np.frombuffer(data, np.uint8, offset=24)
    offsets = []
    at = 0
    while at + 16 <= len(body):
        offsets.append(at)
        at += 16 + int.from_bytes(body[at + 8:at + 12].tobytes(), "little")
    offsets = np.array(offsets, np.int64)
    if int.from_bytes(data[20:24], "little") != 1 or not (
            (body[offsets + 28] == 0x08) & (body[offsets + 29] == 0x00)).all():
        raise SystemExit(f"{path}: not Ethernet frames of IPv4 only")
    return data[:24], body[:at], offsets


def write_copies(path: Path, copies: int, out: Path) -> int:
    """``copies`` time-shifted copies of ``path`` in one pcap; returns its size."""
    head, body, offsets = records(path)
    idx = (offsets[:, None] + np.arange(4)).ravel()  # each record's ts_sec bytes
    secs = body[idx].view("<u4")
    span = int(secs.max() - secs.min()) + GAP_S
    if copies > 16 * 256:
        raise SystemExit("at most 4096 copies (the addresses' second octet)")
    # octets 2 and 3 of the IPv4 source and destination: record header 16 + Ethernet 14
    # + 12 (source) or 16 (destination)
    octets = [offsets + 16 + 14 + a + i for a in (12, 16) for i in (1, 2)]
    with out.open("wb") as f:
        f.write(head)
        for k in range(copies):
            shifted = body.copy()
            shifted[idx] = (secs + np.uint32(k * span)).view(np.uint8)
            for o in octets[0::2]:
                shifted[o] = 240 + k // 256
            for o in octets[1::2]:
                shifted[o] = k % 256
            f.write(shifted.tobytes())
    return out.stat().st_size


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--capture", type=Path, help="the 1x capture (default: bench's many)")
    p.add_argument("--copies", type=int, action="append", help="N (repeatable; default 10)")
    p.add_argument("--keep", action="store_true", help="keep the N-copy captures")
    args = p.parse_args()
    out = console()
    base = args.capture or made_capture("many", out)
    tw = str(Path(sys.executable).with_name("tcpwatch"))
    table = Table(title=f"tcpwatch analyze FILE -o x.parquet, FILE = N copies of {base.name}")
    for c in ("copies", "file MB", "wall s", "peak RSS MB", "RSS vs 1x"):
        table.add_column(c, justify="right")
    with tempfile.TemporaryDirectory() as tmp:
        first = None
        for n in [1, *(args.copies or [10])]:
            path = base if n == 1 else cache_dir() / f"{base.stem}-x{n}.pcap"
            if n > 1 and not path.exists():
                write_copies(base, n, path)
            wall, rss = measure([tw, "analyze", str(path), "-o", f"{tmp}/x.parquet"])
            first = first or rss
            table.add_row(str(n), f"{path.stat().st_size / 1e6:,.0f}", f"{wall:.1f}",
                          f"{rss / 1e6:.0f}", f"{rss / first:.2f}×")
            if n > 1 and not args.keep:
                path.unlink()
            Path(f"{tmp}/x.parquet").unlink(missing_ok=True)
    out.print(table)


if __name__ == "__main__":
    main()
