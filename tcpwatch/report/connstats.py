"""Per-connection statistics known from ``tcptrace -l`` and Wireshark's conversation and
expert views, as extra summary columns (``report/summary.py`` keeps its own ones).

From the reports' arrays (``SegmentArrays``), so the streamed report has them too:

* ``throughput_client`` / ``throughput_server``: payload bytes that end sent (retransmitted
  bytes included, as ``bytes_*``) divided by ``duration``, bytes per second; NaN when the
  duration is 0 (one segment, or all at one instant).
* ``irtt``: Wireshark's ``tcp.analysis.initial_rtt``: seconds from the most recent SYN
  (without ACK) to the first segment after it that has ACK and not SYN (either end), the
  way packet-tcp.c sets it once per stream; NaN when there is none.
* ``out_of_order`` / ``lost_segments``: segments flagged ``tcp.analysis.out_of_order`` /
  ``tcp.analysis.lost_segment`` ("previous segment not captured"), both directions.
* ``zeek_duration``: ``duration`` as Zeek counts it: segments after the one by which both
  ends had sent a FIN do not count (Zeek's conn.log ``duration``).
* ``seq_bytes_client`` / ``_server``: the bytes that end sent counted in sequence space
  (each byte once, retransmissions not again): the highest ``rel_seq + len`` of its data
  and FIN segments minus 1 -- Zeek's ``orig_bytes`` / ``resp_bytes``.
* ``missed_bytes``: bytes of that sequence space (both ends) no captured segment held in
  full (never seen, or cut by the snaplen) -- Zeek's ``missed_bytes``.

From the segment table's option and analysis columns (``side_stats``: the whole table's,
or the streamed rows' batch by batch):

* ``max_in_flight_client`` / ``_server``: the largest ``bytes_in_flight`` of the segments
  that end sent (Wireshark's ``tcp.analysis.bytes_in_flight``); <NA> when it never had one.
* ``mss_*``, ``wscale_*`` (the shift as sent), ``sack_perm_*``, ``timestamps_*``: the
  options of the client's first SYN and of the server's first SYN+ACK; <NA> when that
  segment was not captured (``sack_perm_*``/``timestamps_*`` are then <NA> too, else
  true/false).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..decode.columns import Coded, Column, Columns, Masked, concat, from_frame, take, to_frame
from ..engine.arrays import SegmentArrays
from ..engine.registry import BY_NAME
from ..vocab import ROLE_NAMES, TcpFlag
from .groups import Groups

if TYPE_CHECKING:
    import pandas as pd

SIDES = ("client", "server")
#: the columns ``side_stats`` makes, in output order (with ``conn`` first)
SIDE_COLUMNS = tuple(f"{what}_{side}" for what in (
    "max_in_flight", "mss", "wscale", "sack_perm", "timestamps") for side in SIDES)
IN_FLIGHT = ("max_in_flight_client", "max_in_flight_server")
#: the decode and analysis columns ``side_stats`` reads
SIDE_INPUTS = ("conn", "role", "flags", "mss", "wscale", "sack_perm", "tsval",
               "bytes_in_flight")
#: of those, the columns holding true/false (0/1 with missing values when typed)
BOOL_COLUMNS = tuple(c for c in SIDE_COLUMNS if c.startswith(("sack_perm", "timestamps")))
STATS_COLUMNS = ("throughput_client", "throughput_server", "irtt", "zeek_duration",
                 "seq_bytes_client", "seq_bytes_server", "missed_bytes", "out_of_order",
                 "lost_segments") + SIDE_COLUMNS


def array_stats(a: SegmentArrays, g: Groups, out: Columns) -> None:
    """Add throughput, iRTT and the out-of-order / lost counts to ``out`` (the summary's
    columns, connections in ``g.ids`` order)."""
    duration = np.asarray(out["duration"], np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        for side in SIDES:
            sent = np.asarray(out[f"bytes_{side}"], np.float64)
            out[f"throughput_{side}"] = np.where(duration > 0, sent / duration, np.nan)
    out["irtt"] = initial_rtt(a, g)
    out["zeek_duration"] = zeek_duration(a, g)
    seq_bytes, missed = sequence_bytes(a, g)
    out["seq_bytes_client"], out["seq_bytes_server"] = seq_bytes
    out["missed_bytes"] = missed
    if a.bits is not None:
        bits = a.bits[g.order]
        for name, flag in (("out_of_order", "out_of_order"), ("lost_segments", "lost_segment")):
            out[name] = g.reduce(np.add, ((bits & BY_NAME[flag].bit) != 0).astype(np.int64))


def initial_rtt(a: SegmentArrays, g: Groups) -> np.ndarray:
    """Wireshark's iRTT of each connection (NaN: none): the first segment with ACK and
    without SYN that follows a pure SYN, minus the time of the latest pure SYN before it."""
    flags = a.flags[g.order]
    ts = a.ts[g.order]
    syn = (flags & int(TcpFlag.SYN)) != 0
    ack = (flags & int(TcpFlag.ACK)) != 0
    pure_syn = syn & ~ack
    # the row of the latest pure SYN so far in each connection (-1: none yet)
    pos = np.arange(g.n)
    last_syn = g.running_max(np.where(pure_syn, pos, -1)) if g.n else pos
    candidate = ack & ~syn & (last_syn >= 0)
    first = g.first_where(candidate)
    out = np.full(g.ids.size, np.nan)
    has = first >= 0
    out[has] = ts[first[has]] - ts[last_syn[first[has]]]
    return out


def sequence_bytes(a: SegmentArrays, g: Groups
                   ) -> tuple[tuple[np.ndarray, np.ndarray], np.ndarray]:
    """Each end's bytes in sequence space, and the bytes of that space (both ends) no
    captured segment held in full, per connection in ``g.ids`` order.  An end's space runs
    from relative number 1 (its first byte after the SYN, or its first segment's number)
    to the highest ``rel_seq + len`` of its data and FIN segments (a FIN's own number not
    counted), as Zeek's endpoint size."""
    fin = (a.flags & int(TcpFlag.FIN)) != 0
    start = a.rel_seq.astype(np.int64)
    end = start + a.length
    key = a.conn * 2 + a.sender.astype(np.int64)
    rows = np.flatnonzero((a.length > 0) | fin)
    d = Groups(key[rows], by=start[rows])  # each (connection, end)'s segments by sequence
    s, e = start[rows][d.order], end[rows][d.order]
    top = d.reduce(np.maximum, e) if d.n else e[:0]
    space = np.maximum(top - 1, 0)
    # a segment cut by the snaplen, and a FIN without data, hold no byte
    held = np.where(a.truncated[rows][d.order] | (a.length[rows][d.order] == 0), s, e)
    reach = np.maximum(d.previous(d.running_max(held), fill=1), 1) if d.n else held
    covered = d.reduce(np.add, np.maximum(0, held - np.maximum(s, reach))) if d.n else held
    conn_of, side_of = d.ids // 2, d.ids % 2
    at = np.searchsorted(g.ids, conn_of)
    sides = []
    for side in (0, 1):
        v = np.zeros(g.ids.size, np.int64)
        v[at[side_of == side]] = space[side_of == side]
        sides.append(v)
    missed = np.zeros(g.ids.size, np.int64)
    np.add.at(missed, at, np.maximum(space - covered, 0))
    return (sides[0], sides[1]), missed


def zeek_duration(a: SegmentArrays, g: Groups) -> np.ndarray:
    """Seconds from a connection's first segment to its last one up to the segment by
    which both ends had sent a FIN (Zeek stops the clock when both endpoints closed)."""
    flags = a.flags[g.order]
    fin = (flags & int(TcpFlag.FIN)) != 0
    client = a.sender[g.order] == 0
    both = (g.running_max((fin & client).astype(np.int64))
            & g.running_max((fin & ~client).astype(np.int64))) if g.n else fin
    counted = g.previous(both.astype(bool), fill=False) == 0 if g.n else fin
    ts = a.ts[g.order]
    return (g.reduce_where(np.maximum, counted, ts, np.nan)
            - g.reduce(np.fmin, ts)) if g.n else ts[:0]


def side_stats(cols: Columns) -> Columns:
    """One row per connection of ``cols`` (``SIDE_INPUTS`` of a segment table, file
    order): ``conn`` and ``SIDE_COLUMNS`` (only ``conn`` and the ``max_in_flight_*`` ones
    when ``cols`` has no option columns)."""
    conn = np.asarray(cols["conn"], np.int64)
    g = Groups(conn)
    role = _codes(cols["role"], ROLE_NAMES)[g.order]
    flags = np.asarray(cols["flags"])[g.order]
    syn, ack = (flags & int(TcpFlag.SYN)) != 0, (flags & int(TcpFlag.ACK)) != 0
    bif = _masked(cols["bytes_in_flight"], g.order)
    out: Columns = {"conn": g.ids}
    for i, side in enumerate(SIDES):
        mine = role == i
        known = mine & ~bif.missing
        most = g.reduce_where(np.maximum, known, bif.values.astype(np.int64), -1)
        out[f"max_in_flight_{side}"] = Masked(np.maximum(most, 0), most < 0)
    if "mss" not in cols:  # rows without their decode columns (a rewalk's fix)
        return out
    opens = [(role == 0) & syn & ~ack, (role == 1) & syn & ack]
    firsts = [g.first_where(m) for m in opens]
    for what, col in (("mss", "mss"), ("wscale", "wscale")):
        v = _masked(cols[col], g.order)
        for side, first in zip(SIDES, firsts, strict=True):
            at = np.maximum(first, 0)
            out[f"{what}_{side}"] = Masked(v.values[at].astype(np.int64),
                                           (first < 0) | v.missing[at])
    sack = np.asarray(cols["sack_perm"], bool)[g.order]
    tsval = _masked(cols["tsval"], g.order)
    for side, first in zip(SIDES, firsts, strict=True):
        at = np.maximum(first, 0)
        out[f"sack_perm_{side}"] = Masked(sack[at].astype(np.int8), first < 0)
        out[f"timestamps_{side}"] = Masked((~tsval.missing[at]).astype(np.int8), first < 0)
    return {name: out[name] for name in ("conn", *SIDE_COLUMNS)}



def _codes(col: Column, names: tuple[str, ...]) -> np.ndarray:
    """Positions in ``names`` of a text or categorical column."""
    if isinstance(col, Coded):
        lookup = np.array([names.index(n) for n in col.names] + [-1], np.int64)
        return lookup[col.codes]
    return np.searchsorted(np.array(names), np.asarray(col, str))


def _masked(col: Column, order: np.ndarray) -> Masked:
    if isinstance(col, Masked):
        return col.take(order)
    v = np.asarray(col)[order]
    if v.dtype.kind == "f":
        missing = np.isnan(v)
        return Masked(np.where(missing, 0, v).astype(np.int64), missing)
    return Masked(v.astype(np.int64), np.zeros(v.size, bool))


def summary_frame(columns: Columns) -> pd.DataFrame:
    """The summary's typed columns as a DataFrame, the true/false columns as pandas'
    nullable ``boolean``."""
    df = to_frame(columns)
    for name in BOOL_COLUMNS:
        if name in df:
            df[name] = df[name].astype("boolean")
    return df


class SideStats:
    """``side_stats`` kept while a capture is streamed, for the connections not yet
    reported: fed the rows as they are handed out (``rows``, and ``fix`` for rewalked
    ones); ``pop`` gives the columns of connections that are over and forgets them.
    Kept: each connection's largest bytes in flight per side, and its SYN segments (a
    rewalk may give a segment the other role, and only the rows' role changes then)."""

    def __init__(self) -> None:
        self.in_flight: Columns | None = None
        self.syns: Columns | None = None  # the SYN rows' SIDE_INPUTS and frame

    def rows(self, table: Columns) -> None:
        if not len(table["conn"]):
            return
        cols = {c: table[c] for c in SIDE_INPUTS if c != "mss"}
        self._merge(side_stats(cols))
        syn = np.flatnonzero((np.asarray(table["flags"]) & int(TcpFlag.SYN)) != 0)
        if syn.size:
            part = {c: take(table[c], syn) for c in (*SIDE_INPUTS, "frame")}
            part["conn"] = np.asarray(part["conn"], np.int64)
            part["role"] = Coded(_codes(part["role"], ROLE_NAMES), ROLE_NAMES)
            self.syns = part if self.syns is None else {
                c: concat([self.syns[c], part[c]]) for c in part}

    def fix(self, table: pd.DataFrame) -> None:
        """Rewalked rows: their connections' largest bytes in flight are those of the
        fixed rows (every row handed out of those connections) and of the rows to come;
        their SYN rows take the role the fixed rows have."""
        if self.in_flight is None or not len(table):
            return
        cols = from_frame(table, [c for c in SIDE_INPUTS if c in table and c != "mss"])
        fixed = side_stats(cols)
        at = np.searchsorted(self.in_flight["conn"], fixed["conn"])
        for name in IN_FLIGHT:
            col, new = self.in_flight[name], fixed[name]
            col.values[at], col.missing[at] = new.values, new.missing
        if self.syns is not None:
            key = _row_key(cols["conn"], np.asarray(table["frame"]))
            role = _codes(cols["role"], ROLE_NAMES)
            order = np.argsort(key)
            mine = _row_key(self.syns["conn"], self.syns["frame"])
            pos = np.minimum(np.searchsorted(key[order], mine), key.size - 1)
            hit = key[order][pos] == mine
            self.syns["role"].codes[hit] = role[order][pos[hit]]

    def _merge(self, new: Columns) -> None:
        if self.in_flight is None:
            self.in_flight = new
            return
        both = {name: concat([self.in_flight[name], new[name]]) for name in new}
        g = Groups(both["conn"])
        out: Columns = {"conn": g.ids}
        for name in IN_FLIGHT:
            col = both[name]
            most = g.reduce(np.maximum, np.where(col.missing, -1, col.values)[g.order])
            out[name] = Masked(np.maximum(most, 0), most < 0)
        self.in_flight = out

    def pop(self, conns: np.ndarray) -> Columns:
        """``SIDE_COLUMNS`` of connections ``conns`` (ascending), then forgotten."""
        from .summary import join_side_stats

        conns = np.asarray(conns, np.int64)
        stats = {"conn": conns}
        if self.in_flight is not None:
            stats.update(join_side_stats(stats, self.in_flight, IN_FLIGHT))
            keep = ~np.isin(self.in_flight["conn"], conns)
            self.in_flight = {n: take(c, keep) for n, c in self.in_flight.items()}
        options = [n for n in SIDE_COLUMNS if n not in IN_FLIGHT]
        syns = self.syns
        if syns is not None:
            mine = np.isin(syns["conn"], conns)
            opened = side_stats({c: take(syns[c], mine) for c in SIDE_INPUTS})
            stats.update(join_side_stats(stats, opened, options))
            self.syns = {c: take(col, ~mine) for c, col in syns.items()}
        return {n: stats.get(n, _none(conns.size)) for n in SIDE_COLUMNS}


def _none(n: int) -> Masked:
    return Masked(np.zeros(n, np.int64), np.ones(n, bool))


def _row_key(conn, frame) -> np.ndarray:
    return np.asarray(conn, np.int64) << 40 | np.asarray(frame, np.int64)
