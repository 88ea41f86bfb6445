"""Writing a golden file: only what tshark agrees with.

A golden file is written by the code it then guards, so a wrong decoder would bless its own
mistake.  Before a golden file is written, every column tshark also computes
(``parity.MAPPED``) is compared with tshark on the same capture, from the exact text about
to be written; one disagreement and nothing is written.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..errors import TcpwatchError
from .golden import golden_frame
from .parity import compare_golden_with_tshark


class GoldenRefused(TcpwatchError):
    """The annotation disagrees with tshark: the golden file was not written."""

    def __init__(self, golden: Path, diff: pd.DataFrame):
        self.golden = golden
        self.diff = diff
        super().__init__(f"refused to write {golden}: {len(diff)} cells disagree with tshark "
                         f"({', '.join(sorted(set(diff['column'])))})")


def bless(seg: pd.DataFrame, pcap: Path, golden: Path) -> None:
    """Write ``golden`` for ``seg`` (the analysis of ``pcap``) if tshark agrees with it."""
    text = golden_frame(seg)
    diff = compare_golden_with_tshark(text, pcap)
    if not diff.empty:
        raise GoldenRefused(golden, diff)
    text.to_csv(golden, index=False, lineterminator="\n")
