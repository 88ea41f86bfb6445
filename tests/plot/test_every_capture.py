"""Every plot kind on every capture in the repository (our recordings, the public ones, the
regression cases): data() and figure() for every connection, draw() of the busiest into a
real PNG and SVG, and the HTML page of all kinds for one connection (issue 14: "every plot
kind on every capture in the repo renders without error")."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import tcpwatch
from tcpwatch.plot import KINDS, kind_module
from tcpwatch.plot.choose import busiest, conn_rows
from tcpwatch.plot.render import render

from ..conftest import REPO

CAPTURES = sorted(p for p in (REPO / "captures").rglob("*")
                  if p.suffix in (".pcap", ".pcapng") and "live" not in p.parts)
#: connections per capture whose data()/figure() are built (all of them in nearly every one)
MAX_CONNS = 40


def _json_ok(fig: dict) -> None:
    assert fig["data"] is not None and "layout" in fig
    json.dumps(fig)  # plain data: what the HTML page embeds


@pytest.mark.parametrize("path", CAPTURES, ids=lambda p: str(p.relative_to(REPO / "captures")))
def test_every_kind_renders(path: Path, tmp_path: Path) -> None:
    seg = tcpwatch.analyze(path)
    if seg.empty:
        pytest.fail(f"{path} has no TCP segment: not a capture for this test")
    for conn in busiest(seg, MAX_CONNS):
        rows = conn_rows(seg, conn)
        for direction in ("client", "server", "both"):
            for k in KINDS:
                mod = kind_module(k)
                _json_ok(mod.figure(mod.data(rows, direction=direction)))
    top = conn_rows(seg, busiest(seg, 1)[0])
    for ext in (".png", ".svg"):
        out = render(top, KINDS, tmp_path / f"all{ext}")
        assert out == [tmp_path / f"all{ext}"] and out[0].stat().st_size > 1000
    page = render(top, KINDS, tmp_path / "all.html")[0].read_text()
    assert page.count("Plotly.newPlot(") == len(KINDS)
