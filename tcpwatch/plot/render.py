"""Draw kinds of one connection into a file: PNG/SVG with matplotlib, HTML with Plotly."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from . import kind_module
from .page import write_page
from .static import write_static

FORMATS = (".png", ".svg", ".html")
#: pixel height of an interactive figure of a kind that does not say
HTML_HEIGHT = 420


def build(conn_segs: pd.DataFrame, kinds: tuple[str, ...], direction: str) -> list:
    """(kind module, its data) for each kind."""
    return [(mod, mod.data(conn_segs, direction=direction))
            for mod in map(kind_module, kinds)]


def render(conn_segs: pd.DataFrame, kinds: tuple[str, ...], path: Path, *,
           direction: str = "client", split: bool = False) -> list[Path]:
    """Write ``kinds`` of one connection to ``path`` (all in one figure or page), or with
    ``split`` one file per kind (``name-KIND.ext``); returns the files written."""
    panels = build(conn_segs, kinds, direction)
    groups = ([(path.with_name(f"{path.stem}-{k}{path.suffix}"), [p])
               for k, p in zip(kinds, panels, strict=True)] if split and len(kinds) > 1
              else [(path, panels)])
    for out, group in groups:
        if out.suffix.lower() == ".html":
            figs = [(mod.figure(d), int(getattr(mod, "html_height", lambda _d: HTML_HEIGHT)(d)))
                    for mod, d in group]
            write_page(out, f"tcpwatch: {group[0][1].conn.title}", figs)
        else:
            write_static(out, group)
    return [out for out, _ in groups]
