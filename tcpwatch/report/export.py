"""Writing the segment table to a file, the format chosen by the extension."""

from __future__ import annotations

import json
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ..decode.columns import Columns, arrow_of, numpy_of, table
from ..errors import TcpwatchError
from ..vocab import Col

if TYPE_CHECKING:
    import pandas as pd

FORMATS = (".csv", ".parquet", ".jsonl")
#: rows per Parquet row group: the writer buffers one group, so memory stays bounded
PARQUET_ROW_GROUP = 131072
#: dictionary-encode only the columns that are categorical in the table
PARQUET_DICTIONARY = [Col.SRC, Col.DST, Col.FLAG_STR, Col.ROLE, Col.STATE_BEFORE_CLIENT,
                      Col.STATE_AFTER_CLIENT, Col.STATE_BEFORE_SERVER, Col.STATE_AFTER_SERVER,
                      Col.TRANSITION, Col.VIOLATION, Col.EVENT_CLIENT, Col.EVENT_SERVER,
                      Col.EVENTS]
#: in a Parquet file, after the table's columns: ``ts_ns`` as an Arrow timestamp (UTC;
#: null where there is no time), read by pandas as ``datetime64[ns, UTC]``
TS_UTC = "ts_utc"
#: the integer columns with missing values: pandas' metadata in the file names their
#: nullable dtypes (``UInt16``, ``Int64`` ...), so ``pd.read_parquet`` gives the dtypes
#: ``tcpwatch.analyze`` does, not float64
NULLABLE_INTEGERS = (Col.MSS, Col.WSCALE, Col.TSVAL, Col.TSECR, Col.DUP_ACK_NUM,
                     Col.DUP_ACK_FRAME, Col.BYTES_IN_FLIGHT, Col.ACKED_FRAME)


def _for_pandas(t: pa.Table) -> pa.Table:
    """``ts_utc`` appended, and pandas' metadata naming the nullable integer columns'
    dtypes (only those: the rest, dictionaries included, pandas reads from the Arrow
    types alone; the SACK lists stay lists of numbers, which every pandas reads)."""
    if Col.TS_NS in t.column_names and TS_UTC not in t.column_names:
        ns = numpy_of(t.column(Col.TS_NS).combine_chunks()) if t.num_rows else \
            np.zeros(0, np.int64)
        utc = arrow_of(ns, ns < 0).view(pa.timestamp("ns", tz="UTC"))
        t = t.append_column(pa.field(TS_UTC, utc.type), utc)
    columns = []
    for f in t.schema:
        if f.name in NULLABLE_INTEGERS and pa.types.is_integer(f.type):
            name = str(f.type).capitalize().replace("Uint", "UInt")
            columns.append({"name": f.name, "field_name": f.name, "pandas_type": str(f.type),
                            "numpy_type": name, "metadata": None})
    meta = {"index_columns": [], "column_indexes": [], "columns": columns,
            "creator": {"library": "tcpwatch"}, "pandas_version": "2.0.0"}
    return t.replace_schema_metadata({"pandas": json.dumps(meta)})


def _arrow(seg: pd.DataFrame) -> pa.Table:
    """Zero-copy conversion to Arrow; every dictionary column as int32 -> string, so
    that row groups made from different batches share one schema.  pandas' own metadata
    is dropped: it names the Arrow list dtype in a form some pandas versions cannot read
    back, and the Arrow schema alone round-trips everywhere."""
    table = pa.Table.from_pandas(seg, preserve_index=False).replace_schema_metadata(None)
    fields = [pa.field(f.name, pa.dictionary(pa.int32(), pa.string()))
              if pa.types.is_dictionary(f.type) else f for f in table.schema]
    return table.cast(pa.schema(fields))


def _arrow_file(seg: pd.DataFrame) -> pa.Table:
    """What a Parquet file holds of ``seg``."""
    return _for_pandas(_arrow(seg))


def _parquet_writer(path: Path, schema: pa.Schema) -> pq.ParquetWriter:
    """LZ4 pages (fast, and as small as snappy here), dictionaries where the table has
    categoricals."""
    return pq.ParquetWriter(path, schema, compression="lz4", write_statistics=False,
                            use_dictionary=[c for c in PARQUET_DICTIONARY
                                            if c in schema.names])


def _write_parquet(seg: pd.DataFrame, path: Path) -> None:
    table = _arrow_file(seg)
    with _parquet_writer(path, table.schema) as writer:
        writer.write_table(table, row_group_size=PARQUET_ROW_GROUP)


class ParquetSink:
    """The segment table written as it is analysed (``engine/stream.py``): one row group
    per batch of rows handed out.  Rows whose annotations changed after they were
    written (``fix``) are patched when the sink closes, row group by row group, so
    memory stays bounded by one row group either way."""

    wants_rows = True
    wants_closed = False

    def __init__(self, path: Path):
        self.path = path
        self.writer: pq.ParquetWriter | None = None
        self.fixes: list[tuple[np.ndarray, pd.DataFrame]] = []
        self.patched = 0  # rows rewritten at close
        # Arrow encodes and compresses without the GIL: a row group is written while
        # the engine annotates the next batch (one group in flight at most)
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="parquet")
        self._pending: Future | None = None

    def rows(self, columns: Columns) -> None:
        self._wait()
        self._pending = self._thread.submit(self._write, columns)

    def _write(self, columns: Columns) -> None:
        t = _for_pandas(table(columns))
        if self.writer is None:
            self.writer = _try(self.path, lambda: _parquet_writer(self.path, t.schema))
        _try(self.path, lambda: self.writer.write_table(t, row_group_size=PARQUET_ROW_GROUP))

    def _wait(self) -> None:
        if self._pending is not None:
            pending, self._pending = self._pending, None
            pending.result()  # re-raises the writer's error here

    def fix(self, table: pd.DataFrame, gid: np.ndarray) -> None:
        self.fixes.append((gid, table))

    def closed(self, rows) -> None:
        pass

    def close(self) -> None:
        try:
            self._wait()
        finally:
            self._thread.shutdown()
            if self.writer is not None:
                writer, self.writer = self.writer, None
                _try(self.path, writer.close)
        if self.fixes:
            _try(self.path, self._patch)
            self.fixes = []

    def _patch(self) -> None:
        """Rewrite the file with the fixed rows (the last fix of a row wins), one row
        group at a time, in Arrow."""
        gid = np.concatenate([g for g, _ in self.fixes])
        import pandas as pd

        fixed = _arrow(pd.concat([t for _, t in self.fixes], ignore_index=True))
        last = len(gid) - 1 - np.unique(gid[::-1], return_index=True)[1]
        gid, fixed = gid[last], fixed.take(pa.array(last))  # ascending gid, last fix each
        self.patched = len(gid)
        tmp = self.path.with_name(self.path.name + ".tmp")
        source = pq.ParquetFile(self.path)
        schema = source.schema_arrow
        start = 0
        with _parquet_writer(tmp, schema) as writer:
            for i in range(source.num_row_groups):
                group = source.read_row_group(i)
                lo, hi = np.searchsorted(gid, [start, start + group.num_rows])
                at = (gid[lo:hi] - start).tolist()
                for name in fixed.column_names if hi > lo else ():
                    k = schema.get_field_index(name)
                    values = group.column(k).to_pylist()
                    for pos, value in zip(at, fixed.column(name)[lo:hi].to_pylist(),
                                          strict=True):
                        values[pos] = value
                    group = group.set_column(k, schema.field(k),
                                             pa.array(values, type=schema.field(k).type))
                writer.write_table(group, row_group_size=PARQUET_ROW_GROUP)
                start += group.num_rows
        tmp.replace(self.path)


def _try(path: Path, action):
    try:
        return action()
    except OSError as exc:
        raise TcpwatchError(f"cannot write {path}: {exc.strerror or exc}") from None


def sack_text(sack: pd.Series) -> list[str]:
    """SACK blocks as ``left-right`` pairs separated by spaces (CSV has no lists)."""
    arr = sack.array._pa_array  # an ArrowExtensionArray
    import pyarrow.compute as pc  # here: its import wraps every kernel (0.2 s)

    if not pc.sum(pc.list_value_length(arr)).as_py():
        return [""] * len(sack)
    return [" ".join(f"{v[i]}-{v[i + 1]}" for i in range(0, len(v), 2)) if v else ""
            for v in arr.to_pylist()]


def write_segments(seg: pd.DataFrame, path: Path) -> None:
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise TcpwatchError(f"cannot write {path}: unknown extension {suffix!r} "
                            f"(use one of {', '.join(FORMATS)})")
    try:
        seg = seg.copy(deep=False)
        seg.attrs = {}  # the capture summary is not part of the file
        if suffix == ".parquet":
            _write_parquet(seg, path)
        elif suffix == ".csv":
            seg.assign(**{Col.SACK: sack_text(seg[Col.SACK])}).to_csv(
                path, index=False, lineterminator="\n")
        else:
            seg.to_json(path, orient="records", lines=True)
    except OSError as exc:
        raise TcpwatchError(f"cannot write {path}: {exc.strerror or exc}") from None
