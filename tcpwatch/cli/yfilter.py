"""``-Y FILTER``: a Wireshark display filter, checked when the command line is read
(before any capture is), applied to the whole segment table afterwards."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import click

from ..vocab import Col

if TYPE_CHECKING:
    import pandas as pd

_FRAME_LINE = re.compile(r"#(\d+)\s")


@dataclass(frozen=True)
class DisplayFilter:
    text: str
    mask: Any  # function(segment table) -> boolean mask

    def select(self, seg: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        """(the segments the filter selects, every segment of their connections)."""
        hit = self.mask(seg)
        shown = seg[hit].reset_index(drop=True)
        whole = seg[seg[Col.CONN].isin(shown[Col.CONN].unique())].reset_index(drop=True)
        return shown, whole

    @staticmethod
    def keep_lines(lines: list[str], shown: pd.DataFrame) -> list[str]:
        """Lines about a frame (``#N ...``) the filter selected, and lines about none."""
        keep = set(shown[Col.FRAME].tolist())
        return [x for x in lines if (m := _FRAME_LINE.match(x)) is None or int(m[1]) in keep]

    def describe(self, shown: pd.DataFrame, whole: pd.DataFrame, total: int) -> str:
        head = f"-Y {self.text}: {len(shown)} of {total} segments selected"
        if not len(shown):
            return head
        n = shown[Col.CONN].nunique()
        return (f"{head}, in {n} connection{'' if n == 1 else 's'} (summarised below "
                f"with all {len(whole)} of their segments)")


def display_filter(ctx: click.Context, param: click.Parameter,
                   value: str | None) -> DisplayFilter | None:
    """Compile ``-Y`` at once: a bad filter is one line (with the column), exit 2."""
    if value is None:
        return None
    from ..filter import compile_filter  # numpy/pandas: only when a filter is given

    return DisplayFilter(value, compile_filter(value))
