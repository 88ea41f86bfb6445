"""``tcpwatch analyze FILE --conn-log PATH``: the per-connection summary written to a file,
part by part as connections end (streamed) or at once, the format chosen by the
extension:

* ``.csv``, ``.jsonl``: the summary's columns (``summary.SUMMARY_COLUMNS``);
* ``.parquet``: the same, with pandas' dtypes kept (nullable integers, booleans);
* ``.log``: Zeek's conn.log TSV (``#separator``, ``#fields``, ``#types`` ... ``#close``),
  Zeek's own column names first, tcpwatch's other columns after them (``ZEEK_FIELDS``;
  tcpwatch's ``duration``, first to last segment, is ``tcpwatch.duration`` there).

Rows come in the order the connections end (as Zeek writes them); ``conn`` is
Wireshark's ``tcp.stream``.  Zeek's ``uid`` is "C" and 17 base62 digits of a hash of the
connection's start time and endpoints: the same capture gives the same uids.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from pathlib import Path
from typing import IO, TYPE_CHECKING

import numpy as np

from ..decode.columns import Columns
from ..engine.arrays import SegmentArrays
from ..errors import TcpwatchError
from .connstats import BOOL_COLUMNS, SideStats, summary_frame

if TYPE_CHECKING:
    import pandas as pd

FORMATS = (".csv", ".parquet", ".jsonl", ".log")

#: Zeek's conn.log columns: (name, Zeek type, the summary column it is made from, or
#: None: unset, "-"); base/protocols/conn/main.zeek
ZEEK_FIELDS: tuple[tuple[str, str, str | None], ...] = (
    ("ts", "time", "start"), ("uid", "string", "uid"),
    ("id.orig_h", "addr", "orig_h"), ("id.orig_p", "port", "orig_p"),
    ("id.resp_h", "addr", "resp_h"), ("id.resp_p", "port", "resp_p"),
    ("proto", "enum", "proto"), ("service", "string", None),
    ("duration", "interval", "zeek_duration"), ("orig_bytes", "count", "seq_bytes_client"),
    ("resp_bytes", "count", "seq_bytes_server"), ("conn_state", "string", "conn_state"),
    ("local_orig", "bool", None), ("local_resp", "bool", None),
    ("missed_bytes", "count", "missed_bytes"), ("history", "string", "history"),
    ("orig_pkts", "count", "pkts_client"), ("orig_ip_bytes", "count", None),
    ("resp_pkts", "count", "pkts_server"), ("resp_ip_bytes", "count", None),
)
_ZEEK_USED = {src for _, _, src in ZEEK_FIELDS if src} | {"client", "server"}
_ZEEK_NAMES = {name for name, _, _ in ZEEK_FIELDS}
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def uid(start: float, client: str, server: str) -> str:
    """Zeek-style connection uid: "C" and 17 base62 digits of a hash of the connection."""
    n = int.from_bytes(hashlib.sha1(f"{start:.6f}|{client}|{server}".encode()).digest()[:12],
                       "big")
    digits = []
    for _ in range(17):
        n, r = divmod(n, 62)
        digits.append(_BASE62[r])
    return "C" + "".join(digits)


def _split(endpoint: str) -> tuple[str, str]:
    """``addr:port`` / ``[v6]:port`` -> (addr, port)."""
    addr, _, port = endpoint.rpartition(":")
    return addr.strip("[]"), port


class ConnLogWriter:
    """Appends summary parts (DataFrames) to PATH in the format of its extension."""

    def __init__(self, path: Path):
        self.path = path
        self.suffix = path.suffix.lower()
        if self.suffix not in FORMATS:
            raise TcpwatchError(f"cannot write {path}: unknown extension {self.suffix!r} "
                                f"(use one of {', '.join(FORMATS)})")
        self.rows = 0
        self._file: IO[str] | None = None
        self._parquet = None
        self._schema = None
        self._fields: list[str] | None = None

    def write(self, part: pd.DataFrame) -> None:
        try:
            self._write(part)
        except OSError as exc:
            raise TcpwatchError(f"cannot write {self.path}: {exc.strerror or exc}") from None

    def _write(self, part: pd.DataFrame) -> None:
        first = self._file is None and self._parquet is None
        if self.suffix == ".parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.Table.from_pandas(part, preserve_index=False, schema=self._schema)
            if first:
                self._schema = table.schema
                self._parquet = pq.ParquetWriter(self.path, table.schema)
            self._parquet.write_table(table)
        else:
            if first:
                self._file = open(self.path, "w", encoding="utf-8", newline="\n")  # noqa: SIM115
                if self.suffix == ".log":
                    self._fields = _zeek_header(self._file, part)
            if self.suffix == ".csv":  # Arrow's writer: 10x pandas' on many rows
                import pyarrow as pa
                import pyarrow.csv as pacsv

                self._file.flush()
                pacsv.write_csv(pa.Table.from_pandas(part, preserve_index=False),
                                self._file.buffer,
                                pacsv.WriteOptions(include_header=first,
                                                   quoting_style="needed"))
            elif self.suffix == ".jsonl":
                if len(part):
                    text = part.to_json(orient="records", lines=True)
                    self._file.write(text if text.endswith("\n") else text + "\n")
            else:
                _zeek_rows(self._file, part, self._fields)
        self.rows += len(part)

    def close(self, empty: pd.DataFrame | None = None) -> None:
        """Finish the file (``empty``: the columns to write when no part came)."""
        try:
            if self._file is None and self._parquet is None and empty is not None:
                self._write(empty)
            if self._parquet is not None:
                self._parquet.close()
                self._parquet = None
            if self._file is not None:
                if self.suffix == ".log":
                    self._file.write(f"#close\t{_zeek_time()}\n")
                self._file.close()
                self._file = None
        except OSError as exc:
            raise TcpwatchError(f"cannot write {self.path}: {exc.strerror or exc}") from None


    def abort(self) -> None:
        """Close and remove the file (a run that failed)."""
        for handle in (self._file, self._parquet):
            if handle is not None:
                with contextlib.suppress(OSError):
                    handle.close()
        self._file = self._parquet = None
        self.path.unlink(missing_ok=True)


def _zeek_time() -> str:
    return time.strftime("%Y-%m-%d-%H-%M-%S", time.localtime())


def _zeek_type(series: pd.Series) -> str:
    kind = series.dtype.kind
    if str(series.dtype) == "boolean" or kind == "b":
        return "bool"
    if kind in "iu" or str(series.dtype).startswith(("Int", "UInt")):
        return "int"
    if kind == "f" or str(series.dtype).startswith("Float"):
        return "double"
    return "string"


def _extras(part: pd.DataFrame) -> list[str]:
    """tcpwatch's columns written after Zeek's (those with no Zeek equivalent)."""
    return [c for c in part.columns if c not in _ZEEK_USED]


def _extra_name(column: str) -> str:
    """A tcpwatch column's name in the log: its own, or ``tcpwatch.NAME`` where Zeek has
    a column of that name with another meaning (``duration``: Zeek stops the clock when
    both ends closed, tcpwatch's runs to the last segment)."""
    return f"tcpwatch.{column}" if column in _ZEEK_NAMES else column


def _zeek_header(out: IO[str], part: pd.DataFrame) -> list[str]:
    extras = _extras(part)
    names = [n for n, _, _ in ZEEK_FIELDS] + [_extra_name(c) for c in extras]
    types = [t for _, t, _ in ZEEK_FIELDS] + [_zeek_type(part[c]) for c in extras]
    out.write("#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n"
              "#unset_field\t-\n#path\tconn\n")
    out.write(f"#open\t{_zeek_time()}\n")
    out.write("#fields\t" + "\t".join(names) + "\n")
    out.write("#types\t" + "\t".join(types) + "\n")
    return extras


def _zeek_column(values, typ: str) -> list[str]:
    """One column's cells as Zeek writes them: "-" unset, "(empty)" for an empty text,
    times and doubles with 6 decimals, T/F, text with tabs and newlines escaped."""
    import pandas as pd

    series = pd.Series(values)
    unset = series.isna().to_numpy()
    if typ in ("time", "interval", "double"):
        text = np.char.mod("%.6f", series.to_numpy(np.float64, na_value=np.nan)).astype(object)
    elif typ == "bool":
        text = np.where(series.fillna(False).to_numpy(bool), "T", "F").astype(object)
    elif typ in ("int", "count"):
        text = series.fillna(0).astype(np.int64).astype(str).to_numpy(object)
    else:
        text = series.fillna("").astype(str).str.replace("\\", "\\\\", regex=False) \
            .str.replace("\t", "\\x09", regex=False) \
            .str.replace("\n", "\\x0a", regex=False).to_numpy(object)
        text[text == ""] = "(empty)"
    text[unset] = "-"
    return text.tolist()


def _zeek_rows(out: IO[str], part: pd.DataFrame, extras: list[str]) -> None:
    if not len(part):
        return
    cols: dict[str, list] = {}
    ends = [(_split(c), _split(s)) for c, s in zip(part["client"], part["server"], strict=True)]
    cols["orig_h"] = [c[0] for c, _ in ends]
    cols["orig_p"] = [c[1] for c, _ in ends]
    cols["resp_h"] = [s[0] for _, s in ends]
    cols["resp_p"] = [s[1] for _, s in ends]
    cols["proto"] = ["tcp"] * len(part)
    cols["uid"] = [uid(t, c, s) for t, c, s in zip(part["start"], part["client"],
                                                    part["server"], strict=True)]
    n = len(part)
    fields = [["-"] * n if src is None else
              cols[src] if src in cols else _zeek_column(part[src], typ)
              for _, typ, src in ZEEK_FIELDS]
    fields += [_zeek_column(part[c], _zeek_type(part[c])) for c in extras]
    out.write("".join("\t".join(row) + "\n" for row in zip(*fields, strict=True)))


class ConnLogSink:
    """A :class:`tcpwatch.engine.stream.Sink` writing the summary of every connection
    when it ends (with each side's options and largest bytes in flight: ``SideStats``,
    kept only until the connection's row is written, so memory is bounded by the open
    connections)."""

    wants_rows = True
    wants_closed = True

    def __init__(self, path: Path):
        self.writer = ConnLogWriter(path)
        self.sides = SideStats()

    def rows(self, table: Columns) -> None:
        self.sides.rows(table)

    def fix(self, table: pd.DataFrame, gid: np.ndarray) -> None:
        self.sides.fix(table)

    def closed(self, rows: SegmentArrays) -> None:
        from .summary import connection_table

        part = connection_table(rows)
        part.update(self.sides.pop(part["conn"]))
        self.writer.write(summary_frame(part))

    def close(self) -> None:
        from .summary import summarize_connections

        self.writer.close(empty=summarize_connections(_no_rows()))

    def abort(self) -> None:
        self.writer.abort()


def _no_rows():
    import pandas as pd

    return pd.DataFrame()


def write_conn_log(summary: pd.DataFrame, path: Path) -> None:
    """The whole summary (``summarize_connections``) to PATH."""
    writer = ConnLogWriter(path)
    frame = summary.copy()
    for name in BOOL_COLUMNS:
        if name in frame and len(frame):
            frame[name] = frame[name].astype("boolean")
    writer.write(frame)
    writer.close()
