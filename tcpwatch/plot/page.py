"""Self-contained HTML: Plotly's own ``plotly.min.js`` (from the plotly package, read at
write time) inlined once, figures as JSON, no request leaves the page."""

from __future__ import annotations

import html
import json
from functools import cache
from pathlib import Path

#: Plotly options: no logo, no "edit in chart studio" link, nothing that fetches
CONFIG = {"displaylogo": False, "responsive": True, "scrollZoom": True,
          "modeBarButtonsToRemove": ["sendDataToCloud"], "showLink": False}


@cache
def plotly_js() -> str:
    """The text of plotly.min.js shipped inside the plotly package."""
    import plotly

    return (Path(plotly.__file__).parent / "package_data" / "plotly.min.js").read_text()


def figure_div(div_id: str, fig: dict, *, height: int = 420) -> str:
    """A ``<div>`` and the script that draws ``fig`` into it."""
    payload = json.dumps(fig, separators=(",", ":")).replace("</", "<\\/")
    return (f'<div id="{html.escape(div_id)}" class="plot" style="height:{height}px"></div>\n'
            f"<script>(function(){{var F={payload};Plotly.newPlot({json.dumps(div_id)}, F.data, "
            f"F.layout, {json.dumps(CONFIG)});}})();</script>\n")


def standalone(title: str, body: str, *, style: str = "", script: str = "",
               plotly_last: bool = False) -> str:
    """A whole HTML document with plotly.js inlined in its head, or with ``plotly_last``
    after ``body`` (what the body shows and runs comes first, the graphs' library and
    ``script`` after it)."""
    plotly = f"<script>{plotly_js()}</script>\n"
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
            f"<title>{html.escape(title)}</title>\n"
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
            "script-src 'unsafe-inline' 'unsafe-eval'; style-src 'unsafe-inline'; "
            "img-src data: blob:; worker-src blob:\">\n"
            f"<style>{BASE_STYLE}{style}</style>\n"
            f"{'' if plotly_last else plotly}</head><body>\n{body}\n"
            f"{plotly if plotly_last else ''}<script>{script}</script>\n</body></html>\n")


BASE_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:1.2em;color:#222}
h1{font-size:1.3em} h2{font-size:1.1em;margin-top:1.6em} .plot{width:100%}
pre{font-size:12px;background:#f6f6f6;padding:.6em;overflow-x:auto}
"""


def write_page(path: Path, title: str, figures: list[tuple[dict, int]]) -> None:
    """``tcpwatch plot -o x.html``: the figures one under another on one page."""
    body = f"<h1>{html.escape(title)}</h1>\n" + "".join(
        figure_div(f"fig{i}", fig, height=h) for i, (fig, h) in enumerate(figures))
    path.write_text(standalone(title, body), encoding="utf-8")
