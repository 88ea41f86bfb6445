"""The offline pipeline: a capture read in chunks and fed to the incremental engine.

    read (capture/pcapfile) -> decode (decode/, per chunk) -> engine (incremental.py:
        flows -> states -> flags, their contexts carried from chunk to chunk)

``read_segments`` stops after decoding; ``analyze`` runs every stage and returns the
whole table (``engine/stream.py`` runs the same engine with bounded memory).  What the
reader and decoder skipped or warned about is kept in ``frame.attrs["tcpwatch"]`` (a
:class:`CaptureSummary`), and warnings are also raised as :class:`CaptureWarning`.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from ..capture.pcapfile import DEFAULT_CHUNK, CaptureReader
from ..decode.columns import from_frame, to_frame
from ..decode.concat import concat_columns
from ..decode.quoted import QuotedHeaders, empty_quotes
from ..decode.segments import DecodeCounts, decode_with_quotes
from ..errors import CaptureError
from ..vocab import DECODE_COLUMNS
from .incremental import IncrementalEngine
from .memory import release_free_memory

if TYPE_CHECKING:
    import pandas as pd

Source = str | Path | BinaryIO
Progress = Callable[[int], None]  # called with the number of bytes read so far


class CaptureWarning(UserWarning):
    """The capture was read, but not all of it (e.g. a truncated last record)."""


@dataclass(slots=True)
class CaptureSummary:
    """What was read besides the segment rows."""

    name: str = ""
    format: str = ""
    frames: int = 0
    linktypes: list[int] = field(default_factory=list)
    skipped: DecodeCounts = field(default_factory=DecodeCounts)
    warnings: list[str] = field(default_factory=list)
    #: TCP headers quoted in ICMP errors: numbered by the connection walk, not segments
    quoted: QuotedHeaders = field(default_factory=empty_quotes)


def capture_summary(reader: CaptureReader, skipped: DecodeCounts,
                    quoted: QuotedHeaders | None = None) -> CaptureSummary:
    """The summary of a capture read to its end; a file with no frame of a supported
    link type is an error, and the reader's warnings are raised."""
    summary = CaptureSummary(reader.name, reader.stats.format, reader.stats.frames,
                             sorted(reader.stats.linktypes), skipped, reader.stats.warnings,
                             quoted if quoted is not None else empty_quotes())
    if summary.frames and skipped.unsupported_link == summary.frames:
        from ..capture.linktypes import linktype_name

        names = ", ".join(f"{lt} ({linktype_name(lt)})" for lt in summary.linktypes)
        raise CaptureError(f"{reader.name}: unsupported link type {names}")
    for text in summary.warnings:
        warnings.warn(text, CaptureWarning, stacklevel=3)
    return summary


def read_segments(source: Source, *, chunk_size: int = DEFAULT_CHUNK,
                  progress: Progress | None = None) -> pd.DataFrame:
    """Read a pcap/pcapng file (a path, ``"-"`` for stdin, or a binary stream) into the
    decode-stage segment table: one row per TCP segment, in file order."""
    reader = CaptureReader(source, chunk_size)
    parts = []
    skipped = DecodeCounts()
    quotes: list[QuotedHeaders] = []
    for raw in reader:
        part, counts, quoted = decode_with_quotes(raw)
        skipped.add(counts)
        parts.append(part)
        quotes.append(quoted)
        if progress is not None:
            progress(reader.stats.bytes_read)
    release_free_memory()
    seg = to_frame(concat_columns(parts))
    release_free_memory()
    seg.attrs["tcpwatch"] = capture_summary(reader, skipped, QuotedHeaders.concat(quotes))
    return seg


def analyze(source: Source | pd.DataFrame, *, chunk_size: int = DEFAULT_CHUNK,
            progress: Progress | None = None) -> pd.DataFrame:
    """The whole pipeline: the segment table with every stage's columns.  A capture is
    fed to the engine chunk by chunk, as it is read; a decoded table (``read_segments``)
    in one batch."""
    engine = IncrementalEngine(keep=True)
    if _is_frame(source):
        summary = source.attrs.get("tcpwatch") or CaptureSummary()
        engine.add_decoded(from_frame(source, DECODE_COLUMNS), summary.quoted)
    else:
        reader = CaptureReader(source, chunk_size)
        for raw in reader:
            engine.add_frames(raw, frame=False)
            if progress is not None:
                progress(reader.stats.bytes_read)
        summary = capture_summary(reader, engine.skipped,
                                  QuotedHeaders.concat(engine.quotes) if engine.quotes else None)
    release_free_memory()
    out = engine.table()
    out.attrs["tcpwatch"] = summary
    return out



def _is_frame(source: object) -> bool:
    """A DataFrame (read_segments' table), without importing pandas for a file."""
    pd = sys.modules.get("pandas")
    return pd is not None and isinstance(source, pd.DataFrame)
