"""The display-filter fields tcpwatch knows: Wireshark's name -> segment-table column(s).

Each field reads one or more *occurrences* from the table (``ip.addr`` is the source and
the destination, as in Wireshark, where the field occurs twice in a frame); each
occurrence is a column plus where the field is present.  A field absent from a segment
(``ip.src`` on an IPv6 segment, ``tcp.analysis.ack_rtt`` where no data is acknowledged)
makes every comparison on it false, as in Wireshark.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..engine.registry import FLAGS
from ..vocab import ROLE_NAMES, STATE_NAMES, Col, SegClass, Side, TcpFlag


@dataclass(frozen=True, slots=True)
class Values:
    """One occurrence of a field over the whole table.

    Numeric fields hold ``values`` (a NumPy array); text-like ones (addresses, names)
    hold ``codes`` into ``categories`` (-1: none), so that a comparison is made once per
    distinct value and spread over the rows by the codes."""

    present: np.ndarray  # bool per row
    values: np.ndarray | None = None
    codes: np.ndarray | None = None
    categories: tuple | None = None


#: every event name of the state columns: SND_SYN, RCV_FIN, ...
EVENT_NAMES: tuple[str, ...] = tuple(f"{side.name}_{cls.name}" for side in Side
                                     for cls in SegClass)

#: kinds of field: how a literal is read and compared
UINT, FLOAT, BOOL, IPV4, IPV6, TEXT, PROTO = ("uint", "float", "bool", "ipv4", "ipv6",
                                               "text", "proto")


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    kind: str
    read: Callable[[pd.DataFrame], list[Values]]
    about: str
    names: tuple[str, ...] = ()  # a text field's only values (empty: any text)


def _all(seg: pd.DataFrame) -> np.ndarray:
    return np.ones(len(seg), bool)


def _number(col: str) -> Callable[[pd.DataFrame], list[Values]]:
    def read(seg: pd.DataFrame) -> list[Values]:
        s = seg[col]
        present = s.notna().to_numpy()
        if s.dtype.kind == "f" or isinstance(s.dtype, pd.Float64Dtype):
            values = s.to_numpy(dtype="float64", na_value=np.nan)
        else:
            values = s.to_numpy(dtype="int64", na_value=0)
        return [Values(present, values=values)]
    return read


def _flag(bit: int) -> Callable[[pd.DataFrame], list[Values]]:
    def read(seg: pd.DataFrame) -> list[Values]:
        flags = seg[Col.FLAGS].to_numpy()
        return [Values(_all(seg), values=((flags & bit) != 0).astype(np.int64))]
    return read


def _categorical(s: pd.Series, present: np.ndarray | None = None,
                 empty_is_absent: bool = False) -> Values:
    cat = s.astype("category") if not isinstance(s.dtype, pd.CategoricalDtype) else s
    codes = cat.cat.codes.to_numpy().astype(np.int64)
    cats = tuple(str(c) for c in cat.cat.categories)
    has = codes >= 0
    if empty_is_absent:
        empty = np.array([c == "" for c in cats] + [True], bool)  # [-1] -> the extra True
        has &= ~empty[codes]
    if present is not None:
        has &= present
    return Values(has, codes=codes, categories=cats)


def _text(col: str, empty_is_absent: bool = False) -> Callable[[pd.DataFrame], list[Values]]:
    return lambda seg: [_categorical(seg[col], empty_is_absent=empty_is_absent)]


def _address(cols: tuple[str, ...], version: int) -> Callable[[pd.DataFrame], list[Values]]:
    def read(seg: pd.DataFrame) -> list[Values]:
        mine = (seg[Col.IP_VERSION] == version).to_numpy()
        return [_categorical(seg[c], present=mine) for c in cols]
    return read


def _ports(cols: tuple[str, ...]) -> Callable[[pd.DataFrame], list[Values]]:
    def read(seg: pd.DataFrame) -> list[Values]:
        return [Values(_all(seg), values=seg[c].to_numpy().astype(np.int64)) for c in cols]
    return read


def _event(name: str | None) -> Callable[[pd.DataFrame], list[Values]]:
    """Presence of an analysis flag (``None``: of any but window_update, Wireshark's
    ``tcp.analysis.flags``)."""
    def read(seg: pd.DataFrame) -> list[Values]:
        v = _categorical(seg[Col.EVENTS])
        has = [name in c.split(";") if name else bool(set(c.split(";")) - {"", "window_update"})
               for c in v.categories or ()]
        table = np.array(has + [False], bool)
        return [Values(table[v.codes] & (v.codes >= 0), values=np.ones(len(seg), np.int64))]
    return read


def _protocol(version: int | None) -> Callable[[pd.DataFrame], list[Values]]:
    def read(seg: pd.DataFrame) -> list[Values]:
        has = _all(seg) if version is None else (seg[Col.IP_VERSION] == version).to_numpy()
        return [Values(has)]
    return read


def _table() -> dict[str, Field]:
    f: list[Field] = [
        Field("frame", PROTO, _protocol(None), "every frame"),
        Field("tcp", PROTO, _protocol(None), "every TCP segment"),
        Field("ip", PROTO, _protocol(4), "an IPv4 segment"),
        Field("ipv6", PROTO, _protocol(6), "an IPv6 segment"),
        Field("frame.number", UINT, _number(Col.FRAME), "frame number in the file"),
        Field("ip.addr", IPV4, _address((Col.SRC, Col.DST), 4), "source or destination"),
        Field("ip.src", IPV4, _address((Col.SRC,), 4), "IPv4 source"),
        Field("ip.dst", IPV4, _address((Col.DST,), 4), "IPv4 destination"),
        Field("ipv6.addr", IPV6, _address((Col.SRC, Col.DST), 6), "source or destination"),
        Field("ipv6.src", IPV6, _address((Col.SRC,), 6), "IPv6 source"),
        Field("ipv6.dst", IPV6, _address((Col.DST,), 6), "IPv6 destination"),
        Field("tcp.port", UINT, _ports((Col.SPORT, Col.DPORT)), "source or destination port"),
        Field("tcp.srcport", UINT, _ports((Col.SPORT,)), "source port"),
        Field("tcp.dstport", UINT, _ports((Col.DPORT,)), "destination port"),
        Field("tcp.stream", UINT, _number(Col.CONN), "connection number (conn)"),
        Field("tcp.len", UINT, _number(Col.LEN), "payload bytes"),
        Field("tcp.seq", UINT, _number(Col.REL_SEQ), "relative sequence number"),
        Field("tcp.ack", UINT, _number(Col.REL_ACK), "relative acknowledgement number"),
        Field("tcp.seq_raw", UINT, _number(Col.SEQ), "absolute sequence number"),
        Field("tcp.ack_raw", UINT, _number(Col.ACK), "absolute acknowledgement number"),
        Field("tcp.window_size", UINT, _number(Col.WIN), "window in bytes (scaled)"),
        Field("tcp.window_size_value", UINT, _number(Col.WIN_RAW), "window field as sent"),
        Field("tcp.flags", UINT, _number(Col.FLAGS), "flag bits"),
        Field("tcp.options.mss_val", UINT, _number(Col.MSS), "MSS option"),
        Field("tcp.options.wscale.shift", UINT, _number(Col.WSCALE), "window-scale shift"),
        Field("tcp.options.timestamp.tsval", UINT, _number(Col.TSVAL), "TSval"),
        Field("tcp.options.timestamp.tsecr", UINT, _number(Col.TSECR), "TSecr"),
        Field("tcp.analysis.flags", PROTO, _event(None), "any analysis flag but "
              "window_update"),
        Field("tcp.analysis.duplicate_ack_num", UINT, _number(Col.DUP_ACK_NUM), "dup ACK #"),
        Field("tcp.analysis.duplicate_ack_frame", UINT, _number(Col.DUP_ACK_FRAME),
              "frame of the ACK this one repeats"),
        Field("tcp.analysis.bytes_in_flight", UINT, _number(Col.BYTES_IN_FLIGHT),
              "bytes in flight"),
        Field("tcp.analysis.ack_rtt", FLOAT, _number(Col.ACK_RTT), "seconds since the data"
              " this ACK covers"),
        Field("tcp.analysis.acks_frame", UINT, _number(Col.ACKED_FRAME), "frame of that data"),
        Field("tcpwatch.role", TEXT, _text(Col.ROLE), "client or server: the sender",
              ROLE_NAMES),
        Field("tcpwatch.state.client", TEXT, _text(Col.STATE_AFTER_CLIENT),
              "client's state after the segment", STATE_NAMES),
        Field("tcpwatch.state.server", TEXT, _text(Col.STATE_AFTER_SERVER),
              "server's state after the segment", STATE_NAMES),
        Field("tcpwatch.state.client.before", TEXT, _text(Col.STATE_BEFORE_CLIENT),
              "client's state before the segment", STATE_NAMES),
        Field("tcpwatch.state.server.before", TEXT, _text(Col.STATE_BEFORE_SERVER),
              "server's state before the segment", STATE_NAMES),
        Field("tcpwatch.transition", TEXT, _text(Col.TRANSITION, empty_is_absent=True),
              "the state change (absent: none)"),
        Field("tcpwatch.violation", TEXT, _text(Col.VIOLATION, empty_is_absent=True),
              "why the segment breaks the state machine (absent: it does not)"),
        Field("tcpwatch.event.client", TEXT, _text(Col.EVENT_CLIENT), "the client's event",
              EVENT_NAMES),
        Field("tcpwatch.event.server", TEXT, _text(Col.EVENT_SERVER), "the server's event",
              EVENT_NAMES),
        Field("tcpwatch.states_inferred", BOOL, _number(Col.STATES_INFERRED),
              "the connection's first states were inferred"),
    ]
    for name, bit in (("fin", TcpFlag.FIN), ("syn", TcpFlag.SYN), ("reset", TcpFlag.RST),
                      ("push", TcpFlag.PSH), ("ack", TcpFlag.ACK), ("urg", TcpFlag.URG),
                      ("ece", TcpFlag.ECE), ("cwr", TcpFlag.CWR), ("ae", TcpFlag.AE)):
        f.append(Field(f"tcp.flags.{name}", BOOL, _flag(int(bit)), f"{name.upper()} bit"))
    for flag in FLAGS:
        f.append(Field(flag.field, PROTO, _event(flag.name), flag.tag))
    return {x.name: x for x in f}


FIELDS: dict[str, Field] = _table()

#: the largest value a numeric field holds (Wireshark's field widths); others are 32-bit
MAXIMUM: dict[str, int] = {
    "tcp.port": 0xFFFF, "tcp.srcport": 0xFFFF, "tcp.dstport": 0xFFFF,
    "tcp.window_size_value": 0xFFFF, "tcp.flags": 0xFFFF, "tcp.options.mss_val": 0xFFFF,
    "tcp.options.wscale.shift": 0xFF,
}


def maximum(name: str) -> int:
    """The largest value numeric field ``name`` holds."""
    return MAXIMUM.get(name, 0xFFFF_FFFF)
