"""tcptrace's time-sequence graphs (``tcptrace -S``: ``a2b_tsg.xpl``, ``b2a_tsg.xpl``, one
pair per connection) read back as data, and tcpwatch's seq kind put into the same
coordinates.

xplot's format, as tcptrace 6.6.7 writes it (plotter.c): a header ``timeval double`` (x is
a time, y a number), ``title``/``xlabel``/``ylabel`` each followed by its text line, then
one command a line until ``go``.  A line holding only a colour name sets the colour of the
commands after it; a colour after a command's coordinates is that command's only.
``line x1 y1 x2 y2``; ``dot``/``diamond``/``box``/``darrow``/``uarrow``/``dtick``/``utick``/
``htick`` ``x y``; ``atext``/``btext``/``rtext``/``ltext`` ``x y`` and the text on the next
line.  Times are absolute ``seconds.microseconds`` (tcptrace without ``-z``); sequence
numbers are absolute, printed as unsigned longs (an end past 2**32 is not wrapped: compare
modulo 2**32).

What tcptrace draws in a graph of the data A sends (trace.c, ``dotrace``):

* each segment: data as a ``line`` from its seq to seq+len (white; red if tcptrace thinks
  it retransmitted; blue for a hardware duplicate); a SYN as an orange line from its seq
  to seq+1; a FIN as an orange line from the end of its data to one past;
* for each segment B sends with the ACK bit (not RST), from B's second such segment on:
  the ACK line in green -- a horizontal ``line`` from the previous ACK's time at the
  previous ACK number to this time, then a vertical one up to this ACK number, or a
  ``dtick`` when the number did not change; the window line the same in yellow at
  ACK + B's window (scaled when both SYNs carried the option, never in a SYN), a ``utick``
  when it did not move;
* each SACK block of those segments: a purple vertical ``line`` left..right with ``htick``s;
* texts: ``R`` (red, at the end of a retransmitted data segment), ``O`` (pink,
  out-of-order), ``P`` (orange, a "probe": data while B's last window was 0), ``Z``
  (at ACK + window of an ACK with a zero window), ``S`` above SACKs, ``3`` at a triple
  duplicate ACK.
"""

from __future__ import annotations

import re
import subprocess
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

COLOURS = {"white", "green", "red", "blue", "yellow", "purple", "orange", "magenta", "pink"}
TEXTS = {"atext", "btext", "rtext", "ltext", "ctext"}
MOD = 2**32


@dataclass(frozen=True)
class Cmd:
    op: str
    colour: str
    xs: tuple[int, ...]  # times, integer microseconds
    ys: tuple[int, ...]  # sequence numbers modulo 2**32
    text: str = ""


@dataclass(frozen=True)
class Graph:
    title: str
    cmds: tuple[Cmd, ...]

    @property
    def ports(self) -> tuple[int, int]:
        """(sender's port, receiver's port), from the title ``A:p_==>_B:q (...)``."""
        m = re.match(r"(\S+)_==>_(\S+) ", self.title)
        assert m, self.title
        return int(m[1].rsplit(":", 1)[1]), int(m[2].rsplit(":", 1)[1])


def _usec(text: str) -> int:
    sec, _, frac = text.partition(".")
    return int(sec) * 1_000_000 + int((frac + "000000")[:6])


def parse(text: str) -> Graph:
    lines = text.splitlines()
    assert lines[0].split() == ["timeval", "double"], lines[0]
    title, colour, cmds, i = "", "white", [], 1
    while i < len(lines):
        words = lines[i].split()
        i += 1
        if not words:
            continue
        op = words[0]
        if op in ("title", "xlabel", "ylabel"):
            title = lines[i] if op == "title" else title
            i += 1
        elif op == "go":
            break
        elif op in COLOURS and len(words) == 1:
            colour = op
        else:
            own = words[-1] if words[-1] in COLOURS else None
            nums = words[1:-1] if own else words[1:]
            text = ""
            if op in TEXTS:
                text, i = lines[i], i + 1
            cmds.append(Cmd(op, own or colour, tuple(_usec(v) for v in nums[0::2]),
                            tuple(int(v) % MOD for v in nums[1::2]), text))
    return Graph(title, tuple(cmds))


def tcptrace_graphs(capture: Path, workdir: Path) -> list[Graph]:
    """Run ``tcptrace -S -n`` on ``capture`` in ``workdir``; every time-sequence graph."""
    workdir.mkdir(parents=True, exist_ok=True)
    subprocess.run(["tcptrace", "-S", "-n", str(capture.resolve())], cwd=workdir, check=True,
                   capture_output=True, timeout=60)
    return [parse(p.read_text()) for p in sorted(workdir.glob("*_tsg.xpl"))]


# -- what tcptrace draws, split by meaning ---------------------------------------------

@dataclass(frozen=True)
class View:
    """One tcptrace graph as comparable collections."""

    segments: Counter  # (t, y1, y2) of every segment line (data, SYN, FIN)
    acks: list  # the green commands, in order: (op, xs, ys)
    window: list  # the yellow ones
    sacks: Counter  # (t, left, right) of the purple lines
    texts: Counter  # (text, t, y)


def view(g: Graph) -> View:
    vertical = [c for c in g.cmds if c.op == "line" and c.xs[0] == c.xs[1]]
    return View(
        segments=Counter((c.xs[0], *c.ys) for c in vertical
                         if c.colour not in ("green", "yellow", "purple")),
        acks=[(c.op, c.xs, c.ys) for c in g.cmds
              if c.colour == "green" and c.op not in TEXTS and c.op != "dot"],
        window=[(c.op, c.xs, c.ys) for c in g.cmds if c.colour == "yellow"],
        sacks=Counter((c.xs[0], *c.ys) for c in vertical if c.colour == "purple"),
        texts=Counter((c.text, c.xs[0], c.ys[0]) for c in g.cmds if c.op in TEXTS))


# -- tcpwatch's SeqData in tcptrace's coordinates ----------------------------------------

def usec_of(d, rows: np.ndarray) -> np.ndarray:
    """Capture times of these rows of the connection, in integer microseconds (what
    tcptrace prints: libpcap hands it microseconds, nanoseconds truncated)."""
    return d.rows["ts_ns"].to_numpy()[rows] // 1000


def tcptrace_scales(d) -> bool:
    """Whether tcptrace scales windows in this connection: only when it saw the
    window-scale option from both ends (trace.c).  Wireshark (and tcpwatch) scale a
    direction's windows by the shift its own SYN announced as soon as that SYN was seen:
    on arkime/no-syn-ack.pcap (SYN with shift 9, SYN-ACK not captured) tshark shows the
    client's window 12 as 6144 (factor 512), tcptrace draws 12."""
    has = d.rows["wscale"].notna().to_numpy()
    return {"client", "server"} <= set(d.rows["role"].astype(str)[has])


def expected(d, sender: str, *, unscaled: bool = False) -> View:
    """What tcptrace would draw in the graph of ``sender``'s data, made from the data
    tcpwatch's seq kind draws (``unscaled``: the window line from the raw window field,
    as tcptrace draws it when it does not scale)."""
    isn = d.isn[sender]
    s = d.segments[d.segments["sender"] == sender]
    a = d.acks[d.acks["sender"] == sender]
    k = d.sacks[d.sacks["sender"] == sender]

    def ab(v) -> np.ndarray:
        return (np.asarray(v, dtype=np.int64) + isn) % MOD

    st, seq, end = usec_of(d, s["row"].to_numpy()), ab(s["seq"]), ab(s["end"])
    segs: Counter = Counter()
    data = (s["len"] > 0).to_numpy()
    segs.update(zip(st[data], seq[data], end[data], strict=True))
    syn, fin = s["syn"].to_numpy(), s["fin"].to_numpy()
    segs.update(zip(st[syn], seq[syn], (seq[syn] + 1) % MOD, strict=True))
    segs.update(zip(st[fin], end[fin], (end[fin] + 1) % MOD, strict=True))

    at = usec_of(d, a["row"].to_numpy())
    win = (d.rows["win_raw"].to_numpy()[a["row"].to_numpy()] if unscaled
           else a["win"].to_numpy())
    # tcptrace adds the window to the 32-bit ACK in 64 bits (winend) but compares it with
    # the last window end as kept in 32 bits: once ACK + window passes 2**32 an unchanged
    # window end compares unequal and is drawn as a zero-length line, not a tick (seen on
    # a 970k-segment transfer whose absolute sequence numbers wrapped: 59 such of 112,034)
    winend = ab(a["ack"]) + win.astype(np.int64)
    return View(segments=segs, acks=_steps(at, ab(a["ack"]), "dtick"),
                window=_steps(at, winend, "utick"),
                sacks=Counter(zip(usec_of(d, k["row"].to_numpy()), ab(k["left"]),
                                  ab(k["right"]), strict=True)),
                texts=Counter())


def _steps(t: np.ndarray, y: np.ndarray, tick: str) -> list:
    """tcptrace's step line: from the second point on, a horizontal line from the previous
    point, then a vertical line to the new value or a tick where it did not change: the
    new value as computed against the previous one as stored in 32 bits."""
    out = []
    for i in range(1, len(t)):
        out.append(("line", (t[i - 1], t[i]), (y[i - 1], y[i - 1])))
        out.append(("line", (t[i], t[i]), (y[i - 1], y[i])) if y[i] != y[i - 1] % MOD
                   else (tick, (t[i],), (y[i],)))
    return [(op, tuple(map(int, xs)), tuple(int(v) % MOD for v in ys)) for op, xs, ys in out]
