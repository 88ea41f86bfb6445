"""Link type NFLOG (239): TCP logged by nftables (``log group``) and captured with
``tcpdump -i nflog:N`` reads like any other capture, frame for frame with tshark."""

from __future__ import annotations

import tcpwatch
from tcpwatch.capture.linktypes import linktype_name
from tcpwatch.report.parity import compare_with_tshark

from .conftest import REPO, needs_tshark
from .innermost import innermost_differences

NFLOG = REPO / "captures" / "nflog_echo.pcap"


@needs_tshark
def test_nflog_capture_equals_tshark():
    seg = tcpwatch.analyze(NFLOG)
    summary = seg.attrs["tcpwatch"]
    assert summary.linktypes == [239] and linktype_name(239).startswith("NFLOG")
    assert summary.skipped.total() == summary.frames - len(seg)
    assert len(seg) == summary.frames  # the rule logged TCP only
    assert set(seg["ip_version"]) == {4, 6} and seg["conn"].nunique() == 2
    diff = compare_with_tshark(seg, NFLOG)
    assert diff.empty, diff.head(20).to_string()
    inner = innermost_differences(seg, NFLOG)
    assert inner.empty, inner.head(20).to_string()
