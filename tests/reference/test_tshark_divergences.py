"""Where the compiled walks (and so the references, which equal them) differ from
``tshark -2``: sequences found by ``generate.captures``, kept in ``cases/``.  Each case
is a strict xfail naming the capture, the frame and the column: it passes once the
compiled rule is fixed (and the reference with it), and then must be removed.

* ``ack_lost_repeated.pcap`` frames 3 and 4: after an "ACKed unseen segment" (frame 2)
  tcpwatch moves r.maxseqtobeacked to r.nextseq, so the same ack is flagged again;
  tshark moves it to the ack (packet-tcp.c: the end of the unacked tail above the ack,
  or the ack) and flags nothing more.
* ``bif_wrapped_retransmission.pcap`` frame 3: a retransmission 48 bytes below the
  direction's base; tcpwatch's bytes in flight spans the unacked list wrap-aware
  (100), tshark shows none (its span, over relative numbers, exceeds its 2e9 limit).
* ``synack_rebase_cleared.pcap`` frame 5: the direction's first SYN+ACK, whose ISN
  differs from the base set by earlier segments; tshark flags reused_ports, tcpwatch
  clears the flag because the later SYN+ACK (frame 7) has the same ISN.
* ``syn_retransmitted_after_fin.pcap`` frames 5 and 6: a pure SYN repeating the
  direction's ISN (frame 2's) after its FIN (frame 4).  tshark takes it for a SYN
  retransmission and winds the direction's nextseq back (packet-tcp.c, issue 17616):
  frame 5 is a retransmission and frame 6 (seq beyond the wound-back nextseq) a lost
  segment; tcpwatch keeps nextseq, so frame 5 is out_of_order and frame 6 unflagged.
* ``bif_retransmission_below_unacked.pcap`` frame 12: a retransmission (39 bytes from
  128387) below the only unacked segment (frame 11, 91 bytes from 128396); tcpwatch's
  bytes in flight spans both (100), tshark's is frame 11's alone (91) -- as if tshark
  did not list a segment that does not advance nextseq (not checked in packet-tcp.c).
"""

from __future__ import annotations

import warnings
from functools import cache
from pathlib import Path

import pandas as pd
import pytest

from tcpwatch.engine.pipeline import analyze
from tcpwatch.lab.difftest.compare import tshark_disagreements
from tcpwatch.vocab import Col

from ..conftest import needs_tshark
from . import test_conversations_reference as conversations
from . import test_flags_reference as flags
from . import test_states_reference as states
from .compare import first_difference

CASES = Path(__file__).parent / "cases"
DIVERGENCES = [  # (capture, frame, column)
    ("ack_lost_repeated.pcap", 3, Col.EVENTS),
    ("ack_lost_repeated.pcap", 4, Col.EVENTS),
    ("bif_wrapped_retransmission.pcap", 3, Col.BYTES_IN_FLIGHT),
    ("synack_rebase_cleared.pcap", 5, Col.EVENTS),
    ("syn_retransmitted_after_fin.pcap", 5, Col.EVENTS),
    ("syn_retransmitted_after_fin.pcap", 6, Col.EVENTS),
    ("bif_retransmission_below_unacked.pcap", 12, Col.BYTES_IN_FLIGHT),
]


@cache
def analysed(name: str) -> tuple[pd.DataFrame, Path]:
    path = CASES / name
    if not path.exists():
        raise FileNotFoundError(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return analyze(path), path


@cache
def against_tshark(name: str) -> pd.DataFrame:
    """Every (frame, column) where the pipeline differs from tshark -2 on the case."""
    return tshark_disagreements(*analysed(name))


@pytest.mark.parametrize("name", sorted({c for c, _, _ in DIVERGENCES}))
def test_references_equal_the_pipeline_on_the_cases(name: str) -> None:
    seg, _ = analysed(name)
    for stage in (conversations, states, flags):
        assert (diff := first_difference(seg, stage.reference_columns(seg))) is None, diff


@needs_tshark
@pytest.mark.parametrize("name, frame, column", [
    pytest.param(*case, marks=pytest.mark.xfail(
        strict=True, reason=f"{case[0]} frame {case[1]}: {case[2]} differs from tshark -2"))
    for case in DIVERGENCES])
def test_pipeline_equals_tshark(name: str, frame: int, column: str) -> None:
    found = against_tshark(name)
    here = found[(found["frame"] == frame) & (found["column"] == column)]
    assert here.empty, here.to_string()


@needs_tshark
@pytest.mark.parametrize("name", sorted({c for c, _, _ in DIVERGENCES}))
def test_only_the_named_frames_differ(name: str) -> None:
    """Every other (frame, column) of the case agrees with tshark."""
    found = against_tshark(name)
    named = {(f, c) for n, f, c in DIVERGENCES if n == name}
    rest = [(f, c) for f, c in zip(found["frame"], found["column"], strict=True)
            if (f, c) not in named]
    assert not rest, rest
