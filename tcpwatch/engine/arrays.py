"""The annotated segments as the per-connection reports read them: typed numpy columns,
no text.  Analysis flags are Wireshark's bits, states are their numbers in
``STATE_NAMES``, the sender is 0 (client) or 1 (server), addresses are codes into
``names``.  Text (``events``, state names, ``role``) is made only where a table is
printed or written; the reports (summary, Zeek's history, episodes) count and compare
numbers.

Made by the engine straight from its stores (``IncrementalEngine.arrays``), or from an
annotated table (``from_frame``: what ``tcpwatch.analyze`` returned, a golden file).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..vocab import ROLE_NAMES, STATE_NAMES, Col
from .registry import BY_NAME

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True, slots=True)
class SegmentArrays:
    """One row per segment, in file order; every array has the same length."""

    conn: np.ndarray  # int64
    sender: np.ndarray  # int8: 0 the client sent it, 1 the server
    frame: np.ndarray  # int64
    ts: np.ndarray  # float64 epoch seconds
    flags: np.ndarray  # uint16 TCP flags
    length: np.ndarray  # int64 payload bytes
    win: np.ndarray  # float64 scaled window in bytes
    win_raw: np.ndarray  # uint16 window field as sent
    rel_seq: np.ndarray  # int64
    rel_ack: np.ndarray  # int64
    truncated: np.ndarray  # bool
    src: np.ndarray  # int32 code into names
    sport: np.ndarray
    dst: np.ndarray
    dport: np.ndarray
    names: tuple[str, ...]  # addresses, as text
    bits: np.ndarray | None = None  # uint16 analysis flags (registry bits); None: not analysed
    rtt: np.ndarray | None = None  # float64 ack_rtt seconds (NaN: none)
    after_client: np.ndarray | None = None  # uint8 state numbers; None: no states stage
    after_server: np.ndarray | None = None

    def __len__(self) -> int:
        return self.conn.shape[0]

    def take(self, rows: np.ndarray) -> SegmentArrays:
        """These rows (indices or a mask) of every array."""
        return SegmentArrays(**{
            f: v if f == "names" or v is None else v[rows]
            for f in self.__dataclass_fields__ for v in (getattr(self, f),)})

    def has(self, *flag_names: str) -> np.ndarray:
        """Rows flagged with any of these analysis flags."""
        mask = 0
        for name in flag_names:
            mask |= BY_NAME[name].bit
        return (self.bits & mask) != 0

    def endpoints(self, rows: np.ndarray, *, source: bool) -> np.ndarray:
        """``addr:port`` (``[v6]:port``) of the sender (``source``) or the receiver of
        ``rows``, as an object array."""
        text = np.array([f"[{a}]" if ":" in a else a for a in self.names] or [""], object)
        addr, port = (self.src, self.sport) if source else (self.dst, self.dport)
        return text[addr[rows]] + ":" + port[rows].astype(str).astype(object)

    @classmethod
    def of(cls, seg: pd.DataFrame | SegmentArrays) -> SegmentArrays:
        """The arrays themselves, or those of an annotated table."""
        return seg if isinstance(seg, SegmentArrays) else cls.from_frame(seg)

    @classmethod
    def from_frame(cls, seg: pd.DataFrame) -> SegmentArrays:
        """The same from an annotated table (its stages' columns present or not)."""
        src, dst = seg[Col.SRC].astype("category"), seg[Col.DST].astype("category")
        names = list(dict.fromkeys([*map(str, src.cat.categories),
                                    *map(str, dst.cat.categories)]))

        def num(col: str, dtype) -> np.ndarray:
            return seg[col].to_numpy().astype(dtype)

        has = seg.columns
        return cls(
            conn=num(Col.CONN, np.int64), sender=_codes(seg[Col.ROLE], ROLE_NAMES, np.int8),
            frame=num(Col.FRAME, np.int64), ts=num(Col.TS, np.float64),
            flags=num(Col.FLAGS, np.uint16), length=num(Col.LEN, np.int64),
            win=num(Col.WIN, np.float64), win_raw=num(Col.WIN_RAW, np.uint16),
            rel_seq=num(Col.REL_SEQ, np.int64), rel_ack=num(Col.REL_ACK, np.int64),
            truncated=num(Col.TRUNCATED, bool), src=_codes(src, names, np.int32),
            sport=num(Col.SPORT, np.uint16), dst=_codes(dst, names, np.int32),
            dport=num(Col.DPORT, np.uint16), names=tuple(names),
            bits=event_bits(seg[Col.EVENTS]) if Col.EVENTS in has else None,
            rtt=num(Col.ACK_RTT, np.float64) if Col.ACK_RTT in has else None,
            after_client=_codes(seg[Col.STATE_AFTER_CLIENT], STATE_NAMES, np.uint8)
            if Col.STATE_AFTER_CLIENT in has else None,
            after_server=_codes(seg[Col.STATE_AFTER_SERVER], STATE_NAMES, np.uint8)
            if Col.STATE_AFTER_SERVER in has else None,
        )


def _codes(col: pd.Series, names, dtype) -> np.ndarray:
    """Each row's position in ``names`` (a categorical's codes, renumbered)."""
    col = col.astype("category")
    lookup = np.array([list(names).index(str(c)) for c in col.cat.categories] + [0], dtype)
    return lookup[col.cat.codes.to_numpy()]


def event_bits(events: pd.Series) -> np.ndarray:
    """The analysis bits of an ``events`` text column, read once per distinct text."""
    ev = events.astype("category")
    lookup = np.zeros(len(ev.cat.categories) + 1, np.uint16)
    for i, text in enumerate(ev.cat.categories):
        for name in str(text).split(";"):
            if name:
                lookup[i] |= BY_NAME[name].bit
    return lookup[ev.cat.codes.to_numpy()]
