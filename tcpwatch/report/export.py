"""Writing the segment table to a file, the format chosen by the extension."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..errors import TcpwatchError
from ..vocab import Col

FORMATS = (".csv", ".parquet", ".jsonl")
#: rows per Parquet row group: the writer buffers one group, so memory stays bounded
PARQUET_ROW_GROUP = 131072
#: dictionary-encode only the columns that are categorical in the table
PARQUET_DICTIONARY = [Col.SRC, Col.DST, Col.FLAG_STR, Col.ROLE, Col.STATE_BEFORE_CLIENT,
                      Col.STATE_AFTER_CLIENT, Col.STATE_BEFORE_SERVER, Col.STATE_AFTER_SERVER,
                      Col.TRANSITION, Col.VIOLATION, Col.EVENT_CLIENT, Col.EVENT_SERVER,
                      Col.EVENTS]


def _write_parquet(seg: pd.DataFrame, path: Path) -> None:
    """Zero-copy conversion to Arrow, then LZ4 pages (fast, and as small as snappy here)."""
    table = pa.Table.from_pandas(seg, preserve_index=False)
    # pandas' own metadata names the Arrow list dtype in a form some pandas versions
    # cannot read back; the Arrow schema alone round-trips everywhere
    table = table.replace_schema_metadata(None)
    pq.write_table(table, path, compression="lz4", row_group_size=PARQUET_ROW_GROUP,
                   use_dictionary=[c for c in PARQUET_DICTIONARY if c in seg.columns],
                   write_statistics=False)


def sack_text(sack: pd.Series) -> list[str]:
    """SACK blocks as ``left-right`` pairs separated by spaces (CSV has no lists)."""
    arr = sack.array._pa_array  # an ArrowExtensionArray
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
