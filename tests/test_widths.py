"""``tcpwatch analyze`` fits the width it prints in (a terminal's, or ``COLUMNS`` in a
pipe): at 80, 120 and 200 columns no line is wider, no cell is cut (rich's '…'), and the
numbers of every connection are printed whole, on one line each."""

from __future__ import annotations

import io

import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import tcpwatch
from tcpwatch.cli.main import app
from tcpwatch.report.fit import Column, fitted_table
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


@pytest.mark.parametrize("path", [REPO / "captures" / "icmp_reject.pcap",
                                  REPO / "captures" / "ipv4_ipv6_interleaved.pcap"],
                         ids=lambda p: p.name)
def test_every_endpoint_is_printed_whole(path):
    """IPv6 endpoints are bracketed (``[fd00::1]:80``); rich read a bracket that starts
    with a letter as a style tag and printed nothing of the address."""
    res = CliRunner().invoke(app, ["analyze", str(path), "--top", "0"],
                             env={"COLUMNS": "400"})  # wide enough not to wrap them
    assert res.exit_code == 0, res.output
    summary = summarize_connections(tcpwatch.analyze(path))
    assert any(r.client.startswith("[f") for r in summary.itertuples())
    for r in summary.itertuples(index=False):
        assert f"{r.client} → {r.server}" in res.output


_WORDS = st.text(alphabet="abcXYZ0189.:/→[]-", min_size=1, max_size=12)
_CELLS = st.lists(_WORDS, min_size=0, max_size=4).map(" ".join)


@settings(max_examples=150, deadline=None)
@given(data=st.data(), ncols=st.integers(1, 5), nrows=st.integers(0, 4),
       width=st.integers(20, 120))
def test_tables_are_drawn_as_rich_draws_them(data, ncols, nrows, width):
    """fit.py draws its tables itself; rich's Table (cells given as Text: no markup),
    at the same column widths, is the reference for every line."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    columns = [Column(data.draw(_WORDS), data.draw(st.lists(_CELLS, min_size=nrows,
                                                            max_size=nrows)),
                      numeric=data.draw(st.booleans()), rank=data.draw(st.integers(0, 3)))
               for _ in range(ncols)]
    ours = fitted_table(columns, width, title="a title", caption="a caption")
    ref = Table(title="a title", title_justify="left", caption=None, caption_justify="left")
    for col, w in zip(ours.columns, ours.widths, strict=True):
        ref.add_column(Text(col.header), justify="right" if col.numeric else "left", width=w,
                       overflow="fold")
    for row in zip(*(c.cells for c in ours.columns), strict=True):
        ref.add_row(*map(Text, row))
    buf = io.StringIO()
    Console(file=buf, width=width, soft_wrap=True, highlight=False).print(ref)
    assert ours.lines()[:-len(ours.caption.splitlines())] == buf.getvalue().splitlines()
    assert max(map(len, ours.lines())) <= width or len(ours.columns) == 1


def test_on_a_terminal_the_report_is_styled_and_fits_it():
    """stdout a terminal (a pty here): rich's console, the terminal's width, the title in
    italics and the header in bold; in a pipe the same lines are plain text."""
    import os
    import pty
    import subprocess
    import sys

    path = REPO / "captures" / "zero_window.pcap"
    main, sub = pty.openpty()
    env = {**os.environ, "COLUMNS": "90", "TERM": "xterm"}
    proc = subprocess.run([sys.executable, "-m", "tcpwatch", "analyze", str(path)],
                          stdout=sub, stderr=subprocess.PIPE, env=env, timeout=60)
    os.close(sub)
    out = b""
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:  # EIO: the other end is closed and everything is read
            break
        if not chunk:
            break
        out += chunk
    os.close(main)
    assert proc.returncode == 0, proc.stderr
    text = out.decode().replace("\r\n", "\n")
    assert "\x1b[3mTCP connections in" in text and "\x1b[1m" in text
    plain = CliRunner().invoke(app, ["analyze", str(path)], env={"COLUMNS": "90"}).output
    assert _strip_styles(text) == plain


def _strip_styles(text: str) -> str:
    import re

    return re.sub(r"\x1b\[[0-9;]*m", "", text)


@pytest.mark.parametrize("width", [80, 120, 200])
def test_segments_fit_and_show_states_and_events(width):
    """--segments: every frame on its own line, no line wider than the terminal, both
    ends' states (or the change) and the events of every segment; at 200 columns also
    the scaled window and bytes in flight, whole."""
    path = REPO / "captures" / "zero_window.pcap"
    res = CliRunner().invoke(app, ["analyze", str(path), "--segments"],
                             env={"COLUMNS": str(width)})
    assert res.exit_code == 0, res.output
    table = res.output.split("TCP connections in")[0]
    lines = table.splitlines()
    assert max(map(len, lines)) <= width and "…" not in table
    seg = tcpwatch.analyze(path)
    rows = [ln.split("│") for ln in lines if ln.startswith("│") and ln.split("│")[1].strip()]
    assert [int(r[1]) for r in rows] == seg["frame"].tolist()
    flat = " ".join(lines)
    for ev in set(seg["events"]) - {""}:
        assert ev.split(";")[0] in flat
    assert "ESTABLISHED / ESTABLISHED" in flat and "client CLOSED→SYN_SENT" in flat
    if width == 200:
        for r, s in zip(rows, seg.itertuples(index=False), strict=True):
            cells = [c.strip() for c in r]
            assert f"{s.win:,}" in cells
            assert (f"{s.bytes_in_flight:,}" if s.bytes_in_flight is not pd.NA else "-") \
                in cells


@pytest.mark.parametrize("width", [80, 120, 200])
def test_every_command_fits_and_cuts_no_number(width, tmp_path):
    """Every command that prints a table, at 80, 120 and 200 columns: no line wider, no
    cell cut to '…', and the numbers it reports printed whole."""
    import shutil

    cap = REPO / "captures" / "connection_refused.pcap"
    shutil.copy(cap, tmp_path)
    shutil.copy(cap.with_name("connection_refused.expected.csv"), tmp_path)
    runs = {
        "analyze": ["analyze", str(REPO / "captures" / "lossy_bulk.pcap")],
        "segments": ["analyze", str(cap), "--segments"],
        "explain": ["analyze", str(cap), "--explain"],
        "states": ["states"],
        "columns": ["columns"],
        "verify": ["verify", str(REPO / "captures" / "zero_window.pcap")],
        "replay": ["replay", str(tmp_path)],
    }
    for name, args in runs.items():
        res = CliRunner().invoke(app, args, env={"COLUMNS": str(width)})
        assert res.exit_code == 0, (name, res.output)
        lines = res.output.splitlines()
        if name != "explain":  # one line per segment: a pipe's reader wraps it
            assert max(map(len, lines)) <= width, name
        if name != "columns":  # its descriptions say "…" themselves
            assert "…" not in res.output, name
        if name == "verify":
            for flag in ("zero_window", "window_full"):
                row = next(ln for ln in lines if f"│ {flag} " in ln)
                assert row.split("│")[2].strip().replace(",", "").isdigit(), row
        if name == "replay":
            row = next(ln for ln in lines if "connection_refused" in ln)
            assert row.split("│")[2].strip() == f"{len(tcpwatch.analyze(cap)):,}", row
