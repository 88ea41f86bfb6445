"""The compiled frame walk (``csrc/frames.c``: link layer, IP, tunnels, ICMP quotes; and
``csrc/addresses.c``) equals the whole-column numpy reference (``linklayer.py``,
``iplayer.py``) on every capture of the suite and on generated frames (``frames_gen.py``):
the status of every frame, the counts, the rows of the TCP segments and of the quotes with
their offsets and lengths, the segments' TCP headers, and the addresses' codes and
names."""

from __future__ import annotations

import struct
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from tcpwatch.capture.bytes import PAD
from tcpwatch.capture.pcapfile import CaptureReader, RawFrames
from tcpwatch.decode import frames
from tcpwatch.decode.columns import Masked
from tcpwatch.decode.tcpheader import tcp_headers

from . import iplayer as ref
from .captures import capture_id, suite_captures
from .frames_gen import batches

STATUSES = {getattr(frames, n): n for n in dir(frames) if n.startswith("ST_")}


def assert_walks_agree(raw: RawFrames) -> np.ndarray:
    """Both walks on one batch; returns the statuses."""
    got = frames.walk_frames(raw)
    out, status = ref.walk_frames(raw)
    np.testing.assert_array_equal(got.status, status)
    assert got.counts == tuple(np.bincount(status, minlength=len(STATUSES)).tolist())
    for kind, rows in ((frames.ST_TCP, got.tcp), (frames.ST_QUOTE, got.quotes)):
        r = np.flatnonzero(status == kind)
        want = np.vstack([r, (raw.off + raw.caplen)[r], out[:, r]])
        np.testing.assert_array_equal(np.vstack([rows.row, rows.end, rows.l3, rows.version,
                                                 rows.l4, rows.l4_len]), want)
        src, dst = frames.addresses(rows)
        ref_src, ref_dst = ref.addresses(raw.buf, out[0, r], out[1, r])
        assert src.names == ref_src.names
        np.testing.assert_array_equal(src.codes, ref_src.codes)
        np.testing.assert_array_equal(dst.codes, ref_dst.codes)
    # the segments' TCP headers, read in the walk, as the TCP header pass reads them
    r = np.flatnonzero(status == frames.ST_TCP)
    want = tcp_headers(raw.buf, out[2, r], (raw.off + raw.caplen)[r])
    for name, col in got.headers.items():
        if isinstance(col, Masked):
            np.testing.assert_array_equal(col.values, want[name].values, name)
            np.testing.assert_array_equal(col.missing, want[name].missing, name)
        else:
            np.testing.assert_array_equal(col, want[name], name)
    return status


@pytest.mark.parametrize("path", suite_captures(), ids=capture_id)
def test_captures_walk_as_the_reference(path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for raw in CaptureReader(path):
            assert_walks_agree(raw)


def test_the_suite_reaches_segments_and_quotes() -> None:
    """The captures give the comparison something to compare: segments, quotes, other
    frames."""
    seen: Counter[str] = Counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for path in suite_captures():
            for raw in CaptureReader(path):
                seen.update(STATUSES[s] for s in frames.walk_frames(raw).status.tolist())
    assert {"ST_TCP", "ST_QUOTE", "ST_NOT_TCP", "ST_NOT_IP"} <= set(seen), seen


def test_generated_frames_walk_as_the_reference() -> None:
    """200 generated batches; between them they reach every status (the generator is
    not stuck on one path)."""
    seen: Counter[str] = Counter()

    @settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(batches())
    def check(raw: RawFrames) -> None:
        seen.update(STATUSES[s] for s in assert_walks_agree(raw).tolist())

    check()
    assert set(seen) == set(STATUSES.values()), seen


def test_many_distinct_addresses_as_the_reference() -> None:
    """A batch with thousands of distinct IPv4 and IPv6 addresses (the address table
    grows several times), mixed with repeated ones."""
    rng = np.random.default_rng(12)
    pkts = []
    for k in range(3000):
        tcp = struct.pack(">HHIIBBHHH", 1000 + k, 80, k, 0, 0x50, 0x10, 100, 0, 0)
        if k % 3:
            addr = rng.integers(0, 256, 8, dtype=np.uint8).tobytes() if k % 5 else bytes(8)
            ip = struct.pack(">BBHHHBBH", 0x45, 0, 40, 0, 0, 64, 6, 0) + addr
        else:
            addr = rng.integers(0, 256, 32, dtype=np.uint8).tobytes() if k % 4 else bytes(32)
            ip = struct.pack(">IHBB", 6 << 28, 20, 6, 64) + addr
        pkts.append(b"\x02" * 12 + (b"\x08\x00" if k % 3 else b"\x86\xdd") + ip + tcp)
    n = len(pkts)
    lengths = np.array([len(p) for p in pkts], np.int64)
    off = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    buf = np.frombuffer(b"".join(pkts) + b"\0" * PAD, np.uint8)
    raw = RawFrames(buf, off, lengths, lengths, np.zeros(n), np.zeros(n, np.int64),
                    np.ones(n, np.int32), np.arange(1, n + 1))
    assert (assert_walks_agree(raw) == frames.ST_TCP).all()
    assert len(frames.addresses(frames.walk_frames(raw).tcp)[0].names) > 4000
