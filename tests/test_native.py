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
    assert len(mismatches(swapped)) == 3  # two bits, and the retransmission family


def test_pass_through_values_come_from_c():
    assert (walk.MAX_CAPLEN, walk.MAX_BLOCK, walk.OK, walk.CORRUPT) == (
        _seqwalk.MAX_CAPLEN, _seqwalk.MAX_BLOCK, _seqwalk.OK, _seqwalk.CORRUPT)
    assert QUOTED_FLAG == _seqwalk.F_QUOTED == 0x8000
