"""``tcpwatch live -Y FILTER``: a bad filter is refused before anything is captured; a
good one lets through, piped, exactly the segments it selects in the capture written."""

from __future__ import annotations

import re

import tcpwatch
from tcpwatch.filter import compile_filter

from ..conftest import needs_root
from ..test_cli_values import assert_refused, tcpwatch_here, tcpwatch_in


def test_a_bad_filter_is_refused_before_capturing(tmp_path):
    res = tcpwatch_here(tmp_path, "live", "--write", "x.pcap", "--duration", "1", "-Y",
                        "tcp.flags.syn == 1 ||")
    assert_refused(res, tmp_path, "-Y:", "at column 22")


@needs_root
def test_only_the_selected_segments_are_shown(tmp_path):
    text = "tcp.analysis.zero_window || tcpwatch.transition contains ESTABLISHED"
    res = tcpwatch_in(tmp_path, "live", "--serve", "thread", "--scenario", "zero_window",
                      "--duration", "2", "--write", "z.pcap", "-Y", text)
    assert res.returncode == 0, res.stderr
    lines = [x for x in res.stdout.splitlines() if re.match(r"\d\d:\d\d:\d\d\.\d+ conn ", x)]
    seg = tcpwatch.analyze(tmp_path / "z.pcap")
    chosen = seg[compile_filter(text)(seg)]
    assert 0 < len(chosen) < len(seg)
    assert len(lines) == len(chosen), res.stdout
    for line, ev, tr in zip(lines, chosen["events"], chosen["transition"], strict=True):
        assert (str(ev) in line if "zero_window" in str(ev) else str(tr) in line), line
