"""The constants the compiled core shares with Python are defined once: C exports its
own, and tcpwatch/engine/native.py refuses (ImportError at import) a build whose values differ
from what Python defines from its sources."""

from __future__ import annotations

from types import SimpleNamespace

from tcpwatch import _seqwalk
from tcpwatch.capture import walk
from tcpwatch.decode.quoted import QUOTED_FLAG
from tcpwatch.engine.native import C_ANALYSIS_BITS, mismatches, python_side
from tcpwatch.engine.registry import FLAGS


def test_this_build_agrees_with_python():
    assert mismatches(_seqwalk) == []


def test_every_analysis_bit_of_c_is_a_flag_of_the_registry():
    in_c = {name for name in dir(_seqwalk) if name.startswith("A_")}
    assert in_c == set(C_ANALYSIS_BITS)
    assert sorted(C_ANALYSIS_BITS.values()) == sorted(f.name for f in FLAGS)


def test_a_build_from_another_source_is_refused():
    shared = {name: getattr(_seqwalk, name) for name in dir(_seqwalk) if name.isupper()}
    for name in python_side():
        other = SimpleNamespace(**(shared | {name: shared[name] ^ 0x4000}))
        assert any(m.startswith(f"{name} is ") for m in mismatches(other)), name
    swapped = SimpleNamespace(**(shared | {"A_FAST_RETRANSMISSION": _seqwalk.A_OUT_OF_ORDER,
                                           "A_OUT_OF_ORDER": _seqwalk.A_FAST_RETRANSMISSION}))
    assert len(mismatches(swapped)) == 2  # one line per bit


def test_pass_through_values_come_from_c():
    assert (walk.MAX_CAPLEN, walk.MAX_BLOCK, walk.OK, walk.CORRUPT) == (
        _seqwalk.MAX_CAPLEN, _seqwalk.MAX_BLOCK, _seqwalk.OK, _seqwalk.CORRUPT)
    assert QUOTED_FLAG == _seqwalk.F_QUOTED == 0x8000


def _inputs(seg):
    """The arrays the states and flags walks take, from an analysed table."""
    import numpy as np

    from tcpwatch.engine.flags import sack_arrays
    from tcpwatch.engine.states import segment_class
    from tcpwatch.vocab import Col

    conn = seg[Col.CONN].to_numpy().astype(np.int32)
    sender = (seg[Col.ROLE].to_numpy() == "server").astype(np.int8)
    flags = seg[Col.FLAGS].to_numpy().astype(np.uint16)
    length = seg[Col.LEN].to_numpy().astype(np.uint32)

    def u32(c):
        return np.ascontiguousarray(seg[c].to_numpy(), np.uint32)

    flag_in = (flags, u32(Col.SEQ), u32(Col.ACK), length,
               seg[Col.WIN_RAW].to_numpy().astype(np.uint16),
               seg[Col.WSCALE].to_numpy(dtype=np.int16, na_value=-1),
               seg[Col.TS_NS].to_numpy().astype(np.int64),
               seg[Col.FRAME].to_numpy().astype(np.int64))
    state_in = (segment_class(flags, length), flags, u32(Col.REL_SEQ), u32(Col.REL_ACK),
                length, u32(Col.WIN))
    return conn, sender, flag_in, state_in, sack_arrays(
        seg[Col.SACK].array._pa_array.combine_chunks())


def test_a_failed_call_leaves_its_context_as_it_was():
    """A batch with one bad row (a connection number out of range, at its end) is refused
    with ValueError before the walk changes anything: walking the good batch afterwards on
    the same context gives what a context that never saw the bad one gives."""
    import numpy as np
    import pytest

    from tcpwatch.engine.flags import analyze_flags
    from tcpwatch.engine.states import walk_states

    from .reference.captures import REPO, analysed

    seg = analysed(REPO / "captures" / "lossy_bulk.pcap")
    conn, sender, flag_in, state_in, sack = _inputs(seg)
    n_conn = int(conn.max()) + 1
    half = len(seg) // 2
    bad = conn.copy()
    bad[-1] = n_conn + 5
    init = np.zeros((n_conn, 2), np.uint8)
    init[:, 1] = 1  # client CLOSED, server LISTEN
    reused = np.zeros(n_conn, np.uint8)

    def flags_walk(ctx, rows, c=conn):
        return analyze_flags(c[rows], sender[rows], tuple(a[rows] for a in flag_in), reused,
                             _sack_rows(sack, rows), ctx)

    def states_walk(ctx, rows, c=conn):
        dirty = np.zeros(n_conn, np.uint8)
        return walk_states(c[rows], sender[rows], *(a[rows] for a in state_in), init, ctx,
                           dirty)

    first, second = np.arange(half), np.arange(half, len(seg))
    for kind, run in ((_seqwalk.CTX_FLAGS, flags_walk), (_seqwalk.CTX_STATES, states_walk)):
        clean, tried = _seqwalk.new_context(kind), _seqwalk.new_context(kind)
        run(clean, first)
        run(tried, first)
        with pytest.raises(ValueError):
            run(tried, second, bad)
        expected, got = run(clean, second), run(tried, second)
        for e, g in zip(expected, got, strict=True):
            np.testing.assert_array_equal(e, g)


def _sack_rows(sack, rows):
    """The (offsets, edges) SACK arrays of ``rows`` (consecutive, ascending)."""
    import numpy as np

    offsets, edges = sack
    lo, hi = offsets[rows[0]], offsets[rows[-1] + 1]
    return (np.ascontiguousarray(offsets[rows[0]:rows[-1] + 2] - lo, np.int32),
            np.ascontiguousarray(edges[lo:hi]))


def test_a_trimmed_connection_keeps_its_states_and_nothing_else():
    """trim_conns (a connection forgotten as over): the states walk keeps both ends'
    states and starts its sequence tracking again -- the later rows walk as on a new
    context whose initial states are the final ones -- and the flags walk starts again,
    as on a new context; reset_conns starts the states from the initial ones."""
    import numpy as np

    from tcpwatch.engine.flags import analyze_flags
    from tcpwatch.engine.states import walk_states

    from .reference.captures import REPO, analysed

    seg = analysed(REPO / "captures" / "many_short.pcap")
    conn, sender, flag_in, state_in, sack = _inputs(seg)
    rows = np.flatnonzero(conn == 0)
    first, later = rows[:4], rows[4:]  # the handshake and a request; its ACK, the close
    init = np.zeros((1, 2), np.uint8)
    init[:, 1] = 1  # client CLOSED, server LISTEN

    def states(ctx, idx, start=init):
        return walk_states(conn[idx], sender[idx], *(a[idx] for a in state_in), start, ctx,
                           np.zeros(1, np.uint8))

    def flags(ctx, idx):
        return analyze_flags(conn[idx], sender[idx], tuple(a[idx] for a in flag_in),
                             np.zeros(1, np.uint8), _sack_rows(sack, idx), ctx)

    for op, start in ((_seqwalk.trim_conns, "final"), (_seqwalk.reset_conns, "init")):
        ctx = _seqwalk.new_context(_seqwalk.CTX_STATES)
        walked = states(ctx, first)
        op(ctx, np.array([0], np.int32))
        final = np.array([[walked[1][-1], walked[3][-1]]], np.uint8)  # after: client, server
        assert (final != init).any()
        expected = states(_seqwalk.new_context(_seqwalk.CTX_STATES), later,
                          final if start == "final" else init)
        np.testing.assert_array_equal(states(ctx, later), expected)
    ctx, kept = _seqwalk.new_context(_seqwalk.CTX_FLAGS), _seqwalk.new_context(_seqwalk.CTX_FLAGS)
    flags(ctx, first)
    flags(kept, first)
    _seqwalk.trim_conns(ctx, np.array([0], np.int32))
    fresh = flags(_seqwalk.new_context(_seqwalk.CTX_FLAGS), later)
    for e, g in zip(fresh, flags(ctx, later), strict=True):
        np.testing.assert_array_equal(e, g)
    acked = 4  # analyze_flags' acked frames: the untrimmed context knows the request
    assert (flags(kept, later)[acked] != fresh[acked]).any()
