"""What ``tcpwatch live`` shows: the board and event log on a terminal, one line per
segment when piped.  Pure formatting of what the session and the board hold."""

from __future__ import annotations

import datetime as dt

from rich.console import Console, Group
from rich.text import Text

from ..capture.packetsock import CaptureStats
from ..report.fit import Column, FitToWidth
from .kernel import kernel_states, state_of

LOG_LINES = 12  # event log lines on screen
LINGER_S = 5.0  # closed connections stay in the view this long, then fold into a total
BOARD_LIMIT = 30  # connections shown, most recently active first


def segment_line(r) -> str:
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


_PEER = {"client": "server", "server": "client"}
_NOTES = {
    "zero_window": "({peer} stalled)",
    "zero_window_probe": "(probing the {peer}'s zero window)",
    "window_full": "(the {peer}'s window is full)",
    "window_update": "({peer} may send again)",
    "retransmission": "(resent)",
    "duplicate_ack": "(asks again for the same byte)",
    "lost_segment": "(a segment before it was not captured)",
    "keep_alive": "(a keep-alive, or Linux probing a zero window)",
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
    return f" | kernel now: client {kc} server {kserv}"


FALSE_LOSS = "false lost_segment / ack_lost_segment"  # what a dropped segment looks like
INCOMPLETE = (f"the analysis is incomplete: connections may show {FALSE_LOSS} where the "
              "capture, not the network, lost a segment")


def counts_text(stats: CaptureStats) -> Text:
    """The board's first line: what the kernel counted for the capture socket so far."""
    text = f"kernel: {stats.received:,} received by filter, {stats.dropped:,} dropped"
    if stats.dropped:
        return Text(f"{text}: the analysis is incomplete ({FALSE_LOSS} possible)",
                    style="bold red")
    return Text(text)


def buffer_text(asked_kib: int, granted_kib: int) -> str:
    """The capture buffer, as the kernel granted it."""
    text = f"buffer {granted_kib:,} KiB"
    if granted_kib < asked_kib:
        text += f" (asked {asked_kib:,}: net.core.rmem_max caps it without CAP_NET_ADMIN)"
    return text


def print_counts(stats: CaptureStats, buffer_kib: int) -> None:
    """The closing counts on stderr, as tcpdump prints them; drops are a warning that
    says what they mean, in bold red on a terminal."""
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    err.print(f"tcpwatch live: {stats.line()}", markup=False)
    if stats.dropped:
        share = stats.dropped / max(stats.received, 1)
        err.print(f"tcpwatch: warning: the kernel dropped {stats.dropped:,} of "
                  f"{stats.received:,} packets ({share:.1%}): its buffer ({buffer_kib:,} "
                  f"KiB) was full; {INCOMPLETE}. A bigger -B/--buffer-size or a narrower "
                  "--filter/--port helps", style="bold red", markup=False)


_NUMERIC = {"conn", "window c→s / s→c", "in flight c→s / s→c", "retrans", "zero win", "segs",
            "idle s"}
#: which columns stay on a narrow terminal (0 first)
_RANK = {"conn": 0, "client → server": 0, "client / server": 1, "segs": 2,
         "window c→s / s→c": 3, "retrans": 3, "in flight c→s / s→c": 4, "zero win": 4,
         "last transition": 5, "idle s": 6}


def render(board, log: list[str], now_ns: int, kernel: bool = False,
           stats: CaptureStats | None = None) -> Group:
    rows, folded, folded_segs, hidden = board.frame(now_ns, LINGER_S, BOARD_LIMIT)
    cells = [[str(v) for v in r] for r in rows.itertuples(index=False)]
    if kernel:  # the kernel's own states beside the inferred ones where they differ
        ks = kernel_states()
        for row in cells:
            client, server = row[1].split(" → ")
            theirs = _kernel_pair(ks, client, server)
            row[2] = " / ".join(m if m == k else f"{m} (kernel {k})"
                                for m, k in zip(row[2].split(" / "), theirs, strict=True))
    # numbers are never cut: on a narrow terminal the less important columns go
    table = FitToWidth([Column(name, [row[i] for row in cells], numeric=name in _NUMERIC,
                               rank=_RANK[name]) for i, name in enumerate(rows.columns)],
                       title="live TCP connections")
    parts = [table]
    if stats is not None:  # first: a screen too short for the board crops the bottom
        parts.insert(0, counts_text(stats))
    if hidden:
        parts.append(Text(f"+ {hidden} more open connections"))
    if folded:
        parts.append(Text(f"+ {folded} closed connections ({folded_segs} segments)"))
    parts.append(Text("\n".join(log)))
    return Group(*parts)


def print_piped(new, kernel: bool) -> None:
    if not len(new):
        return
    ks = kernel_states() if kernel else None
    for r in new.itertuples():
        print(segment_line(r) + (_kernel_text(ks, r) if ks is not None else ""), flush=True)


class EventLog:
    """The last ``LOG_LINES`` transitions and events; a repeat (apart from its time)
    counts instead of taking a line: ``... (×N)``."""

    def __init__(self) -> None:
        self.entries: list[list] = []  # [first line, what it says without the time, repeats]

    def add(self, new) -> None:
        """Take in a batch's annotated rows."""
        changed = new[(new["transition"] != "") | (new["events"] != "")]
        for r in changed.itertuples():
            for line in log_lines(r):
                what = line.split(" ", 1)[1]
                if self.entries and self.entries[-1][1] == what:
                    self.entries[-1][2] += 1
                else:
                    self.entries.append([line, what, 1])
        del self.entries[:-LOG_LINES]

    def lines(self) -> list[str]:
        return [e[0] + (f" (×{e[2]})" if e[2] > 1 else "") for e in self.entries]
