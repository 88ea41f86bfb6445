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
from rich.table import Table
from rich.text import Text

from ..capture.kernel import kernel_states, state_of
from ..errors import TcpwatchError
from ..export import write_segments
from ..report.summary import summarize_connections
from ..report.tables import TOP, console, render_connections

HELP = """Capture live TCP (scapy; -i lo by default; needs root or CAP_NET_RAW), write it to a
pcap as it goes, and show every connection's states, windows and analysis events as
they change (--kernel: beside the kernel's own socket states). Ctrl-C, SIGTERM,
--duration or --count end it with the final summary."""

REFRESH_S = 0.25
LOG_LINES = 12
NO_PRIVILEGES = "tcpwatch live needs root or CAP_NET_RAW; try: sudo tcpwatch live"


def _line(r) -> str:
    """One annotated segment, tcpdump-like, for piped output."""
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
        "-o", "--output", help="also write the live annotations (.csv/.parquet/.jsonl)")
    ] = None,
    kernel: Annotated[bool, typer.Option(
        "--kernel", help="show the kernel's own socket states beside the inferred ones")
    ] = False,
    top: Annotated[int, typer.Option(
        "--top", help="connections in the final summary: the busiest N (0: all)")] = TOP,
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
        last = cap.drain()  # what arrived before the stop is kept
        _write(writer, last, stop)
        new = session.add(last)
        if not out.is_terminal:
            _print_piped(new, kernel)
        writer.close()
        for h in helpers:
            h.terminate()
            h.wait()
            if h.stdout:
                h.stdout.close()
    seg = session.table()  # the live annotations (= tcpwatch analyze of the file)
    out.print(render_connections(summarize_connections(seg),
                                 title=f"TCP connections captured in {path} "
                                       f"({stop['why'] or 'done'})", top=top))
    if output is not None:
        write_segments(seg, output)
    if writer.error:
        raise TcpwatchError(writer.error)


def _write(writer, batch, stop) -> None:
    """Write a batch; a failed write stops the capture (the error is reported last)."""
    try:
        writer.write(batch)
    except TcpwatchError:
        stop["why"] = "write error"


LINGER_S = 5.0  # closed connections stay in the view this long, then fold into a total
BOARD_LIMIT = 30  # connections shown, most recently active first
_PEER = {"client": "server", "server": "client"}
_NOTES = {
    "zero_window": "({peer} stalled)",
    "zero_window_probe": "(probing the {peer}'s zero window)",
    "window_full": "(the {peer}'s window is full)",
    "window_update": "({peer} may send again)",
    "retransmission": "(resent)",
    "duplicate_ack": "(asks again for the same byte)",
    "lost_segment": "(a segment before it was not captured)",
    "keep_alive": "(is the {peer} still there?)",
}


def log_lines(r) -> list[str]:
    """The event log's lines for one annotated segment: its transition, its events."""
    t = dt.datetime.fromtimestamp(r.ts).strftime("%H:%M:%S.%f")[:-3]
    who = r.role
    lines = []
    if r.transition:
        lines.append(f"{t} conn {r.conn} {who} [{r.flag_str}]: {r.transition}")
    names = [n for n in str(r.events).split(";") if n]
    if "retransmission" in names and len(names) > 1:
        names.remove("retransmission")  # fast/spurious say it already
    for name in names:
        note = _NOTES.get(name, "").format(peer=_PEER[who])
        lines.append(f"{t} conn {r.conn} {who} {name.replace('_', ' ').upper()} {note}".rstrip())
    return lines


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


def _view(board, log: list[str], now_ns: int, kernel: bool = False) -> Group:
    rows, folded, folded_segs, hidden = board.frame(now_ns, LINGER_S, BOARD_LIMIT)
    table = Table(title="live TCP connections", title_justify="left")
    for name in rows.columns:
        table.add_column(name, justify="right" if name in (
            "conn", "retrans", "zero win", "segs", "idle s") else "left",
            no_wrap=name.startswith("client"))
    ks = kernel_states() if kernel else None
    for r in rows.itertuples(index=False):
        cells = [str(v) for v in r]
        if ks is not None:  # the kernel's own states, highlighted where they differ
            client, server = r[1].split(" → ")
            mine = r[2].split(" / ")
            theirs = _kernel_pair(ks, client, server)
            cells[2] = " / ".join(m if m == k else f"{m} [red](kernel {k})[/]"
                                  for m, k in zip(mine, theirs, strict=True))
        table.add_row(*cells)
    parts = [table]
    if hidden:
        parts.append(Text(f"+ {hidden} more open connections"))
    if folded:
        parts.append(Text(f"+ {folded} closed connections ({folded_segs} segments)"))
    parts.append(Text("\n".join(log)))
    return Group(*parts)


def _print_piped(new, kernel: bool) -> None:
    if not len(new):
        return
    ks = kernel_states() if kernel else None
    for r in new.itertuples():
        print(_line(r) + (_kernel_text(ks, r) if ks is not None else ""), flush=True)


def _log(log: list[list], line: str) -> None:
    """Append to the event log; a repeat of the last entry (apart from the time) counts."""
    what = line.split(" ", 1)[1]
    if log and log[-1][1] == what:
        log[-1][2] += 1
    else:
        log.append([line, what, 1])


def _shown(entry: list) -> str:
    return entry[0] + (f" (×{entry[2]})" if entry[2] > 1 else "")


def _loop(cap, writer, session, out, stop, duration, count, kernel=False) -> None:
    from ..live.board import Board

    t0 = time.monotonic()
    tty = out.is_terminal
    board = Board(session)
    log: list[list] = []  # [first line, what it says without the time, repeats]
    view = Live(console=out, auto_refresh=False) if tty else None
    if view:
        view.start()
    try:
        while stop["why"] is None:
            time.sleep(REFRESH_S)
            batch = cap.drain()
            _write(writer, batch, stop)
            start = session.rows.n
            new = session.add(batch)
            board.update(slice(start, session.rows.n))
            if tty:
                changed = new[(new["transition"] != "") | (new["events"] != "")]
                for r in changed.itertuples():
                    for line in log_lines(r):
                        _log(log, line)
                del log[:-LOG_LINES]
                view.update(_view(board, [_shown(e) for e in log], time.time_ns(), kernel),
                            refresh=True)
            else:
                _print_piped(new, kernel)
            if duration is not None and time.monotonic() - t0 >= duration:
                stop["why"] = "duration"
            if count is not None and session.frames >= count:
                stop["why"] = "count"
    finally:
        if view:
            view.stop()
