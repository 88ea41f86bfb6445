"""``tcpwatch analyze FILE``: per-connection summary, segment table, export."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

from ..report.fit import TOP, console
from ..vocab import Col

HELP = """Analyse a pcap/pcapng capture (FILE, or - for stdin): one line per TCP connection
(conn = Wireshark's tcp.stream), optionally the segment table, optionally written to a file."""

EPISODES_SHOWN = 50
#: files above this size get a progress bar (on a terminal)
PROGRESS_MIN_BYTES = 64 * 1024 * 1024


def analyze(
    file: Annotated[str, typer.Argument(help="capture file (pcap or pcapng), or - for stdin")],
    segments: Annotated[bool, typer.Option("--segments", help="print the segment table")] = False,
    output: Annotated[Path | None, typer.Option(
        "-o", "--output", help="write the segment table to PATH (.csv, .parquet or .jsonl)")
    ] = None,
    conn: Annotated[int | None, typer.Option("--conn", help="only connection N")] = None,
    quiet: Annotated[bool, typer.Option("-q", "--quiet", help="print nothing but errors")] = False,
    top: Annotated[int, typer.Option(
        "--top", help="connections in the summary table: the busiest N (0: all)")] = TOP,
    explain_: Annotated[bool, typer.Option(
        "--explain", help="one plain-language line per state-changing segment")] = False,
) -> None:
    # the stages are imported here, not at the top: `tcpwatch --help` and `tcpwatch serve`
    # start without pandas
    from ..engine.pipeline import analyze as run_pipeline
    from ..report.episodes import episodes
    from ..report.explain import explain
    from ..report.export import write_segments
    from ..report.summary import summarize_connections
    from ..report.tables import render_connections, render_episodes, render_segments

    out = console()
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    size = os.path.getsize(file) if file != "-" and os.path.isfile(file) else 0
    if size >= PROGRESS_MIN_BYTES and err.is_terminal and not quiet:
        with Progress(TextColumn("reading"), BarColumn(), DownloadColumn(),
                      TimeRemainingColumn(), console=err, transient=True) as bar:
            task = bar.add_task("read", total=size)
            seg = run_pipeline(file, progress=lambda n: bar.update(task, completed=n))
    else:
        seg = run_pipeline(file)
    info = seg.attrs.get("tcpwatch")
    if conn is not None:
        seg = seg[seg[Col.CONN] == conn].reset_index(drop=True)
    if output is not None:
        write_segments(seg, output)
    if quiet:
        return
    if seg.empty:
        frames = info.frames if info else 0
        what = f"connection {conn}" if conn is not None else "TCP segments"
        out.print(f"no {what} in {file} ({frames} frames read)")
        return
    if segments:
        out.print(render_segments(seg))
    if explain_:
        for line in explain(seg):
            out.print(line, markup=False)
    out.print(render_connections(summarize_connections(seg),
                                 title=f"TCP connections in {file}", top=top,
                                 width=out.width))
    ep = episodes(seg)
    if len(ep):
        out.print(render_episodes(ep.head(EPISODES_SHOWN),
                                  title=f"Flow-control episodes ({len(ep)})",
                                  width=out.width))
    if info is not None and info.skipped.total():
        s = info.skipped
        parts = [f"{v} {k.replace('_', ' ')}" for k, v in
                 (("not_ip", s.not_ip), ("not_tcp", s.not_tcp), ("fragments", s.fragments),
                  ("bad_ip", s.bad_ip), ("short_tcp", s.short_tcp),
                  ("unsupported_link", s.unsupported_link)) if v]
        out.print(f"{info.frames} frames, {len(seg)} TCP segments; skipped: {', '.join(parts)}")
