"""The per-connection reports of a streamed analysis (``engine/stream.py``): each
connection's summary row and flow-control episodes are computed once, when its rows are
complete, so the report never needs the whole table.  What is printed is kept, and only
that: the busiest ``top`` summary rows and the first ``episodes_shown`` episodes, with
how many there are -- memory does not grow with the connections."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..decode.columns import Columns, concat, to_frame
from ..engine.arrays import SegmentArrays
from .connstats import SideStats, summary_frame
from .tables import busiest_index, busiest_rows, take_table

if TYPE_CHECKING:
    import pandas as pd


class ReportSink:
    """A :class:`tcpwatch.engine.stream.Sink` that keeps only the reports
    (``top``/``episodes_shown`` 0: all of them; ``keep=False``: nothing at all, not even
    the counts -- the run of ``-q``, where no per-connection arrays are made).
    ``sides``: the summary has each side's options and largest bytes in flight too
    (``connstats.SideStats``: the annotated rows are then made and read; without it the
    summary has no ``connstats.SIDE_COLUMNS``)."""

    def __init__(self, keep: bool = True, top: int = 0, episodes_shown: int = 0,
                 sides: bool = False) -> None:
        self.keep = keep
        self.wants_closed = keep
        self.wants_rows = keep and sides
        self.sides = SideStats() if keep and sides else None
        self.top = top
        self.episodes_shown = episodes_shown
        self.segments = 0
        self.connections = 0
        self.n_episodes = 0
        self.inferred: list[int] = []  # the first NAMED connections with inferred states
        self.n_inferred = 0
        # typed columns, made at the first report (no pandas)
        self._summary: Columns | None = None
        self._episodes: Columns | None = None

    def rows(self, table: Columns) -> None:
        if self.sides is not None:  # rows are counted in closed(), which each reaches once
            self.sides.rows(table)

    def fix(self, table: pd.DataFrame, gid: np.ndarray) -> None:
        if self.sides is not None:  # the reports are made from final rows, in closed()
            self.sides.fix(table)

    def closed(self, rows: SegmentArrays) -> None:
        self.segments += len(rows)
        if not self.keep:
            return
        from .episodes import episode_table
        from .inferred import NAMED, inferred_conns
        from .summary import connection_table

        late = inferred_conns(rows)
        self.n_inferred += late.size
        self.inferred = sorted(self.inferred + late.tolist())[:NAMED]
        ep = episode_table(rows)
        self.n_episodes += len(ep["conn"])
        ids, sizes = np.unique(rows.conn, return_counts=True)
        self.connections += ids.size
        busiest = ids[busiest_index(ids, sizes, self.top)]
        ep_of_busiest = ep
        if busiest.size < ids.size:  # only those can be among the busiest of all
            rows = rows.take(np.isin(rows.conn, busiest, kind="table"))
            ep_of_busiest = take_table(ep, np.flatnonzero(np.isin(ep["conn"], busiest,
                                                                  kind="table")))
        part = connection_table(rows, ep_of_busiest)
        if self.sides is not None:
            part.update(self.sides.pop(part["conn"]))
            self.sides.pop(ids)  # the others' too
        both = _concat(self._summary, part)
        self._summary = take_table(both, busiest_rows(both, self.top))
        if len(ep["conn"]):
            both = _concat(self._episodes, ep)
            by = np.lexsort((both["start"], both["conn"]))  # stable: conn, then start
            self._episodes = take_table(both, by[:self.episodes_shown or None])

    def summary_table(self) -> Columns | None:
        """The busiest ``top`` connections' summary rows as typed columns (None: none)."""
        return self._summary

    def episode_table(self) -> Columns | None:
        return self._episodes

    def summary(self) -> pd.DataFrame:
        """The busiest ``top`` connections' rows (all with top=0), by connection number,
        as summarize_connections gives them."""
        if self._summary is None:
            from .summary import SUMMARY_COLUMNS

            return _empty(SUMMARY_COLUMNS)
        return summary_frame(self._summary)

    def episodes(self) -> pd.DataFrame:
        """The first ``episodes_shown`` episodes by connection and start (all with 0)."""
        if self._episodes is None:
            from .episodes import EPISODE_COLUMNS

            return _empty(EPISODE_COLUMNS)
        return to_frame(self._episodes)


def _empty(columns) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame(columns=list(columns))


def _concat(a: Columns | None, b: Columns) -> Columns:
    return b if a is None else {name: concat([a[name], b[name]]) for name in b}
