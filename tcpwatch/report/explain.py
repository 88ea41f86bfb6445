"""``--explain``: the handshake and teardown told in plain language, one line per
segment that changed a state (or broke the state machine)."""

from __future__ import annotations

import pandas as pd

from ..engine.transitions import TABLE
from ..vocab import Col, EndpointState, TcpFlag, event_name

_FLAG_WORDS = ((TcpFlag.SYN, "SYN"), (TcpFlag.FIN, "FIN"), (TcpFlag.RST, "RST"),
               (TcpFlag.PSH, "PSH"), (TcpFlag.ACK, "ACK"))


def _flags(f: int) -> str:
    return "+".join(w for bit, w in _FLAG_WORDS if f & int(bit)) or "no flags"


def _reason(before: str, event: str) -> str | None:
    for (state, ev), t in TABLE.items():
        if state.name == before and event_name(ev) == event:
            return t.reason
    return None


def explain(seg: pd.DataFrame) -> list[str]:
    """Plain-language lines for the state-changing segments of ``seg``."""
    if seg.empty:
        return []
    t0 = float(seg[Col.TS].min())
    syn_opts = seg[(seg[Col.FLAGS].astype(int) & int(TcpFlag.SYN)) != 0]
    lines = []
    told: set[int] = set()
    rows = seg[(seg[Col.TRANSITION] != "") | (seg[Col.VIOLATION] != "")]
    for r in rows.itertuples(index=False):
        d = r._asdict()
        sender = d[Col.ROLE]
        receiver = "server" if sender == "client" else "client"
        what = _flags(int(d[Col.FLAGS]))
        if d[Col.LEN]:
            what += f" {d[Col.LEN]} bytes"
        what += f" seq {d[Col.REL_SEQ]}"
        if int(d[Col.FLAGS]) & int(TcpFlag.ACK):
            what += f" ack {d[Col.REL_ACK]}"
        states, reasons = [], []
        for end in ("client", "server"):
            b, a = str(d[f"state_before_{end}"]), str(d[f"state_after_{end}"])
            if b != a:
                states.append(f"{end} {b}→{a}")
                why = _reason(b, str(d[f"event_{end}"]))
                if why:
                    reasons.append(why)
            else:
                states.append(f"{end} {a}")
        conn_syns = syn_opts[syn_opts[Col.CONN] == d[Col.CONN]]
        if (d[Col.STATE_BEFORE_SERVER] != d[Col.STATE_AFTER_SERVER]
                and d[Col.STATE_AFTER_SERVER] == EndpointState.ESTABLISHED.name
                and not conn_syns.empty):
            mss = conn_syns[Col.MSS].dropna()
            ws = conn_syns[Col.WSCALE].dropna()
            if len(mss):
                reasons.append(f"MSS {int(mss.min())}")
            if len(ws) == len(conn_syns):
                reasons.append(f"window scale {int(ws.iloc[0])}")
        if d[Col.VIOLATION]:
            reasons.append(f"VIOLATION: {d[Col.VIOLATION]}")
        if d[Col.STATES_INFERRED] and d[Col.CONN] not in told:
            reasons.append("initial states inferred: the capture misses the handshake")
        told.add(d[Col.CONN])
        line = (f"#{d[Col.FRAME]}  {d[Col.TS] - t0:.6f}s  conn {d[Col.CONN]}  {sender} → "
                f"{receiver}  {what}  {', '.join(states)}")
        if reasons:
            line += f" ({'; '.join(reasons)})"
        lines.append(line)
    return lines
