"""The offline pipeline as one chain of named steps.

    read (capture/pcapfile) -> decode (decode.py, per chunk) -> concat
        -> assign_connections (flows.py) -> ...later stages

``read_segments`` stops after decoding; ``analyze`` runs every stage.  What the reader
and decoder skipped or warned about is kept in ``frame.attrs["tcpwatch"]`` (a
:class:`CaptureSummary`), and warnings are also raised as :class:`CaptureWarning`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pandas as pd
import pyarrow as pa

from ..capture.bytes import PAD
from ..capture.pcapfile import DEFAULT_CHUNK, CaptureReader, RawFrames
from ..decode.quoted import QuotedHeaders, empty_quotes
from ..decode.segments import Columns, DecodeCounts, decode, decode_with_quotes
from ..errors import CaptureError
from ..vocab import DECODE_COLUMNS, Col
from .flags import flag_analysis
from .flows import assign_connections
from .memory import release_free_memory
from .states import apply_states

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


def read_segments(source: Source, *, chunk_size: int = DEFAULT_CHUNK,
                  progress: Progress | None = None) -> pd.DataFrame:
    """Read a pcap/pcapng file (a path, ``"-"`` for stdin, or a binary stream) into the
    decode-stage segment table: one row per TCP segment, in file order."""
    reader = CaptureReader(source, chunk_size)
    parts: list[pd.DataFrame] = []
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
    seg = concat_columns(parts)
    release_free_memory()
    summary = CaptureSummary(reader.name, reader.stats.format, reader.stats.frames,
                             sorted(reader.stats.linktypes), skipped, reader.stats.warnings,
                             QuotedHeaders.concat(quotes))
    if summary.frames and skipped.unsupported_link == summary.frames:
        from ..capture.linktypes import linktype_name

        names = ", ".join(f"{lt} ({linktype_name(lt)})" for lt in summary.linktypes)
        raise CaptureError(f"{reader.name}: unsupported link type {names}")
    for text in summary.warnings:
        warnings.warn(text, CaptureWarning, stacklevel=2)
    seg.attrs["tcpwatch"] = summary
    return seg


def analyze(source: Source | pd.DataFrame, *, chunk_size: int = DEFAULT_CHUNK,
            progress: Progress | None = None) -> pd.DataFrame:
    """The whole pipeline: the segment table with every stage's columns."""
    seg = source if isinstance(source, pd.DataFrame) else read_segments(
        source, chunk_size=chunk_size, progress=progress)
    attrs = dict(seg.attrs)
    out = seg.pipe(assign_connections).pipe(apply_states).pipe(flag_analysis)
    out.attrs.update(attrs)
    return out


_CATEGORICAL_GROUPS = ((Col.SRC, Col.DST), (Col.FLAG_STR,))


def concat_columns(parts: list[Columns]) -> pd.DataFrame:
    """Concatenate decoded chunks column by column, releasing each chunk's column as soon
    as it is copied (peak memory: the table plus one column); categoricals are recoded
    onto shared categories."""
    if not parts:
        parts = [decode(_NO_FRAMES)[0]]
    columns: dict[str, object] = {}
    for group in _CATEGORICAL_GROUPS:
        cats = pd.Index(pd.unique(np.concatenate(
            [p[c].categories.to_numpy(dtype=object) for p in parts for c in group])))
        for c in group:
            codes = np.concatenate([cats.get_indexer(p[c].categories)[p.pop(c).codes]
                                    for p in parts])
            columns[c] = pd.Categorical.from_codes(codes.astype(np.int32), cats, validate=False)
    for c in DECODE_COLUMNS:
        if c in columns:
            continue
        first = parts[0][c]
        if isinstance(first, pd.arrays.ArrowExtensionArray):
            # the chunks themselves: pa.chunked_array() of ChunkedArrays goes through Python
            chunks = [ch for p in parts for ch in p.pop(c)._pa_array.chunks]
            columns[c] = pd.arrays.ArrowExtensionArray(pa.chunked_array(chunks))
        elif isinstance(first, pd.arrays.IntegerArray):
            pieces = [p.pop(c) for p in parts]
            columns[c] = pd.arrays.IntegerArray(
                np.concatenate([x._data for x in pieces]),
                np.concatenate([x._mask for x in pieces]))
            del pieces
        else:
            columns[c] = np.concatenate([p.pop(c) for p in parts])
    return pd.DataFrame(columns, copy=False)[list(DECODE_COLUMNS)]


_NO_FRAMES = RawFrames(np.zeros(PAD, np.uint8), *(np.zeros(0, np.int64) for _ in range(3)),
                       np.zeros(0, np.float64), np.zeros(0, np.int64), np.zeros(0, np.int32),
                       np.zeros(0, np.int64))
