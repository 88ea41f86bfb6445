"""Pictures of one connection, drawn from its rows of the annotated segment table.

The package follows the pipeline's one-way flow: every *kind* of picture is a module
``tcpwatch.plot.<kind>`` with three functions, and nothing else knows how it is drawn::

    data(conn_segs, *, direction) -> KindData   # pure: DataFrame(s) of what is drawn
    draw(kind_data, ax) -> None                 # matplotlib, on an Axes it is given
    figure(kind_data) -> dict                   # a Plotly figure as plain JSON-able dicts

``conn_segs`` is the rows of one connection (``segs[segs.conn == n]``, frame order) and
``direction`` is ``"client"`` (what the client sends, and the server's ACKs of it),
``"server"`` or ``"both"``; a kind that draws both directions at once ignores it.
``data`` holds every number a picture shows, so tests compare pictures with references
(tcptrace, tshark, the table's transitions) without reading pixels; ``draw`` and
``figure`` only place them. Static images (PNG, SVG) come from matplotlib and need no
browser; HTML pages inline Plotly's own ``plotly.min.js`` and need no network
(:mod:`tcpwatch.plot.page`).
"""

from __future__ import annotations

import importlib
from types import ModuleType

#: every kind, in the order a multi-panel figure stacks them
KINDS = ("ladder", "seq", "window", "rtt", "throughput")
#: directions a kind can be asked for
DIRECTIONS = ("client", "server", "both")
#: a connection with at most this many segments is drawn as a ladder by default; a longer one
#: as its time-sequence and window graphs (a ladder folds most of a long connection away)
LADDER_DEFAULT_MAX = 60


def kind_module(name: str) -> ModuleType:
    """The module that draws ``name`` (one of :data:`KINDS`)."""
    if name not in KINDS:
        raise ValueError(f"unknown plot kind {name!r} (one of {', '.join(KINDS)})")
    return importlib.import_module(f"{__name__}.{name}")


def default_kinds(n_segments: int) -> tuple[str, ...]:
    """What ``tcpwatch plot`` draws when no ``--kind`` is given."""
    return ("ladder",) if n_segments <= LADDER_DEFAULT_MAX else ("seq", "window")
