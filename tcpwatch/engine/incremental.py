"""The live session: records arrive in batches and every stage runs once per batch,
carrying its state over (connection numbering, base sequence numbers and window scales,
both endpoints' states, Wireshark's analysis), so a long capture costs what its new
segments cost.  The annotations equal ``tcpwatch analyze`` of the written capture
(tests/live/test_incremental.py replays every capture in batches of several sizes).

Theory of operation.  The compiled walks take a context (``_seqwalk.new_context``) that
keeps their per-connection state between calls; connection numbers and 4-tuple keys are
global.  Three things a batch can learn change what *earlier* segments of a connection
mean, because Wireshark's two-pass view (``tshark -2``) and the state inference look at
the whole capture:

* the conversation walk changes a connection's base sequence number (a SYN+ACK with a
  new ISN), a window scale, or who the client is (a SYN after the first segments);
* the initial states change: the server's first segment is an RST (nobody listening);
* a FIN shows that the peer's FIN of an earlier batch crossed it (the one look-ahead of
  the state walk).

Such a connection is "dirty": its states and flags contexts forget it and all of its
segments are walked again (rare: a few per capture at most; the test captures include
every case).  Everything else is decided on arrival and never revisited.

Memory.  With ``keep=True`` every segment's row stays, for :meth:`table`.  With
``keep=False`` (``tcpwatch live`` without ``-o``, the streamed ``analyze``) the rows of
connections that are over -- both ends CLOSED or TIME_WAIT, and idle for ``linger_s`` of
capture time -- are dropped every ``FORGET_EVERY`` segments (or sooner, when those
found lingering at the last look hold that many rows: :meth:`look_due`), so a capture
that runs for hours holds only its open connections' rows.  What stays for every
connection ever seen is what numbers a late segment of it exactly (Wireshark puts it in
its old stream or opens a new one) and what the report of a late one reads: about 80
bytes -- ``_CONN_SPEC`` (32 bytes, in room that grows by a quarter), the 4-tuple table
(``csrc/pairs.c``: 21-28 bytes a pair), the conversation walk's 6 bytes, the states
walk's 6 (both ends' final states and a slot) and the flags walk's 4 (a slot); their
other per-connection state is in pools of the open connections, given back when a
connection is forgotten (``trim_conns``).  A forgotten connection that later turns
dirty keeps the annotations it had; one that gets a segment later walks on from its
final states with nothing else known (``late``).

What a row keeps is only what a re-walk reads and what the per-connection reports read
(``_ROW_SPEC``: 77 bytes); addresses and ports are kept once per connection, the scaled
window is computed when read, and the rest of the stages' output (``_OUT_SPEC``: the
states' other columns, duplicate-ACK numbers, bytes in flight, acked frames) is kept only
for the rows of the last batch and of its re-walks (``keep=False``): the caller takes
them from :meth:`columns` before the next batch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..capture.bytes import PAD
from ..capture.pcapfile import RawFrames, epoch_seconds
from ..decode.columns import Coded, Columns, distinct, to_frame
from ..decode.concat import concat_columns
from ..decode.quoted import QuotedHeaders
from ..decode.segments import DecodeCounts, decode_with_quotes
from ..vocab import DECODE_COLUMNS, ROLE_NAMES, STATE_NAMES, Col
from .arrays import SegmentArrays
from .flags import analyze_flags, flag_columns, sack_arrays
from .flows import (
    connection_columns,
    endpoint_pairs,
    pair_ids,
    scaled_window,
    walk_inputs,
    with_quotes,
)
from .native import _seqwalk
from .states import initial_states_from, segment_class, state_columns, walk_states
from .store import Ragged, Recent, Store

if TYPE_CHECKING:
    import pandas as pd

_CONV, _STATES, _FLAGS = _seqwalk.CTX_CONV, _seqwalk.CTX_STATES, _seqwalk.CTX_FLAGS
FORGET_EVERY = 50_000  # segments added between two looks for connections that are over
_DONE = (STATE_NAMES.index("CLOSED"), STATE_NAMES.index("TIME_WAIT"))


def is_over(after: np.ndarray) -> np.ndarray:
    """Per row's states after it (client, server): both ends are CLOSED or TIME_WAIT."""
    return np.isin(after[:, 0], _DONE) & np.isin(after[:, 1], _DONE)

# Per row, as flat arrays over all batches, while its connection is not over: what the
# compiled walks take (also in the batches' decode columns, but a connection walked
# again needs its rows from every batch without concatenating them) and what the
# per-connection reports read of what they gave.
_ROW_SPEC = {
    # inputs of the walks
    "direction": (np.int8, 0, 0), "flags": (np.uint16, 0, 0), "seq": (np.uint32, 0, 0),
    "ack": (np.uint32, 0, 0), "len": (np.uint32, 0, 0), "win_raw": (np.uint16, 0, 0),
    "wscale": (np.int16, -1, 0), "ts_ns": (np.int64, 0, 0), "frame": (np.int64, 0, 0),
    "conn": (np.int32, -1, 0),
    "gid": (np.int64, -1, 0),  # the row's number in the whole table (file order)
    # for the report of a connection that is over, once its rows leave (keep=False)
    "ts": (np.float64, 0, 0), "truncated": (np.bool_, False, 0),
    "sender": (np.int8, 0, 0), "rel_seq": (np.uint32, 0, 0), "rel_ack": (np.uint32, 0, 0),
    "after": (np.uint8, 0, 2),  # both ends' states after the row: client, server
    "bits": (np.uint16, 0, 0), "rtt": (np.float64, np.nan, 0),
}
# The rest of the stages' output: in the stores with keep=True; else only for the last
# batch's rows and its re-walks (see the module docstring).
_OUT_SPEC = {
    # states stage: before/after client, before/after server, events, violation bits
    "walked": (np.uint8, 0, 7),
    # analysis stage
    "dup_num": (np.int32, 0, 0), "dup_frame": (np.int64, -1, 0), "bif": (np.int64, -1, 0),
    "acked": (np.int64, -1, 0),
}

_CONN_SPEC = {
    "base": (np.uint32, 0, 2), "shift": (np.int8, -1, 2), "client_dir": (np.int8, 0, 0),
    "reused": (np.uint8, 0, 0), "dirty": (np.uint8, 0, 0),
    "first_dir": (np.int8, 0, 0),
    "first_cls": (np.int8, -1, 2),  # class of the first segment sent each way (-1 none)
    "init": (np.uint8, 0, 2), "inferred": (np.bool_, False, 0),
    "forgotten": (np.uint8, 0, 0),  # its rows were dropped (keep=False)
    # the endpoints (address id, port): [0] sends direction 0, [1] direction 1
    "addr": (np.int32, 0, 2), "port": (np.uint16, 0, 2),
}


class IncrementalEngine:
    """Feed raw records with :meth:`add`; :meth:`table` is the whole annotated table."""

    def __init__(self, linktype: int = 1, *, keep: bool = True, linger_s: float = 5.0,
                 auto_forget: bool = True):
        self.linktype = linktype
        self.keep = keep
        self.auto_forget = auto_forget  # keep=False: forget over connections in add()
        self.linger_ns = int(linger_s * 1e9)
        self.frames = 0
        self.total = 0  # rows ever added (the next row's gid)
        self.skipped = DecodeCounts()
        #: connections that got segments after their rows were dropped (keep=False):
        #: their annotations may differ from a whole-capture analysis
        self.late: set[int] = set()
        self.pinned: set[int] = set()  # never forgotten (see engine/stream.py)
        #: why a batch failed: the compiled walks check every input before they change
        #: their contexts, but one that runs out of memory half-way leaves them
        #: half-updated, so the engine takes no more batches after any failure
        self.broken: BaseException | None = None
        self.quotes: list[QuotedHeaders] = []  # keep=True: every batch's quoted headers
        #: segments added since the last look for connections that are over (each call of
        #: :meth:`over_connections` is a look, and sets it back to 0)
        self.since_look = 0
        #: a look is also due once the connections over but lingering at the last look
        #: that hold ``due_rows`` rows together can go (see :meth:`look_due`)
        self.due_rows = FORGET_EVERY
        self.due_ns: int | None = None
        self.last_rows = slice(0, 0)  # the rows of the last batch
        # of the last add, when rows were dropped: (old row -> new row or -1, connections)
        self.compaction: tuple[np.ndarray, np.ndarray] | None = None
        self.parts: list[Columns] = []  # each batch's decode columns, for table()
        # rows past n are written by extend()'s caller before anything reads them
        self.rows = Store({**_ROW_SPEC, **_OUT_SPEC} if keep else _ROW_SPEC, fill=False)
        #: keep=False: the _OUT_SPEC columns of the last batch's rows and re-walks, and
        #: of every row from gid ``outputs_from`` on (the stream's rows not yet handed out)
        self.recent = Recent(_OUT_SPEC)
        self.outputs_from: int | None = None
        self.sack = Ragged()
        self.conns = Store(_CONN_SPEC)  # n: connections so far
        self.addresses: dict[str, int] = {}
        self.keys = _seqwalk.new_context(_seqwalk.CTX_PAIRS)  # 4-tuple -> key id
        self.n_keys = 0
        self._names: list[str] = []
        self.ctx = {k: _seqwalk.new_context(k) for k in (_CONV, _STATES, _FLAGS)}
        self.rewalked: np.ndarray = np.zeros(0, np.int32)  # dirty conns of the last batch
        self.walked_rows = 0  # rows the compiled walks have taken, re-walks included

    # -- one batch ---------------------------------------------------------------------
    def add(self, records: list[tuple[int, bytes, int]]) -> pd.DataFrame:
        """Decode and annotate one batch of ``(ts_ns, frame bytes, wire length)``;
        returns the batch's annotated rows."""
        if not records:
            self.rewalked = np.zeros(0, np.int32)
            self.compaction = None
            self.last_rows = slice(self.rows.n, self.rows.n)
            return self.frame(self.last_rows, self._empty())
        return self.add_frames(self._raw(records))

    def add_frames(self, raw: RawFrames, *, frame: bool = True) -> pd.DataFrame | Columns:
        """The same for frames as the capture reader yields them (``frame=False``: the
        batch's decode columns instead of its annotated rows)."""
        self.frames = max(self.frames, int(raw.frame[-1]) if len(raw) else 0)
        columns, counts, quoted = decode_with_quotes(raw)
        self.skipped.add(counts)
        annotated = self.add_decoded(columns, quoted, frame=frame)
        return annotated if frame else columns

    def add_decoded(self, columns: Columns, quoted: QuotedHeaders, *, frame: bool = True
                    ) -> pd.DataFrame | None:
        """Annotate one batch of decoded segments (and the headers quoted in ICMP errors
        of the same frames); returns the batch's annotated rows (``frame=True``)."""
        if self.broken is not None:
            raise RuntimeError(f"the engine stopped at an earlier batch: {self.broken}")
        try:
            return self._add(columns, quoted, as_frame=frame)
        except BaseException as exc:  # a walk may have stopped half-way: no more batches
            self.broken = exc
            raise

    def _add(self, columns: Columns, quoted: QuotedHeaders, as_frame: bool
             ) -> pd.DataFrame | None:
        self.rewalked = np.zeros(0, np.int32)
        self.compaction = None
        if self.outputs_from is None:
            self.recent.clear()
        else:
            self.recent.drop_before(int(np.searchsorted(self.rows["gid"], self.outputs_from)))
        if not self.keep and self.auto_forget and self.look_due(FORGET_EVERY):
            gone = self.over_connections()
            if gone.size:
                self.forget(gone)
        n = len(columns[Col.FRAME])
        rows = self.last_rows = self.rows.extend(n)
        self.rows.full("gid")[rows] = np.arange(self.total, self.total + n)
        self.total += n
        self.since_look += n
        if n or len(quoted):
            if self.keep and n:
                self.parts.append(columns)
            if self.keep and len(quoted):
                self.quotes.append(quoted)
            n_old = self.conns.n
            cls = self._connections(columns, rows, quoted)
            if n:
                self._annotate(rows, n_old, cls)
        return self.frame(rows, columns) if as_frame else None

    def _raw(self, records) -> RawFrames:
        lengths = np.array([len(r[1]) for r in records], np.int64)
        off = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
        buf = np.frombuffer(b"".join(r[1] for r in records) + b"\0" * PAD, np.uint8)
        ts_ns = np.array([r[0] for r in records], np.int64)
        ts = epoch_seconds(*np.divmod(ts_ns, 1_000_000_000), 1e-9)  # as in a ns pcap
        return RawFrames(buf, off, lengths, np.array([r[2] for r in records], np.int64),
                         ts, ts_ns, np.full(len(records), self.linktype, np.int32),
                         np.arange(self.frames + 1, self.frames + len(records) + 1))

    def _address_ids(self, col: Coded) -> np.ndarray:
        ids = np.array([self.addresses.setdefault(a, len(self.addresses)) for a in col.names],
                       np.int64)
        return ids[col.codes] if len(ids) else np.zeros(len(col), np.int64)

    def _connections(self, part: Columns, rows: slice, quoted: QuotedHeaders
                     ) -> np.ndarray:
        """Conversation walk of the batch (with the ICMP-quoted headers in frame order,
        as offline), carried over; per-row inputs stored.  Returns the rows' event
        classes (``segment_class``)."""
        R = self.rows
        src, dst = self._address_ids(part[Col.SRC]), self._address_ids(part[Col.DST])
        sport, dport = part[Col.SPORT], part[Col.DPORT]
        flags, seq, ack, wscale = walk_inputs(part)
        walk = (src, sport, dst, dport, flags, seq, ack, wscale)
        at = None
        if len(quoted):  # addresses seen first in a quoted header get ids here
            walk, at = with_quotes(walk, part[Col.FRAME], self.addresses, quoted)
        w_direction, lo, hi = endpoint_pairs(*walk[:4])
        key, self.n_keys = pair_ids(lo, hi, self.keys)
        direction = w_direction if at is None else w_direction[at]
        length = np.ascontiguousarray(part[Col.LEN], np.uint32)
        for name, values in (("direction", direction), ("flags", flags), ("seq", seq),
                             ("ack", ack), ("len", length), ("wscale", wscale),
                             ("win_raw", part[Col.WIN_RAW]), ("ts_ns", part[Col.TS_NS]),
                             ("ts", part[Col.TS]), ("truncated", part[Col.TRUNCATED]),
                             ("frame", part[Col.FRAME])):
            R.full(name)[rows] = values
        self.sack.append(*sack_arrays(part[Col.SACK]))

        C = self.conns
        n_old = C.n
        C.reserve(n_old + len(key))
        conv = np.empty(len(key), np.int32)
        C.full("dirty")[:] = 0
        n_conv = _seqwalk.walk_conversations(
            key, w_direction, *walk[4:], self.n_keys, conv, C.full("base"),
            C.full("shift"), C.full("client_dir"), self.ctx[_CONV], C.full("dirty"),
            C.full("reused"))
        C.extend(n_conv - n_old)
        if at is not None:
            conv = conv[at]
        R.full("conn")[rows] = conv
        # the endpoints, once per connection: the same for every row of it
        up = direction == 0
        for name, a, b in (("addr", src, dst), ("port", sport, dport)):
            ends = C.full(name)
            ends[conv, 0] = np.where(up, a, b)
            ends[conv, 1] = np.where(up, b, a)
        if not self.keep and len(conv):
            late = C["forgotten"][conv] == 1
            if late.any():
                self.late.update(distinct(conv[late]).tolist())

        # each new connection's first segment; the first segment sent each way
        cls = segment_class(flags, length)
        first_cls = C.full("first_cls")
        unset = np.flatnonzero(first_cls[conv, direction] < 0)  # no first segment yet
        key, first = np.unique(conv[unset].astype(np.int64) * 2 + direction[unset],
                               return_index=True)
        first = unset[first]  # each (connection, direction)'s first row here
        first_cls[key >> 1, key & 1] = cls[first]
        new = (key >> 1) >= n_old  # a new connection: the earlier of its two directions
        conn_new, first_new = key[new] >> 1, first[new]
        if conn_new.size:
            starts = np.flatnonzero(np.r_[True, conn_new[1:] != conn_new[:-1]])
            C.full("first_dir")[conn_new[starts]] = direction[
                np.minimum.reduceat(first_new, starts)]
        return cls

    def _annotate(self, rows: slice, n_old: int, cls: np.ndarray) -> None:
        """Initial states, then every stage for the batch; dirty connections again."""
        R, C = self.rows, self.conns
        touched = distinct(R["conn"][rows])
        first_dir = C["first_dir"][touched]
        client_dir = C["client_dir"][touched]
        first_cls = C["first_cls"]
        init, inferred = initial_states_from(
            first_cls[touched, first_dir], (first_dir != client_dir).astype(np.int8),
            first_cls[touched, 1 - client_dir])
        changed = (init != C["init"][touched]).any(axis=1) | (inferred != C["inferred"][touched])
        dirty = C["dirty"].copy()  # from the conversation walk
        dirty[touched[changed & (touched < n_old)]] = 1
        C.full("init")[touched] = init
        C.full("inferred")[touched] = inferred
        self._walk(rows, cls)
        dirty = np.flatnonzero((dirty | C["dirty"]) & (C["forgotten"] == 0)  # + crossed FINs
                               ).astype(np.int32)
        if dirty.size:  # only connections with segments in earlier batches get here
            for k in (_STATES, _FLAGS):
                _seqwalk.reset_conns(self.ctx[k], dirty)
            self._walk(np.flatnonzero(np.isin(R["conn"], dirty)))
            self.rewalked = dirty

    def _walk(self, idx: np.ndarray | slice, cls: np.ndarray | None = None) -> None:
        """Connection columns, states and flags of rows ``idx`` (file order; a batch is a
        slice, so its inputs are read as views, not copied); ``cls``: their event
        classes, when known."""
        R, C = self.rows, self.conns
        self.walked_rows += len(R["conn"][idx])
        conv = R["conn"][idx]
        direction = R["direction"][idx]
        flags = R["flags"][idx]
        length = np.ascontiguousarray(R["len"][idx])
        cols = connection_columns(conv, direction, flags, R["seq"][idx], R["ack"][idx],
                                  R["win_raw"][idx], C["base"], C["shift"], C["client_dir"])
        sender = cols["sender"]
        for name, col in (("sender", sender), ("rel_seq", cols[Col.REL_SEQ]),
                          ("rel_ack", cols[Col.REL_ACK])):
            R.full(name)[idx] = col
        C.full("dirty")[:] = 0
        if cls is None:
            cls = segment_class(flags, length)
        walked = walk_states(
            conv, sender, cls, flags, cols[Col.REL_SEQ], cols[Col.REL_ACK], length,
            cols[Col.WIN], C["init"], self.ctx[_STATES], C.full("dirty"))
        R.full("after")[idx] = walked[[1, 3]].T
        inputs = tuple(np.ascontiguousarray(R[name][idx]) for name in (
            "flags", "seq", "ack", "len", "win_raw", "wscale", "ts_ns", "frame"))
        rows = np.arange(*idx.indices(R.n)) if isinstance(idx, slice) else idx
        bits, dup_num, dup_frame, bif, acked, rtt = analyze_flags(
            conv, sender, inputs, C["reused"], self.sack.take(rows), self.ctx[_FLAGS])
        R.full("bits")[idx] = bits
        R.full("rtt")[idx] = rtt
        self._outputs(idx, {"walked": walked.T, "dup_num": dup_num, "dup_frame": dup_frame,
                             "bif": bif, "acked": acked})

    def _outputs(self, rows: slice | np.ndarray, out: dict[str, np.ndarray]) -> None:
        """Keep the _OUT_SPEC columns of walked ``rows``: in the stores (keep=True), or
        in ``recent`` (a batch is a slice; a re-walk's rows replace what it had)."""
        if self.keep:
            for name, col in out.items():
                self.rows.full(name)[rows] = col
        else:
            self.recent.add(rows, out)

    def outputs_of(self, name: str, idx: np.ndarray | slice) -> np.ndarray:
        """Column ``name`` of ``_OUT_SPEC`` (the states' walk output, dup_num,
        dup_frame, bif, acked) for rows ``idx``, copied; keep=False: rows of the last
        batch and of its re-walks only."""
        if self.keep:
            return self.rows[name][idx].copy()
        if isinstance(idx, slice):
            idx = slice(*idx.indices(self.rows.n)[:2])
        try:
            return self.recent.get(name, idx)
        except KeyError as exc:
            raise RuntimeError(f"IncrementalEngine(keep=False) keeps the stages' output of "
                               f"the last batch and of outputs_from on: {exc}") from None

    def look_due(self, every: int) -> bool:
        """Whether a look for connections that are over is due: ``every`` segments were
        added since the last, or the clock (the last row's) reached ``due_ns``."""
        R = self.rows
        return self.since_look >= every or (
            self.due_ns is not None and R.n > 0 and R["ts_ns"][R.n - 1] >= self.due_ns)

    def over_connections(self) -> np.ndarray:
        """Connections with rows here whose ends are both CLOSED or TIME_WAIT, idle for
        ``linger_s`` of capture time (the last row's clock).  This is a look:
        ``since_look`` starts again from 0, and ``due_ns`` is when the connections
        over but not idle long enough hold ``due_rows`` rows that can go (a long
        transfer's rows leave when it may, not at the next look, which may be
        ``every`` segments later: :meth:`look_due`)."""
        R = self.rows
        self.since_look = 0
        self.due_ns = None
        if R.n == 0:
            return np.zeros(0, np.int32)
        u, first, held = np.unique(R["conn"][::-1], return_index=True, return_counts=True)
        last_ns = R["ts_ns"][R.n - 1 - first]
        over = is_over(R["after"][R.n - 1 - first])
        if self.pinned:
            over &= ~np.isin(u, list(self.pinned))
        idle = over & (R["ts_ns"][R.n - 1] - last_ns >= self.linger_ns)
        lingering = np.flatnonzero(over & ~idle)
        if lingering.size:  # by when they go, in order: the first time due_rows can
            lingering = lingering[np.argsort(last_ns[lingering], kind="stable")]
            k = int(np.searchsorted(np.cumsum(held[lingering]), self.due_rows))
            if k < lingering.size:
                self.due_ns = int(last_ns[lingering[k]]) + self.linger_ns
        return u[idle].astype(np.int32)

    def forget(self, gone: np.ndarray, *, release: bool = False) -> None:
        """Drop the rows of connections ``gone`` (keep=False); their states and flags
        contexts are trimmed (a late segment finds their final states, and nothing of
        their sequence numbers or Wireshark's analysis).  A forgotten connection that
        turns dirty keeps its annotations.  ``release``: the memory the rows held goes
        back to the system, too."""
        R = self.rows
        keep = ~np.isin(R["conn"], gone)
        R.compact(keep, release=release)
        self.sack.compact(keep, release=release)
        self.recent.clear()  # its row numbers are gone
        self.conns.full("forgotten")[gone] = 1
        for k in (_STATES, _FLAGS):  # what a late segment does not need goes back
            _seqwalk.trim_conns(self.ctx[k], gone.astype(np.int32))
        self.compaction = (np.where(keep, np.cumsum(keep) - 1, -1), gone)

    def endpoints(self, row: int) -> tuple[str, str]:
        """(sender, receiver) of a row as ``addr:port`` (``[v6]:port``)."""
        one = self.arrays(np.array([row]))
        return one.endpoints([0], source=True)[0], one.endpoints([0], source=False)[0]

    # -- tables ------------------------------------------------------------------------
    def _columns(self, rows: slice | np.ndarray) -> Columns:
        """The stages' columns of ``rows``, copied: later batches write into the stores
        (re-walks, dropped rows), and a frame handed out must not change under its
        reader."""
        R, C = self.rows, self.conns

        def col(name: str) -> np.ndarray:
            return R[name][rows].copy()

        conv, sender = col("conn"), col("sender")
        cols = {
            Col.CONN: conv,
            Col.ROLE: Coded(sender, ROLE_NAMES),
            Col.REL_SEQ: col("rel_seq"), Col.REL_ACK: col("rel_ack"), Col.WIN: self.window(rows),
        }
        cols.update(state_columns(np.ascontiguousarray(self.outputs_of("walked", rows).T), sender,
                                  C["inferred"][conv]))
        cols.update(flag_columns(col("bits"), *(self.outputs_of(name, rows) for name in (
            "dup_num", "dup_frame", "bif", "acked")), col("rtt")))
        return cols

    def window(self, idx: np.ndarray | slice) -> np.ndarray:
        """The scaled window of rows ``idx`` (from the connection's final shift)."""
        R = self.rows
        return scaled_window(R["conn"][idx], R["direction"][idx], R["flags"][idx],
                             R["win_raw"][idx], self.conns["shift"])

    def _ends(self, idx: np.ndarray) -> tuple[np.ndarray, ...]:
        """(src, sport, dst, dport) of rows ``idx``: address ids and ports."""
        R, C = self.rows, self.conns
        conv, d = R["conn"][idx], R["direction"][idx].astype(np.intp)
        addr, port = C["addr"], C["port"]
        return addr[conv, d], port[conv, d], addr[conv, 1 - d], port[conv, 1 - d]

    def arrays(self, idx: np.ndarray | slice) -> SegmentArrays:
        """Rows ``idx`` as the per-connection reports read them: typed, no text."""
        R = self.rows
        if isinstance(idx, slice):  # fancy indexing copies: the stores change later
            idx = np.arange(*idx.indices(R.n))
        if len(self._names) != len(self.addresses):
            self._names = list(self.addresses)
        after = R["after"][idx]
        src, sport, dst, dport = self._ends(idx)
        return SegmentArrays(
            conn=R["conn"][idx].astype(np.int64), sender=R["sender"][idx],
            frame=R["frame"][idx], ts=R["ts"][idx], flags=R["flags"][idx],
            length=R["len"][idx].astype(np.int64), win=self.window(idx).astype(np.float64),
            win_raw=R["win_raw"][idx], rel_seq=R["rel_seq"][idx].astype(np.int64),
            rel_ack=R["rel_ack"][idx].astype(np.int64), truncated=R["truncated"][idx],
            src=src, sport=sport, dst=dst, dport=dport, names=tuple(self._names),
            bits=R["bits"][idx], rtt=R["rtt"][idx], after_client=after[:, 0],
            after_server=after[:, 1])

    def rows_table(self, idx: np.ndarray | slice) -> pd.DataFrame:
        """Rows ``idx`` of the stores with every stage's columns and the decode columns
        kept here (all but ip_version, flag_str, the options and the SACK blocks): what
        the report of a connection reads once its decode columns are gone."""
        R = self.rows
        if isinstance(idx, slice):  # fancy indexing copies: the stores change later
            idx = np.arange(*idx.indices(R.n))
        if len(self._names) != len(self.addresses):
            self._names = list(self.addresses)
        names = tuple(self._names)
        src, sport, dst, dport = self._ends(idx)
        cols: Columns = {
            Col.FRAME: R["frame"][idx], Col.TS: R["ts"][idx], Col.TS_NS: R["ts_ns"][idx],
            Col.SRC: Coded(src, names), Col.SPORT: sport, Col.DST: Coded(dst, names),
            Col.DPORT: dport, Col.FLAGS: R["flags"][idx], Col.SEQ: R["seq"][idx],
            Col.ACK: R["ack"][idx], Col.LEN: R["len"][idx], Col.WIN_RAW: R["win_raw"][idx],
            Col.TRUNCATED: R["truncated"][idx],
        }
        cols.update(self._columns(idx))
        return to_frame(cols)

    def columns(self, rows: slice, decoded: Columns) -> Columns:
        """The decode columns and the stages' columns of ``rows``, typed (a Parquet row
        group is made from these without pandas)."""
        return {**{c: decoded[c] for c in DECODE_COLUMNS}, **self._columns(rows)}

    def frame(self, rows: slice, decoded: Columns) -> pd.DataFrame:
        """The same as one DataFrame (built at once: assigning column by column costs
        more than the batch)."""
        return to_frame(self.columns(rows, decoded))

    @staticmethod
    def _empty() -> Columns:
        return concat_columns([])

    def table(self) -> pd.DataFrame:
        """Every segment so far with every stage's columns (as ``tcpwatch analyze``)."""
        if not self.keep:
            raise RuntimeError("IncrementalEngine(keep=False) drops the rows of closed connections")
        parts = [dict(p) for p in self.parts]  # concat_columns consumes its inputs
        seg = concat_columns(parts) if parts else self._empty()
        return self.frame(slice(0, self.rows.n), seg)
