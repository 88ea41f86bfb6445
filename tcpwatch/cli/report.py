"""``tcpwatch report FILE -o report.html``: one offline HTML file about a capture."""

from __future__ import annotations

from pathlib import Path

import click

from .params import PATH, TOP_N, command, writable
from .yfilter import DisplayFilter, display_filter

HELP = """Write one self-contained HTML report of a capture (FILE, or - for stdin): the
connection summary as a sortable, filterable table, then for each chosen connection its
graphs (ladder, time-sequence, window, RTT: zoom, pan, hover shows each segment), its
flow-control episodes and its explain lines. Every script and style is inline: the page
works offline and makes no request. Without --conn: the busiest --top connections (of
those -Y selects).

\b
Examples:
  tcpwatch report captures/lossy_bulk.pcap -o report.html
  tcpwatch report x.pcap --conn 3 --conn 7 -o two.html
  tcpwatch report x.pcap -Y tcp.analysis.zero_window --top 3 -o zw.html"""


def report_output(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
    return writable(value, (".html",))


@command("report", HELP)
@click.argument("file", help="capture file (pcap or pcapng), or - for stdin")
@click.option("-o", "--output", type=PATH, callback=report_output, required=True,
              help="the report (.html)")
@click.option("--conn", "conns", type=click.IntRange(min=0), metavar="N", multiple=True,
              help="draw connection N (repeatable)")
@click.option("--top", type=TOP_N, default=5, show_default=True, metavar="N",
              help="without --conn: draw the busiest N connections (0: none)")
@click.option("-Y", "--display-filter", "yfilter", metavar="FILTER", callback=display_filter,
              help="draw the busiest connections with a segment this Wireshark display "
              "filter selects")
def report(file: str, output: Path, conns: tuple[int, ...], top: int,
           yfilter: DisplayFilter | None) -> None:
    from ..engine.pipeline import analyze as run_pipeline
    from ..report_html import write_report

    seg = run_pipeline(file)
    mask = yfilter.mask(seg) if yfilter is not None else None
    write_report(seg, output, source=file, conns=sorted(set(conns)) or None, mask=mask,
                 top=top)
    size = output.stat().st_size
    click.echo(f"wrote {output} ({size / 1e6:.1f} MB)", err=True)
