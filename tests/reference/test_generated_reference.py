"""The compiled walks equal the pure-Python references on generated segment sequences.

Each example is a short two-endpoint exchange (``generate.captures``: SYN/ACK/FIN/RST
combinations, seq/ack near each other, windows incl. 0, lengths 0/1/N, retransmissions,
gaps, reused ports, WS and SACK options) written as a pcap and run through the whole
pipeline.  The references are chained the way the pipeline is: the conversation
reference reads the decoded columns; once its columns equal the pipeline's, the state
and flag references read them.  Every compared column is the one the capture tests
compare."""

from __future__ import annotations

import warnings

from hypothesis import HealthCheck, given, settings

from tcpwatch.engine.pipeline import analyze

from . import test_conversations_reference as conversations
from . import test_flags_reference as flags
from . import test_states_reference as states
from .compare import first_difference
from .generate import as_stream, captures


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(captures())
def test_generated_sequences_equal_reference(data: bytes) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        seg = analyze(as_stream(data))
    assert len(seg) > 0
    for stage in (conversations, states, flags):
        diff = first_difference(seg, stage.reference_columns(seg))
        assert diff is None, f"{stage.__name__.rsplit('.', 1)[-1]}: {diff}"
