"""Live annotation: raw records arrive in batches; the table is rebuilt by the same code
as ``analyze``.

Each batch is decoded once (the decoder is per batch anyway); connection numbering,
states and analysis flags are then recomputed over all segments so far by the compiled
passes, so live annotations equal ``tcpwatch analyze`` of the written capture by
construction.  (Carrying the passes' state across batches instead of recomputing is
future work; the passes take about 0.1 s per 100,000 segments.)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .capture.bytes import PAD
from .capture.pcapfile import RawFrames
from .decode import decode
from .pipeline import analyze, concat_columns


class LiveSession:
    def __init__(self, linktype: int = 1):
        self.linktype = linktype
        self.frames = 0
        self._parts: list[dict] = []
        self._cached: pd.DataFrame | None = None

    def add(self, records: list[tuple[int, bytes, int]]) -> None:
        if not records:
            return
        lengths = np.array([len(r[1]) for r in records], np.int64)
        off = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
        buf = np.frombuffer(b"".join(r[1] for r in records) + b"\0" * PAD, np.uint8)
        ts_ns = np.array([r[0] for r in records], np.int64)
        raw = RawFrames(buf, off, lengths, np.array([r[2] for r in records], np.int64),
                        ts_ns / 1e9, ts_ns, np.full(len(records), self.linktype, np.int32),
                        np.arange(self.frames + 1, self.frames + len(records) + 1))
        self.frames += len(records)
        self._parts.append(decode(raw)[0])
        self._cached = None

    def table(self) -> pd.DataFrame:
        if self._cached is None:
            parts = [dict(p) for p in self._parts]  # concat_columns consumes its inputs
            self._cached = analyze(concat_columns(parts))
        return self._cached
