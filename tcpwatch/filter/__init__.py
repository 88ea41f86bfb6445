"""Wireshark display filters (``-Y``) over the segment table.

``compile_filter(text)`` checks the filter and gives a function of a segment table that
returns a boolean mask (see ``evaluate``); ``select(seg, text)`` the selected rows::

    seg = tcpwatch.analyze("x.pcap")
    stalls = select(seg, "tcp.analysis.zero_window && tcp.port == 9000")
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .evaluate import compile_filter
from .fields import FIELDS
from .syntax import FilterError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["FIELDS", "FilterError", "compile_filter", "select"]


def select(seg: pd.DataFrame, text: str) -> pd.DataFrame:
    """The rows of a segment table that display filter ``text`` selects."""
    return seg[compile_filter(text)(seg)].reset_index(drop=True)
