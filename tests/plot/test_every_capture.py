"""Every plot kind on every capture in the repository (our recordings, the public ones, the
regression cases) -- issue 14: "every plot kind on every capture in the repo renders
without error".

For every capture: each kind's data() and figure() (every number drawn, and the HTML's
figure as JSON) for its busiest connection in each direction, and draw() of every kind
onto matplotlib axes. Rasterising those axes is matplotlib's own work and
costs a second a capture, so PNG, SVG and HTML files of all kinds are written for a few
captures that between them have every shape: a textbook handshake and teardown, a lossy
bulk transfer, a zero-window stall, a capture that starts mid-connection. A capture with
no TCP segment gets plot's one-line refusal."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import tcpwatch
from tcpwatch.plot import KINDS, kind_module
from tcpwatch.plot.choose import busiest, conn_rows
from tcpwatch.plot.render import render
from tcpwatch.plot.static import _pyplot

from ..conftest import PUBLIC, REPO
from ..test_cli_values import tcpwatch_here

CAPTURES = sorted(p for p in (REPO / "captures").rglob("*")
                  if p.suffix in (".pcap", ".pcapng") and "live" not in p.parts)
#: connections per capture whose pictures are built (the busiest; CI has 20 minutes)
MAX_CONNS = 1
#: every file format of every kind, for these
WRITTEN = [REPO / "captures" / "handshake_echo_close.pcap",
           REPO / "captures" / "lossy_bulk.pcap", REPO / "captures" / "zero_window.pcap",
           PUBLIC / "zeek" / "ctu-64702-888.pcap"]  # starts mid-connection


def test_the_written_captures_exist() -> None:
    assert set(WRITTEN) <= set(CAPTURES)


@pytest.mark.parametrize("path", CAPTURES, ids=lambda p: str(p.relative_to(REPO / "captures")))
def test_every_kind_draws(path: Path, tmp_path: Path) -> None:
    seg = tcpwatch.analyze(path)
    if seg.empty:  # nothing to draw: one line, exit 2, no file
        res = tcpwatch_here(tmp_path, "plot", str(path), "-o", "x.png")
        assert res.returncode == 2 and "no TCP connection to draw" in res.stderr
        assert list(tmp_path.iterdir()) == []
        return
    plt = _pyplot()
    for conn in busiest(seg, MAX_CONNS):
        rows = conn_rows(seg, conn)
        for k in KINDS:
            mod = kind_module(k)
            for direction in ("client", "server", "both"):
                d = mod.data(rows, direction=direction)
                fig = mod.figure(d)
                assert fig["data"] and "layout" in fig
                json.dumps(fig)  # plain data: what the HTML page embeds
                if k == "ladder":
                    break  # one picture whatever the direction
            f, ax = plt.subplots()  # drawn onto matplotlib axes
            try:
                mod.draw(d, ax)
            finally:
                plt.close(f)


@pytest.mark.parametrize("path", WRITTEN, ids=lambda p: p.name)
def test_every_kind_written_as_png_svg_html(path: Path, tmp_path: Path) -> None:
    seg = tcpwatch.analyze(path)
    top = conn_rows(seg, busiest(seg, 1)[0])
    png = render(top, KINDS, tmp_path / "all.png")
    assert png == [tmp_path / "all.png"]
    assert png[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = render(top, KINDS, tmp_path / "all.svg")[0].read_text()
    assert svg.count('id="axes_') >= len(KINDS)  # throughput's second y axis is one more
    page = render(top, KINDS, tmp_path / "all.html")[0].read_text()
    assert page.count("Plotly.newPlot(") == len(KINDS)
