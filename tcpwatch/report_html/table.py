"""The connection summary as the page's table: the columns shown, their values as JSON (the
page's script builds, sorts and filters the rows), and the table's empty skeleton."""

from __future__ import annotations

import html
import json
import math

import numpy as np
import pandas as pd

#: the summary columns the table shows (all of them: ``tcpwatch analyze --conn-log``), and
#: what each header's tooltip says
SHOWN = {
    "conn": "connection number (Wireshark's tcp.stream); a link to its section when drawn",
    "client": "the end that sent the first SYN (or the first segment seen)",
    "server": "the other end",
    "start": "seconds since the capture's first segment",
    "duration": "seconds from the connection's first to its last segment",
    "pkts_client": "segments the client sent",
    "pkts_server": "segments the server sent",
    "bytes_client": "payload bytes the client sent (retransmissions count again)",
    "bytes_server": "payload bytes the server sent (retransmissions count again)",
    "handshake": "which parts of the three-way handshake were captured",
    "ended": "how the connection ended: RST by whom, FIN each way, or open",
    "final_client": "the client's RFC 9293 state after the last segment",
    "final_server": "the server's RFC 9293 state after the last segment",
    "conn_state": "Zeek's conn_state",
    "history": "Zeek's history letters (upper case: the client's)",
    "retransmissions": "segments Wireshark flags as retransmissions (fast, spurious included)",
    "dup_acks": "duplicate ACKs",
    "out_of_order": "segments flagged out-of-order",
    "lost_segments": "segments flagged as following a gap (previous segment not captured)",
    "zero_window_s": "seconds spent in zero-window episodes",
    "rtt_median": "median ACK RTT, seconds",
    "throughput_client": "client's bytes per second over the connection's duration",
    "throughput_server": "server's bytes per second over the connection's duration",
}
#: significant digits of a fractional number in the table
DIGITS = 6
#: rows shown at once (and added by the "more" button): the DOM of 16,000 rows of 23
#: cells takes a browser tens of seconds to lay out; filtering and sorting see every row
PAGE = 500


def _cell(v: object) -> object:
    """A JSON value for one cell: numbers stay numbers (sorted as such), missing is null."""
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        if not math.isfinite(v):
            return None
        return int(v) if float(v).is_integer() else float(f"{float(v):.{DIGITS}g}")
    return str(v)


def table_data(summary: pd.DataFrame, drawn: list[int]) -> dict:
    """What the page's script needs: column names, which are numeric, their tooltips, the
    rows (``start`` made relative to the first connection's), the connections drawn."""
    cols = [c for c in SHOWN if c in summary.columns]
    frame = summary[cols].copy()
    if "start" in frame and len(frame):
        frame["start"] = frame["start"].astype(np.float64) - float(frame["start"].min())
    numeric = [bool(pd.api.types.is_numeric_dtype(frame[c])) and not
               pd.api.types.is_bool_dtype(frame[c]) for c in cols]
    columns = [frame[c].astype(object).to_numpy() for c in cols]
    rows = [[_cell(v) for v in row] for row in zip(*columns, strict=True)] if cols else []
    return {"columns": cols, "numeric": numeric, "tips": [SHOWN[c] for c in cols],
            "rows": rows, "drawn": sorted(drawn), "page": PAGE}


def table_html(data: dict) -> str:
    """The filter box, the count, the empty table and its data (filled by the script)."""
    payload = json.dumps(data, separators=(",", ":"), allow_nan=False).replace("</", "<\\/")
    return (
        '<div class="filter"><input id="filter" type="search" spellcheck="false" '
        'aria-label="filter connections" placeholder="filter: words, column:text, '
        'column&gt;number (e.g. ended:RST retransmissions&gt;0)">\n'
        '<span id="shown"></span></div>\n'
        '<div class="tablewrap"><table id="conns"><thead><tr></tr></thead><tbody></tbody>'
        '</table></div>\n<button id="more" type="button" hidden>show more rows</button>\n'
        f'<script id="conn-data" type="application/json">{payload}</script>\n'
        f"<p class=\"note\">{html.escape(FILTER_HELP)}</p>\n")


FILTER_HELP = ("Click a header to sort (again: the other way). The filter keeps the rows "
               "that match every term: a word anywhere in the row, column:text (the column's "
               "text contains it), column=text (equals), column>n, column<n, column>=n, "
               'column<=n (numbers); "quoted text" keeps its spaces; a column may be named by '
               "a part of its name (state:RST is conn_state:RST).")
