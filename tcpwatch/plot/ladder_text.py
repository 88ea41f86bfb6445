"""What a ladder writes on an arrow: the segment in tcpdump's notation, the options of a
SYN, SACK blocks, and Wireshark's analysis flags as short coloured tags -- and the
colours of segments and states. Only the drawn rows (a few hundred at most) are
formatted, so plain Python per row is fine here."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..engine.registry import BY_NAME
from ..vocab import Col, TcpFlag

_U32 = 1 << 32
#: flags with which tcpdump writes a segment's seq even without data
_SHOWS_SEQ = int(TcpFlag.SYN | TcpFlag.FIN | TcpFlag.RST)

#: arrow colour of a segment without analysis flags, by its most telling flag
#: (first match wins: an RST, a SYN, a FIN, data, else a bare ACK)
FLAG_COLOURS: tuple[tuple[str, str], ...] = (
    ("RST", "#111111"), ("SYN", "#2ca02c"), ("FIN", "#9467bd"), ("data", "#1f77b4"),
    ("ACK", "#8c8c8c"))

#: Wireshark's analysis flags on a ladder: (colour, tier). Tier 1 rows (loss, reordering,
#: a closed window) outrank tier 2 rows (duplicate ACKs, window updates, keep-alives) when a
#: long connection has more flagged rows than a ladder draws. A flag missing here is tier 2.
EVENT_MARKS: dict[str, tuple[str, int]] = {
    "retransmission": ("#d62728", 1),
    "fast_retransmission": ("#d62728", 1),
    "spurious_retransmission": ("#d62728", 1),
    "out_of_order": ("#8c564b", 1),
    "lost_segment": ("#8c564b", 1),
    "ack_lost_segment": ("#8c564b", 1),
    "zero_window": ("#ff7f0e", 1),
    "zero_window_probe": ("#ff7f0e", 1),
    "zero_window_probe_ack": ("#ff7f0e", 1),
    "window_full": ("#ff7f0e", 1),
    "reused_ports": ("#8c564b", 1),
    "duplicate_ack": ("#b5a400", 2),
    "window_update": ("#17a2b8", 2),
    "keep_alive": ("#e377c2", 2),
    "keep_alive_ack": ("#e377c2", 2),
}
#: a segment that breaks the state machine (the ``violation`` column)
VIOLATION_COLOUR = "#b00020"
#: plain retransmission is implied by these (Wireshark's Info column names only them)
_IMPLIES_RETRANSMISSION = ("fast_retransmission", "spurious_retransmission")

#: a state's colour (its line's band and its label's box): closed, opening, open,
#: closing first (active close), closing second (passive close)
STATE_COLOURS: dict[str, str] = {
    "CLOSED": "#e3e3e3", "LISTEN": "#e3e3e3", "UNKNOWN": "#ffffff",
    "SYN_SENT": "#c6dbef", "SYN_RECEIVED": "#c6dbef",
    "ESTABLISHED": "#c7e9c0",
    "FIN_WAIT_1": "#fdd0a2", "FIN_WAIT_2": "#fdd0a2", "CLOSING": "#fdd0a2",
    "TIME_WAIT": "#fdd0a2",
    "CLOSE_WAIT": "#dadaeb", "LAST_ACK": "#dadaeb",
}


def short_tag(name: str) -> str:
    """Wireshark's Info tag without brackets and "TCP " (``Dup ACK``, ``Window Update``)."""
    flag = BY_NAME.get(name)
    return flag.tag.strip("[]").removeprefix("TCP ") if flag else name


def event_names(events: str) -> list[str]:
    """The flag names of one ``events`` value, with a plain retransmission dropped when a
    fast or spurious one says more."""
    names = [n for n in events.split(";") if n]
    if any(n in names for n in _IMPLIES_RETRANSMISSION):
        names = [n for n in names if n != "retransmission"]
    return names


def event_tier(events: str) -> int:
    """0 for no flag, else the best (lowest) tier of its flags."""
    names = event_names(events)
    return min((EVENT_MARKS.get(n, ("", 2))[1] for n in names), default=0)


def _opt(v) -> int | None:
    return None if v is None or pd.isna(v) else int(v)


def tcpdump_line(flag_str: str, flags: int, rel_seq: int, rel_ack: int, win: int,
                 length: int) -> str:
    """``Flags [P.], seq 1:14, ack 1, win 65536, length 13`` -- tcpdump's order and rules
    (print-tcp.c: seq only for data, SYN, FIN or RST; ``a:b`` with data; ack only with
    the ACK bit), relative numbers; ``win`` is the scaled window in bytes."""
    parts = [f"Flags [{flag_str}]"]
    if length:
        parts.append(f"seq {rel_seq}:{(rel_seq + length) % _U32}")
    elif flags & _SHOWS_SEQ:
        parts.append(f"seq {rel_seq}")
    if flags & TcpFlag.ACK:
        parts.append(f"ack {rel_ack}")
    parts += [f"win {win}", f"length {length}"]
    return ", ".join(parts)


def option_note(row) -> str:
    """A SYN's options (``mss 65495, sackOK, TS, wscale 10``) or an ACK's SACK blocks
    relative to the receiver's ISN (``sack {1449:2897}``); empty otherwise."""
    if int(row.flags) & TcpFlag.SYN:
        mss, ws = _opt(row.mss), _opt(row.wscale)
        opts = [f"mss {mss}" if mss is not None else "",
                "sackOK" if bool(row.sack_perm) else "",
                "TS" if _opt(row.tsval) is not None else "",
                f"wscale {ws}" if ws is not None else ""]
        return ", ".join(o for o in opts if o)
    edges = row.sack
    if edges is None or (not isinstance(edges, (list, np.ndarray)) and pd.isna(edges)):
        return ""
    edges = [int(e) for e in edges]
    if not edges:
        return ""
    base = (int(row.ack) - int(row.rel_ack)) % _U32  # the receiver's ISN + 1 - 1
    blocks = (f"{(lo - base) % _U32}:{(hi - base) % _U32}"
              for lo, hi in zip(edges[::2], edges[1::2], strict=False))
    return "sack {" + "} {".join(blocks) + "}"


def event_tags(events: str, dup_ack_num) -> str:
    """``Retransmission``, ``Dup ACK #2``, ``ZeroWindow`` ... joined by `` · ``."""
    tags = []
    for n in event_names(events):
        tag = short_tag(n)
        if n == "duplicate_ack" and _opt(dup_ack_num) is not None:
            tag += f" #{int(dup_ack_num)}"
        tags.append(tag)
    return " · ".join(tags)


def arrow_kind(flags: int, length: int, events: str, violation: str = "") -> tuple[str, str]:
    """What colours a segment's arrow, and the colour: a state-machine violation, else its
    best-tier analysis flag (by its short tag), else its TCP flags (RST, SYN, FIN, data,
    ACK)."""
    if violation:
        return "violation", VIOLATION_COLOUR
    names = event_names(events)
    if names:
        best = min(names, key=lambda n: EVENT_MARKS.get(n, ("", 2))[1])
        return short_tag(best), EVENT_MARKS.get(best, ("#555555", 2))[0]
    if flags & TcpFlag.RST:
        kind = "RST"
    elif flags & TcpFlag.SYN:
        kind = "SYN"
    elif flags & TcpFlag.FIN:
        kind = "FIN"
    else:
        kind = "data" if length else "ACK"
    return kind, dict(FLAG_COLOURS)[kind]


def label_rows(rows: pd.DataFrame) -> pd.DataFrame:
    """label (tcpdump line), note (options/SACK), tags (flags), kind and colour of each
    row."""
    out: dict[str, list[str]] = {"label": [], "note": [], "tags": [], "kind": [],
                                 "colour": []}
    cols = [Col.FLAGS, Col.FLAG_STR, Col.REL_SEQ, Col.REL_ACK, Col.SEQ, Col.ACK, Col.WIN,
            Col.LEN, Col.MSS, Col.WSCALE, Col.SACK_PERM, Col.SACK, Col.TSVAL, Col.EVENTS,
            Col.DUP_ACK_NUM, Col.VIOLATION]
    for r in rows[cols].itertuples(index=False):
        events = "" if pd.isna(r.events) else str(r.events)
        flags, length = int(r.flags), int(r.len)
        out["label"].append(tcpdump_line(str(r.flag_str), flags, int(r.rel_seq),
                                         int(r.rel_ack), int(r.win), length))
        note = option_note(r)
        if not length and "keep_alive" in event_names(events) and not flags & _SHOWS_SEQ:
            note = f"seq {int(r.rel_seq)}"  # tcpdump hides it; the probe's point is SND.NXT-1
        out["note"].append(note)
        violation = "" if pd.isna(r.violation) else str(r.violation)
        tags = [t for t in ("RST" if flags & TcpFlag.RST else "",
                            event_tags(events, getattr(r, Col.DUP_ACK_NUM)),
                            f"violation: {violation}" if violation else "") if t]
        out["tags"].append(" · ".join(tags))
        kind, colour = arrow_kind(flags, length, events, violation)
        out["kind"].append(kind)
        out["colour"].append(colour)
    return pd.DataFrame(out, index=rows.index)
