"""One connection's section of the report: its graphs (each kind's Plotly figure, which
decimates what cannot be seen), its flow-control episodes and its explain lines -- both
capped, so a connection of a million segments adds a bounded amount of text to the page."""

from __future__ import annotations

import html
import json
import shlex

import numpy as np
import pandas as pd

from ..plot import kind_module
from ..plot.common import conn_of
from ..plot.render import HTML_HEIGHT
from ..report.explain import explain
from ..vocab import Col

#: the graphs of each connection, in page order
REPORT_KINDS = ("ladder", "seq", "window", "rtt")
#: explain lines and episodes shown per connection (the rest are counted)
EXPLAIN_SHOWN = 200
EPISODES_SHOWN = 50


def data_direction(rows: pd.DataFrame) -> str:
    """The side whose data the graphs follow: the one that sent more payload (client on a
    tie)."""
    client = (rows[Col.ROLE] == "client").to_numpy()  # categorical: compares codes
    ln = rows[Col.LEN].to_numpy(dtype=np.int64)
    return "server" if ln[~client].sum() > ln[client].sum() else "client"


def explained(rows: pd.DataFrame, shown: int = EXPLAIN_SHOWN) -> tuple[list[str], int]:
    """The first ``shown`` explain lines of one connection and how many there are in all.
    Which rows ``explain`` tells is its own rule (a transition, a violation or an analysis
    event), counted here over whole columns; it is run on the rows up to the last one shown
    only: its numbers are running values over earlier rows, so those rows give the same
    lines as the whole connection (tests/plot/test_report.py checks it)."""
    told = ((rows[Col.TRANSITION] != "") | (rows[Col.VIOLATION] != "")
            | (rows[Col.EVENTS] != "")).to_numpy()
    total = int(told.sum())
    if total > shown:
        last = int(np.flatnonzero(told)[shown - 1])
        rows = rows.iloc[:last + 1]
    return explain(rows)[:shown], total


def lazy_figure(div_id: str, fig: dict, height: int) -> str:
    """A graph's ``<div>`` and its figure as JSON, drawn by the page's script when it
    comes near the screen (``assets.LAZY``)."""
    payload = json.dumps(fig, separators=(",", ":")).replace("</", "<\\/")
    return (f'<div id="{div_id}" class="plot" data-figure="{div_id}-json" '
            f'style="height:{height}px"></div>\n'
            f'<script id="{div_id}-json" type="application/json">{payload}</script>\n')


def episodes_html(ep: pd.DataFrame, t0: float, shown: int = EPISODES_SHOWN) -> str:
    """The connection's episodes as a small table (times since its first segment)."""
    if ep.empty:
        return "<p>No zero-window or window-full episode.</p>\n"
    head = ("kind", "side", "stalled", "start", "end", "duration", "segments", "probes")
    out = ['<table class="data episodes"><thead><tr>',
           *(f"<th>{h}</th>" for h in head), "</tr></thead><tbody>\n"]
    for r in ep.head(shown).itertuples(index=False):
        end = "(open)" if pd.isna(r.end) else f"{r.end - t0:.6f}"
        dur = "" if pd.isna(r.duration) else f"{r.duration:.6f}"
        cells = (html.escape(str(r.kind)), html.escape(str(r.side)),
                 html.escape(str(r.stalled)), f"{r.start - t0:.6f}", end, dur,
                 str(r.segments), str(r.probes))
        out.append("<tr>" + "".join(
            f'<td class="num">{c}</td>' if i >= 3 else f"<td>{c}</td>"
            for i, c in enumerate(cells)) + "</tr>\n")
    out.append("</tbody></table>\n")
    if len(ep) > shown:
        out.append(f'<p class="note">and {len(ep) - shown} more episodes (tcpwatch analyze '
                   "shows them all)</p>\n")
    return "".join(out)


def section_html(rows: pd.DataFrame, ep: pd.DataFrame, summary_row: dict,
                 kinds: tuple[str, ...], source: str = "FILE") -> str:
    """The whole section of one connection (``rows``: its segments, frame order;
    ``source``: the capture, named in the command that prints every explain line)."""
    c = conn_of(rows)
    direction = data_direction(rows)
    parts = [f'<section class="conn" id="conn-{c.conn}">\n'
             f"<h2>{html.escape(c.title)}</h2>\n<p>{_facts(rows, summary_row)}; graphs "
             f"follow the {direction}'s data. <a href=\"#connections\">(back to the table)"
             "</a></p>\n"]
    for k in kinds:
        mod = kind_module(k)
        d = mod.data(rows, direction=direction)
        height = int(getattr(mod, "html_height", lambda _d: HTML_HEIGHT)(d))
        parts.append(lazy_figure(f"conn{c.conn}-{k}", mod.figure(d), height))
    parts.append("<h3>Flow-control episodes</h3>\n")
    parts.append(episodes_html(ep, c.t0))
    lines, total = explained(rows, EXPLAIN_SHOWN)
    parts.append(f"<h3>Explained ({total} segments matter)</h3>\n")
    if lines:
        parts.append("<pre class=\"explain\">" + html.escape("\n".join(lines)) + "</pre>\n")
    if total > len(lines):
        parts.append(f'<p class="note">and {total - len(lines)} more lines: tcpwatch analyze '
                     f"{html.escape(shlex.quote(source))} --explain --conn {c.conn}</p>\n")
    parts.append("</section>\n")
    return "".join(parts)


def _facts(rows: pd.DataFrame, s: dict) -> str:
    dur = float(rows[Col.TS].iloc[-1] - rows[Col.TS].iloc[0])
    facts = [f"{len(rows)} segments in {dur:.6f} s"]
    for key, label in (("ended", "ended"), ("conn_state", "Zeek conn_state"),
                       ("history", "history")):
        if s.get(key) not in (None, ""):
            facts.append(f"{label} {s[key]}")
    return html.escape(", ".join(facts))
