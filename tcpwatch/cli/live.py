"""``tcpwatch live``: sniff, write the capture as it goes, annotate, show."""

from __future__ import annotations

import datetime as dt
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Group
from rich.live import Live
from rich.text import Text

from ..capture.kernel import kernel_states, state_of
from ..errors import TcpwatchError
from ..export import write_segments
from ..pipeline import analyze
from ..report.summary import summarize_connections
from ..report.tables import console, render_connections

HELP = """Capture live TCP (scapy; -i lo by default; needs root or CAP_NET_RAW), write it to a
pcap as it goes, and show every connection's states, windows and analysis events as
they change (--kernel: beside the kernel's own socket states). Ctrl-C, SIGTERM,
--duration or --count end it with the final summary."""

REFRESH_S = 0.25
LOG_LINES = 12
NO_PRIVILEGES = "tcpwatch live needs root or CAP_NET_RAW; try: sudo tcpwatch live"


def _line(r) -> str:
    t = dt.datetime.fromtimestamp(r.ts).strftime("%H:%M:%S.%f")
    arrow = "client → server" if r.role == "client" else "server → client"
    text = (f"{t} conn {r.conn} {arrow} [{r.flag_str}] seq {r.rel_seq} ack {r.rel_ack} "
            f"len {r.len} win {r.win} | client {r.state_after_client} server "
            f"{r.state_after_server}")
    if r.transition:
        text += f" | {r.transition}"
    if r.events:
        text += f" | {r.events}"
    return text


def live(
    iface: Annotated[str, typer.Option("-i", "--iface", help="interface to sniff")] = "lo",
    ports: Annotated[list[int] | None, typer.Option(
        "--port", help="only these TCP ports (repeatable)")] = None,
    bpf: Annotated[str | None, typer.Option("--filter", help="BPF filter (default: tcp)")
                   ] = None,
    write: Annotated[Path | None, typer.Option(
        "--write", help="pcap to write (default captures/live/live-TIME.pcap)")] = None,
    duration: Annotated[float | None, typer.Option("--duration", help="stop after S s")] = None,
    count: Annotated[int | None, typer.Option("--count", help="stop after N segments")] = None,
    serve: Annotated[str | None, typer.Option(
        "--serve", help="also run a bundled server (fork/thread/nonblock/select)")] = None,
    scenarios: Annotated[list[str] | None, typer.Option(
        "--scenario", help="drive loopback scenarios against --serve (repeatable)")] = None,
    output: Annotated[Path | None, typer.Option(
        "-o", "--output", help="also write the final annotated table (.csv/.parquet/.jsonl)")
    ] = None,
    kernel: Annotated[bool, typer.Option(
        "--kernel", help="show the kernel's own socket states beside the inferred ones")
    ] = False,
) -> None:
    from ..capture.live import LiveCapture, has_capture_privileges
    from ..capture.pcapwriter import PcapWriter
    from ..live import LiveSession

    if not has_capture_privileges():
        raise TcpwatchError(NO_PRIVILEGES)
    port = 9000
    if serve and not ports:
        ports = [port]
    flt = bpf or "tcp"
    if ports:
        flt = f"({flt}) and ({' or '.join(f'port {p}' for p in ports)})"
    path = write or Path("captures/live") / f"live-{time.strftime('%Y%m%d-%H%M%S')}.pcap"
    cap = LiveCapture(iface, flt)
    writer = PcapWriter(path)
    session = LiveSession()
    stop = {"why": None}

    def on_signal(signum, frame):
        stop["why"] = signal.Signals(signum).name

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    out = console()
    helpers: list[subprocess.Popen] = []
    cap.start()
    print(f"tcpwatch live: capturing on {iface} ({flt}) into {path}", file=sys.stderr,
          flush=True)
    try:
        if serve:
            helpers.append(subprocess.Popen(
                [sys.executable, "-m", "tcpwatch", "serve", serve, "--port", str(ports[0])],
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True))
            helpers[-1].stdout.readline()
        if scenarios:
            cmd = " && ".join(f"{sys.executable} -m tcpwatch.scenarios.drivers {s} 127.0.0.1 "
                              f"{ports[0]}" for s in scenarios)
            helpers.append(subprocess.Popen(["sh", "-c", cmd]))
        _loop(cap, writer, session, out, stop, duration, count, kernel)
    finally:
        cap.stop()
        writer.write(cap.drain())  # what arrived before the stop is kept
        writer.close()
        for h in helpers:
            h.terminate()
            h.wait()
            if h.stdout:
                h.stdout.close()
    seg = analyze(path)  # the file as written: what the user keeps
    out.print(render_connections(summarize_connections(seg),
                                 title=f"TCP connections captured in {path} "
                                       f"({stop['why'] or 'done'})"))
    if output is not None:
        write_segments(seg, output)


LINGER_S = 5.0  # closed connections stay in the view this long, then fold into a total
_DONE = ("CLOSED", "TIME_WAIT")


def _kernel_pair(ks, client: str, server: str) -> tuple[str, str]:
    c, s = _endpoint(client), _endpoint(server)
    return state_of(ks, c, s).name, state_of(ks, s, c).name


def _endpoint(text: str) -> tuple[str, int]:
    host, port = text.rsplit(":", 1)
    return host.strip("[]"), int(port)


def _kernel_text(ks, r) -> str:
    client = (r.src, r.sport) if r.role == "client" else (r.dst, r.dport)
    server = (r.dst, r.dport) if r.role == "client" else (r.src, r.sport)
    kc, kserv = state_of(ks, client, server).name, state_of(ks, server, client).name
    return f" | kernel: client {kc} server {kserv}"


def _view(seg, log: list[str], kernel: bool = False) -> Group:
    summary = summarize_connections(seg)
    if kernel:
        ks = kernel_states()
        pairs = [_kernel_pair(ks, c, s) for c, s in zip(summary["client"], summary["server"],
                                                           strict=True)]
        # highlighted where the kernel and the inference differ
        summary = summary.assign(final_client=[
            f"{f}" if f == k[0] else f"{f} [red](kernel {k[0]})[/]"
            for f, k in zip(summary["final_client"], pairs, strict=True)],
            final_server=[f"{f}" if f == k[1] else f"{f} [red](kernel {k[1]})[/]"
                          for f, k in zip(summary["final_server"], pairs, strict=True)])
    now = float(seg["ts"].max())
    closed = (summary["final_client"].isin(_DONE) & summary["final_server"].isin(_DONE)
              & (summary["start"] + summary["duration"] < now - LINGER_S))
    parts = [render_connections(summary[~closed], title="live TCP connections")]
    if closed.any():
        done = summary[closed]
        segs = int(done["pkts_client"].sum() + done["pkts_server"].sum())
        parts.append(Text(f"+ {len(done)} closed connections ({segs} segments)"))
    parts.append(Text("\n".join(log)))
    return Group(*parts)


def _loop(cap, writer, session, out, stop, duration, count, kernel=False) -> None:
    t0 = time.monotonic()
    shown = 0
    tty = out.is_terminal
    log: list[str] = []
    view = Live(console=out, auto_refresh=False) if tty else None
    if view:
        view.start()
    try:
        while stop["why"] is None:
            time.sleep(REFRESH_S)
            batch = cap.drain()
            writer.write(batch)
            session.add(batch)
            if batch:
                seg = session.table()
                new = seg.iloc[shown:]
                shown = len(seg)
                if tty:
                    changed = new[(new["transition"] != "") | (new["events"] != "")]
                    log = (log + [_line(r) for r in changed.itertuples()])[-LOG_LINES:]
                    view.update(_view(seg, log, kernel), refresh=True)
                else:
                    ks = kernel_states() if kernel else None
                    for r in new.itertuples():
                        print(_line(r) + (_kernel_text(ks, r) if ks is not None else ""),
                              flush=True)
            if duration is not None and time.monotonic() - t0 >= duration:
                stop["why"] = "duration"
            if count is not None and session.frames >= count:
                stop["why"] = "count"
    finally:
        if view:
            view.stop()

