"""pcap and pcapng files (or stdin) -> batches of raw frames, read in chunks.

Theory of operation: the file is read in chunks of ``chunk_size`` bytes into one numpy
buffer.  A compiled walk (``walk.py``) finds the records of the chunk; the bytes of a
record cut by the chunk's end are carried into the next chunk.  Each chunk becomes one
:class:`RawFrames` batch (offsets into the chunk buffer, lengths, timestamps, link
types, 1-based frame numbers), so memory follows the batch and the segment table built
from it, not the file.  Nothing here allocates by a length read from the file: lengths
are checked against fixed limits before they are used.  A corrupt length (or a malformed
pcapng block) ends the reading there, like a file cut short: the frames before it are
kept and a warning names its byte offset (Wireshark also shows the frames before it).

pcap: both byte orders, microsecond and nanosecond magic.  pcapng: sections of either
byte order, IDBs with their own link type, ``if_tsresol`` and ``if_tsoffset``; EPB, SPB
and OPB packets (other blocks are skipped and are not frames, as in Wireshark).

Compressed captures are read as they are (known by their first bytes, as tshark does, so
stdin too): gzip and xz with the standard library, zstd with ``compression.zstd``
(Python 3.14) or the zstandard package.  ``stats.bytes_read`` then counts decompressed bytes.
"""

from __future__ import annotations

import gzip
import io
import lzma
import os
import struct
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import BinaryIO

import numpy as np

from ..errors import CaptureError
from . import walk
from .bytes import PAD
from .linktypes import LINKTYPES, linktype_name

#: bytes read per batch: ~19k frames of a headers-only capture.  8 MB batches cost the
#: streamed analysis 30 MB more peak memory (600k segments) at the same speed; the
#: decoder's columns of a 2 MB batch stay in the CPU caches.
DEFAULT_CHUNK = 2 * 1024 * 1024

_PCAP_MAGIC = {
    # first four bytes -> (big endian, nanosecond)
    b"\xd4\xc3\xb2\xa1": (False, False),
    b"\xa1\xb2\xc3\xd4": (True, False),
    b"\x4d\x3c\xb2\xa1": (False, True),
    b"\xa1\xb2\x3c\x4d": (True, True),
}
_PCAPNG_MAGIC = b"\x0a\x0d\x0d\x0a"
#: first bytes of a compressed file -> the compression
try:  # what zstd reports corrupt data with, where the package is there
    from zstandard import ZstdError as _ZstdError

    _ZSTD_ERRORS: tuple[type[Exception], ...] = (_ZstdError,)
except ImportError:
    _ZSTD_ERRORS = ()

_COMPRESSED = {b"\x1f\x8b": "gzip", b"\xfd7zX": "xz", b"\x28\xb5\x2f\xfd": "zstd"}


def epoch_seconds(sec: np.ndarray, frac: np.ndarray, scale: float) -> np.ndarray:
    """The float ``ts`` column: seconds plus the fraction in ``scale`` units.  One formula
    for the reader and the live session, so that both give the same float to the bit."""
    return sec.astype(np.float64) + frac.astype(np.float64) * scale


@dataclass(slots=True)
class RawFrames:
    """One batch of frames: views into ``buf`` plus per-frame columns."""

    buf: np.ndarray  # uint8: the chunk, followed by PAD zero bytes
    off: np.ndarray  # int64: offset in buf of each frame's first byte
    caplen: np.ndarray  # int64: bytes captured
    origlen: np.ndarray  # int64: bytes on the wire
    ts: np.ndarray  # float64: epoch seconds (NaN when the record has none)
    ts_ns: np.ndarray  # int64: epoch nanoseconds, exact (-1 when the record has none)
    linktype: np.ndarray  # int32: DLT of each frame
    frame: np.ndarray  # int64: 1-based frame number in the file

    def __len__(self) -> int:
        return int(self.off.shape[0])


@dataclass(slots=True)
class ReadStats:
    """What the reader saw besides the frames it returned."""

    format: str = ""
    frames: int = 0
    bytes_read: int = 0
    linktypes: set[int] = field(default_factory=set)
    unsupported_frames: int = 0
    warnings: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _Interface:
    linktype: int
    units_per_sec: int  # timestamp units per second (if_tsresol)
    offset_sec: int  # if_tsoffset


def _checked(source: object) -> str | Path | BinaryIO:
    """A capture source: a path (str or path-like), "-" for stdin, or a binary file object
    (which stays the caller's: it is read, never closed).  Anything else is a TypeError
    that says what to pass."""
    if isinstance(source, (str, Path)):
        return source
    if isinstance(source, os.PathLike):
        return Path(os.fspath(source))
    if isinstance(source, (bytes, bytearray, memoryview)):
        raise TypeError(f"a capture is a path, '-' or a binary file object, not "
                        f"{type(source).__name__}: for a capture in memory pass "
                        "io.BytesIO(data)")
    if isinstance(source, io.TextIOBase):
        raise TypeError("a capture file object must be binary: open the file with 'rb'")
    if not callable(getattr(source, "readinto", None)):
        raise TypeError(f"a capture is a path, '-' or a binary file object (with readinto), "
                        f"not {type(source).__name__}")
    return source  # type: ignore[return-value]


def _open(source: str | Path | BinaryIO) -> tuple[BinaryIO, str]:
    if isinstance(source, (str, Path)):
        if str(source) == "-":
            return sys.stdin.buffer, "<stdin>"
        try:
            return open(source, "rb"), str(source)
        except OSError as exc:
            raise CaptureError(f"cannot open {source}: {exc.strerror}") from None
    return source, getattr(source, "name", "<stream>")


def _read_head(stream: BinaryIO) -> bytes:
    """The first 4 bytes (fewer at the end of the stream)."""
    buf = bytearray(4)
    return bytes(buf[:_read_into(stream, memoryview(buf))])


def _read_into(stream: BinaryIO, view: memoryview) -> int:
    """Fill ``view`` as far as the stream allows (pipes return short reads)."""
    got = 0
    while got < len(view):
        try:
            n = stream.readinto(view[got:])  # type: ignore[attr-defined]
        except OSError as exc:
            raise CaptureError(f"read error: {exc.strerror or exc}") from None
        if not n:
            break
        got += n
    return got


class _Prepended(io.RawIOBase):
    """``head`` (bytes already read), then the rest of ``stream``."""

    def __init__(self, head: bytes, stream: BinaryIO):
        self.head, self.stream = head, stream

    def readable(self) -> bool:
        return True

    def readinto(self, view) -> int:
        if self.head:
            n = min(len(view), len(self.head))
            view[:n], self.head = self.head[:n], self.head[n:]
            return n
        return self.stream.readinto(view)  # type: ignore[attr-defined]


class _Decompressed(io.RawIOBase):
    """A decompressing reader whose corrupt data is a CaptureError naming the
    compression, and whose early end (a file cut short) is an end of file: the capture
    reader then says that the last record is incomplete."""

    def __init__(self, inner: BinaryIO, kind: str, name: str):
        self.inner, self.kind, self.name = inner, kind, name
        self.cut = False  # the compressed data ended early

    def readable(self) -> bool:
        return True

    def readinto(self, view) -> int:
        try:  # read1: what is decompressed so far, never lost to a later error
            data = self.inner.read1(len(view))  # type: ignore[attr-defined]
        except EOFError:
            self.cut = True
            return 0
        except (OSError, lzma.LZMAError, ValueError, *_ZSTD_ERRORS) as exc:
            raise CaptureError(f"{self.name}: its {self.kind}-compressed data is corrupt "
                               f"({exc})") from None
        view[:len(data)] = data
        return len(data)


def _decompressed(stream: BinaryIO, head: bytes, name: str) -> BinaryIO | None:
    """A reader of the decompressed bytes when ``head`` starts a compressed file."""
    kind = next((k for magic, k in _COMPRESSED.items() if head.startswith(magic)), None)
    if kind is None:
        return None
    raw = io.BufferedReader(_Prepended(head, stream))
    if kind == "gzip":
        inner = gzip.GzipFile(fileobj=raw, mode="rb")
    elif kind == "xz":
        inner = lzma.LZMAFile(raw)  # noqa: SIM115 (closed with the stream it reads)
    else:
        inner = _zstd_reader(raw, name)
    return _Decompressed(inner, kind, name)  # type: ignore[return-value]


def _zstd_reader(raw: BinaryIO, name: str):
    """The standard library's zstd (Python 3.14), else the zstandard package."""
    try:
        from compression import zstd  # type: ignore[import-not-found]
    except ImportError:
        pass
    else:
        return zstd.ZstdFile(raw)
    try:
        import zstandard
    except ImportError:
        raise CaptureError(f"{name}: it is zstd-compressed and the zstandard package is "
                           "missing (pip install zstandard, or: zstd -d)") from None
    return _Zstandard(raw, zstandard)


class _Zstandard:
    """zstd frames decompressed as they arrive (zstandard's stream reader returns nothing
    from a cut frame and says nothing of it): ``read1`` gives what is decompressed so far,
    raises EOFError where the data ends inside a frame, and zstandard's error on corrupt
    data."""

    CHUNK = 1 << 16

    def __init__(self, raw: BinaryIO, zstandard):
        self.raw, self.zstandard = raw, zstandard
        self.obj = zstandard.ZstdDecompressor().decompressobj()
        self.started = False  # a frame has begun and not ended
        self.pending = b""

    def read1(self, n: int) -> bytes:
        while not self.pending:
            chunk = self.raw.read(self.CHUNK)
            if not chunk:
                if self.started:
                    raise EOFError("zstd data ends inside a frame")
                return b""
            while chunk:
                self.started = True
                self.pending += self.obj.decompress(chunk)
                chunk = b""
                if self.obj.eof:  # a frame ended: what follows starts the next one
                    chunk = self.obj.unused_data
                    self.obj = self.zstandard.ZstdDecompressor().decompressobj()
                    self.started = False
        out, self.pending = self.pending[:n], self.pending[n:]
        return out

    def close(self) -> None:
        self.raw.close()


class CaptureReader:
    """Iterate over a capture as :class:`RawFrames` batches; ``stats`` fills as it goes."""

    def __init__(self, source: str | Path | BinaryIO, chunk_size: int = DEFAULT_CHUNK):
        self.source = _checked(source)
        # A record larger than a chunk simply spans several reads (the tail grows).
        self.chunk_size = max(chunk_size, 64)
        self.stats = ReadStats()
        self.name = "<capture>"

    # -- chunking -----------------------------------------------------------------------
    def _chunks(self, stream: BinaryIO, head: bytes, base: int) -> Iterator[tuple[np.ndarray, int]]:
        """Yield (buffer, file offset of buffer[0]); the walker's tail is re-fed."""
        tail = np.frombuffer(head, dtype=np.uint8)
        while True:
            buf = np.empty(len(tail) + self.chunk_size + PAD, dtype=np.uint8)
            buf[: len(tail)] = tail
            got = _read_into(stream, memoryview(buf)[len(tail):-PAD])
            valid = len(tail) + got
            buf[valid:valid + PAD] = 0  # decoders read past a frame's end into zeros
            buf = buf[: valid + PAD]
            self.stats.bytes_read += got
            consumed = yield buf, base
            if consumed is None:  # pragma: no cover - protocol misuse
                raise RuntimeError("chunk consumer must send back the bytes consumed")
            tail = buf[consumed:valid].copy()
            base += consumed
            if got == 0:
                self._eof_tail = tail
                self._eof_base = base
                return

    # -- public -------------------------------------------------------------------------
    def __iter__(self) -> Iterator[RawFrames]:
        stream, self.name = _open(self.source)
        stream_in = stream
        try:
            head = stream.read(4)
            if (unpacked := _decompressed(stream, head, self.name)) is not None:
                stream_in, stream = stream, unpacked
                head = _read_head(stream)
                if len(head) == 0:
                    raise CaptureError(f"{self.name}: {unpacked.kind}-compressed, and "
                                       + ("nothing could be decompressed (cut short)"
                                          if unpacked.cut else "empty: not a capture"))
            else:
                stream_in = stream
            if len(head) == 0:
                raise CaptureError(f"{self.name}: empty file, not a capture")
            if head == _PCAPNG_MAGIC:
                self.stats.format = "pcapng"
                yield from self._pcapng(stream, head)
            elif head in _PCAP_MAGIC:
                self.stats.format = "pcap"
                yield from self._pcap(stream, head)
            else:
                raise CaptureError(f"{self.name}: not a pcap or pcapng file ({_describe(head)})")
            if isinstance(stream, _Decompressed) and stream.cut:
                self.stats.warnings.append(f"{self.name}: its {stream.kind}-compressed data "
                                           "ends early: the file is cut short")
        finally:
            if stream_in is not sys.stdin.buffer and stream_in is not self.source:
                stream_in.close()  # a file object the caller gave stays open

    # -- pcap ---------------------------------------------------------------------------
    def _pcap(self, stream: BinaryIO, magic: bytes) -> Iterator[RawFrames]:
        big, nano = _PCAP_MAGIC[magic]
        rest = stream.read(20)
        self.stats.bytes_read = 4 + len(rest)
        if len(rest) < 20:
            raise CaptureError(f"{self.name}: truncated pcap file header ({4 + len(rest)} of 24"
                               " bytes)")
        _major, _minor, _zone, _sig, _snap, lt_field = struct.unpack(
            (">" if big else "<") + "HHiIII", rest)
        dlt = lt_field & 0xFFFF
        self.stats.linktypes.add(dlt)
        if dlt not in LINKTYPES:
            raise CaptureError(f"{self.name}: unsupported link type {dlt} ({linktype_name(dlt)})")
        scale = 1e-9 if nano else 1e-6
        frame_no = 0
        gen = self._chunks(stream, b"", 24)
        buf, base = next(gen)
        while True:
            rec = walk.walk_pcap(buf[:-PAD], big)
            count = rec.off.shape[0]
            if count:
                ts = epoch_seconds(rec.sec, rec.frac, scale)
                ts_ns = rec.sec * 1_000_000_000 + rec.frac * (1 if nano else 1000)
                frames = np.arange(frame_no + 1, frame_no + count + 1, dtype=np.int64)
                frame_no += count
                self.stats.frames = frame_no
                yield RawFrames(buf, rec.off, rec.caplen, rec.origlen, ts, ts_ns,
                                np.full(count, dlt, np.int32), frames)
            if rec.status == walk.CORRUPT:
                end = rec.end
                bad = int.from_bytes(bytes(buf[end + 8:end + 12]), "big" if big else "little")
                self._stop(f"corrupt record length {bad} (limit {walk.MAX_CAPLEN})",
                           base + end, frame_no)
                return
            try:
                buf, base = gen.send(rec.end)
            except StopIteration:
                break
        self._warn_tail(frame_no, header=walk.PCAP_RECORD_HEADER, big=big, length_at=8)

    # -- pcapng -------------------------------------------------------------------------
    def _pcapng(self, stream: BinaryIO, magic: bytes) -> Iterator[RawFrames]:
        interfaces: list[_Interface] = []
        state = (False, 0, 0)  # big endian, IDBs seen, first IDB of this section
        frame_no = 0
        gen = self._chunks(stream, magic, 0)
        buf, base = next(gen)
        self.stats.bytes_read += 4
        while True:
            blk = walk.walk_pcapng(buf[:-PAD], *state)
            state = (blk.big, blk.n_idb, blk.section_base)
            for pos, is_big in zip(blk.idb_pos.tolist(), blk.idb_big.tolist(), strict=True):
                interfaces.append(_parse_idb(bytes(buf[pos:pos + _block_len(buf, pos, is_big)]),
                                             is_big))
                self.stats.linktypes.add(interfaces[-1].linktype)
                if interfaces[-1].units_per_sec == 0:
                    self.stats.warnings.append(
                        f"{self.name}: interface {len(interfaces) - 1} has an impossible "
                        "timestamp resolution (if_tsresol); its frames have no timestamps")
            count = blk.off.shape[0]
            # the interfaces described before each packet (IDBs of this chunk included)
            known = len(interfaces) - len(blk.idb_pos) + np.searchsorted(blk.idb_pos, blk.off)
            unknown = np.flatnonzero(blk.iface >= known)
            if unknown.size:  # Wireshark stops there too, after the frames before it
                count = int(unknown[0])
                self._stop(f"packet block for undescribed interface {int(blk.iface[count])} "
                           "(its packet data)",
                           base + int(blk.off[count]), frame_no + count)
                blk = _first(blk, count)
            if count:
                linktype = np.array([i.linktype for i in interfaces], np.int32)[blk.iface]
                ts, ts_ns = _pcapng_ts(blk.ts_raw, blk.iface, interfaces)
                frames = np.arange(frame_no + 1, frame_no + count + 1, dtype=np.int64)
                frame_no += count
                self.stats.frames = frame_no
                yield RawFrames(buf, blk.off, blk.caplen, blk.origlen, ts, ts_ns, linktype,
                                frames)
            if unknown.size:
                return
            if blk.status == walk.CORRUPT:
                what = _describe_block(buf, blk.end, blk.big)
                if base + blk.end == 0:  # its first block: not a pcapng file (as tshark says)
                    raise CaptureError(f"{self.name}: not a pcapng file ({what})")
                self._stop(f"corrupt pcapng block ({what})", base + blk.end, frame_no)
                return
            try:
                buf, base = gen.send(blk.end)
            except StopIteration:
                break
        if not interfaces and frame_no == 0 and self.stats.bytes_read < 28:
            raise CaptureError(f"{self.name}: truncated pcapng section header")
        self._warn_tail(frame_no, header=12, big=state[0], length_at=4)

    def _stop(self, what: str, offset: int, frames: int) -> None:
        """A corrupt length in the middle: keep what came before it, like a file cut short
        there (Wireshark shows the frames before it too), and say where."""
        self.stats.warnings.append(
            f"{self.name}: {what} at byte offset {offset}: reading stops there; the {frames} "
            "frames before it were read")

    def _warn_tail(self, frames: int, header: int, big: bool, length_at: int) -> None:
        tail = getattr(self, "_eof_tail", None)
        if tail is None or len(tail) == 0:
            return
        if len(tail) >= header:
            size = int.from_bytes(bytes(tail[length_at:length_at + 4]), "big" if big else "little")
            if length_at == 8:  # pcap: record header + captured bytes
                size += header
            what = f"{len(tail)} of {size} bytes"
        else:
            what = f"{len(tail)} bytes of its header"
        self.stats.warnings.append(
            f"{self.name}: the capture is cut short: the last record is incomplete ({what}); "
            f"the {frames} frames before it were read")


def _first(blk: walk.PcapngBlocks, count: int) -> walk.PcapngBlocks:
    """The first ``count`` packets of a walked chunk."""
    return replace(blk, off=blk.off[:count], caplen=blk.caplen[:count],
                   origlen=blk.origlen[:count], iface=blk.iface[:count], ts_raw=blk.ts_raw[:count])


def _describe_block(buf: np.ndarray, pos: int, big: bool) -> str:
    """Type and length of the block the walk refused (its 12-byte head is in ``buf``)."""
    btype = _u32(buf, pos, big)
    magic = bytes(buf[pos + 8:pos + 12])
    if btype == 0x0A0D0D0A and magic not in (b"\x1a\x2b\x3c\x4d", b"\x4d\x3c\x2b\x1a"):
        return f"section header with an unknown byte-order magic {magic.hex()}"
    return f"type 0x{btype:08x}, length {_block_len(buf, pos, big)}"


def _u32(buf: np.ndarray, pos: int, big: bool) -> int:
    return int.from_bytes(bytes(buf[pos:pos + 4]), "big" if big else "little")


def _block_len(buf: np.ndarray, pos: int, big: bool) -> int:
    return _u32(buf, pos + 4, big)


def _parse_idb(block: bytes, big: bool) -> _Interface:
    """Interface Description Block: link type, if_tsresol (code 9), if_tsoffset (code 14)."""
    e = ">" if big else "<"
    (linktype,) = struct.unpack_from(e + "H", block, 8)
    units, offset = 1_000_000, 0
    pos, end = 16, len(block) - 4
    while pos + 4 <= end:
        code, length = struct.unpack_from(e + "HH", block, pos)
        value = block[pos + 4:pos + 4 + length]
        if code == 0:
            break
        if code == 9 and length >= 1:
            v = value[0]
            units = 2 ** (v & 0x7F) if v & 0x80 else 10 ** (v & 0x7F)
            if units >= 2**64:  # no 64-bit count in such units: no timestamps (see below)
                units = 0
        elif code == 14 and length >= 8:
            (offset,) = struct.unpack_from(e + "q", value)
        pos += 4 + length + (-length % 4)
    return _Interface(linktype, units, offset)


def _pcapng_ts(ts_raw: np.ndarray, iface: np.ndarray, interfaces: list[_Interface]
               ) -> tuple[np.ndarray, np.ndarray]:
    """(float64 seconds, int64 nanoseconds) from interface units and offsets."""
    # units 0: an impossible if_tsresol; those frames have no timestamp
    units = np.array([i.units_per_sec for i in interfaces], dtype=np.uint64)[iface]
    unknown = units == 0
    units = np.maximum(units, np.uint64(1))
    offset = np.array([i.offset_sec for i in interfaces], dtype=np.int64)[iface]
    # integer split first: a float64 cannot hold a nanosecond count since 1970 exactly
    sec = ts_raw // units
    rem = ts_raw - sec * units
    ts = sec.astype(np.float64) + rem.astype(np.float64) / units + offset
    # sub-second part in ns: exact for 10^-k units up to ns, rounded down below that
    frac_ns = np.where(units <= 1_000_000_000, rem * (1_000_000_000 // np.maximum(units, 1)),
                       rem // np.maximum(units // 1_000_000_000, 1)).astype(np.int64)
    ts_ns = (sec.astype(np.int64) + offset) * 1_000_000_000 + frac_ns
    none = (ts_raw == np.uint64(0xFFFFFFFFFFFFFFFF)) | unknown
    ts[none] = np.nan
    ts_ns[none] = -1
    return ts, ts_ns


def _describe(head: bytes) -> str:
    if head[:4] == b"\xa1\xb2\xcd\x34" or head[:4] == b"\x34\xcd\xb2\xa1":
        return "it is a modified (Kuznetzov) pcap, which is not supported"
    if all(32 <= c < 127 or c in (9, 10, 13) for c in head):
        return f"it starts with the text {head.decode('ascii')!r}"
    return f"it starts with bytes {head.hex(' ')}"


def read_raw(source: str | Path | BinaryIO | io.BytesIO,
             chunk_size: int = DEFAULT_CHUNK) -> CaptureReader:
    """A reader over ``source`` (a path, ``"-"`` for stdin, or a binary stream)."""
    return CaptureReader(source, chunk_size)
