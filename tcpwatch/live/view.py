"""What ``tcpwatch live`` shows: the board and event log on a terminal, one line per
segment when piped.  Pure formatting of what the session and the board hold."""

from __future__ import annotations

import datetime as dt

from rich.console import Group
from rich.table import Table
from rich.text import Text

from ..capture.kernel import kernel_states, state_of

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
    return f" | kernel: client {kc} server {kserv}"


def render(board, log: list[str], now_ns: int, kernel: bool = False) -> Group:
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
