"""Every capture on which the differential fuzzer once failed (captures/regress/, cut to
the connections that showed it) is replayed: tcpwatch equals ``tshark -2`` on every
compared column and flag, the live session equals offline analysis, and neither raises.
A capture whose defect is known and not fixed on this branch is a strict xfail: the day
it passes, the mark must go."""

from __future__ import annotations

import re

import pytest

from tcpwatch.difftest.compare import check
from tcpwatch.difftest.shrink import describe

from ..conftest import REPO, needs_tshark

REGRESS = REPO / "captures" / "regress"

#: capture -> why it still fails (and what fixes it)
KNOWN = {
    "seed35-tshark.pcap": (
        "IPv4 and IPv6 connections interleaved: decode.py puts a batch's IPv4 rows before "
        "its IPv6 rows (np.concatenate([v4, v6])), so rows leave file order and connections "
        "are numbered IPv4 first; tshark numbers by first appearance (issue 11 section 6, "
        "fixed by the decoder rewrite of the tunnels branch)"),
    "seed109-tshark.pcap": (
        "a SYN+ACK answered again with a new ISN (SYN cookies during a burst of 1,154 "
        "connections; the first SYN+ACK was lost on the client's input): tcpwatch rebases the "
        "whole connection on the last SYN+ACK's ISN, so the first SYN+ACK (frame 2) gets "
        "rel_seq 4279119918; tshark -2 keeps it relative to its own ISN (0) in the same "
        "tcp.stream, and flags it reused_ports (its one-pass view flags only frame 5). "
        "Conversation walk (flows / _seqwalk.c), the SYN-reuse rules of issue 11 section 6"),
    "seed113-tshark.pcap": (
        "a reused client port whose server is still in TIME_WAIT: SYN, the server's "
        "challenge ACK, the client's RST, then the SYN retransmitted with the same ISN "
        "(frame 4). tshark -2 keeps frame 4 in the same tcp.stream (a retransmission: a SYN "
        "starts a new conversation only when its seq differs from the stream's base seq); "
        "tcpwatch starts a new connection there (reused_ports), so conn, rel_seq/win of "
        "frame 2, acked_frame/ack_rtt of frame 5 and the flags differ. Conversation walk "
        "(flows / _seqwalk.c), the SYN-reuse rules of issue 11 section 6"),
}


def _captures() -> list:
    return [pytest.param(p, id=p.name, marks=[pytest.mark.xfail(strict=True,
                                                                reason=KNOWN[p.name])]
                         if p.name in KNOWN else [])
            for p in sorted(REGRESS.glob("*.pcap"))]


def _seed(name: str) -> int:
    m = re.match(r"seed(\d+)-", name)
    assert m, f"{name}: regression captures are named seed<N>-<what>.pcap"
    return int(m[1])


@needs_tshark
@pytest.mark.parametrize("path", _captures())
def test_regression_capture_agrees(path):
    found = check(path, _seed(path.name))
    assert found.segments > 0
    assert found.ok, describe(found, show=10)


def test_every_regression_capture_has_its_readme_line():
    readme = (REGRESS / "README.md").read_text()
    names = {p.name for p in REGRESS.glob("*.pcap")}
    assert names, "captures/regress/ holds no capture"
    for name in names:
        assert f"| `{name}` | {_seed(name)} (" in readme, name
    assert set(KNOWN) <= names  # no stale entry
