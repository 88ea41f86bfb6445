"""``tcpwatch live``: sniff, write the capture as it goes, annotate, show."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import click

from ..capture.packetsock import BUFFER_KIB
from ..errors import TcpwatchError
from ..report.fit import TOP, console
from .params import PATH, command, list_or_none

HELP = """Capture live TCP (scapy; -i lo by default; needs root or CAP_NET_RAW), write it to a
pcap as it goes, and show every connection's states, windows and analysis events as
they change (--kernel: beside the kernel's own socket states). Ctrl-C, SIGTERM,
--duration or --count end it with the final summary and, on stderr, what the kernel
counted as tcpdump does: packets received by the filter and dropped by the kernel
(its buffer, -B, was full: then the analysis is incomplete, and says so)."""

REFRESH_S = 0.25
NO_PRIVILEGES = "tcpwatch live needs root or CAP_NET_RAW; try: sudo tcpwatch live"


@command("live", HELP)
@click.option("-i", "--iface", default="lo", help="interface to sniff")
@click.option("--port", "ports", type=click.INT, multiple=True, callback=list_or_none,
              help="only these TCP ports (repeatable)")
@click.option("--filter", "bpf", help="BPF filter (default: tcp)")
@click.option("--write", type=PATH, help="pcap to write (default captures/live/live-TIME.pcap)")
@click.option("--duration", type=click.FLOAT, metavar="S", help="stop after S s")
@click.option("--count", type=click.INT, metavar="N", help="stop after N segments")
@click.option("--serve", help="also run a bundled server (fork/thread/nonblock/select)")
@click.option("--scenario", "scenarios", multiple=True, callback=list_or_none,
              help="drive loopback scenarios against --serve (repeatable)")
@click.option("-o", "--output", type=PATH,
              help="also write the live annotations (.csv/.parquet/.jsonl)")
@click.option("--kernel", is_flag=True,
              help="show the kernel's own socket states beside the inferred ones")
@click.option("--top", type=click.INT, default=TOP, metavar="N",
              help="connections in the final summary: the busiest N (0: all)")
@click.option("-B", "--buffer-size", "buffer_kib", type=click.INT, default=BUFFER_KIB,
              help="the kernel's capture buffer in KiB, as tcpdump -B: packets that find it "
              "full are dropped (and counted)")
def live(iface: str, ports: list[int] | None, bpf: str | None, write: Path | None,
         duration: float | None, count: int | None, serve: str | None,
         scenarios: list[str] | None, output: Path | None, kernel: bool, top: int,
         buffer_kib: int) -> None:
    from ..capture.sniffer import has_capture_privileges

    if not has_capture_privileges():  # before anything heavy is loaded
        raise TcpwatchError(NO_PRIVILEGES)
    from ..capture.pcapwriter import PcapWriter
    from ..capture.sniffer import PacketSniffer
    from ..engine.incremental import IncrementalEngine
    from ..engine.pipeline import analyze
    from ..live import view
    from ..report.export import write_segments
    from ..report.summary import summarize_connections
    from ..report.tables import render_connections

    port = 9000
    if serve and not ports:
        ports = [port]
    flt = bpf or "tcp"
    if ports:
        flt = f"({flt}) and ({' or '.join(f'port {p}' for p in ports)})"
    path = write or Path("captures/live") / f"live-{time.strftime('%Y%m%d-%H%M%S')}.pcap"
    cap = PacketSniffer(iface, flt, buffer_kib)
    writer = PcapWriter(path)
    session = IncrementalEngine(keep=output is not None)  # -o needs every row; else bounded
    stop = {"why": None}

    def on_signal(signum, frame):
        stop["why"] = signal.Signals(signum).name

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    out = console()
    helpers: list[subprocess.Popen] = []
    cap.start()
    try:
        if serve:  # "capturing" is said once the server listens: a client may connect then
            helpers.append(subprocess.Popen(
                [sys.executable, "-m", "tcpwatch", "serve", serve, "--port", str(ports[0])],
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True))
            if not helpers[-1].stdout.readline():
                raise TcpwatchError(f"the bundled {serve} server did not start on port "
                                    f"{ports[0]} (is it in use? try: tcpwatch serve {serve} "
                                    f"--port {ports[0]})")
        print(f"tcpwatch live: capturing on {iface} ({flt}) into {path}, "
              f"{view.buffer_text(buffer_kib, cap.buffer_kib)}", file=sys.stderr, flush=True)
        if scenarios:
            cmd = " && ".join(f"{sys.executable} -m tcpwatch.lab.scenarios.drivers {s} 127.0.0.1 "
                              f"{ports[0]}" for s in scenarios)
            helpers.append(subprocess.Popen(["sh", "-c", cmd]))
        _loop(cap, writer, session, out, stop, duration, count, kernel)
    finally:
        counts = cap.stop()
        last = cap.drain()  # what arrived before the stop is kept
        _write(writer, last, stop)
        new = session.add(last)
        if not out.is_terminal:
            view.print_piped(new, kernel)
        writer.close()
        for h in helpers:
            h.terminate()
            h.wait()
            if h.stdout:
                h.stdout.close()
    # with -o: the live annotations (tested equal to tcpwatch analyze of the file);
    # without, the session dropped closed connections' rows: read the file back
    seg = session.table() if session.keep else analyze(path)
    out.print(render_connections(summarize_connections(seg),
                                 title=f"TCP connections captured in {path} "
                                       f"({stop['why'] or 'done'})", top=top,
                                 width=out.width))
    if output is not None:
        write_segments(seg, output)
    view.print_counts(counts, cap.buffer_kib)
    if writer.error:
        raise TcpwatchError(writer.error)


def _write(writer, batch, stop) -> None:
    """Write a batch; a failed write stops the capture (the error is reported last)."""
    try:
        writer.write(batch)
    except TcpwatchError:
        stop["why"] = "write error"


def _loop(cap, writer, session, out, stop, duration, count, kernel=False) -> None:
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
            batch = cap.drain()
            _write(writer, batch, stop)
            new = session.add(batch)
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
