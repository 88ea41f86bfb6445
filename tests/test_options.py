"""The compiled TCP header pass (fields and options) agrees with a plain
one-segment-at-a-time parser written from RFC 9293 §3.1-3.2."""

from __future__ import annotations

import struct

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tcpwatch.decode.tcpheader import sack_column, tcp_headers


def reference(opts: bytes) -> dict:
    """RFC 9293 §3.2 option walk, written the obvious way."""
    out = {"mss": None, "wscale": None, "sack_perm": False, "sack": [], "ts": None}
    i = 0
    while i < len(opts):
        kind = opts[i]
        if kind == 0:
            break
        if kind == 1:
            i += 1
            continue
        if i + 1 >= len(opts):
            break
        n = opts[i + 1]
        if n < 2 or i + n > len(opts):
            break
        body = opts[i + 2:i + n]
        if kind == 2 and n == 4:
            out["mss"] = struct.unpack("!H", body)[0]
        elif kind == 3 and n == 3:
            out["wscale"] = body[0]
        elif kind == 4 and n == 2:
            out["sack_perm"] = True
        elif kind == 5 and n in (10, 18, 26, 34):
            out["sack"] = list(struct.unpack(f"!{(n - 2) // 4}I", body))
        elif kind == 8 and n == 10:
            out["ts"] = struct.unpack("!II", body)
        i += n
    return out


option = st.one_of(
    st.just(b"\x01"),
    st.integers(0, 65535).map(lambda v: b"\x02\x04" + struct.pack("!H", v)),
    st.integers(0, 255).map(lambda v: bytes([3, 3, v])),
    st.just(b"\x04\x02"),
    st.lists(st.integers(0, 2**32 - 1), min_size=2, max_size=8).filter(
        lambda v: len(v) % 2 == 0).map(
        lambda v: bytes([5, 2 + 4 * len(v)]) + struct.pack(f"!{len(v)}I", *v)),
    st.tuples(st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1)).map(
        lambda t: b"\x08\x0a" + struct.pack("!II", *t)),
    st.binary(min_size=1, max_size=6),  # anything, malformed included
)

fixed = st.tuples(st.integers(0, 65535), st.integers(0, 65535), st.integers(0, 2**32 - 1),
                  st.integers(0, 2**32 - 1), st.integers(0, 511), st.integers(0, 65535))


def header(f: tuple[int, ...], opts: bytes) -> bytes:
    """A TCP header whose data offset covers ``opts`` (padded to 32 bits)."""
    opts += b"\0" * (-len(opts) % 4)
    sport, dport, seq, ack, flags, win = f
    offset = (20 + len(opts)) // 4
    return struct.pack("!HHIIBBHHH", sport, dport, seq, ack, (offset << 4) | (flags >> 8),
                       flags & 0xFF, win, 0, 0) + opts


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(fixed, st.lists(option, max_size=8).map(
    lambda o: b"".join(o)[:40]), st.integers(0, 70)), min_size=1, max_size=20))
def test_compiled_pass_equals_reference(segs):
    """Fields and options of headers cut anywhere (a snaplen), options malformed or not."""
    frames = [header(f, o)[:cut] if cut < 60 else header(f, o) for f, o, cut in segs]
    lengths = np.array([len(b) for b in frames], dtype=np.int64)
    start = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    buf = np.frombuffer(b"".join(frames) + b"\0" * 64, dtype=np.uint8)
    got = tcp_headers(buf, start, start + lengths)
    sack = sack_column(buf, got["sack_edges"], got["sack_at"]).to_pylist()
    for i, (f, _, _) in enumerate(segs):
        frame = frames[i]
        if len(frame) < 20:
            assert got["thl"][i] == 0 and got["seq"][i] == 0 and sack[i] == []
            continue
        thl = (frame[12] >> 4) * 4
        sport, dport, seq, ack, flags, win = f
        assert (got["thl"][i], got["sport"][i], got["dport"][i], got["seq"][i],
                got["ack"][i], got["flags"][i], got["win"][i]) == (
            thl, sport, dport, seq, ack, flags, win)
        want = reference(frame[20:thl])  # the area ends at the data offset or the cut
        assert value(got["mss"], i) == want["mss"]
        assert value(got["wscale"], i) == want["wscale"]
        assert bool(got["sack_perm"][i]) == want["sack_perm"]
        assert sack[i] == want["sack"]
        ts = value(got["tsval"], i)
        assert (None if ts is None else (ts, value(got["tsecr"], i))) == want["ts"]


def value(col, i: int) -> int | None:
    """Row i of a column with missing values (decode/columns.py Masked)."""
    return None if col.missing[i] else int(col.values[i])
