"""The compiled core (``csrc/*.c``, module ``_seqwalk``) and the constants it shares.

The C module exports every constant it uses that Python also knows (TCP flag bits,
Wireshark's analysis bits, the state table's IGNORED/INVALID cells, the context kinds,
the largest record).  Python modules that only pass a value through to C take it from
there (``MAX_CAPLEN``, ``F_QUOTED``, the context kinds); the ones Python defines from its
own sources -- TCP flags (RFC 9293), Wireshark's bits (``engine/registry.py``), the
transition table (``engine/transitions.py``) -- are checked against C here, once, at import:
an extension built from another source is an ImportError, not wrong annotations.
"""

from __future__ import annotations

from types import ModuleType

from .. import _seqwalk
from ..vocab import N_CLASSES, TcpFlag
from .registry import BY_NAME
from .transitions import IGNORED, INVALID

#: Wireshark's TCP_A_* name (as in packet-tcp.c) -> the flag's name in ``events``
C_ANALYSIS_BITS = {
    "A_RETRANSMISSION": "retransmission", "A_LOST_PACKET": "lost_segment",
    "A_ACK_LOST_PACKET": "ack_lost_segment", "A_KEEP_ALIVE": "keep_alive",
    "A_DUPLICATE_ACK": "duplicate_ack", "A_ZERO_WINDOW": "zero_window",
    "A_ZERO_WINDOW_PROBE": "zero_window_probe",
    "A_ZERO_WINDOW_PROBE_ACK": "zero_window_probe_ack", "A_KEEP_ALIVE_ACK": "keep_alive_ack",
    "A_OUT_OF_ORDER": "out_of_order", "A_FAST_RETRANSMISSION": "fast_retransmission",
    "A_WINDOW_UPDATE": "window_update", "A_WINDOW_FULL": "window_full",
    "A_REUSED_PORTS": "reused_ports", "A_SPURIOUS_RETRANSMISSION": "spurious_retransmission",
}


def python_side() -> dict[str, int]:
    """What Python says each shared constant is."""
    want = {"F_FIN": int(TcpFlag.FIN), "F_SYN": int(TcpFlag.SYN), "F_RST": int(TcpFlag.RST),
            "F_ACK": int(TcpFlag.ACK), "T_IGNORED": IGNORED, "T_INVALID": INVALID,
            "N_CLASSES": N_CLASSES}
    want |= {c: BY_NAME[name].bit for c, name in C_ANALYSIS_BITS.items()}
    return want


def mismatches(module: ModuleType) -> list[str]:
    """Shared constants on which ``module`` (a build of _seqwalk) and Python differ."""
    bad = [f"{name} is {getattr(module, name, None)} in C, {value} in Python"
           for name, value in python_side().items() if getattr(module, name, None) != value]
    return bad


_bad = mismatches(_seqwalk)
if _bad:
    raise ImportError("tcpwatch._seqwalk was built from another source ("
                      + "; ".join(_bad) + "): rebuild it with scripts/setup")
