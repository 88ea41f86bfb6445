"""``--explain``: one plain-language line per segment that matters -- it changed a
state (or broke the state machine), or Wireshark's analysis flags it (zero window, window
probe, window update, window full, retransmission, duplicate ACK, lost or out-of-order
segment, keep-alive) -- each with the numbers that explain it (``explain_numbers.py``).
Which rows matter is decided over whole columns; only the chosen lines are formatted."""

from __future__ import annotations

import pandas as pd

from ..engine.transitions import TABLE
from ..vocab import Col, EndpointState, TcpFlag, event_name
from .explain_numbers import numbers

_FLAG_WORDS = ((TcpFlag.SYN, "SYN"), (TcpFlag.FIN, "FIN"), (TcpFlag.RST, "RST"),
               (TcpFlag.PSH, "PSH"), (TcpFlag.ACK, "ACK"))


def _flags(f: int) -> str:
    return "+".join(w for bit, w in _FLAG_WORDS if f & int(bit)) or "no flags"


_REASONS = {(state.name, event_name(ev)): t.reason for (state, ev), t in TABLE.items()}


def _reason(before: str, event: str) -> str | None:
    return _REASONS.get((before, event))


def _handshakes(seg: pd.DataFrame) -> dict[int, str]:
    """Per connection with a SYN: ``MSS m; window scale client c, server s`` (the scale
    only when every SYN carried the option), told when the handshake completes."""
    syns = seg[(seg[Col.FLAGS].astype(int) & int(TcpFlag.SYN)) != 0]
    if syns.empty:
        return {}
    by = syns.groupby(Col.CONN, sort=False, observed=True)
    mss = by[Col.MSS].min()
    all_ws = by[Col.WSCALE].count() == by.size()
    first = syns[[Col.CONN, Col.ROLE, Col.WSCALE]].drop_duplicates([Col.CONN, Col.ROLE])
    ws = {(int(c), str(r)): w for c, r, w in first.itertuples(index=False)}
    out = {}
    for conn in mss.index:
        parts = [] if pd.isna(mss[conn]) else [f"MSS {int(mss[conn])}"]
        if all_ws[conn]:
            parts.append("window scale " + ", ".join(
                f"{role} {int(ws[int(conn), role])}" for role in ("client", "server")
                if (int(conn), role) in ws))
        out[int(conn)] = "; ".join(parts)
    return out


def _bytes(n: int) -> str:
    return f"{n} byte" if n == 1 else f"{n} bytes"


def _ms(seconds: float) -> str:
    ms = seconds * 1000
    if ms >= 10_000:
        return f"{seconds:.2f} s"
    return f"{ms:.3f} ms" if ms < 1 else f"{ms:.1f} ms" if ms < 100 else f"{ms:.0f} ms"


def _n(x) -> int | None:
    """An integer, or None for a missing value."""
    return None if x is None or pd.isna(x) else int(x)


def _handshake_options(d: dict, sender: str) -> str | None:
    """What a SYN or SYN+ACK offers: MSS, window scale, SACK, timestamps."""
    mss, ws = _n(d[Col.MSS]), _n(d[Col.WSCALE])
    parts = [f"MSS {mss}" if mss is not None else "no MSS",
             f"window scale {ws}" if ws is not None else "no window scaling"]
    if d.get(Col.SACK_PERM):
        parts.append("SACK")
    if _n(d.get(Col.TSVAL)) is not None:
        parts.append("TS")
    return f"{sender} offers " + ", ".join(parts)


def _flow(d: dict, x: dict, events: set[str], sender: str, receiver: str, t: float
          ) -> list[str]:
    """The flow-control and loss sentences of one segment."""
    out: list[str] = []
    seq, ln, ack = int(d[Col.REL_SEQ]), int(d[Col.LEN]), int(d[Col.REL_ACK])
    win, raw = _n(d[Col.WIN]), _n(d[Col.WIN_RAW])
    peer_win, flight = _n(x["peer_win"]), _n(d[Col.BYTES_IN_FLIGHT])
    if "zero_window" in events:
        unacked = _n(x["peer_nxt"])
        stalled = f"{receiver} stalled" + (
            f" with {_bytes(unacked - ack)} unacknowledged" if unacked is not None
            and unacked > ack else ", all its data acknowledged")
        out.append(f"ZERO WINDOW: {sender}'s receive buffer is full (window 0); {stalled}")
    if "zero_window_probe" in events:
        since = x["peer_stall_start"]
        out.append(f"zero-window probe: {ln} byte{'s' if ln != 1 else ''} at seq {seq} to see "
                   f"if {receiver}'s window opened" + (
                       f", {_ms(t - since)} into the stall" if not pd.isna(since) else ""))
    if "zero_window_probe_ack" in events:
        out.append(f"answers the probe: window {'still 0' if win == 0 else f'{win} bytes'}")
    if "window_update" in events:
        prev = _n(x["prev_win"])
        if prev == 0 and win:
            since = x["stall_start"]
            out.append(f"WINDOW UPDATE: window reopens from 0 to {win} bytes" + (
                f" after {_ms(t - since)} stalled" if not pd.isna(since) else ""))
        else:
            out.append(f"window update: {prev if prev is not None else '?'} → {win} bytes")
    if "window_full" in events:
        praw = _n(x["peer_win_raw"])
        field = f" (field {praw}, scaled)" if praw != peer_win else ""
        acked = _n(x["peer_max_ack"])
        edge = f"{seq + ln - acked} bytes unacknowledged" if acked is not None else (
            f"{flight} bytes in flight")
        out.append(f"WINDOW FULL: {edge} = {receiver}'s window {peer_win} "
                   f"bytes{field}; {sender} must wait")
    if "retransmission" in events:
        kind = ("SPURIOUS RETRANSMISSION" if "spurious_retransmission" in events else
                "FAST RETRANSMISSION" if "fast_retransmission" in events else
                "RETRANSMISSION")
        flags = int(d[Col.FLAGS])
        what = (_bytes(ln) if ln else "the SYN" if flags & int(TcpFlag.SYN) else
                "the FIN" if flags & int(TcpFlag.FIN) else "an empty segment")
        text = f"{kind} of {what} at seq {seq}"
        of = _n(x["orig_frame"])
        if of is not None:
            text += f": retransmits frame #{of} sent {_ms(d[Col.TS] - x['orig_ts'])} earlier"
        dups = _n(x["peer_dup_num"])
        if "fast_retransmission" in events and dups is not None:
            text += f", after {dups} duplicate ACKs"
        peer_ack = _n(x["peer_max_ack"])
        if "spurious_retransmission" in events and peer_ack is not None:
            text += f"; {receiver} had already acknowledged up to {peer_ack}"
        out.append(text)
    if "lost_segment" in events:
        exp = _n(x["own_prev_nxt"])
        gap = f": expected seq {exp}, got {seq} ({seq - exp} bytes missing)" if (
            exp is not None and seq > exp) else ""
        out.append(f"previous segment not captured{gap}")
    if "ack_lost_segment" in events:
        sent = _n(x["peer_nxt"])
        out.append(f"ACKs unseen data: ack {ack} beyond {receiver}'s last captured seq {sent}"
                   if sent is not None and ack > sent else
                   f"ACKs a segment of {receiver} the capture does not have (ack {ack})")
    if "out_of_order" in events:
        exp = _n(x["own_prev_nxt"])
        out.append(f"out of order: seq {seq} below the next expected {exp}"
                   if exp is not None else "out of order")
    if "keep_alive" in events:
        out.append(f"keep-alive: {_bytes(ln)} at seq {seq}, one before "
                   f"the next, to check {receiver} is still there")
    if "keep_alive_ack" in events:
        out.append("answers the keep-alive")
    if "duplicate_ack" in events:
        out.append(f"duplicate ACK #{_n(d[Col.DUP_ACK_NUM])} of frame "
                   f"#{_n(d[Col.DUP_ACK_FRAME])}: {sender} still asks for byte {ack}")
    if "reused_ports" in events:
        out.append("port numbers reused: a new connection on an old one's ports")
    if flight is not None and "window_full" not in events and ln:
        out.append(f"{_bytes(flight)} in flight" + (
            f" of {receiver}'s window {peer_win}" if peer_win is not None else ""))
    if "window_update" in events and raw != win:
        out[-1] += f" (field {raw}, scaled)"
    rtt = d[Col.ACK_RTT]
    if out and not pd.isna(rtt):
        out.append(f"RTT {_ms(float(rtt))} (acks frame #{_n(d[Col.ACKED_FRAME])})")
    return out


def explain(seg: pd.DataFrame) -> list[str]:
    """Plain-language lines for the segments of ``seg`` that matter (module docstring)."""
    if seg.empty:
        return []
    t0 = float(seg[Col.TS].min())
    seg = seg.copy(deep=False)
    seg.attrs = {}  # pandas copies attrs deeply at every step: none needed here
    handshakes = _handshakes(seg)
    events_col = seg[Col.EVENTS].astype(str)
    chosen = ((seg[Col.TRANSITION] != "") | (seg[Col.VIOLATION] != "")
              | (events_col != "")).to_numpy()
    extra = numbers(seg)[chosen]
    rows = seg[chosen]
    lines = []
    told: set[int] = set()
    for r, x in zip(rows.to_dict("records"), extra.to_dict("records"), strict=True):
        d = r
        sender = d[Col.ROLE]
        receiver = "server" if sender == "client" else "client"
        events = set(str(d[Col.EVENTS]).split(";")) - {""}
        what = _flags(int(d[Col.FLAGS]))
        if d[Col.LEN]:
            what += f" {_bytes(int(d[Col.LEN]))}"
        what += f" seq {d[Col.REL_SEQ]}"
        if int(d[Col.FLAGS]) & int(TcpFlag.ACK):
            what += f" ack {d[Col.REL_ACK]}"
        changed = d[Col.TRANSITION] != "" or d[Col.VIOLATION] != ""
        states, reasons = [], []
        for end in ("client", "server"):
            b, a = str(d[f"state_before_{end}"]), str(d[f"state_after_{end}"])
            if b != a:
                states.append(f"{end} {b}→{a}")
                why = _reason(b, str(d[f"event_{end}"]))
                if why:
                    reasons.append(why)
            elif not d[Col.TRANSITION]:  # a violation that changed nothing: both states
                states.append(f"{end} {a}")
        if int(d[Col.FLAGS]) & int(TcpFlag.SYN):
            reasons.append(_handshake_options(d, sender))
        if (d[Col.STATE_BEFORE_SERVER] != d[Col.STATE_AFTER_SERVER]
                and d[Col.STATE_AFTER_SERVER] == EndpointState.ESTABLISHED.name
                and handshakes.get(int(d[Col.CONN]))):
            reasons.append(handshakes[int(d[Col.CONN])])
        if d[Col.VIOLATION]:
            reasons.append(f"VIOLATION: {d[Col.VIOLATION]}")
        reasons += _flow(d, x, events, sender, receiver, float(d[Col.TS]))
        if d[Col.STATES_INFERRED] and d[Col.CONN] not in told:
            reasons.append("states inferred: the capture misses the connection's start")
        told.add(d[Col.CONN])
        line = (f"#{d[Col.FRAME]}  {d[Col.TS] - t0:.6f}s  conn {d[Col.CONN]}  {sender} → "
                f"{receiver}  {what}")
        if changed:
            line += f"  {', '.join(states)}"
        if reasons:
            line += f" ({'; '.join(reasons)})"
        lines.append(line)
    return lines
