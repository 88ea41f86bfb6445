"""``tcpwatch live``: sniff, write the capture as it goes, annotate, show."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import click

from ..capture.packetsock import BUFFER_KIB, MAX_BUFFER_KIB
from ..errors import TcpwatchError
from ..lab.scenarios.drivers import DRIVERS
from ..lab.scenarios.registry import SCENARIOS
from ..lab.servers.models import MODELS
from ..report.fit import TOP, console
from . import stopping
from .live_checks import ON_LOOPBACK, REFUSED_PORT, check_scenarios, interface, scenario_host
from .params import COUNT, PATH, PORT, SECONDS, TOP_N, command, list_or_none, table_output
from .report import report_output
from .yfilter import DisplayFilter, display_filter

HELP = """Capture live TCP (scapy; -i lo by default; needs root or CAP_NET_RAW), write it to a
pcap as it goes, and show every connection's states, windows and analysis events as
they change (--kernel: beside the kernel's own socket states). Ctrl-C, SIGTERM,
--duration or --count end it with the final summary and, on stderr, what the kernel
counted as tcpdump does: packets received by the filter and dropped by the kernel
(its buffer, -B, was full: then the analysis is incomplete, and says so).

Ctrl-C and SIGTERM, any number of them at any moment, even during start-up, end it the
same way: the capture stops (or never starts), the pcap and the -o table are written
whole, the summary is printed; signals after the first are ignored. Exit status: 0 when
it ended so or by --duration/--count; 2 for a bad option, missing privileges or a write
error (the pcap keeps the frames written before).

\b
Examples:
  sudo tcpwatch live
  sudo tcpwatch live -i any --port 443 --write x.pcap
  sudo tcpwatch live --serve thread --scenario zero_window --duration 5
  sudo tcpwatch live -Y 'tcp.analysis.retransmission' | head"""

REFRESH_S = 0.25
NO_PRIVILEGES = "tcpwatch live needs root or CAP_NET_RAW; try: sudo tcpwatch live"
SERVE_PORT = 9000


@command("live", HELP)
@click.option("-i", "--iface", default="lo", callback=interface,
              help="interface to sniff; any: every interface (Linux cooked capture)")
@click.option("--port", "ports", type=PORT, metavar="PORT", multiple=True, callback=list_or_none,
              help="only these TCP ports (repeatable); with --serve the first is its port "
              f"(default {SERVE_PORT})")
@click.option("--filter", "bpf", help="BPF filter (default: tcp)")
@click.option("--write", type=PATH, help="pcap to write (default captures/live/live-TIME.pcap)")
@click.option("--duration", type=SECONDS, metavar="S", help="stop after S s (more than 0)")
@click.option("--count", type=COUNT, metavar="N",
              help="stop after N packets, as tcpdump -c (with the default filter, N segments)")
@click.option("--serve", type=click.Choice(list(MODELS)),
              help="also run a bundled echo server on the first --port")
@click.option("--scenario", "scenarios", type=click.Choice(list(DRIVERS)), multiple=True,
              callback=list_or_none, metavar="NAME",
              help="drive a loopback scenario against --serve, or against your server on "
              f"--port (repeatable): {', '.join(n for n in DRIVERS if n in ON_LOOPBACK)} "
              "(the others need namespaces: tcpwatch record NAME)")
@click.option("--close-after", type=COUNT, metavar="N",
              help="with --serve: the server closes each connection after N echoes (what "
              f"{' and '.join(n for n in ON_LOOPBACK if SCENARIOS[n].close_after)} need)")
@click.option("-o", "--output", type=PATH, callback=table_output,
              help="also write the live annotations (.csv/.parquet/.jsonl)")
@click.option("--kernel", is_flag=True,
              help="show the kernel's own socket states beside the inferred ones (read when "
              "shown: piped, each line's are the kernel's at print time)")
@click.option("--top", type=TOP_N, default=TOP, metavar="N",
              help="connections in the final summary: the busiest N (0: all)")
@click.option("-B", "--buffer-size", "buffer_kib", type=click.IntRange(1, MAX_BUFFER_KIB),
              default=BUFFER_KIB, metavar="KIB",
              help="the kernel's capture buffer in KiB, as tcpdump -B: packets that find it "
              "full are dropped (and counted)")
@click.option("-Y", "--display-filter", "yfilter", metavar="FILTER", callback=display_filter,
              help="show only the segments a Wireshark display filter selects (one line "
              "each piped, the event log on a terminal); --filter still says what is "
              "captured")
@click.option("--report", type=PATH, callback=report_output, metavar="PATH",
              help="when live ends, also write the HTML report of what was captured (as "
              "tcpwatch report)")
def live(iface: str, ports: list[int] | None, bpf: str | None, write: Path | None,
         duration: float | None, count: int | None, serve: str | None,
         scenarios: list[str] | None, close_after: int | None, output: Path | None,
         kernel: bool, top: int, buffer_kib: int, yfilter: DisplayFilter | None,
         report: Path | None) -> None:
    from ..capture.sniffer import capture_privileges

    check_scenarios(serve, ports, scenarios, close_after)
    missing = capture_privileges()
    if missing is not None:  # before anything heavy is loaded
        raise TcpwatchError(f"{NO_PRIVILEGES}{missing}")
    from ..capture.pcapwriter import PcapWriter
    from ..capture.sniffer import PacketSniffer
    from ..engine.incremental import IncrementalEngine
    from ..engine.pipeline import analyze
    from ..live import view
    from ..report.export import write_segments
    from ..report.summary import summarize_connections
    from ..report.tables import render_connections

    if serve and not ports:
        ports = [SERVE_PORT]
    if ports and REFUSED_PORT in (scenarios or []) and ports[0] + 1 not in ports:
        ports = [*ports, ports[0] + 1]  # its SYN goes to the port after the server's
    flt = bpf or "tcp"
    if ports:
        flt = f"({flt}) and ({' or '.join(f'port {p}' for p in ports)})"
    path = write or Path("captures/live") / f"live-{time.strftime('%Y%m%d-%H%M%S')}.pcap"
    cap = PacketSniffer(iface, flt, buffer_kib)
    writer = PcapWriter(path, cap.linktype)
    session = IncrementalEngine(cap.linktype, keep=output is not None)  # -o: every row
    stopping.catch()  # the entry point did already; a signal since then stops it at once
    click.get_current_context().call_on_close(stopping.release)  # called in-process
    stop = stopping.stop
    out = console()
    helpers: list[subprocess.Popen] = []
    capturing = False
    try:  # stopped while starting up: no sniffer, server or scenario is started
        if stop["why"] is None:
            cap.start()
        # "capturing" is said once the server listens: a client may connect then
        if serve and stop["why"] is None:
            helpers.append(subprocess.Popen(
                [sys.executable, "-m", "tcpwatch", "serve", serve, "--port", str(ports[0]),
                 *(["--close-after", str(close_after)] if close_after else [])],
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True))
            # a terminal's Ctrl-C reaches the server too: it may end before it listens
            if not helpers[-1].stdout.readline() and stop["why"] is None:
                raise TcpwatchError(f"the bundled {serve} server did not start on port "
                                    f"{ports[0]} (is it in use? try: tcpwatch serve {serve} "
                                    f"--port {ports[0]})")
        print(f"tcpwatch live: capturing on {iface} ({flt}) into {path}, "
              f"{view.buffer_text(buffer_kib, cap.buffer_kib)}", file=sys.stderr, flush=True)
        capturing = True
        if scenarios and stop["why"] is None:
            cmd = " && ".join(f"{sys.executable} -m tcpwatch.lab.scenarios.drivers {s} "
                              f"{scenario_host(s)} {ports[0]}" for s in scenarios)
            # a group of its own: stopped whole, the driver running under sh included
            helpers.append(subprocess.Popen(["sh", "-c", cmd], stderr=subprocess.PIPE,
                                            text=True, start_new_session=True))
        _loop(cap, writer, session, out, stop, duration, count, kernel, yfilter)
    finally:
        stopping.ignore()  # what was captured is written and summed up whole
        counts = cap.stop()
        if count is not None:  # as tcpdump -c: the packets kept, of those received
            counts = dataclasses.replace(counts, captured=min(counts.captured, count))
        if capturing:
            # what arrived before the stop is kept, up to --count
            last = _upto(count, session.frames, cap.drain())
            _write(writer, last, stop)
            new = _shown(yfilter, session.add(last))
            if not out.is_terminal:
                view.print_piped(new, kernel)
            writer.close()
        else:  # the capture never began: no file is left behind
            writer.discard()
        failed = _stop_helpers(helpers)
    # with -o: the live annotations (tested equal to tcpwatch analyze of the file);
    # without, the session dropped closed connections' rows: read the file back
    seg = session.table() if session.keep else analyze(path)
    out.print(render_connections(summarize_connections(seg),
                                 title=f"TCP connections captured in {path} "
                                       f"({stop['why'] or 'done'})", top=top,
                                 width=out.width))
    if output is not None:
        write_segments(seg, output)
    if report is not None:
        from ..report_html import write_report

        write_report(seg, report, source=str(path))
        print(f"tcpwatch live: wrote {report}", file=sys.stderr, flush=True)
    view.print_counts(counts, cap.buffer_kib)
    if failed:
        print(f"tcpwatch: warning: a scenario failed: {failed}", file=sys.stderr, flush=True)
    if writer.error:
        raise TcpwatchError(writer.error)


def _stop_helpers(helpers: list[subprocess.Popen]) -> str | None:
    """Stop the server and the scenarios (a process group of its own is stopped whole);
    a scenario that ended by itself in an error returns the last line it wrote (a
    driver's traceback is not shown whole)."""
    failed = None
    for h in helpers:
        done = h.poll() is not None
        if not done:
            with contextlib.suppress(ProcessLookupError):
                if os.getpgid(h.pid) == h.pid:
                    os.killpg(h.pid, signal.SIGTERM)
                else:
                    h.terminate()
        h.wait()
        if h.stderr:
            if done:  # else what is still writing to it is not waited for
                lines = h.stderr.read().strip().splitlines()
                failed = lines[-1] if h.returncode and lines else failed
            h.stderr.close()
        if h.stdout:
            h.stdout.close()
    return failed


def _upto(count: int | None, seen: int, batch: list) -> list:
    """The part of a batch within ``--count`` packets, ``seen`` taken before it."""
    return batch if count is None else batch[:max(count - seen, 0)]


def _write(writer, batch, stop) -> None:
    """Write a batch; a failed write stops the capture (the error is reported last)."""
    try:
        writer.write(batch)
    except TcpwatchError:
        stop["why"] = "write error"


def _shown(yfilter: DisplayFilter | None, new):
    """The rows of a batch that ``-Y`` lets through (all without it)."""
    return new if yfilter is None or not len(new) else new[yfilter.mask(new)]


def _loop(cap, writer, session, out, stop, duration, count, kernel=False,
          yfilter: DisplayFilter | None = None) -> None:
    from rich.live import Live

    from ..live import view
    from ..live.board import Board

    t0 = time.monotonic()
    tty = out.is_terminal
    board = Board(session)
    log = view.EventLog()
    screen = Live(console=out, auto_refresh=False) if tty else None
    if screen:
        screen.start()
    try:
        while stop["why"] is None:
            time.sleep(REFRESH_S)
            batch = _upto(count, session.frames, cap.drain())
            _write(writer, batch, stop)
            new = _shown(yfilter, session.add(batch))
            counts = cap.stats()  # each tick: the kernel's counters are 32-bit
            board.update()
            if tty:
                log.add(new)
                screen.update(view.render(board, log.lines(), time.time_ns(), kernel,
                                          counts), refresh=True)
            else:
                view.print_piped(new, kernel)
            if duration is not None and time.monotonic() - t0 >= duration:
                stop["why"] = "duration"
            if count is not None and session.frames >= count:
                stop["why"] = "count"
    finally:
        if screen:
            screen.stop()
