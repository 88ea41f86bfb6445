"""Framers get h11's treatment: a stream fed whole, byte by byte, and split at random
points must give the same messages; oversize frames are refused early."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tcpwatch.lab.servers.framing import (
    FRAMERS,
    DelimitedFramer,
    FixedLengthFramer,
    FrameTooLarge,
    LengthPrefixFramer,
)


def _split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    bounds = [0, *points, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds)]


def _feed_all(framer, pieces):
    out = []
    for p in pieces:
        out += framer.feed(p)
    return out


messages_any = st.lists(st.binary(max_size=300), max_size=20)
messages_line = st.lists(st.binary(max_size=300).map(lambda b: b.replace(b"\n", b"")),
                         max_size=20)


def _round_trips(make, msgs, cuts) -> None:
    """Fed whole, split at random points, and byte by byte: the same messages, and
    nothing left over."""
    stream = b"".join(make().encode(m) for m in msgs)
    for pieces in ([stream], _split(stream, cuts),
                   [stream[i:i + 1] for i in range(len(stream))]):
        f = make()
        assert _feed_all(f, pieces) == msgs
        assert f.buffered == 0


@settings(max_examples=200, deadline=None)
@given(messages_any, st.lists(st.integers(0, 10_000), max_size=30))
def test_length_prefix_any_split(msgs, cuts):
    _round_trips(LengthPrefixFramer, msgs, cuts)


@settings(max_examples=200, deadline=None)
@given(messages_line, st.lists(st.integers(0, 10_000), max_size=30))
def test_delimited_any_split(msgs, cuts):
    _round_trips(DelimitedFramer, msgs, cuts)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 50), st.lists(st.integers(0, 255), max_size=20),
       st.lists(st.integers(0, 10_000), max_size=30))
def test_fixed_any_split(size, fill, cuts):
    _round_trips(lambda: FixedLengthFramer(size=size), [bytes([b]) * size for b in fill],
                 cuts)


def test_every_split_point_of_one_stream():
    for name, framer_cls in FRAMERS.items():
        msgs = [b"abc", b"", b"defgh"] if name != "fixed" else [b"a" * 64, b"b" * 64]
        stream = b"".join(framer_cls().encode(m) for m in msgs)
        for cut in range(len(stream) + 1):
            f = framer_cls()
            assert f.feed(stream[:cut]) + f.feed(stream[cut:]) == msgs, (name, cut)


def test_length_header_over_max_is_refused_before_buffering():
    f = LengthPrefixFramer(max_size=1000)
    with pytest.raises(FrameTooLarge):
        f.feed(b"\x7f\xff\xff\xff")  # the header alone is enough to refuse
    assert f.buffered == 4


def test_line_without_delimiter_is_bounded():
    f = DelimitedFramer(max_size=100)
    f.feed(b"x" * 100)
    with pytest.raises(FrameTooLarge):
        f.feed(b"x")


def test_several_messages_in_one_recv_and_one_over_many():
    f = LengthPrefixFramer()
    data = f.encode(b"one") + f.encode(b"two") + f.encode(b"three")[:5]
    assert f.feed(data) == [b"one", b"two"]
    assert f.feed(b"hre") == []
    assert f.feed(b"e") == [b"three"]
