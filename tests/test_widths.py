"""``tcpwatch analyze`` fits the width it prints in (a terminal's, or ``COLUMNS`` in a
pipe): at 80, 120 and 200 columns no line is wider, no cell is cut (rich's '…'), and the
numbers of every connection are printed whole, on one line each."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

import tcpwatch
from tcpwatch.cli.main import app
from tcpwatch.report.summary import summarize_connections
from tcpwatch.report.tables import render_connections

from .conftest import PUBLIC, REPO

CAPTURES = [REPO / "captures" / n for n in (
    "connection_refused.pcap", "zero_window.pcap", "ipv6_echo.pcap", "lossy_bulk.pcap",
    "ipv4_ipv6_interleaved.pcap", "many_short.pcap")] + [PUBLIC / "arkime" / "v6-http.pcap"]


@pytest.mark.parametrize("width", [80, 120, 200])
@pytest.mark.parametrize("path", CAPTURES, ids=lambda p: p.name)
def test_analyze_fits_and_cuts_no_number(path, width):
    res = CliRunner().invoke(app, ["analyze", str(path), "--top", "0"],
                             env={"COLUMNS": str(width)})
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert max(len(line) for line in lines) <= width
    assert "…" not in res.output
    summary = summarize_connections(tcpwatch.analyze(path))
    text = "\n".join(lines)
    flat = " ".join(lines)
    hidden = flat.split(f"not shown at {width} columns:")[1] if "not shown at" in flat else ""
    bytes_shown = "bytes c→s / s→c" not in hidden
    for r in summary.itertuples(index=False):
        # segment counts are shown at any width; each number on one line
        assert f"{r.pkts_client:,} / {r.pkts_server:,}" in text
        assert not bytes_shown or f"{r.bytes_client:,} / {r.bytes_server:,}" in text
    assert bytes_shown or "[" in text  # only long IPv6 endpoints leave no room for bytes
    if width == 200:
        for r in summary.itertuples(index=False):
            assert f"{r.duration:.6f}" in text


def test_a_summary_of_no_connection_renders():
    """live stopped before any segment came: an empty table with its headers."""
    empty = summarize_connections(tcpwatch.analyze(REPO / "captures" / "zero_window.pcap")).head(0)
    table = render_connections(empty, width=80)
    assert [c.header for c in table.columns][:2] == ["conn", "client → server"]
    assert table.row_count == 0
