"""A capture analysed in one pass with memory bounded by its open connections.

The engine (incremental.py) is fed the file chunk by chunk, as ``analyze`` does, but
keeps only the rows of connections that are not over (``keep=False``), and hands what
is final to a :class:`Sink` as it goes:

* ``rows``: annotated rows in file order, each once, about ``flush_rows`` at a time
  (a Parquet row group), as typed columns (``decode/columns.py``: no pandas);
* ``fix``: rows already handed out whose annotations changed -- a later segment made
  their connection dirty (see incremental.py: a new ISN on a SYN+ACK, a window scale,
  a crossed FIN); rare, and the sink patches them when it closes;
* ``closed``: every row of connections that are over, once, when they are forgotten
  (and of all the others at the end of the file), for per-connection reports -- as
  typed arrays (``engine/arrays.py``: bits and codes, no text).

Exactness.  A whole-capture analysis is the reference (``analyze``).  The one thing
this pass cannot know on time is a segment that arrives for a connection after its rows
were forgotten (both ends closed, then ``linger_s`` of capture time without a segment):
the engine notes it (``late``), and the file is read again with those connections
never forgotten, so the output still equals ``analyze`` on every capture.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

import numpy as np

from ..capture.pcapfile import DEFAULT_CHUNK, CaptureReader
from ..decode.columns import Columns, distinct
from ..decode.concat import concat_columns
from .arrays import SegmentArrays
from .incremental import FORGET_EVERY, IncrementalEngine
from .memory import release_free_memory
from .pipeline import CaptureSummary, CaptureWarning, Progress, Source, capture_summary

if TYPE_CHECKING:
    import pandas as pd

#: rows handed to ``Sink.rows`` at once (the Parquet row group of report/export.py)
FLUSH_ROWS = 131072
#: rows handed to ``Sink.closed`` at once at most (whole connections, so a larger one
#: goes alone): the per-connection reports sort and copy their columns several times
CLOSED_ROWS = 65536
#: capture seconds a closed connection's rows stay after its last segment: shorter holds
#: fewer rows; a segment after that (a late retransmission) costs a second pass, never
#: exactness
LINGER_S = 1.0


class Sink(Protocol):
    #: False: the sink ignores ``rows`` and ``fix`` (no annotated table is built)
    wants_rows: bool
    #: False: the sink ignores ``closed`` (no arrays are built)
    wants_closed: bool

    def rows(self, table: Columns) -> None: ...

    def fix(self, table: pd.DataFrame, gid: np.ndarray) -> None: ...

    def closed(self, rows: SegmentArrays) -> None: ...


def stream(source: Source, sink: Callable[[], Sink], *, chunk_size: int = DEFAULT_CHUNK,
           progress: Progress | None = None, flush_rows: int = FLUSH_ROWS,
           forget_every: int = FORGET_EVERY, linger_s: float = LINGER_S,
           closed_rows: int = CLOSED_ROWS) -> tuple[Sink, CaptureSummary]:
    """Run the engine over ``source`` into a sink made by ``sink()``; returns the sink
    and the capture's summary.  A second pass (a new sink) only when a connection got
    segments after it was forgotten (see the module docstring)."""
    pinned: set[int] = set()
    while True:
        out = sink()
        engine = IncrementalEngine(keep=False, auto_forget=False, linger_s=linger_s)
        engine.pinned = pinned
        summary = _one_pass(source, engine, out, chunk_size, progress, flush_rows,
                            forget_every, closed_rows)
        if not engine.late:
            return out, summary
        if (not isinstance(source, str) and not hasattr(source, "__fspath__")) or source == "-":
            warnings.warn(f"{len(engine.late)} connections got segments more than "
                          f"{linger_s:g} s after they closed; read from a stream, their "
                          "annotations may differ from a whole-capture analysis",
                          CaptureWarning, stacklevel=2)
            return out, summary
        pinned = pinned | engine.late


def _one_pass(source: Source, engine: IncrementalEngine, sink: Sink, chunk_size: int,
              progress: Progress | None, flush_rows: int, forget_every: int,
              closed_rows: int) -> CaptureSummary:
    reader = CaptureReader(source, chunk_size)
    pending: list = []  # decode columns of the rows not yet handed out
    flushed = 0  # gid of the first row not yet handed out

    wants_rows = getattr(sink, "wants_rows", True)
    wants_closed = getattr(sink, "wants_closed", True)
    engine.outputs_from = 0  # the engine keeps the stages' output of rows not handed out
    engine.due_rows = forget_every

    def flush() -> None:
        nonlocal flushed
        n = engine.total - flushed
        if n == 0:
            return
        if wants_rows:
            decoded = concat_columns(pending)
            pending.clear()
            sink.rows(engine.columns(slice(engine.rows.n - n, engine.rows.n), decoded))
        flushed = engine.total
        engine.outputs_from = flushed  # the stages' output of rows handed out may go

    for raw in reader:
        columns = engine.add_frames(raw, frame=False)
        if wants_rows:
            pending.append(columns)
        if engine.rewalked.size and wants_rows:
            R = engine.rows
            old = np.flatnonzero(np.isin(R["conn"], engine.rewalked) & (R["gid"] < flushed))
            if old.size:
                sink.fix(engine.rows_table(old), R["gid"][old].copy())
        if engine.total - flushed >= flush_rows:
            flush()
        if engine.look_due(forget_every):
            flush()  # rows leave the stores only once handed out
            gone = engine.over_connections()
            if gone.size and wants_closed:
                _closed(sink, engine, np.flatnonzero(np.isin(engine.rows["conn"], gone)),
                        closed_rows, release=True)
            if gone.size:
                engine.forget(gone, release=True)
                release_free_memory()
        if progress is not None:
            progress(reader.stats.bytes_read)
    flush()
    if engine.total == 0 and wants_rows:  # a table with its columns and no rows
        sink.rows(engine.columns(slice(0, 0), concat_columns([])))
    summary = capture_summary(reader, engine.skipped)
    if engine.rows.n and wants_closed:
        _closed(sink, engine, np.arange(engine.rows.n), closed_rows)
    return summary


def _closed(sink: Sink, engine: IncrementalEngine, rows: np.ndarray, most: int,
            release: bool = False) -> None:
    """``sink.closed`` for the connections of ``rows`` (file order), whole connections
    about ``most`` rows at a time.  ``release``: when a connection is longer than that,
    the connections are forgotten here, and the memory their rows held given back as
    soon as their arrays are made: the short ones together first, then each long one
    before its report is computed (the report's work then has the room its rows held)."""
    if rows.size <= most:
        sink.closed(engine.arrays(rows))
        return
    conn = engine.rows["conn"][rows]
    by_conn = np.argsort(conn, kind="stable")
    conn = conn[by_conn]
    starts = np.flatnonzero(np.r_[True, conn[1:] != conn[:-1]])  # each connection's first
    # cut at the first connection that starts at or past each multiple of ``most``
    at = np.searchsorted(starts, np.arange(most, rows.size, most))
    cuts = distinct(starts[at[at < starts.size]])
    parts = [rows[np.sort(part)] for part in np.split(by_conn, cuts)]
    del conn, by_conn, rows
    long = [p for p in parts if p.size > most]
    if not (release and long):
        for idx in parts:
            sink.closed(engine.arrays(idx))
        return
    short = [p for p in parts if p.size <= most]
    for idx in short:
        sink.closed(engine.arrays(idx))
    if short:
        long = _forget_rows(engine, np.concatenate(short), long)
    while long:
        arrays = engine.arrays(long[0])
        long = _forget_rows(engine, long[0], long[1:])
        sink.closed(arrays)


def _forget_rows(engine: IncrementalEngine, rows: np.ndarray, rest: list[np.ndarray]
                 ) -> list[np.ndarray]:
    """Forget the connections of ``rows``, their memory given back; returns ``rest``
    (row numbers of other connections) renumbered."""
    engine.forget(distinct(engine.rows["conn"][rows]), release=True)
    release_free_memory()
    remap = engine.compaction[0]
    return [remap[r] for r in rest]


class Tee:
    """Several sinks fed the same calls."""

    def __init__(self, *sinks: Sink):
        self.sinks = sinks
        self.wants_rows = any(getattr(s, "wants_rows", True) for s in sinks)
        self.wants_closed = any(getattr(s, "wants_closed", True) for s in sinks)

    def rows(self, table: Columns) -> None:
        for s in self.sinks:
            s.rows(table)

    def fix(self, table: pd.DataFrame, gid: np.ndarray) -> None:
        for s in self.sinks:
            s.fix(table, gid)

    def closed(self, rows: SegmentArrays) -> None:
        for s in self.sinks:
            s.closed(rows)
