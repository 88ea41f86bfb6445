"""Put the report together: the capture's facts, the connection table, the sections of the
chosen connections, in one standalone page (:func:`tcpwatch.plot.page.standalone`)."""

from __future__ import annotations

import html
import time
from pathlib import Path

import numpy as np
import pandas as pd

from .. import __version__
from ..plot.choose import choose_conns, conn_rows
from ..plot.page import standalone
from ..report.episodes import episodes
from ..report.summary import summarize_connections
from ..vocab import Col
from .assets import LAZY, SCRIPT, STYLE
from .section import REPORT_KINDS, section_html
from .table import table_data, table_html

#: connections drawn when none are named
TOP = 5

__all__ = ["REPORT_KINDS", "TOP", "report_html", "write_report"]


def report_html(segs: pd.DataFrame, *, source: str, conns: list[int] | None = None,
                mask: np.ndarray | None = None, top: int = TOP,
                kinds: tuple[str, ...] | None = None) -> str:
    """The whole page for an annotated table: ``conns`` drawn, else the busiest ``top`` of
    the connections ``mask`` (a boolean array over ``segs``) touches, else of all."""
    kinds = REPORT_KINDS if kinds is None else kinds
    summary = summarize_connections(segs)
    chosen = (choose_conns(segs, conns, mask, n=top, source=source)
              if len(segs) and (conns or top) else [])
    ep = episodes(segs)
    by_conn = summary.set_index("conn", drop=False) if len(summary) else summary
    sections = []
    for c in chosen:
        rows = conn_rows(segs, c)
        sections.append(section_html(rows, ep[ep["conn"] == c] if len(ep) else ep,
                                     by_conn.loc[c].to_dict(), kinds, source))
    title = f"tcpwatch report: {Path(source).name}"
    # the table's script right after it: the table works while plotly.js (4.7 MB, after
    # the sections) is still being read; the graphs are drawn once it is
    body = (f"<h1>{html.escape(title)}</h1>\n{_capture_html(segs, source)}"
            f'<h2 id="connections">Connections ({len(summary)})</h2>\n'
            f"{table_html(table_data(summary, chosen))}<script>{SCRIPT}</script>\n"
            f"{_drawn_note(chosen, conns, mask, top)}"
            + "".join(sections))
    return standalone(title, body, style=STYLE, script=LAZY, plotly_last=True)


def write_report(segs: pd.DataFrame, path: Path, **kw) -> Path:
    """Write :func:`report_html` of ``segs`` to ``path`` (UTF-8)."""
    path.write_text(report_html(segs, **kw), encoding="utf-8")
    return path


def _capture_html(segs: pd.DataFrame, source: str) -> str:
    """The facts about the capture: what was read, how much, when."""
    info = segs.attrs.get("tcpwatch")
    rows = [("capture", source)]
    if info is not None and getattr(info, "format", ""):
        rows.append(("format", f"{info.format}, {info.frames} frames"))
    rows.append(("TCP segments", str(len(segs))))
    if len(segs):
        ts = segs[Col.TS].to_numpy(dtype=np.float64)
        first = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(float(ts.min())))
        rows.append(("time", f"{first} UTC, {float(ts.max() - ts.min()):.6f} s"))
    rows.append(("made by", f"tcpwatch {__version__}, "
                            f"{time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}"))
    out = ['<table class="capture">']
    out += [f"<tr><td>{k}</td><td>{html.escape(v)}</td></tr>" for k, v in rows]
    out.append("</table>\n")
    for w in getattr(info, "warnings", None) or []:
        out.append(f'<p class="warn">warning: {html.escape(str(w))}</p>\n')
    return "\n".join(out)


def _drawn_note(chosen: list[int], conns: list[int] | None, mask, top: int) -> str:
    if not chosen:
        return "<p>No connection drawn.</p>\n"
    why = ("as asked" if conns else
           f"the busiest {len(chosen)} of those the display filter selects" if mask is not None
           else f"the busiest {len(chosen)}")
    links = ", ".join(f'<a href="#conn-{c}">{c}</a>' for c in chosen)
    return f"<p>Drawn below ({why}): connection {links}.</p>\n"
