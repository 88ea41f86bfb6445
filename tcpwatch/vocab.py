"""The names tcpwatch uses, defined once.

Column names of the segment table are a public contract (issue #2): golden files, the
CLI's output files and downstream tools rely on them.  Every other module imports them
from here instead of spelling the strings itself.
"""

from __future__ import annotations

from enum import IntEnum, IntFlag


class Col:
    """Columns of the segment table, in their output order."""

    # -- decode stage: one row per TCP segment, straight from the wire --------------
    FRAME = "frame"  # 1-based frame number in the file, counting every frame (Wireshark)
    TS = "ts"  # capture time, float64 seconds since the epoch
    SRC = "src"  # source IP address (text; categorical)
    SPORT = "sport"  # source port
    DST = "dst"  # destination IP address
    DPORT = "dport"  # destination port
    IP_VERSION = "ip_version"  # 4 or 6
    FLAGS = "flags"  # TCP flag bits, uint16 (bit 8 = AE/NS)
    FLAG_STR = "flag_str"  # tcpdump notation: S, S., P., F., R, R., ...
    SEQ = "seq"  # absolute sequence number
    ACK = "ack"  # absolute acknowledgement number (whatever the ACK bit says)
    LEN = "len"  # payload bytes: IP length - IP header - TCP header (no L2 padding)
    WIN_RAW = "win_raw"  # window field as sent (unscaled)
    MSS = "mss"  # MSS option value, <NA> when absent
    WSCALE = "wscale"  # window-scale option shift as sent, <NA> when absent
    SACK_PERM = "sack_perm"  # SACK-permitted option present
    SACK = "sack"  # SACK blocks: flat list [left1, right1, left2, right2, ...], absolute
    TSVAL = "tsval"  # timestamp option TSval, <NA> when absent
    TSECR = "tsecr"  # timestamp option TSecr, <NA> when absent
    TRUNCATED = "truncated"  # capture holds fewer bytes than the segment had (snaplen)
    # -- connections stage ------------------------------------------------------------
    CONN = "conn"  # connection number, = Wireshark's tcp.stream
    ROLE = "role"  # "client" or "server": who sent this segment
    REL_SEQ = "rel_seq"  # seq relative to the sender's ISN (Wireshark's tcp.seq)
    REL_ACK = "rel_ack"  # ack relative to the receiver's ISN (Wireshark's tcp.ack)
    WIN = "win"  # advertised window in bytes (Wireshark's tcp.window_size)


DECODE_COLUMNS: tuple[str, ...] = (
    Col.FRAME, Col.TS, Col.SRC, Col.SPORT, Col.DST, Col.DPORT, Col.IP_VERSION, Col.FLAGS,
    Col.FLAG_STR, Col.SEQ, Col.ACK, Col.LEN, Col.WIN_RAW, Col.MSS, Col.WSCALE, Col.SACK_PERM,
    Col.SACK, Col.TSVAL, Col.TSECR, Col.TRUNCATED,
)
FLOW_COLUMNS: tuple[str, ...] = (Col.CONN, Col.ROLE, Col.REL_SEQ, Col.REL_ACK, Col.WIN)
SEGMENT_COLUMNS: tuple[str, ...] = DECODE_COLUMNS + FLOW_COLUMNS


class TcpFlag(IntFlag):
    """TCP header flag bits (RFC 9293 §3.1; AE from RFC 3540/AccECN is bit 8)."""

    FIN = 0x001
    SYN = 0x002
    RST = 0x004
    PSH = 0x008
    ACK = 0x010
    URG = 0x020
    ECE = 0x040
    CWR = 0x080
    AE = 0x100


#: tcpdump's letters for each flag, in tcpdump's print order (print-tcp.c tcp_flag_values).
TCPDUMP_FLAG_LETTERS: tuple[tuple[TcpFlag, str], ...] = (
    (TcpFlag.FIN, "F"),
    (TcpFlag.SYN, "S"),
    (TcpFlag.RST, "R"),
    (TcpFlag.PSH, "P"),
    (TcpFlag.ACK, "."),
    (TcpFlag.URG, "U"),
    (TcpFlag.ECE, "E"),
    (TcpFlag.CWR, "W"),
    (TcpFlag.AE, "e"),
)


def tcpdump_flag_str(flags: int) -> str:
    """Render flag bits the way tcpdump does (``S.``, ``P.``, ``R``; ``none`` for 0)."""
    text = "".join(letter for bit, letter in TCPDUMP_FLAG_LETTERS if flags & bit)
    return text or "none"


class Role(IntEnum):
    """Which end of a connection sent a segment."""

    CLIENT = 0  # sent the first SYN without ACK (or, with no handshake, see flows.py)
    SERVER = 1


ROLE_NAMES: tuple[str, ...] = ("client", "server")


class WinScale(IntEnum):
    """Wireshark's special values of a direction's window-scale shift (packet-tcp.c)."""

    UNKNOWN = -1  # no SYN seen: the header value is shown unscaled
    NOT_USED = -2  # a SYN without the option: scaling is off, the header is the window


class ExitStatus(IntEnum):
    """Process exit codes of the CLI."""

    OK = 0
    DRIFT = 1  # a comparison found differences (replay, verify)
    BAD_INPUT = 2  # unreadable capture, bad arguments, missing privileges
    INTERRUPTED = 130  # Ctrl-C
