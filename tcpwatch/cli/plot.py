"""``tcpwatch plot FILE``: a connection's ladder, time-sequence, window, RTT or throughput
graph, as PNG/SVG (matplotlib) or interactive HTML (Plotly, offline)."""

from __future__ import annotations

from pathlib import Path

import click

from ..plot import DIRECTIONS, KINDS
from .params import PATH, command, writable
from .yfilter import DisplayFilter, display_filter

HELP = """Draw one connection of a capture: its ladder diagram (both ends' states), its
Stevens/tcptrace time-sequence graph, its window, RTT or throughput graph. Without
--kind: a ladder when the connection has at most 60 segments, else seq and window.
Without --conn: the busiest connection (of those -Y selects).

\b
Examples:
  tcpwatch plot captures/handshake_echo_close.pcap -o ladder.svg
  tcpwatch plot captures/lossy_bulk.pcap --kind seq -o seq.png
  tcpwatch plot x.pcap --conn 3 --kind seq --kind window -o conn3.html
  tcpwatch plot x.pcap -Y tcp.analysis.zero_window --kind window -o zw.png
  tcpwatch plot x.pcap -k seq -k rtt --split -o g.png  # g-seq.png, g-rtt.png"""


def plot_output(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
    from ..plot.render import FORMATS

    return writable(value, FORMATS)


@command("plot", HELP)
@click.argument("file", help="capture file (pcap or pcapng), or - for stdin")
@click.option("-o", "--output", type=PATH, callback=plot_output, required=True,
              help="the picture: .png or .svg (static), .html (interactive, offline)")
@click.option("-k", "--kind", "kinds", type=click.Choice(KINDS), multiple=True,
              help="what to draw (repeatable: one panel each, or one file each with --split)")
@click.option("--conn", "conns", type=click.IntRange(min=0), metavar="N", multiple=True,
              help="connection N (repeatable: one file per connection, -connN added to "
              "the name)")
@click.option("-Y", "--display-filter", "yfilter", metavar="FILTER", callback=display_filter,
              help="draw the busiest connection with a segment this Wireshark display "
              "filter selects")
@click.option("-d", "--direction", type=click.Choice(DIRECTIONS), default="client",
              help="whose data a seq/window/rtt/throughput graph follows")
@click.option("--split", is_flag=True, help="one file per kind (NAME-KIND.EXT)")
def plot(file: str, output: Path, kinds: tuple[str, ...], conns: tuple[int, ...],
         yfilter: DisplayFilter | None, direction: str, split: bool) -> None:
    from ..engine.pipeline import analyze as run_pipeline
    from ..plot import default_kinds
    from ..plot.choose import choose_conns, conn_rows
    from ..plot.render import render

    seg = run_pipeline(file)
    mask = yfilter.mask(seg) if yfilter is not None else None
    chosen = choose_conns(seg, sorted(set(conns)) or None, mask, source=file)
    for c in chosen:
        rows = conn_rows(seg, c)
        what = tuple(dict.fromkeys(kinds)) or default_kinds(len(rows))
        path = output if len(chosen) == 1 else output.with_name(
            f"{output.stem}-conn{c}{output.suffix}")
        for out in render(rows, what, path, direction=direction, split=split):
            click.echo(f"wrote {out} (conn {c}, {len(rows)} segments: {', '.join(what)})",
                       err=True)
