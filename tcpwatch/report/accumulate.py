"""The per-connection reports of a streamed analysis (``engine/stream.py``): each
connection's summary row and flow-control episodes are computed once, when its rows are
complete, so the report never needs the whole table.  What is printed is kept, and only
that: the busiest ``top`` summary rows and the first ``episodes_shown`` episodes, with
how many there are -- memory does not grow with the connections."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..decode.columns import Columns
from ..engine.arrays import SegmentArrays

if TYPE_CHECKING:
    import pandas as pd


class ReportSink:
    """A :class:`tcpwatch.engine.stream.Sink` that keeps only the reports
    (``top``/``episodes_shown`` 0: all of them; ``keep=False``: nothing at all, not even
    the counts -- the run of ``-q``, where no per-connection arrays are made)."""

    def __init__(self, keep: bool = True, top: int = 0, episodes_shown: int = 0) -> None:
        self.keep = keep
        self.wants_closed = keep
        self.top = top
        self.episodes_shown = episodes_shown
        self.segments = 0
        self.connections = 0
        self.n_episodes = 0
        # made at the first report (pandas is imported only by a sink that keeps one)
        self._summary: pd.DataFrame | None = None
        self._episodes: pd.DataFrame | None = None

    wants_rows = False  # every row reaches closed() once: counted there

    def rows(self, table: Columns) -> None:
        pass

    def fix(self, table: pd.DataFrame, gid: np.ndarray) -> None:
        pass  # a connection's report is made from its final rows, in closed()

    def closed(self, rows: SegmentArrays) -> None:
        self.segments += len(rows)
        if not self.keep:
            return
        from .episodes import episodes
        from .summary import summarize_connections
        from .tables import busiest

        ep = episodes(rows)
        part = summarize_connections(rows, ep)
        self.connections += len(part)
        self.n_episodes += len(ep)
        self._summary = busiest(_concat(self._summary, part), self.top)
        if len(ep):
            ep = _concat(self._episodes, ep).sort_values(["conn", "start"], kind="stable")
            self._episodes = ep.head(self.episodes_shown) if self.episodes_shown else ep

    def summary(self) -> pd.DataFrame:
        """The busiest ``top`` connections' rows (all with top=0), by connection number,
        as summarize_connections gives them."""
        if self._summary is None:
            from .summary import SUMMARY_COLUMNS

            return _empty(SUMMARY_COLUMNS)
        return self._summary.reset_index(drop=True)

    def episodes(self) -> pd.DataFrame:
        """The first ``episodes_shown`` episodes by connection and start (all with 0)."""
        if self._episodes is None:
            from .episodes import EPISODE_COLUMNS

            return _empty(EPISODE_COLUMNS)
        return self._episodes.reset_index(drop=True)


def _empty(columns) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame(columns=list(columns))


def _concat(a: pd.DataFrame | None, b: pd.DataFrame) -> pd.DataFrame:
    import pandas as pd

    return b if a is None or a.empty else pd.concat([a, b], ignore_index=True)
