"""The whole-column option parser agrees with a plain one-segment-at-a-time parser."""

from __future__ import annotations

import struct

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tcpwatch.options import parse_options


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
areas = st.lists(st.lists(option, max_size=8).map(lambda o: b"".join(o)[:40]),
                 min_size=1, max_size=20)


@settings(max_examples=300, deadline=None)
@given(areas)
def test_vectorized_parse_equals_reference(segs):
    buf = np.frombuffer(b"".join(segs) + b"\0" * 64, dtype=np.uint8)
    lengths = np.array([len(s) for s in segs], dtype=np.int64)
    start = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    got = parse_options(buf, start, start + lengths)
    sack = got["sack"].to_pylist()
    for i, s in enumerate(segs):
        want = reference(s)
        assert (None if got["mss"].isna()[i] else int(got["mss"][i])) == want["mss"]
        assert (None if got["wscale"].isna()[i] else int(got["wscale"][i])) == want["wscale"]
        assert bool(got["sack_perm"][i]) == want["sack_perm"]
        assert sack[i] == want["sack"]
        ts = None if got["tsval"].isna()[i] else (int(got["tsval"][i]), int(got["tsecr"][i]))
        assert ts == want["ts"]
