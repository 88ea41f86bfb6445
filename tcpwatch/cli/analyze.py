"""``tcpwatch analyze FILE``: per-connection summary, segment table, export."""

from __future__ import annotations

import os
import sys
from contextlib import nullcontext
from pathlib import Path

import click

from ..errors import TcpwatchError
from ..report.fit import TOP, console, report_console
from ..vocab import Col
from . import leave_fast
from .params import PATH, TOP_N, command, table_output, writable
from .yfilter import DisplayFilter, display_filter

HELP = """Analyse a pcap/pcapng capture (FILE, or - for stdin): one line per TCP connection
(conn = Wireshark's tcp.stream), optionally the segment table, optionally written to a file.

\b
Examples:
  tcpwatch analyze capture.pcapng
  tcpwatch analyze capture.pcap --segments --conn 3
  tcpwatch analyze capture.pcap --explain
  tcpwatch analyze x.pcap -Y 'tcp.analysis.zero_window && tcp.port == 9000'
  tcpwatch analyze capture.pcap -q -o segments.parquet
  tcpdump -i lo -w - port 8080 | tcpwatch analyze -"""

EPISODES_SHOWN = 50
#: files above this size get a progress bar (on a terminal)
PROGRESS_MIN_BYTES = 64 * 1024 * 1024


def conn_log_output(ctx: click.Context, param: click.Parameter,
                    value: Path | None) -> Path | None:
    """``--conn-log PATH``: a known extension, in a folder that exists (before any work)."""
    from ..report.connlog import FORMATS

    return writable(value, FORMATS)


@command("analyze", HELP)
@click.argument("file", help="capture file (pcap or pcapng), or - for stdin")
@click.option("--segments", is_flag=True, help="print the segment table")
@click.option("-o", "--output", type=PATH, callback=table_output,
              help="write the segment table to PATH (.csv, .parquet or .jsonl)")
@click.option("--conn", "conns", type=click.IntRange(min=0), metavar="N", multiple=True,
              help="only connection N (repeatable: each one named; a connection the "
              "capture does not have is an error, exit 2)")
@click.option("-q", "--quiet", is_flag=True,
              help="no summary tables (--explain and --segments still print)")
@click.option("--top", type=TOP_N, default=TOP, metavar="N",
              help="connections in the summary table: the busiest N (0: all)")
@click.option("--explain", "explain_", is_flag=True,
              help="one plain-language line per segment that changes a state or that "
              "Wireshark flags (zero window, probe, window update/full, retransmission, "
              "dup ACK, loss, keep-alive), with the numbers behind it")
@click.option("-Y", "--display-filter", "yfilter", metavar="FILTER", callback=display_filter,
              help="only the segments a Wireshark display filter selects, e.g. "
              "'tcp.analysis.zero_window && tcp.port == 9000' (the summary: their "
              "connections, whole)")
@click.option("--conn-log", type=PATH, callback=conn_log_output, metavar="PATH",
              help="write every connection's summary row to PATH (.csv, .parquet, .jsonl, "
              "or .log: Zeek's conn.log format)")
def analyze(file: str, segments: bool, output: Path | None, conns: tuple[int, ...],
            quiet: bool, top: int, explain_: bool, yfilter: DisplayFilter | None,
            conn_log: Path | None) -> None:
    conn = sorted(set(conns)) or None
    # the stages are imported where they are used, not at the top: `tcpwatch --help` and
    # `tcpwatch serve` start without pandas, and so does a streamed -q -o x.parquet
    size = os.path.getsize(file) if file != "-" and os.path.isfile(file) else 0
    bar = None
    if size >= PROGRESS_MIN_BYTES and sys.stderr.isatty() and not quiet:
        from rich import progress as rp  # only here: 20 ms of imports
        from rich.console import Console

        err = Console(stderr=True, highlight=False, soft_wrap=True)
        bar = rp.Progress(rp.TextColumn("reading"), rp.BarColumn(), rp.DownloadColumn(),
                          rp.TimeRemainingColumn(), console=err, transient=True)
    # the summary and the episodes need no whole table: stream, memory bounded by the
    # open connections, unless a view of single segments is asked for
    streamed = not (segments or explain_ or conn is not None or yfilter) and (
        output is None or output.suffix.lower() == ".parquet")
    with bar or nullcontext():
        task = bar.add_task("read", total=size) if bar else None
        progress = (lambda n: bar.update(task, completed=n)) if bar else None
        if streamed:
            report, info = _stream(file, output, progress, quiet, top, conn_log)
        else:
            from ..engine.pipeline import analyze as run_pipeline

            seg = run_pipeline(file, progress=progress)
            info = seg.attrs.get("tcpwatch")
    leave_fast()  # the analysis is done: the process may skip the interpreter's teardown
    if streamed:
        if not quiet:
            _print_report(report_console(), file, report.segments, report.summary_table(),
                          report.episode_table(), info, None, top, quiet,
                          report.connections, report.n_episodes,
                          inferred=(report.inferred, report.n_inferred))
        return
    from ..report.episodes import episodes
    from ..report.explain import explain
    from ..report.export import write_segments
    from ..report.summary import summarize_connections
    from ..report.tables import render_segments

    if conn is not None:
        missing = sorted(set(conn) - set(seg[Col.CONN].unique().tolist()))
        if missing:  # said before any file is written
            raise TcpwatchError(_no_connections(file, missing, seg))
        seg = seg[seg[Col.CONN].isin(conn)].reset_index(drop=True)
    shown, total = seg, len(seg)
    if yfilter is not None:
        shown, seg = yfilter.select(seg)
    if output is not None:
        write_segments(shown, output)
    summary = summarize_connections(seg) if len(seg) or conn_log else None
    if conn_log is not None:  # every connection of the selection, whole
        from ..report.connlog import write_conn_log

        write_conn_log(summary, conn_log)
    if quiet and not (segments or explain_):  # -q hides the report, not what was asked
        return
    out = console()
    if yfilter is not None:
        if not quiet:
            out.print(yfilter.describe(shown, seg, total), markup=False)
        if not len(shown):
            return
    if len(shown) and segments:
        out.print(render_segments(shown, width=out.width))
    if len(shown) and explain_:
        # explained in their connections (times from the capture's start, the handshake's
        # options), then only the selected segments' lines
        lines = explain(seg)
        for line in lines if yfilter is None else yfilter.keep_lines(lines, shown):
            out.print(line, markup=False)
    ep = episodes(seg) if len(seg) else None
    late = sorted(seg.loc[seg[Col.STATES_INFERRED].astype(bool), Col.CONN].unique().tolist())
    _print_report(out, file, len(seg), summary, ep, info, conn, top, quiet,
                  len(summary) if len(seg) else 0, len(ep) if len(seg) else 0,
                  inferred=(late, len(late)))


def _no_connections(file: str, missing: list[int], seg) -> str:
    from ..plot.choose import has_text

    return (f"no connection {', '.join(map(str, missing))} in {file} "
            f"(it has {has_text(seg[Col.CONN])})")


def _stream(file: str, output: Path | None, progress, quiet: bool, top: int,
            conn_log: Path | None = None):
    """The report (none with -q), the Parquet file and the connection log of a streamed
    analysis."""
    from ..engine.stream import Tee, stream
    from ..report.accumulate import ReportSink

    sinks: list = []

    def make():
        for s in sinks[1:]:  # a second pass starts the file again
            s.close()
        sinks[:] = [ReportSink(keep=not quiet, top=top, episodes_shown=EPISODES_SHOWN)] + (
            [_parquet_sink(output)] if output is not None else [])
        if conn_log is not None:
            from ..report.connlog import ConnLogSink

            sinks.append(ConnLogSink(conn_log))
        return Tee(*sinks)

    done = False
    try:
        _, info = stream(file, make, progress=progress)
        done = True
    finally:
        for s in sinks[1:]:
            # a failed run leaves no connection log behind
            s.close() if done or not hasattr(s, "abort") else s.abort()
    return sinks[0], info


def _print_report(out, file: str, n_segments: int, summary, ep, info, conn, top: int,
                  quiet: bool, n_conns: int, n_episodes: int,
                  inferred: tuple[list[int], int] = ([], 0)) -> None:
    from ..report.inferred import inferred_note
    from ..report.tables import render_connections, render_episodes

    if quiet:
        return
    if n_segments == 0:
        frames = info.frames if info else 0
        out.print(f"no TCP segments in {file} ({frames} frames read)")
        return
    out.print(render_connections(summary, title=f"TCP connections in {file}", top=top,
                                 width=out.width, total=n_conns))
    if note := inferred_note(*inferred):
        import textwrap  # on a narrow terminal: wrapped between words, no number cut

        for part in textwrap.wrap(note, max(out.width, 40)):
            out.print(part, markup=False)
    if n_episodes:
        out.print(render_episodes(ep, title=f"Flow-control episodes ({n_episodes})",
                                  width=out.width, limit=EPISODES_SHOWN))
    if info is not None and info.skipped.total():
        s = info.skipped
        parts = [f"{v} {k.replace('_', ' ')}" for k, v in
                 (("not_ip", s.not_ip), ("not_tcp", s.not_tcp), ("fragments", s.fragments),
                  ("bad_ip", s.bad_ip), ("short_tcp", s.short_tcp),
                  ("unsupported_link", s.unsupported_link)) if v]
        out.print(f"{info.frames} frames, {n_segments} TCP segments; skipped: "
                  f"{', '.join(parts)}")


def _parquet_sink(output: Path):
    from ..report.export import ParquetSink  # here: a printed report needs no Parquet

    return ParquetSink(output)
