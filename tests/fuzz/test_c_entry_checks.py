"""Every entry point of the C extension refuses arrays of the wrong type, length or layout
(TypeError / ValueError) instead of reading or writing past them.

Each case starts from a call that succeeds, then changes one argument: a dtype of another
size, one of the same size but another kind (signed/unsigned/float), big-endian order,
one element too few (or too many, where the length must match), a non-contiguous view,
or a value the walk would use as an index.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from tcpwatch import _seqwalk
from tcpwatch.capture.bytes import PAD
from tcpwatch.capture.linktypes import LINK_TABLE
from tcpwatch.decode.tunnels import PORT_TABLE
from tcpwatch.engine.states import NEXT, S

from ..conftest import PUBLIC

N = 3  # rows
CONNS = 4  # room for conversations


@dataclass
class Arg:
    value: object  # a numpy array, or a scalar passed as is
    length: str = "exact"  # exact: must match the rows; min: may be longer; free: any
    any_kind: bool = False  # any element type of the right size (bytes, flags used as bool)


def _pcap_records() -> np.ndarray:
    raw = (PUBLIC / "zeek" / "http-get.pcap").read_bytes()[24:]
    return np.frombuffer(raw, np.uint8)


def _pcapng_blocks() -> np.ndarray:
    raw = (PUBLIC / "chrissanders-packets" / "tcp_handshake.pcapng").read_bytes()
    return np.frombuffer(raw, np.uint8)


def _frames() -> np.ndarray:
    """N Ethernet frames of IPv4 TCP (54 bytes each), zero-padded."""
    eth = b"\x02" * 12 + b"\x08\x00"
    ip = bytes([0x45, 0, 0, 40, 0, 0, 0, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2])
    tcp = bytes([0, 80, 0, 81] + [0] * 8 + [0x50, 0x10] + [0] * 6)
    return np.frombuffer((eth + ip + tcp) * N + b"\0" * PAD, np.uint8)


def _i64(n=N):
    return np.zeros(n, np.int64)


def cases() -> dict[str, tuple[object, list[Arg]]]:
    flags = np.array([0x02, 0x12, 0x10], np.uint16)
    seq = np.array([100, 500, 101], np.uint32)
    ack = np.array([0, 101, 501], np.uint32)
    ws = np.full(N, -1, np.int16)
    conn = np.zeros(N, np.int32)
    sender = np.array([0, 1, 0], np.int8)
    n_pcap = 14  # records of http-get.pcap
    return {
        "walk_pcap": (_seqwalk.walk_pcap, [
            Arg(_pcap_records(), "free", True), Arg(0), Arg(False),
            *(Arg(_i64(n_pcap), "free" if k == 0 else "exact") for k in range(5))]),
        "walk_pcapng": (_seqwalk.walk_pcapng, [
            Arg(_pcapng_blocks(), "free", True), Arg(0), Arg(False), Arg(0), Arg(0),
            Arg(_i64(3), "free"), *(Arg(_i64(3)) for _ in range(3)),
            Arg(np.zeros(3, np.uint64)), Arg(_i64(1), "free"),
            Arg(np.zeros(1, np.uint8), "exact", True)]),
        "walk_conversations": (_seqwalk.walk_conversations, [
            Arg(np.zeros(N, np.int64), "free"), Arg(sender, "exact", True), Arg(flags),
            Arg(seq), Arg(ack), Arg(ws), Arg(1), Arg(np.empty(N, np.int32)),
            Arg(np.zeros((CONNS, 2), np.uint32), "min"), Arg(np.zeros((CONNS, 2), np.int8), "min"),
            Arg(np.zeros(CONNS, np.int8), "free"), Arg(None),
            Arg(np.zeros(CONNS, np.uint8), "min", True),
            Arg(np.zeros(CONNS, np.uint8), "min", True)]),
        "walk_states": (_seqwalk.walk_states, [
            Arg(conn, "free"), Arg(sender, "exact", True),
            Arg(np.array([5, 6, 1], np.uint8)), Arg(flags), Arg(np.array([0, 0, 1], np.uint32)),
            Arg(np.array([0, 1, 1], np.uint32)), Arg(np.zeros(N, np.uint32)),
            Arg(np.full(N, 1000, np.uint32)),
            Arg(np.array([[int(S.CLOSED), int(S.LISTEN)]], np.uint8), "free"),
            Arg(np.ascontiguousarray(NEXT), "min"), Arg(NEXT.shape[1]), Arg(int(S.SYN_SENT)),
            *(Arg(np.empty(N, np.uint8)) for _ in range(7)), Arg(None),
            Arg(np.zeros(1, np.uint8), "min", True)]),
        "tcp_headers": (_seqwalk.tcp_headers, [
            Arg(np.zeros(64, np.uint8), "free", True), Arg(np.array([0, 20, 44], np.int64), "free"),
            Arg(np.array([20, 44, 64], np.int64)), Arg(np.empty(N * _seqwalk.TCP_NCOLS, np.uint32)),
            Arg(np.empty(N, np.int64))]),
        "walk_frames": (_seqwalk.walk_frames, [
            Arg(_frames(), "free", True), Arg(np.array([0, 54, 108], np.int64), "free"),
            Arg(np.full(N, 54, np.int64)), Arg(np.full(N, 54, np.int64)),
            Arg(np.ones(N, np.int32)), Arg(LINK_TABLE, "free"), Arg(PORT_TABLE),
            Arg(np.empty(N * _seqwalk.FR_NCOLS, np.int64)), Arg(np.empty(N, np.uint8)),
            Arg(np.empty(N * _seqwalk.TCP_NCOLS, np.uint32)), Arg(np.empty(N, np.int64)),
            Arg(np.empty(N * _seqwalk.ADDR_BYTES, np.uint8), "exact", True)]),
        "address_codes": (_seqwalk.address_codes, [
            Arg(np.zeros(N * _seqwalk.ADDR_BYTES, np.uint8), "exact", True),
            Arg(np.full(N, 4, np.int64), "free"), Arg(np.empty(2 * N, np.int32)),
            Arg(np.empty(2 * N, np.uint32)), Arg(np.empty(32 * N, np.uint8), "exact", True)]),
        "pair_ids": (_seqwalk.pair_ids, [
            Arg(np.array([1, 2, 1], np.int64), "free"), Arg(np.array([5, 6, 5], np.int64)),
            Arg(np.empty(N, np.int64)), Arg(_seqwalk.new_context(_seqwalk.CTX_PAIRS))]),
        "analyze_flags": (_seqwalk.analyze_flags, [
            Arg(conn, "free"), Arg(sender, "exact", True), Arg(flags), Arg(seq), Arg(ack),
            Arg(np.zeros(N, np.uint32)), Arg(np.full(N, 1000, np.uint16)), Arg(ws),
            Arg(np.arange(N, dtype=np.int64) * 1000), Arg(np.arange(1, N + 1, dtype=np.int64)),
            Arg(np.zeros(1, np.uint8), "free", True), Arg(np.zeros(N + 1, np.int32), "min"),
            Arg(np.zeros(0, np.uint32), "free"),
            Arg(np.empty(N, np.uint16)), Arg(np.empty(N, np.int32)),
            *(Arg(np.empty(N, np.int64)) for _ in range(3)), Arg(np.empty(N, np.float64))]),
    }


def call(name: str, replace: dict[int, object] | None = None):
    fn, args = cases()[name]
    values = [a.value for a in args]
    for i, v in (replace or {}).items():
        values[i] = v
    while values and values[-1] is None:  # optional trailing arguments
        values.pop()
    return fn(*values)


def _other_size(dt: np.dtype) -> np.dtype:
    return np.dtype(np.int16) if dt.itemsize != 2 else np.dtype(np.int32)


def _other_kind(dt: np.dtype) -> np.dtype:
    if dt.kind == "f":
        return np.dtype(f"i{dt.itemsize}")
    return np.dtype(f"{'u' if dt.kind == 'i' else 'i'}{dt.itemsize}")


ARRAYS = [(name, i) for name, (_, args) in cases().items()
          for i, a in enumerate(args) if isinstance(a.value, np.ndarray)]


@pytest.mark.parametrize("name", list(cases()))
def test_the_valid_call_succeeds(name):
    call(name)


@pytest.mark.parametrize(("name", "i"), ARRAYS)
def test_wrong_element_size(name, i):
    a = cases()[name][1][i].value
    with pytest.raises(TypeError, match="must be a C-contiguous array"):
        call(name, {i: np.zeros(a.shape, _other_size(a.dtype))})


@pytest.mark.parametrize(("name", "i"), [(n, i) for n, i in ARRAYS
                                         if not cases()[n][1][i].any_kind])
def test_wrong_element_kind_or_byte_order(name, i):
    a = cases()[name][1][i].value
    with pytest.raises(TypeError, match="must be a C-contiguous array"):
        call(name, {i: np.zeros(a.shape, _other_kind(a.dtype))})
    if a.dtype.itemsize > 1:
        with pytest.raises(TypeError, match="native byte order"):
            call(name, {i: a.astype(a.dtype.newbyteorder(">"))})


@pytest.mark.parametrize(("name", "i"), [(n, i) for n, i in ARRAYS
                                         if cases()[n][1][i].length != "free"])
def test_one_element_too_few(name, i):
    a = cases()[name][1][i].value
    with pytest.raises(ValueError, match="elements"):
        call(name, {i: np.ascontiguousarray(a.reshape(-1)[:-1])})


@pytest.mark.parametrize(("name", "i"), [(n, i) for n, i in ARRAYS
                                         if cases()[n][1][i].length == "exact"])
def test_one_element_too_many(name, i):
    a = cases()[name][1][i].value.reshape(-1)
    with pytest.raises(ValueError, match="elements"):
        call(name, {i: np.concatenate([a, a[:1]])})


@pytest.mark.parametrize(("name", "i"), ARRAYS)
def test_not_contiguous(name, i):
    a = cases()[name][1][i].value.reshape(-1)
    spread = np.zeros(2 * max(len(a), 2), a.dtype)[::2]
    assert not spread.flags.c_contiguous
    with pytest.raises((TypeError, ValueError)):
        call(name, {i: spread})


def test_read_only_output():
    out = np.zeros(14, np.int64)
    out.flags.writeable = False
    with pytest.raises(TypeError):
        call("walk_pcap", {3: out})


@pytest.mark.parametrize("pos", [-1, -(2**40), 10**9])
def test_walk_positions_outside_the_buffer(pos):
    with pytest.raises(ValueError, match="pos outside buf"):
        call("walk_pcap", {1: pos})
    with pytest.raises(ValueError, match="pos outside buf"):
        call("walk_pcapng", {1: pos})


@pytest.mark.parametrize(("l4", "end"), [(-1, 20), (0, 65), (0, -1)])
def test_tcp_header_offsets_outside_the_buffer(l4, end):
    out = np.full(N * _seqwalk.TCP_NCOLS, 7, np.uint32)
    with pytest.raises(ValueError, match="outside buf"):
        call("tcp_headers", {1: np.array([0, l4, 0], np.int64),
                             2: np.array([20, end, 20], np.int64), 3: out})
    assert (out == 7).all()  # checked before anything is written


@pytest.mark.parametrize(("off", "caplen"), [(-1, 54), (0, -1), (108, 10**6), (108, 2**63 - 1),
                                             (2**62, 0)])
def test_frames_outside_the_buffer(off, caplen):
    status = np.full(N, 9, np.uint8)
    with pytest.raises(ValueError, match="outside buf"):
        call("walk_frames", {1: np.array([0, 54, off], np.int64),
                             2: np.array([54, 54, caplen], np.int64), 8: status})
    assert (status == 9).all()  # checked before anything is written


@pytest.mark.parametrize("origlen", [-1, 2**32, 2**63 - 1])
def test_frame_wire_lengths_out_of_range(origlen):
    with pytest.raises(ValueError, match="origlen"):
        call("walk_frames", {3: np.array([54, 54, origlen], np.int64)})


def test_frame_walk_link_table_of_whole_rows():
    with pytest.raises(ValueError, match="LINK_TABLE_COLS"):
        call("walk_frames", {5: LINK_TABLE[:-1].copy()})


def test_address_versions_other_than_4_or_6():
    codes = np.full(2 * N, 9, np.int32)
    with pytest.raises(ValueError, match="version"):
        call("address_codes", {1: np.array([4, 6, 5], np.int64), 2: codes})
    assert (codes == 9).all()


def test_pcapng_section_state_out_of_range():
    with pytest.raises(ValueError, match="section_base"):
        call("walk_pcapng", {3: 1, 4: 2})
    with pytest.raises(ValueError, match="section_base"):
        call("walk_pcapng", {3: -1})


def test_conversation_direction_must_be_0_or_1():
    with pytest.raises(ValueError, match="dir must be 0 or 1"):
        call("walk_conversations", {1: np.array([0, 2, 0], np.int8)})
    with pytest.raises(ValueError, match="dir must be 0 or 1"):
        call("walk_conversations", {1: np.array([0, -1, 0], np.int8)})
    with pytest.raises(ValueError, match="n_keys"):
        call("walk_conversations", {6: -1})


def test_conversation_keys_out_of_range():
    with pytest.raises(RuntimeError, match="key out of range"):
        call("walk_conversations", {0: np.array([0, 5, 0], np.int64)})


def test_conversation_context_larger_than_the_arrays():
    ctx = _seqwalk.new_context(1)
    call("walk_conversations", {11: ctx})
    with pytest.raises(ValueError, match="context"):
        call("walk_conversations", {8: np.zeros((0, 2), np.uint32),
                                    9: np.zeros((0, 2), np.int8),
                                    10: np.zeros(0, np.int8), 11: ctx,
                                    12: np.zeros(0, np.uint8), 13: np.zeros(0, np.uint8)})
    with pytest.raises(TypeError, match="another walk"):
        call("walk_conversations", {11: _seqwalk.new_context(2)})


def test_state_table_values_are_checked():
    init = np.array([[200, 0]], np.uint8)
    with pytest.raises(ValueError, match="init holds a state"):
        call("walk_states", {8: init})
    table = np.ascontiguousarray(NEXT).copy()
    table.reshape(-1)[7] = 200
    with pytest.raises(ValueError, match="next holds a state"):
        call("walk_states", {9: table})
    for n_states in (0, -1, 254, 10**6):
        with pytest.raises(ValueError):
            call("walk_states", {10: n_states})
    with pytest.raises(ValueError, match="conn or class out of range"):
        call("walk_states", {2: np.array([5, 99, 1], np.uint8)})


def test_state_context_walked_with_a_smaller_table():
    ctx = _seqwalk.new_context(2)
    call("walk_states", {19: ctx})
    with pytest.raises(ValueError, match="context holds a state"):
        call("walk_states", {9: np.zeros((2 * 11, 1), np.uint8), 10: 1, 19: ctx,
                             8: np.zeros((1, 2), np.uint8)})


def test_sack_offsets_must_stay_inside_the_edges():
    for off in ([0, 0, 0, 4], [0, -2, 0, 0], [3, 0, 0, 0]):
        with pytest.raises(ValueError, match="sack_offsets"):
            call("analyze_flags", {11: np.array(off, np.int32),
                                   12: np.zeros(2, np.uint32)})
    call("analyze_flags", {11: np.array([0, 2, 2, 2], np.int32),
                           12: np.array([1, 5], np.uint32)})


def test_analyze_flags_conn_out_of_range():
    with pytest.raises(ValueError, match="conn out of range"):
        call("analyze_flags", {0: np.array([0, 1, 0], np.int32)})


@pytest.mark.parametrize("fn", ["reset_conns", "trim_conns"])
def test_context_functions_check_their_arrays(fn):
    ctx = _seqwalk.new_context(3)
    getattr(_seqwalk, fn)(ctx, np.array([0, 5], np.int32))
    for bad in (np.array([0, 5], np.int64), np.array([0, 5], np.uint32),
                np.zeros(4, np.int32)[::2]):
        with pytest.raises((TypeError, ValueError)):
            getattr(_seqwalk, fn)(ctx, bad)
    with pytest.raises((TypeError, ValueError)):
        getattr(_seqwalk, fn)(object(), np.array([0], np.int32))


def test_unknown_context_kind():
    with pytest.raises(ValueError, match="unknown kind"):
        _seqwalk.new_context(9)


def test_pair_ids_needs_its_own_kind_of_context():
    with pytest.raises(TypeError):
        call("pair_ids", {3: _seqwalk.new_context(_seqwalk.CTX_FLAGS)})
    lo = np.zeros(2, np.int64)
    for not_a_table in (None, 0):
        with pytest.raises(ValueError):
            _seqwalk.pair_ids(lo, lo, np.empty(2, np.int64), not_a_table)
