"""The per-connection reports of a streamed analysis (``engine/stream.py``): each
connection's summary row and flow-control episodes are computed once, when its rows are
complete, so the report never needs the whole table."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .episodes import episodes
from .summary import summarize_connections


class ReportSink:
    """A :class:`tcpwatch.engine.stream.Sink` that keeps only the reports."""

    def __init__(self, keep: bool = True) -> None:
        self.keep = keep  # False: count the segments, make no report
        self.segments = 0
        self._summaries: list[pd.DataFrame] = []
        self._episodes: list[pd.DataFrame] = []

    def rows(self, table: pd.DataFrame) -> None:
        self.segments += len(table)

    def fix(self, table: pd.DataFrame, gid: np.ndarray) -> None:
        pass  # a connection's report is made from its final rows, in closed()

    def closed(self, table: pd.DataFrame) -> None:
        if not self.keep:
            return
        ep = episodes(table)
        self._summaries.append(summarize_connections(table, ep))
        if len(ep):
            self._episodes.append(ep)

    def summary(self) -> pd.DataFrame:
        """One row per connection, by connection number (as summarize_connections)."""
        if not self._summaries:
            return summarize_connections(pd.DataFrame())
        out = pd.concat(self._summaries, ignore_index=True)
        return out.sort_values("conn", kind="stable").reset_index(drop=True)

    def episodes(self) -> pd.DataFrame:
        if not self._episodes:
            return episodes(pd.DataFrame())
        out = pd.concat(self._episodes, ignore_index=True)
        return out.sort_values(["conn", "start"], kind="stable").reset_index(drop=True)
