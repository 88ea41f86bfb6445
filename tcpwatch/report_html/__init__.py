"""``tcpwatch report``: one self-contained HTML file about a capture.

The page holds what it shows and nothing else: plotly.min.js and a few lines of vanilla JS
and CSS inline, data as JSON, a Content-Security-Policy that lets no request leave it
(:mod:`tcpwatch.plot.page`). From top to bottom: the capture (name, format, frames,
segments, time span, warnings); the connection summary (``summarize_connections``) as a
table sorted by clicking a header and filtered by a text box (``table.py``, ``assets.py``);
then one section per chosen connection (the busiest ``top`` by default): its graphs
(:data:`REPORT_KINDS`, each kind's ``figure()``, which decimates what a screen cannot show),
its flow-control episodes and its explain lines, capped so that a connection of a million
segments costs the page no more than a small one (``section.py``).
"""

from __future__ import annotations

from .build import REPORT_KINDS, TOP, report_html, write_report

__all__ = ["REPORT_KINDS", "TOP", "report_html", "write_report"]
