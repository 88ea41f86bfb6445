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
    TS_NS = "ts_ns"  # the same, exact: int64 nanoseconds since the epoch (-1: none)
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
    # -- states stage (RFC 9293 §3.3.2 names, see EndpointState) -------------------------
    STATE_BEFORE_CLIENT = "state_before_client"  # client's state before this segment
    STATE_AFTER_CLIENT = "state_after_client"  # ... and after it
    STATE_BEFORE_SERVER = "state_before_server"
    STATE_AFTER_SERVER = "state_after_server"
    TRANSITION = "transition"  # "client SYN_SENT→ESTABLISHED"; empty when nothing changed
    VIOLATION = "violation"  # why the segment breaks the state machine; usually empty
    STATES_INFERRED = "states_inferred"  # the connection's initial states are inferred
    EVENT_CLIENT = "event_client"  # what the segment was for the client: SND_SYN, RCV_FIN, ...
    EVENT_SERVER = "event_server"  # ... and for the server
    # -- analysis stage (Wireshark's tcp.analysis.*, see engine/registry.py) -----------
    EVENTS = "events"  # analysis flags, ";"-separated: retransmission;fast_retransmission
    DUP_ACK_NUM = "dup_ack_num"  # tcp.analysis.duplicate_ack_num
    DUP_ACK_FRAME = "dup_ack_frame"  # tcp.analysis.duplicate_ack_frame
    BYTES_IN_FLIGHT = "bytes_in_flight"  # tcp.analysis.bytes_in_flight
    ACK_RTT = "ack_rtt"  # tcp.analysis.ack_rtt: seconds since the data this ACK covers
    ACKED_FRAME = "acked_frame"  # tcp.analysis.acks_frame: the frame of that data
    ACK_RTT_US = "ack_rtt_us"  # golden files only: ack_rtt in integer microseconds


DECODE_COLUMNS: tuple[str, ...] = (
    Col.FRAME, Col.TS, Col.TS_NS, Col.SRC, Col.SPORT, Col.DST, Col.DPORT, Col.IP_VERSION, Col.FLAGS,
    Col.FLAG_STR, Col.SEQ, Col.ACK, Col.LEN, Col.WIN_RAW, Col.MSS, Col.WSCALE, Col.SACK_PERM,
    Col.SACK, Col.TSVAL, Col.TSECR, Col.TRUNCATED,
)
FLOW_COLUMNS: tuple[str, ...] = (Col.CONN, Col.ROLE, Col.REL_SEQ, Col.REL_ACK, Col.WIN)
STATE_COLUMNS: tuple[str, ...] = (
    Col.STATE_BEFORE_CLIENT, Col.STATE_AFTER_CLIENT, Col.STATE_BEFORE_SERVER,
    Col.STATE_AFTER_SERVER, Col.TRANSITION, Col.VIOLATION, Col.STATES_INFERRED,
    Col.EVENT_CLIENT, Col.EVENT_SERVER)
ANALYSIS_COLUMNS: tuple[str, ...] = (Col.EVENTS, Col.DUP_ACK_NUM, Col.DUP_ACK_FRAME,
                                     Col.BYTES_IN_FLIGHT, Col.ACK_RTT, Col.ACKED_FRAME)
SEGMENT_COLUMNS: tuple[str, ...] = (DECODE_COLUMNS + FLOW_COLUMNS + STATE_COLUMNS
                                    + ANALYSIS_COLUMNS)


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


class EndpointState(IntEnum):
    """RFC 9293 §3.3.2 connection states of one endpoint (plus UNKNOWN).

    The values are tcpwatch's own; the kernel's numbering is ``KERNEL_STATES``.
    """

    CLOSED = 0  # no connection
    LISTEN = 1  # waiting for a SYN (a server before the handshake)
    SYN_SENT = 2  # sent a SYN, waiting for the matching SYN+ACK
    SYN_RECEIVED = 3  # received a SYN and sent SYN+ACK, waiting for the ACK
    ESTABLISHED = 4  # open: data flows both ways
    FIN_WAIT_1 = 5  # closed its side (sent FIN), FIN not yet acknowledged
    FIN_WAIT_2 = 6  # its FIN acknowledged, waiting for the peer's FIN
    CLOSING = 7  # sent FIN, received the peer's FIN before the ACK of its own
    TIME_WAIT = 8  # both FINs exchanged and acknowledged; waits 2·MSL
    CLOSE_WAIT = 9  # the peer closed (FIN received); this side may still send
    LAST_ACK = 10  # sent its FIN after the peer's, waiting for the last ACK
    UNKNOWN = 11  # not inferable (never used for a connection with any segment)


STATE_NAMES: tuple[str, ...] = tuple(s.name for s in EndpointState)

#: /proc/net/tcp "st" field (include/net/tcp_states.h) -> RFC 9293 state
KERNEL_STATES: dict[int, EndpointState] = {
    1: EndpointState.ESTABLISHED,
    2: EndpointState.SYN_SENT,
    3: EndpointState.SYN_RECEIVED,
    4: EndpointState.FIN_WAIT_1,
    5: EndpointState.FIN_WAIT_2,
    6: EndpointState.TIME_WAIT,
    7: EndpointState.CLOSED,
    8: EndpointState.CLOSE_WAIT,
    9: EndpointState.LAST_ACK,
    10: EndpointState.LISTEN,
    11: EndpointState.CLOSING,
    12: EndpointState.SYN_RECEIVED,  # NEW_SYN_RECV: a request socket, not yet a full one
}


class SegClass(IntEnum):
    """What a segment is, for the state machine.  The sender's event is ``SND_<class>``,
    the receiver's ``RCV_<class>``.  The first seven come from the flags, in precedence
    order RST > SYN+ACK > SYN > FIN > DATA > ACK > NONE; the rest need sequence numbers
    and are decided in the compiled walk (``csrc/states.c``)."""

    NONE = 0  # no SYN/FIN/RST/ACK and no payload
    ACK = 1  # ACK without payload
    DATA = 2  # payload, no SYN/FIN/RST
    DATA_PAST_FIN = 3  # payload beyond the sender's own FIN (a protocol violation)
    FIN = 4  # FIN (with or without payload and ACK)
    SYN = 5  # SYN without ACK
    SYNACK = 6  # SYN with ACK
    RST = 7  # RST, acceptable to its receiver (RFC 9293 §3.10.7.4, see engine/transitions.py)
    ACK_OF_FIN = 8  # received: an ACK (or data) that acknowledges the receiver's FIN
    FIN_ACK_OF_FIN = 9  # received: a FIN that also acknowledges the receiver's FIN
    RST_BAD = 10  # received: an RST its receiver must ignore (sequence not acceptable)


N_CLASSES = len(SegClass)


class Side(IntEnum):
    SND = 0
    RCV = 1


def event_id(side: Side, cls: SegClass) -> int:
    """Row of the compiled transition table: ``side * N_CLASSES + class``."""
    return int(side) * N_CLASSES + int(cls)


def event_name(event: int) -> str:
    side, cls = divmod(event, N_CLASSES)
    return f"{Side(side).name}_{SegClass(cls).name}"
